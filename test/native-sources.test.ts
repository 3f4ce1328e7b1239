// The per-OS sources that cannot run on this machine still compile: Windows
// with Debian's mingw-w64 cross compiler (a real build, linked against
// node.exe), and the macOS/FreeBSD files as a syntax check against this
// machine's POSIX headers with the two macOS-only option numbers defined
// (XNU's values), since no macOS or FreeBSD SDK is available on Debian.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { hasCommand, needs } from './helpers/tools';

const root = path.join(__dirname, '..');

t.test('Windows source cross-compiles with mingw-w64 into a loadable DLL', { timeout: 300_000 }, async (t) => {
  if (!needs(t, hasCommand('x86_64-w64-mingw32-g++-posix'), 'mingw-w64 (Debian g++-mingw-w64-x86-64) is not installed')) return;
  const build = spawnSync('bash', [path.join(root, 'scripts', 'build-win32.sh')], { cwd: root, encoding: 'utf8', timeout: 280_000 });
  t.equal(build.status, 0, `build-win32.sh succeeded\n${build.stdout}\n${build.stderr}`);
  t.match(build.stdout, /imports node\.exe/, 'linked against node.exe');
  t.match(build.stdout, /build-win32: ok \d+ bytes/);
});

t.test('macOS and FreeBSD sources pass a syntax check', async (t) => {
  if (!needs(t, hasCommand('g++'), 'g++ is not installed')) return;
  const common = ['-fsyntax-only', '-std=c++17', '-Wall', '-Wextra', '-Werror', '-I', path.join(root, 'src')];
  for (const [file, defines] of [
    ['keepalive_darwin.cc', ['-DTCP_KEEPALIVE=0x10', '-DTCP_RXT_CONNDROPTIME=0x80']],
    ['keepalive_freebsd.cc', []],
    ['keepalive_posix.cc', []],
  ] as const) {
    const result = spawnSync('g++', [...common, ...defines, path.join(root, 'src', file)], { encoding: 'utf8' });
    t.equal(result.status, 0, `${file} ${result.stderr}`);
  }
});
