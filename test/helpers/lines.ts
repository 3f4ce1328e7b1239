// Line-by-line JSON from a child process (a fixture that prints one JSON
// object per line), for tests that wait for its reports one at a time.
import type { ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';

/**
 * A child's stdout as lines of JSON, taken one at a time: `next(ms)` gives
 * the next one, or null after `ms` without one. A line that is not JSON
 * comes as { failed }, and the child's exit (with its stderr) as { failed }
 * to whoever waits then.
 */
export function jsonLines<M extends { failed?: string }>(child: ChildProcess): (ms: number) => Promise<M | null> {
  const queue: M[] = [];
  const waiters: Array<(m: M) => void> = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    let message: M;
    try {
      message = JSON.parse(line) as M;
    } catch {
      message = { failed: `not JSON: ${line}` } as M;
    }
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  child.on('exit', (code) => {
    const waiter = waiters.shift();
    if (waiter) waiter({ failed: `exited with ${code}: ${stderr}` } as M);
  });
  return (ms) => {
    const next = queue.shift();
    if (next) return Promise.resolve(next);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(done), 1);
        resolve(null);
      }, ms);
      const done = (m: M): void => {
        clearTimeout(timer);
        resolve(m);
      };
      waiters.push(done);
    });
  };
}
