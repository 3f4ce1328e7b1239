// Optional system tools used as independent oracles. On a machine without
// one, the test that needs it skips and says why; in CI (CI=true) a missing
// tool is a failure, because CI installs everything the tests need.
import { execFileSync } from 'node:child_process';
import type { Test } from 'tap';

export function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `ok` holds; if not, skips with `reason` (or fails in CI). Returns
 * false when the caller should stop.
 */
export function needs(t: Test, ok: boolean, reason: string): boolean {
  if (ok) return true;
  if (process.env.CI === 'true') t.fail(`required in CI: ${reason}`);
  else t.skip(reason, () => {}); // printed as "ok - <reason> # SKIP"
  return false;
}

/**
 * How much slower than native this test process runs: 1 normally; the
 * emulated arm64 run (test/platform-arm64.test.ts) sets
 * TCP_KEEPALIVE_SLOWDOWN, as Node's own tests scale their timeouts on slow
 * platforms. Used for the bounds put on starting a Node child process and
 * waiting for its output (test/helpers/cli.ts, the closed-descriptor case
 * of handle.test.ts), never for an interval the kernel keeps.
 */
export const slowdown = Math.max(1, Number(process.env.TCP_KEEPALIVE_SLOWDOWN) || 1);

/** A wait bound of `ms` on this machine, scaled by `slowdown` (at most a timer's limit, 2^31 - 1 ms). */
export const scaled = (ms: number): number => Math.min(ms * slowdown, 2 ** 31 - 1);

/** Whether a process with this pid exists (signal 0; EPERM: it exists, not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
