// Where the bench runs: the repository, the packages under test, the machine.
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import { dirname, join } from 'node:path';

import type { Socket } from 'node:net';

import type * as TcpKeepalive from '../lib/index';
import type * as Policy from '../lib/policy';

/** The repository root: the nearest folder above with tcp-keepalive's package.json. */
export const ROOT: string = (() => {
  let dir = __dirname;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'tcp-keepalive') {
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('bench: cannot find the tcp-keepalive repository above ' + __dirname);
    dir = up;
  }
})();

/**
 * The package under test: this repository, or another build of it named by
 * TCP_KEEPALIVE_BENCH_PACKAGE (`npm run bench -- --package DIR` sets it), for
 * measuring a proposed change in a scratch copy with the same bench.
 */
export function packageDir(): string {
  return process.env.TCP_KEEPALIVE_BENCH_PACKAGE || ROOT;
}

/** What a child process requires to load the package under test (and its register entry). */
export function packageSpecifier(entry: '' | '/register' = ''): string {
  const dir = packageDir();
  if (dir === ROOT) return `tcp-keepalive${entry}`;
  return entry === '' ? dir : join(dir, 'dist', 'register.js');
}

/** Where compiled bench code and the C floor go (git-ignored). */
export const OUT = join(ROOT, 'bench', 'out');

/** The package as users get it: `require('tcp-keepalive')`, i.e. dist/ and the addon. */
export function loadPackage(): typeof TcpKeepalive {
  return require(packageDir()) as typeof TcpKeepalive;
}

export type Install = typeof Policy.install;

/**
 * The drop-in policy's install(): from the package's exports when it has it
 * there, else from dist/policy.js; or why it is not available.
 */
export function loadInstall(): { install: Install } | { error: string } {
  const fromIndex = (loadPackage() as Partial<{ install: Install }>).install;
  if (typeof fromIndex === 'function') return { install: fromIndex };
  const path = join(packageDir(), 'dist', 'policy.js');
  if (!existsSync(path)) return { error: 'the package has no install() yet (no dist/policy.js)' };
  const { install } = require(path) as Partial<typeof Policy>;
  if (typeof install !== 'function') return { error: 'dist/policy.js exports no install()' };
  return { install };
}

/** The part of net-keepalive's API used here (its index.d.ts, restated). */
export interface NetKeepalive {
  setKeepAliveInterval(socket: Socket, msecs: number): boolean;
  getKeepAliveInterval(socket: Socket): number;
  setKeepAliveProbes(socket: Socket, count: number): boolean;
  getKeepAliveProbes(socket: Socket): number;
}

/** net-keepalive from devDependencies, or why it could not be loaded. */
export function loadNetKeepalive(): { module: NetKeepalive; version: string } | { error: string } {
  try {
    const path = require.resolve('net-keepalive', { paths: [ROOT] });
    const manifest = require.resolve('net-keepalive/package.json', { paths: [ROOT] });
    const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
    return { module: require(path) as NetKeepalive, version };
  } catch (error) {
    return { error: (error as Error).message.split('\n')[0]! };
  }
}

export interface Machine {
  date: string;
  node: string;
  v8: string;
  uv: string;
  platform: string;
  arch: string;
  kernel: string;
  cpu: string;
  cpus: number;
  memoryGiB: number;
  /** 1, 5 and 15 minute load averages when the run started and ended. */
  loadStart: number[];
  loadEnd?: number[];
  packageVersion: string;
  /** Where the package under test was loaded from, when not this repository. */
  packageDir?: string;
  netKeepalive: string;
}

export function machine(netKeepalive: string): Machine {
  const cpus = os.cpus();
  const manifest = JSON.parse(readFileSync(join(packageDir(), 'package.json'), 'utf8')) as { version: string };
  return {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    uv: process.versions.uv ?? '',
    platform: process.platform,
    arch: process.arch,
    kernel: os.release(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    packageVersion: manifest.version,
    ...(packageDir() === ROOT ? {} : { packageDir: packageDir() }),
    netKeepalive,
  };
}

/** Sizes of a run: the full suite, or a quick pass that only checks the bench works. */
export interface Scale {
  quick: boolean;
  /** Interleaved rounds for the system-call comparisons. */
  syscallRounds: number;
  /** Target duration of one timed sample, ms. */
  sampleMs: number;
  /** Connect + accept cycles per policy setting, in total over all rounds. */
  connectCycles: number;
  connectRounds: number;
  /** HTTP requests per setting, in total over all rounds. */
  httpRequests: number;
  httpRounds: number;
  /** Connections (each a client and an accepted socket) per memory run. */
  memoryConnections: number;
  memoryRounds: number;
  /** Process starts per variant. */
  loadRounds: number;
}

export function scale(quick: boolean): Scale {
  return quick
    ? {
        quick,
        syscallRounds: 3,
        sampleMs: 2,
        connectCycles: 300,
        connectRounds: 2,
        httpRequests: 200,
        httpRounds: 2,
        memoryConnections: 500,
        memoryRounds: 1,
        loadRounds: 2,
      }
    : {
        quick,
        syscallRounds: 21,
        sampleMs: 25,
        connectCycles: 20000,
        connectRounds: 10,
        httpRequests: 20000,
        httpRounds: 10,
        memoryConnections: 100000,
        memoryRounds: 3,
        loadRounds: 40,
      };
}
