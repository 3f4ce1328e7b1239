// The musl prebuilds (Alpine), cross-built here with zig from npm
// (scripts/build-musl.sh through scripts/build-prebuilds.sh). No musl build
// of Node can be had here (npm has none; Debian has no musl libstdc++ for
// Bun's), so they are checked by what they are, with binutils as the
// oracle: the right machine, only musl's libc needed (`libc.so`, which
// musl's loader answers with itself) and no glibc symbol version, and only
// the two N-API entry points exported. Loading them and running the core
// tests on Alpine is the GitHub workflow's `musl` job. The naming scheme is
// checked against node-gyp-build itself: with LIBC=musl it picks the musl
// file, without it the glibc one, and lib/binding.ts names the same.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { prebuildName } from '../lib/binding';
import { describe, platformsWanted, prebuild, root, run, SKIP_REASON } from './helpers/platforms';
import { hasCommand, needs } from './helpers/tools';

// zig builds its libc++ for each target on first use (about 50 s each with an empty cache, as in CI).
t.setTimeout(10 * 60_000);

const NAPI_ENTRY_POINTS = ['napi_register_module_v1', 'node_api_module_get_api_version_v1'];
const TARGETS = [
  ['linux-x64', 'Advanced Micro Devices X86-64'],
  ['linux-arm64', 'AArch64'],
] as const;

// binutils' answers, bounded (a hung tool fails the assertion that reads it).
const tool = (command: string, args: string[]): string => spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 }).stdout;

t.test('the musl prebuilds: machine, libc, exports', { timeout: 600_000 }, async (t) => {
  if (!needs(t, platformsWanted, SKIP_REASON)) return;
  if (!needs(t, hasCommand('readelf') && hasCommand('nm'), 'binutils (readelf, nm) is not installed')) return;
  const { dir } = await prebuild(['linux-x64-musl', 'linux-arm64-musl']);
  for (const [target, machine] of TARGETS) {
    const file = path.join(dir, 'prebuilds', target, prebuildName('musl'));
    if (!t.ok(fs.existsSync(file), `prebuilds/${target}/${prebuildName('musl')} was built`)) continue;
    t.match(tool('readelf', ['-h', file]), new RegExp(`Machine:\\s+${machine}`), `${target}: ${machine}`);
    const needed = [...tool('readelf', ['-d', file]).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    t.same(needed, ['libc.so'], `${target}: needs only musl's libc (${needed.join(', ')})`);
    t.notMatch(tool('readelf', ['-V', file]), /GLIBC/, `${target}: no glibc symbol version`);
    const exported = tool('nm', ['-D', '--defined-only', file]).trim().split('\n').map((l) => l.split(/\s+/).pop()).sort();
    t.same(exported, NAPI_ENTRY_POINTS, `${target}: exports only the N-API entry points`);
    const kind = tool('file', ['-b', file]);
    t.ok(kind.includes(', stripped') && !kind.includes('not stripped'), `${target}: stripped`);
  }
});

t.test("node-gyp-build and lib/binding.ts name the same file for each libc", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tka-libc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const platformDir = path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`);
  fs.mkdirSync(platformDir, { recursive: true });
  for (const libc of ['glibc', 'musl']) fs.writeFileSync(path.join(platformDir, prebuildName(libc)), '');
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"tcp-keepalive"}');
  const resolver = path.join(root, 'node_modules', 'node-gyp-build', 'node-gyp-build.js');
  for (const libc of ['glibc', 'musl']) {
    // glibc: LIBC unset, as on a glibc machine (no /etc/alpine-release here); musl: LIBC=musl, as Alpine's users may set.
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
    if (libc === 'musl') env.LIBC = 'musl';
    else delete env.LIBC;
    const result = await run(process.execPath, ['-e', `console.log(require(${JSON.stringify(resolver)}).resolve(${JSON.stringify(dir)}))`], { env, timeoutMs: 30_000 });
    t.equal(result.status, 0, `node-gyp-build.resolve for ${libc}`, { result: result.status === 0 ? '' : describe(result) });
    t.equal(path.basename(result.stdout.trim()), prebuildName(libc), `${libc === 'musl' ? 'LIBC=musl' : 'LIBC unset'}: node-gyp-build picks ${prebuildName(libc)}`);
  }
});
