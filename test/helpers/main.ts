// The tcp-keepalive command run in this process (lib/cli's main) with its
// output captured: for tests of a subcommand's text and exit codes without
// starting a process.
import { main } from '../../lib/cli';
import type { Io } from '../../lib/cli/io';

/** Runs `tcp-keepalive ARGV` in this process: exit code, stdout, stderr (no terminal, 80 columns, no signals). */
export async function runMain(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (text) => (out += `${text}\n`), write: (text) => (out += text), err: (text) => (err += `${text}\n`), isTTY: false, columns: 80 };
  const code = await main(argv, io, { once: () => {}, removeListener: () => {} });
  return { code, out, err };
}
