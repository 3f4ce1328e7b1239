// Lifecycle tier (after classic-level's env-cleanup and GC tests), each case
// a child process (test/fixtures/lifecycle/exit-gc.js) that must exit 0,
// unsignalled:
//   process.exit(0) inside a 'connect' listener while setKeepalive is pending
//     (before and after the package's own listener): 20 processes, and 40
//     worker threads in one process (each worker's exit tears down its copy
//     of the addon's bound functions)
//   gc() between every set and get, 500 calls, a fresh copy of the package
//     over the same addon every 25 (20 copies, the dropped ones collected and
//     finalized): every value read back is the one set
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const entry = path.join(__dirname, '..', 'dist', 'index.js');
const fixture = path.join(__dirname, 'fixtures', 'lifecycle', 'exit-gc.js');

function run(args: string[], execArgv: string[] = []): { status: number | null; signal: string | null; report: unknown; stderr: string } {
  const child = spawnSync(process.execPath, [...execArgv, fixture, ...args], { encoding: 'utf8', timeout: 50_000 });
  const last = child.stdout.trim().split('\n').pop();
  return { status: child.status, signal: child.signal, report: last ? (JSON.parse(last) as unknown) : null, stderr: child.stderr };
}

t.test('process.exit inside a connect listener with setKeepalive pending: 20 processes', async (t) => {
  const results = [];
  for (let round = 0; round < 20; round++) {
    const { status, signal, stderr } = run(['exit', entry, String(round)]);
    results.push({ status, signal, stderr });
  }
  t.same(results, Array.from({ length: 20 }, () => ({ status: 0, signal: null, stderr: '' })));
});

t.test('process.exit inside a connect listener in 40 worker threads', async (t) => {
  t.match(run(['exit-workers', entry, '40']), { status: 0, signal: null, report: { workers: 40 } });
});

t.test('gc() between every call, 20 copies over one addon collected on the way', async (t) => {
  t.match(run(['gc', entry, '500'], ['--expose-gc']), { status: 0, signal: null, report: { calls: 500, copies: 20, wrong: 0 } });
});
