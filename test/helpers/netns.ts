// Two test hosts on one machine: a pair of network namespaces joined by a
// veth pair, owned by the test that made them. Nothing is routed outside
// them: the addresses (198.18.0.0/15, RFC 2544's range for network tests)
// exist only inside the two namespaces.
//
// Names carry this process's pid (tka-<pid>-<n>-s / -c), so a later run can
// remove what a killed run left behind (sweepStale), and an exit handler
// removes this process's namespaces even when a test fails without teardown.
// Processes left inside a namespace are killed before it is deleted; the
// namespace then goes away, and with it the veth end inside it and the pair.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

import type { Test } from 'tap';

import { hasCommand, processAlive } from './tools';

export interface Host {
  /** Network namespace name, for `ip netns exec`. */
  ns: string;
  /** The host's address on the link. */
  address: string;
  /** The host's veth device (inside its namespace). */
  dev: string;
}

export interface TwoHosts {
  server: Host;
  client: Host;
  /**
   * Cuts the path silently: no FIN, no RST, packets just vanish. By default
   * the server's link goes down (the client then sees a silent peer); with
   * 'client' the client's link goes down instead.
   *
   * `how` = 'drop' leaves both links up and makes that side's kernel drop
   * every IP packet in and out instead (nftables, in its namespace): the
   * other side keeps sending onto a working link, so its segments can be
   * captured there. With 'link' the other side loses carrier too, and its
   * kernel discards what it sends before any capture point.
   */
  cut(side?: 'server' | 'client', how?: 'link' | 'drop'): void;
  /** Undoes every cut: links up, drop rules removed. */
  restore(): void;
  /** Runs a command inside a host's namespace and returns its stdout. */
  exec(host: Host, command: string, args: string[]): string;
  /** Spawns a command inside a host's namespace (killed at teardown). */
  spawn(host: Host, command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** Removes both namespaces (and the veth pair); idempotent. */
  destroy(): void;
}

const PREFIX = 'tka-';
const owned = new Set<string>();
let counter = 0;
let exitHookInstalled = false;

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// A process still inside a namespace keeps it, and the veth end in it, alive
// after `ip netns del` (which only removes the name): an orphan of a killed
// run would hold them forever. Only processes the suite started live there.
function killInside(ns: string): void {
  let pids: string[];
  try {
    pids = ip(['netns', 'pids', ns]).split(/\s+/).filter(Boolean);
  } catch {
    return; // no such namespace
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function deleteNs(ns: string): void {
  killInside(ns);
  try {
    ip(['netns', 'del', ns]);
  } catch {
    // already gone
  }
  owned.delete(ns);
}

/** Names of this suite's namespaces that exist now. */
export function suiteNamespaces(): string[] {
  return ip(['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter((name) => name.startsWith(PREFIX));
}

/** Removes namespaces left by runs whose process is gone (e.g. SIGKILLed). */
export function sweepStale(): string[] {
  const removed: string[] = [];
  for (const ns of suiteNamespaces()) {
    const pid = Number(/^tka-(\d+)-/.exec(ns)?.[1]);
    if (pid && pid !== process.pid && !processAlive(pid)) {
      deleteNs(ns);
      removed.push(ns);
    }
  }
  return removed;
}

/** Whether namespaces can be made here, and if not, why. */
export function netnsSupport(): { ok: boolean; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'network namespaces are a Linux feature' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces need root' };
  if (!hasCommand('ip')) return { ok: false, reason: 'ip (iproute2) is not installed' };
  const probe = `${PREFIX}${process.pid}-probe`;
  try {
    ip(['netns', 'add', probe]);
    ip(['netns', 'del', probe]);
    return { ok: true, reason: '' };
  } catch (e) {
    return { ok: false, reason: `ip netns add failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const ns of [...owned]) deleteNs(ns);
  });
}

/**
 * Makes network namespaces for one test: `<prefix><pid>-<n>-<role>`, each
 * with loopback up, owned by this process (removed at exit, swept by a later
 * run if this one is killed). Returns their names, in the order of `roles`,
 * and a tag unique to this call for naming devices (15 characters at most).
 */
export function makeNamespaces(roles: readonly string[]): { names: string[]; tag: string } {
  sweepStale();
  installExitHook();
  const n = counter++;
  const tag = `${process.pid.toString(36)}${n.toString(36)}`;
  const names = roles.map((role) => `${PREFIX}${process.pid}-${n}-${role}`);
  try {
    for (const ns of names) {
      ip(['netns', 'add', ns]);
      owned.add(ns);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
  } catch (e) {
    for (const ns of names) deleteNs(ns);
    throw e;
  }
  return { names, tag };
}

/** Removes namespaces made by makeNamespaces, killing what runs inside; idempotent. */
export function removeNamespaces(names: readonly string[]): void {
  for (const ns of names) deleteNs(ns);
}

/** Runs `ip` with these arguments; its stdout. */
export { ip };

/** Runs a command inside a namespace and returns its stdout (30 s bound). */
export function execIn(ns: string, command: string, args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, command, ...args], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Spawns processes inside namespaces; `killAll` kills those still running. */
export function spawner(): { spawn(ns: string, command: string, args: string[], options?: SpawnOptions): ChildProcess; killAll(): void } {
  const children = new Set<ChildProcess>();
  return {
    spawn: (ns, command, args, options = {}) => {
      const child = spawn('ip', ['netns', 'exec', ns, command, ...args], options);
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
    },
    killAll: () => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      children.clear();
    },
  };
}

/**
 * Namespaces for one test (makeNamespaces), the processes spawned in them,
 * and `destroy`, which kills those and removes the namespaces; registered
 * as the test's teardown, and idempotent.
 */
export function testNamespaces(
  t: Pick<Test, 'teardown'>,
  roles: readonly string[],
): { names: string[]; tag: string; processes: ReturnType<typeof spawner>; destroy(): void } {
  const { names, tag } = makeNamespaces(roles);
  const processes = spawner();
  const destroy = (): void => {
    processes.killAll();
    removeNamespaces(names);
  };
  t.teardown(destroy);
  return { names, tag, processes, destroy };
}

/** Joins two hosts with a veth pair, each end with its address (/24) and up. */
export function link(a: Host, b: Host): void {
  ip(['link', 'add', a.dev, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.dev, 'netns', b.ns]);
  for (const host of [a, b]) {
    ip(['-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', host.dev]);
    ip(['-n', host.ns, 'link', 'set', host.dev, 'up']);
  }
}

/** Makes two hosts joined by a veth pair; removed at the test's teardown. */
export function twoHosts(t: Pick<Test, 'teardown'>): TwoHosts {
  const { names, tag, processes, destroy } = testNamespaces(t, ['s', 'c']);
  const server: Host = { ns: names[0]!, address: '198.18.0.1', dev: `tk${tag}s` };
  const client: Host = { ns: names[1]!, address: '198.18.0.2', dev: `tk${tag}c` };
  try {
    link(server, client);
  } catch (e) {
    destroy();
    throw e;
  }

  const setLinks = (state: 'up' | 'down', hosts: Host[]): void => {
    for (const host of hosts) ip(['-n', host.ns, 'link', 'set', host.dev, state]);
  };
  const dropping = new Set<Host>();
  const nft = (host: Host, commands: string): void => {
    execFileSync('ip', ['netns', 'exec', host.ns, 'nft', commands], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  };

  return {
    server,
    client,
    cut: (side = 'server', how = 'link') => {
      const host = side === 'server' ? server : client;
      if (how === 'link') return setLinks('down', [host]);
      nft(
        host,
        'add table inet tka_cut; ' +
          'add chain inet tka_cut in { type filter hook input priority -300; policy drop; }; ' +
          'add chain inet tka_cut out { type filter hook output priority -300; policy drop; }',
      );
      dropping.add(host);
    },
    restore: () => {
      for (const host of dropping) nft(host, 'delete table inet tka_cut');
      dropping.clear();
      setLinks('up', [server, client]);
    },
    exec: (host, command, args) =>
      execFileSync('ip', ['netns', 'exec', host.ns, command, ...args], { encoding: 'utf8', timeout: 30_000 }),
    spawn: (host, command, args, options) => processes.spawn(host.ns, command, args, options),
    destroy,
  };
}
