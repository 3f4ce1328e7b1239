// Child processes of the bench: a clean environment (no inherited loaders
// from NODE_OPTIONS, no coverage collection, so a run under a test runner
// measures plain Node).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';

import { ROOT } from './env';

export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_V8_COVERAGE;
  return env;
}

/**
 * A runtime other than this Node for a bench child (Bun, Deno): its
 * executable, the arguments before the script, and whether the script must
 * be named .cjs to run as CommonJS (Deno decides by the file name).
 */
export interface ChildRuntime {
  readonly title: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cjs: boolean;
}

/** `script` as the runtime runs it: for Deno a .cjs beside it that requires it. */
function scriptFor(script: string, runtime: ChildRuntime | undefined): string {
  if (!runtime?.cjs || script.endsWith('.cjs')) return script;
  const wrapper = script.replace(/\.js$/, '.cjs');
  writeFileSync(wrapper, `require(${JSON.stringify(script)});\n`);
  return wrapper;
}

/** Runs a compiled bench child (bench/out/bench/<name>.js), in this Node or `runtime`, and returns its JSON answer. */
export async function runChild<T>(script: string, args: readonly string[], nodeArgs: readonly string[] = [], runtime?: ChildRuntime): Promise<T> {
  const command = runtime?.command ?? process.execPath;
  const argv = [...(runtime?.args ?? nodeArgs), scriptFor(script, runtime), ...args];
  const child = spawn(command, argv, { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`bench: child ${script} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`);
  const last = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`bench: child ${script} ${args.join(' ')} printed no result: ${stdout}${stderr}`);
  }
}
