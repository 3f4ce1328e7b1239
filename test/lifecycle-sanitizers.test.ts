// The native layer built with AddressSanitizer and UndefinedBehaviorSanitizer
// (scripts/build-sanitized.sh) and the core, policy and lifecycle test files
// run against it as a nested tap run (TCP_KEEPALIVE_ADDON selects the addon,
// LD_PRELOAD loads libasan first). Any ASan or UBSan report halts the process
// that made it (-fno-sanitize-recover=all, halt_on_error=1), so the nested
// run fails. Before the read-back fix (issue 11 item 3) this run failed on
// test/binding.test.ts's userTimeout case: "keepalive_posix.cc:84: runtime
// error: signed integer overflow: 2147483000 + 1000 cannot be represented in
// type 'int'". About 1 min of CPU for the build and the five files.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

import { describe, run, tapArgs } from './helpers/platforms';
import { hasCommand, needs } from './helpers/tools';

const root = path.join(__dirname, '..');
const FILES = [
  'test/keepalive.test.ts',
  'test/binding.test.ts',
  'test/policy.test.ts',
  'test/lifecycle-copies.test.ts',
  'test/lifecycle-exit-gc.test.ts',
];

t.setTimeout(8 * 60_000);

t.test('core, policy and lifecycle tests are clean under ASan + UBSan', async (t) => {
  if (!needs(t, process.platform === 'linux' && hasCommand('g++'), 'needs Linux and g++')) return;
  const dir = t.testdir({});
  const build = await run('bash', [path.join(root, 'scripts', 'build-sanitized.sh'), dir], { timeoutMs: 120_000 });
  t.equal(build.status, 0, build.status === 0 ? 'build-sanitized.sh: built' : `build-sanitized.sh\n${describe(build)}`);
  if (build.status !== 0) return;
  const env = {
    ...process.env,
    TCP_KEEPALIVE_ADDON: path.join(dir, 'tcp_keepalive.node'),
    LD_PRELOAD: execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim(),
    ASAN_OPTIONS: 'detect_leaks=0',
    UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
  };
  const suite = await run(process.execPath, tapArgs(FILES, 2, 180), { cwd: root, env, timeoutMs: 7 * 60_000 });
  t.equal(suite.status, 0, suite.status === 0 ? `nested tap run: exit 0 in ${suite.ms} ms` : `nested tap run\n${describe(suite)}`);
  t.notMatch(suite.stdout + suite.stderr, /runtime error:|ERROR: AddressSanitizer/, 'no sanitizer report');
  for (const file of FILES) t.match(suite.stdout, new RegExp(`^ok \\d+ - ${file.replace(/\./g, '\\.')}`, 'm'), `${file} passed`);
});
