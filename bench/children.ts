// Child processes of the bench: a clean environment (no inherited loaders
// from NODE_OPTIONS, no coverage collection, so a run under a test runner
// measures plain Node).
import { spawn } from 'node:child_process';

import { ROOT } from './env';

export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_V8_COVERAGE;
  return env;
}

/** Runs a compiled bench child (bench/out/bench/<name>.js) and returns its JSON answer. */
export async function runChild<T>(script: string, args: readonly string[], nodeArgs: readonly string[] = []): Promise<T> {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
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
