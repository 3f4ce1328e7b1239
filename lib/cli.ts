#!/usr/bin/env node
// The tcp-keepalive command: `info`, `plan` and `probe` (lib/cli/*.ts).
// Installed as the package's bin (bin/tcp-keepalive.js calls main()).
import { closest, escapeControl, EXIT, quoted, UsageError } from './cli/args';
import { INFO_HELP, packageVersion, runInfo } from './cli/info';
import { processIo, type Io } from './cli/io';
import { PLAN_HELP, runPlan } from './cli/plan';
import { PROBE_HELP, runProbe, type Signals } from './cli/probe';

const COMMANDS = ['info', 'plan', 'probe'] as const;

export const HELP = `Usage: tcp-keepalive <command> [options]

See your system's TCP keepalive defaults, plan settings, and watch a real
connection with them.

Commands:
  info               what this platform supports, the OS defaults read live,
                     and what they imply
  plan               settings from a preset, your values or goals: detection
                     time, outage tolerance, probe traffic, warnings
  probe HOST:PORT    connect, apply settings, read them back; --watch shows
                     the connection live until it ends, and how it ended

Every command takes --help and --json. Durations are whole seconds.

Examples:
  tcp-keepalive info
  tcp-keepalive plan --preset database
  tcp-keepalive plan --detect-within 60 --lb-idle-timeout 350
  tcp-keepalive probe 127.0.0.1:5432 --idle 5 --interval 2 --count 3 --watch

Exit codes: 0 ok, 1 failure, 2 wrong command line, 3 plan goal cannot hold,
4 probe could not connect, 5 timed out, 6 reset, 7 closed by the peer.`;

/**
 * Runs the command with `argv` (without node and the script); resolves to
 * the exit code. Output goes to `io`.
 */
export async function main(argv: readonly string[], io: Io = processIo(), signals: Signals = process): Promise<number> {
  const [command, ...rest] = argv;
  const json = argv.includes('--json');
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h': {
        const topic = rest[0];
        const helps: Record<string, string> = { info: INFO_HELP, plan: PLAN_HELP, probe: PROBE_HELP };
        if (command === 'help' && topic !== undefined && helps[topic]) io.out(helps[topic]);
        else io.out(HELP);
        return command === undefined ? EXIT.usage : EXIT.ok;
      }
      case '--version':
      case '-v':
        io.out(packageVersion());
        return EXIT.ok;
      case 'info':
        return runInfo(rest, io);
      case 'plan':
        return runPlan(rest, io);
      case 'probe':
        return await runProbe(rest, io, signals);
      default: {
        const guess = command.startsWith('-') ? undefined : closest(command, COMMANDS);
        throw new UsageError(
          `unknown command ${quoted(command)}`,
          guess ? `did you mean: tcp-keepalive ${guess} ${escapeControl(rest.join(' '))}`.trimEnd() : `commands: ${COMMANDS.join(', ')} (see tcp-keepalive --help)`,
        );
      }
    }
  } catch (error) {
    if (error instanceof UsageError) {
      if (json) io.out(JSON.stringify({ error: { kind: 'usage', message: error.message, hint: error.hint ?? null } }));
      io.err(`tcp-keepalive: ${error.message}${error.hint ? `\n  ${error.hint}` : ''}`);
      return EXIT.usage;
    }
    const e = error as Error & { code?: string };
    if (json) io.out(JSON.stringify({ error: { kind: 'failure', code: e.code ?? null, message: e.message } }));
    io.err(`tcp-keepalive: ${e.message}`);
    return EXIT.failure;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
