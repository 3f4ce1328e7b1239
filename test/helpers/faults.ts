// Real network faults between two test hosts (network namespaces joined by a
// veth pair, test/helpers/netns.ts), with a server and a client as separate
// Node processes (test/fixtures/faults/peer.js). Every run measures from the
// moment the path is cut to the moment the application sees the error, with
// the kernel's view (ss) and the wire (tcpdump) as independent witnesses.
//
// Used by the fault tests (test/faults-*.test.ts), which assert on the
// results, and by `npm run bench:faults` (bench/faults.ts), which prints them:
// one measuring code for both.
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

import type { Test } from 'tap';

import type { ConnectionEnd, KeepaliveOptions, KeepaliveState } from '../../lib/index';
import { analyseProbes, startCapture, type Capture, type ProbeReport } from './capture';
import { twoHosts, type Host, type TwoHosts } from './netns';
import { ssTimer, type SsTimer } from './ss';
import { scaled } from './tools';

export type { ProbeReport } from './capture';

/** How a peer sets keepalive on its connection. */
export type KeepaliveMode =
  | { kind: 'ours'; options: KeepaliveOptions }
  | { kind: 'node'; delayMs: number }
  | { kind: 'none' };

/** What test/fixtures/faults/peer.js takes as argv[2] (JSON). */
export interface PeerConfig {
  role: 'server' | 'client';
  /** The server's address: listened on, or connected to. */
  address: string;
  port: number;
  keepalive: KeepaliveMode;
  /** Server only: never read from the accepted socket (data stays in the kernel). */
  noRead?: boolean;
  /** Report OpenTelemetry metrics after each record ('metrics', from the real SDK's in-memory exporter). */
  metrics?: boolean;
}

/** A line peer.js prints; `t` is its Date.now() when it happened. */
export type PeerEvent =
  | { event: 'listening'; t: number }
  | { event: 'connected'; t: number; localPort: number; remotePort: number; keepalive: KeepaliveState | null }
  | { event: 'data'; t: number; text: string }
  | { event: 'wrote'; t: number; bytes: number }
  | { event: 'end'; t: number }
  | { event: 'error'; t: number; code: string; message: string }
  | { event: 'close'; t: number; hadError: boolean }
  | { event: 'ended'; t: number; record: ConnectionEnd }
  | { event: 'metrics'; t: number; points: MetricPoint[] }
  | { event: 'fatal'; t: number; message: string };

/** One exported OpenTelemetry data point: a counter's value, or a histogram's count and sum. */
export interface MetricPoint {
  name: string;
  attributes: Record<string, string>;
  value?: number;
  count?: number;
  sum?: number;
}

/** Who owns the resources of a run: a tap test, or the bench's own scope. */
export type Owner = Pick<Test, 'teardown'>;

export interface Setting {
  idle: number;
  interval: number;
  count: number;
}

/** idle + interval × count: the promised worst case for a silent peer. */
export const budgetOf = (s: Setting): number => s.idle + s.interval * s.count;
export const label = (s: Setting): string => `{${s.idle},${s.interval},${s.count}}`;

/**
 * The settings of every case, shared by the tests and the report.
 *
 * Case 1's settings tell idle, interval and count apart: {2,1,5} and {5,1,2}
 * have the same budget from idle and count swapped, {2,2,3} another budget
 * from a longer interval; the capture shows each part on its own (first
 * probe after idle, probes interval apart, count of them). Budgets of 7-8 s
 * keep scheduling noise on a busy 2-core machine small against the budget,
 * and still end before the baselines' longer wait.
 *
 * Every setting has idle ≥ interval. With idle < interval Linux may send the
 * first probe up to `interval`, not `idle`, after the last segment: after a
 * probe it re-arms the keepalive timer for `interval`, and an answer or data
 * arriving later does not re-arm it. The worst case is then
 * max(idle, interval) + interval × count ({1,4,1}: 7.65 s measured, not 5).
 */
export const CASES = {
  /** Case 1 (and 7): client detects a silent server. */
  detection: [
    { idle: 2, interval: 1, count: 5 },
    { idle: 5, interval: 1, count: 2 },
    { idle: 2, interval: 2, count: 3 },
  ] as Setting[],
  /** Case 2: the server detects a vanished client. */
  serverSide: { idle: 3, interval: 1, count: 3 } as Setting,
  /** Case 3: an outage shorter than interval × (count − 1) = 4 s; the probe at 2 s is lost, the one at 4 s answered. */
  transient: { setting: { idle: 2, interval: 2, count: 3 } as Setting, outageS: 3 },
  /** Case 4: the server process dies while the path is down (probe at 2 s lost); restored at 3 s, probe at 4 s. */
  stateLoss: { setting: { idle: 2, interval: 2, count: 4 } as Setting, restoreAtS: 3 },
  /** Case 5: data written after the cut; explicit userTimeout differs from 'auto' (4). */
  inFlight: { setting: { idle: 2, interval: 1, count: 2 } as Setting, explicitUserTimeout: 2 },
  /** Case 6: Node's own socket.setKeepAlive(true, nodeDelayMs), and nothing at all. */
  baseline: { nodeDelayMs: 1000, waitS: 16 },
} as const;

/** Node (libuv ≥ 1.35 on Linux) fixes interval 1 s and count 10 whatever the delay. */
export const NODE_BUDGET = CASES.baseline.nodeDelayMs / 1000 + 1 * 10;

/**
 * How the path is cut: the far host's kernel drops every IP packet in and
 * out (nftables), links stay up. The near side keeps sending onto a live
 * link, so its probes reach the wire and the capture (with the link taken
 * down instead, the near side loses carrier and its kernel discards them
 * before any capture point), and it hears nothing back: a silent peer.
 */
const CUT = 'drop';
const PEER = path.join(__dirname, '..', 'fixtures', 'faults', 'peer.js');
/** The compiled package the peers load. */
export const DIST = path.join(__dirname, '..', '..', 'dist', 'index.js');
const PORT = 7000;
const round = (x: number): number => Math.round(x * 1000) / 1000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

type EventOf<E extends PeerEvent['event']> = Extract<PeerEvent, { event: E }>;

/**
 * Runs started together: each sets up its hosts and connection first, and
 * none cuts until all are set up (starting Node processes is the busy part
 * on 2 cores; the measurements want a quiet machine). The last segment and
 * the cut then happen one run at a time (`exclusive`), so no run's cut waits
 * behind another's work. Every wait here is bounded.
 */
export class Session {
  private joined = 0;
  private arrived = 0;
  private open!: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.open = resolve));
  private queue: Promise<unknown> = Promise.resolve();

  /** After `setupLimitMs` the runs that are set up go ahead anyway. */
  constructor(setupLimitMs = 120_000) {
    setTimeout(() => this.open(), setupLimitMs).unref();
  }

  /** Registers a run: call it synchronously, when the run starts. */
  join(): { ready(): Promise<void>; failed(): void } {
    this.joined++;
    let done = false;
    const arrive = (): void => {
      if (done) return;
      done = true;
      if (++this.arrived >= this.joined) this.open();
    };
    return {
      ready: () => {
        arrive();
        return this.opened;
      },
      failed: arrive,
    };
  }

  /** Runs `fn` with no other exclusive function of this session running. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn, fn);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/** Sets up with `make`, then waits until every run of the session has. */
export async function setUp<T>(ticket: ReturnType<Session['join']>, make: () => Promise<T>): Promise<T> {
  let made: T;
  try {
    made = await make();
  } catch (e) {
    ticket.failed();
    throw e;
  }
  await ticket.ready();
  return made;
}

/** A peer process inside a test host, and what it reported so far. */
export class Peer {
  readonly events: PeerEvent[] = [];
  readonly child: ChildProcess;
  private stderr = '';
  private readonly waiters = new Set<() => void>();
  private exited = false;

  constructor(
    hosts: Pick<TwoHosts, 'spawn'>,
    readonly host: Host,
    readonly config: PeerConfig,
  ) {
    this.child = hosts.spawn(host, process.execPath, [PEER, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as PeerEvent);
      } catch {
        this.stderr += `(stdout) ${line}\n`;
      }
      this.notify();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      if (this.stderr.length < 20_000) this.stderr += chunk.toString();
    });
    this.child.stdin!.on('error', () => {}); // a peer that died is reported by the waits
    this.child.once('close', () => {
      this.exited = true;
      this.notify();
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  command(line: string): void {
    if (!this.exited) this.child.stdin!.write(`${line}\n`);
  }

  /** The first event from index `from` on that matches, or null after `ms` (or if the peer exits). */
  async waitFor(match: (e: PeerEvent) => boolean, ms: number, from = 0): Promise<PeerEvent | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found) return found;
      if (this.exited || Date.now() >= deadline) return null;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, deadline - Date.now());
        this.waiters.add(done);
      });
    }
  }

  /** Like waitFor, for an event that must come: throws with diagnostics if it does not. */
  async expect<E extends PeerEvent['event']>(
    event: E,
    ms: number,
    what: string,
    from = 0,
    match: (e: EventOf<E>) => boolean = () => true,
  ): Promise<EventOf<E>> {
    const found = await this.waitFor((e) => e.event === event && match(e as EventOf<E>), ms, from);
    if (!found) throw new Error(`${this.config.role} in ${this.host.ns}: no ${what} within ${ms} ms\n${this.diagnostics()}`);
    return found as EventOf<E>;
  }

  /** SIGKILLs the peer and waits (bounded) until it is gone. */
  async kill(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGKILL');
    const deadline = Date.now() + 5000;
    while (!this.exited && Date.now() < deadline) await sleep(20);
    if (!this.exited) throw new Error(`${this.config.role} did not exit after SIGKILL`);
  }

  diagnostics(): string {
    return `events: ${JSON.stringify(this.events)}\nstderr: ${this.stderr.slice(-2000)}`;
  }
}

/** Recv-Q and Send-Q of the established connection with local port `port`, from `ss`. */
export function ssQueues(hosts: Pick<TwoHosts, 'exec'>, host: Host, port: number): { recvQ: number; sendQ: number } | null {
  const out = hosts.exec(host, 'ss', ['-tn', 'state', 'established', `( sport = :${port} )`]);
  const match = /^\s*(\d+)\s+(\d+)\s+\S+:\d+/m.exec(out);
  return match ? { recvQ: Number(match[1]), sendQ: Number(match[2]) } : null;
}

/** Lines of `ss -tan` (any state) for local port `port`. */
export function ssSockets(hosts: TwoHosts, host: Host, port: number): string[] {
  return hosts
    .exec(host, 'ss', ['-tanH', `( sport = :${port} )`])
    .split('\n')
    .filter((line) => line.trim() !== '');
}

export interface Pair {
  hosts: TwoHosts;
  server: Peer;
  client: Peer;
  /** 'connected' events, with the local ports and the keepalive state each side reported. */
  serverConnected: EventOf<'connected'>;
  clientConnected: EventOf<'connected'>;
}

export async function connectedPair(
  owner: Owner,
  modes: { server: KeepaliveMode; client: KeepaliveMode },
  options: { noRead?: boolean; captureOn?: 'server' | 'client'; metrics?: boolean } = {},
): Promise<Pair & { capture?: Capture }> {
  const hosts = twoHosts(owner);
  const address = hosts.server.address;
  const server = new Peer(hosts, hosts.server, { role: 'server', address, port: PORT, keepalive: modes.server, noRead: options.noRead, metrics: options.metrics });
  // Process start-up bounds (scaled under emulation), not kernel intervals.
  await server.expect('listening', scaled(30_000), 'listening');
  // Started before the connection, so the handshake is in the capture too.
  const capture = options.captureOn ? await startCapture(hosts, hosts[options.captureOn]) : undefined;
  const client = new Peer(hosts, hosts.client, { role: 'client', address, port: PORT, keepalive: modes.client, metrics: options.metrics });
  const clientConnected = await client.expect('connected', scaled(30_000), 'connection');
  const serverConnected = await server.expect('connected', 5_000, 'accepted connection');
  for (const peer of [server, client]) {
    const fatal = peer.events.find((e) => e.event === 'fatal');
    if (fatal) throw new Error(`${peer.config.role}: ${JSON.stringify(fatal)}`);
  }
  return { hosts, server, client, serverConnected, clientConnected, capture };
}

/**
 * Makes `measured`'s last received segment the newest possible, then cuts
 * the path at the other side. A ping from `measured` is answered by a pong:
 * when the pong arrives, `measured` has nothing unacknowledged and its idle
 * clock starts at zero. Returns the cut time (after `nft` returned) and how
 * long after the pong's arrival it came.
 */
export function syncAndCut(session: Session, pair: Pair, side: 'server' | 'client'): Promise<{ cutAt: number; lagMs: number }> {
  return session.exclusive(async () => {
    const measured = pair[side];
    const from = measured.events.length;
    measured.command('ping');
    const pong = await measured.expect('data', 5000, 'pong', from, (e) => e.text.includes('pong'));
    pair.hosts.cut(side === 'client' ? 'server' : 'client', CUT);
    const cutAt = Date.now();
    return { cutAt, lagMs: cutAt - pong.t };
  });
}

export type ModeName = 'ours' | 'node' | 'none';

export interface DetectionRun {
  case: string;
  side: 'server' | 'client';
  mode: ModeName;
  setting: Setting | null;
  /** Seconds promised: idle + interval × count (Node's: its delay + 1 × 10). */
  budget: number | null;
  /** Keepalive state the measured side read back from the kernel at connect. */
  keepalive: KeepaliveState | null;
  /** ms between the last segment's arrival and the cut. */
  lagMs: number;
  /** What the application saw, and seconds from the cut; null if nothing within the wait. */
  code: string | null;
  detection: number | null;
  /** Seconds waited after the cut. */
  waited: number;
  /** The kernel's timer on the measured side when the wait ended without an error. */
  timerAtEnd: SsTimer | null;
  /** Whether `ss` still showed the measured side's connection established when the wait ended. */
  establishedAtEnd: boolean;
  probes: ProbeReport | null;
}

/**
 * Cases 1, 2, 6 and 7: an idle connection, the path cut on the far side of
 * `side`, and the time until `side`'s application sees the error.
 */
export async function idleDetection(
  owner: Owner,
  session: Session,
  opts: { caseName: string; side: 'server' | 'client'; mode: ModeName; setting?: Setting; waitS: number; capture?: boolean },
): Promise<DetectionRun> {
  const mode: KeepaliveMode =
    opts.mode === 'ours'
      ? { kind: 'ours', options: { ...opts.setting! } }
      : opts.mode === 'node'
        ? { kind: 'node', delayMs: CASES.baseline.nodeDelayMs }
        : { kind: 'none' };
  const none: KeepaliveMode = { kind: 'none' };
  const ticket = session.join();
  const pair = await setUp(ticket, () =>
    connectedPair(
      owner,
      { server: opts.side === 'server' ? mode : none, client: opts.side === 'client' ? mode : none },
      { captureOn: opts.capture ? opts.side : undefined },
    ),
  );
  const measured = pair[opts.side];
  const connected = opts.side === 'server' ? pair.serverConnected : pair.clientConnected;
  const from = measured.events.length;
  const { cutAt, lagMs } = await syncAndCut(session, pair, opts.side);
  const end = await measured.waitFor(
    (e) => e.event === 'error' || e.event === 'close' || e.event === 'end',
    cutAt + opts.waitS * 1000 - Date.now(),
    from,
  );
  const waited = round((Date.now() - cutAt) / 1000);
  const timerAtEnd = end ? null : ssTimer(connected.localPort, measured.host.ns);
  const establishedAtEnd = ssQueues(pair.hosts, measured.host, connected.localPort) !== null;
  let probes: ProbeReport | null = null;
  if (pair.capture) {
    await sleep(100); // let the RST that follows the last probe reach the capture
    const segments = await pair.capture.stop();
    const local = { address: measured.host.address, port: connected.localPort };
    const remote = { address: (opts.side === 'server' ? pair.hosts.client : pair.hosts.server).address, port: connected.remotePort };
    probes = analyseProbes(segments, local, remote);
  }
  const budget = opts.mode === 'ours' ? budgetOf(opts.setting!) : opts.mode === 'node' ? NODE_BUDGET : null;
  return {
    case: opts.caseName,
    side: opts.side,
    mode: opts.mode,
    setting: opts.setting ?? null,
    budget,
    keepalive: connected.keepalive,
    lagMs,
    code: end ? (end.event === 'error' ? end.code : end.event) : null,
    detection: end ? round((end.t - cutAt) / 1000) : null,
    waited,
    timerAtEnd,
    establishedAtEnd,
    probes,
  };
}

export interface TransientRun {
  setting: Setting;
  outage: number;
  /** Unanswered probes the kernel counted during the outage (ss backoff field). */
  probesOutDuring: number | null;
  /** The same after the path came back and the next probe was answered. */
  probesOutAfter: number | null;
  /** The client's ping answered by the server after the outage, and the reverse. */
  clientToServer: boolean;
  serverToClient: boolean;
  /** Any error/close/end either side saw. */
  endings: PeerEvent[];
}

/** Case 3: an outage shorter than interval × (count − 1) must not kill the connection. */
export async function transientOutage(owner: Owner, session: Session, setting: Setting, outageS: number): Promise<TransientRun> {
  const ticket = session.join();
  const pair = await setUp(ticket, () =>
    connectedPair(owner, { server: { kind: 'none' }, client: { kind: 'ours', options: { ...setting } } }),
  );
  const port = pair.clientConnected.localPort;
  const ns = pair.hosts.client.ns;
  const { cutAt } = await syncAndCut(session, pair, 'client');
  // First probe goes out at idle after the pong and is lost.
  await sleep(cutAt + (setting.idle + Math.min(0.5, setting.interval / 2)) * 1000 - Date.now());
  const probesOutDuring = ssTimer(port, ns)?.backoff ?? null;
  await sleep(cutAt + outageS * 1000 - Date.now());
  pair.hosts.restore();
  const restoredAt = Date.now();
  // The first probe time after the restore, plus half an interval for its answer.
  let k = 0;
  while (setting.idle + k * setting.interval <= outageS) k++;
  await sleep(cutAt + (setting.idle + k * setting.interval + setting.interval / 2) * 1000 - Date.now());
  const probesOutAfter = ssTimer(port, ns)?.backoff ?? null;
  const roundTrip = async (from: Peer): Promise<boolean> => {
    const start = from.events.length;
    from.command('ping');
    return (await from.waitFor((e) => e.event === 'data' && e.text.includes('pong'), 5000, start)) !== null;
  };
  const clientToServer = await roundTrip(pair.client);
  const serverToClient = await roundTrip(pair.server);
  const endings = [pair.client, pair.server].flatMap((p) =>
    p.events.filter((e) => e.event === 'error' || e.event === 'close' || e.event === 'end'),
  );
  return { setting, outage: round((restoredAt - cutAt) / 1000), probesOutDuring, probesOutAfter, clientToServer, serverToClient, endings };
}

export interface StateLossRun {
  setting: Setting;
  budget: number;
  /** Bytes the server never read, held in its kernel when it died (ss Recv-Q). */
  unreadAtServer: number | null;
  /** `ss -tan` lines for the server port after the kill (empty: its state is gone). */
  serverSocketsAfterKill: string[];
  /** Seconds from the cut to the restore and to the client's error. */
  restoredAfter: number;
  code: string | null;
  detection: number | null;
}

/**
 * Case 4: the server process is killed while the path is down (with unread
 * data, so the kernel drops the connection at once: its RST is lost on the
 * dead link), the path comes back, and the client's next probe meets a host
 * that knows nothing of the connection: RST, ECONNRESET.
 */
export async function peerStateLost(owner: Owner, session: Session, setting: Setting, restoreAtS: number): Promise<StateLossRun> {
  const ticket = session.join();
  const pair = await setUp(ticket, () =>
    connectedPair(owner, { server: { kind: 'none' }, client: { kind: 'ours', options: { ...setting } } }, { noRead: true }),
  );
  const from = pair.client.events.length;
  // The server's acknowledgement of these bytes is the client's last segment
  // received: its probes then come at idle, idle + interval, ... after it.
  const cutAt = await session.exclusive(async () => {
    pair.client.command('write 6');
    await pair.client.expect('wrote', 5000, 'write', from);
    // Acknowledged once the retransmission timer gave way to the keepalive timer.
    const timer = await waitForTimer(pair.hosts.client, pair.clientConnected.localPort, 'keepalive', 5000);
    if (timer?.name !== 'keepalive') throw new Error(`client's data was not acknowledged: ss timer ${JSON.stringify(timer)}`);
    pair.hosts.cut('server', CUT);
    return Date.now();
  });
  const unreadAtServer = ssQueues(pair.hosts, pair.hosts.server, PORT)?.recvQ ?? null;
  await pair.server.kill();
  const serverSocketsAfterKill = ssSockets(pair.hosts, pair.hosts.server, PORT);
  await sleep(cutAt + restoreAtS * 1000 - Date.now());
  pair.hosts.restore();
  const restoredAt = Date.now();
  const end = await pair.client.waitFor(
    (e) => e.event === 'error' || e.event === 'close' || e.event === 'end',
    cutAt + (budgetOf(setting) + 2) * 1000 - Date.now(),
    from,
  );
  return {
    setting,
    budget: budgetOf(setting),
    unreadAtServer,
    serverSocketsAfterKill,
    restoredAfter: round((restoredAt - cutAt) / 1000),
    code: end ? (end.event === 'error' ? end.code : end.event) : null,
    detection: end ? round((end.t - cutAt) / 1000) : null,
  };
}

async function waitForTimer(host: Host, port: number, name: string, ms: number): Promise<SsTimer | null> {
  const deadline = Date.now() + ms;
  for (;;) {
    const timer = ssTimer(port, host.ns);
    if (timer?.name === name || Date.now() >= deadline) return timer;
    await sleep(20);
  }
}

export interface InFlightRun {
  setting: Setting;
  /** What was asked for: none, 'auto' or seconds. */
  userTimeout: 'none' | 'auto' | number;
  /** userTimeout (s) the kernel reports for the client after setKeepalive. */
  effectiveUserTimeout: number;
  budget: number;
  /** The client's timer 1 s after the write: 'on' = retransmitting, i.e. data in flight. */
  timerAfterWrite: SsTimer | null;
  /** The same when the wait ended. */
  timerAtEnd: SsTimer | null;
  code: string | null;
  /** Seconds from the write (made right after the cut) to the error. */
  detection: number | null;
  waited: number;
}

/**
 * Case 5: the client writes after the cut, so its data is never
 * acknowledged. Keepalive cannot fire while data is in flight; only
 * userTimeout bounds it.
 */
export async function dataInFlight(
  owner: Owner,
  session: Session,
  setting: Setting,
  userTimeout: 'none' | 'auto' | number,
  waitS: number,
): Promise<InFlightRun> {
  const options = userTimeout === 'none' ? { ...setting } : { ...setting, userTimeout };
  const ticket = session.join();
  const pair = await setUp(ticket, () => connectedPair(owner, { server: { kind: 'none' }, client: { kind: 'ours', options } }));
  const port = pair.clientConnected.localPort;
  const ns = pair.hosts.client.ns;
  await syncAndCut(session, pair, 'client');
  const from = pair.client.events.length;
  pair.client.command('write 1000');
  const wrote = await pair.client.expect('wrote', 5000, 'write', from);
  await sleep(wrote.t + 1000 - Date.now());
  const timerAfterWrite = ssTimer(port, ns);
  const end = await pair.client.waitFor(
    (e) => e.event === 'error' || e.event === 'close' || e.event === 'end',
    wrote.t + waitS * 1000 - Date.now(),
    from,
  );
  const state = pair.clientConnected.keepalive!;
  return {
    setting,
    userTimeout,
    effectiveUserTimeout: state.userTimeout,
    budget: budgetOf(setting),
    timerAfterWrite,
    timerAtEnd: end ? null : ssTimer(port, ns),
    code: end ? (end.event === 'error' ? end.code : end.event) : null,
    detection: end ? round((end.t - wrote.t) / 1000) : null,
    waited: round((Date.now() - wrote.t) / 1000),
  };
}

// --- The whole set, for the report ------------------------------------------

export interface AllRuns {
  detection: DetectionRun[];
  serverSide: DetectionRun;
  transient: TransientRun;
  stateLoss: StateLossRun;
  inFlight: InFlightRun[];
  baselines: DetectionRun[];
}

/** Case 1 (with case 7's capture) for every setting, side by side. */
export const runDetection = (owner: Owner, session: Session): Promise<DetectionRun>[] =>
  CASES.detection.map((setting) =>
    idleDetection(owner, session, { caseName: '1', side: 'client', mode: 'ours', setting, waitS: budgetOf(setting) + 3, capture: true }),
  );

/** Case 2 (with a capture on the server's link). */
export const runServerSide = (owner: Owner, session: Session): Promise<DetectionRun> =>
  idleDetection(owner, session, {
    caseName: '2',
    side: 'server',
    mode: 'ours',
    setting: CASES.serverSide,
    waitS: budgetOf(CASES.serverSide) + 3,
    capture: true,
  });

export const runTransient = (owner: Owner, session: Session): Promise<TransientRun> =>
  transientOutage(owner, session, CASES.transient.setting, CASES.transient.outageS);

export const runStateLoss = (owner: Owner, session: Session): Promise<StateLossRun> =>
  peerStateLost(owner, session, CASES.stateLoss.setting, CASES.stateLoss.restoreAtS);

/** Case 5: without userTimeout (waits budget + 5 s), with 'auto', with an explicit value. */
export const runInFlight = (owner: Owner, session: Session): Promise<InFlightRun>[] => {
  const { setting, explicitUserTimeout } = CASES.inFlight;
  return [
    dataInFlight(owner, session, setting, 'none', budgetOf(setting) + 5),
    dataInFlight(owner, session, setting, 'auto', budgetOf(setting) + 3),
    dataInFlight(owner, session, setting, explicitUserTimeout, explicitUserTimeout + 3),
  ];
};

/** Case 6: Node's setKeepAlive, and no keepalive at all. */
export const runBaselines = (owner: Owner, session: Session): Promise<DetectionRun>[] => [
  idleDetection(owner, session, { caseName: '6', side: 'client', mode: 'node', waitS: CASES.baseline.waitS, capture: true }),
  idleDetection(owner, session, { caseName: '6', side: 'client', mode: 'none', waitS: CASES.baseline.waitS }),
];

/** Every case at once, each on its own pair of hosts. */
export async function runAll(owner: Owner): Promise<AllRuns> {
  const session = new Session();
  const [detection, serverSide, transient, stateLoss, inFlight, baselines] = await Promise.all([
    Promise.all(runDetection(owner, session)),
    runServerSide(owner, session),
    runTransient(owner, session),
    runStateLoss(owner, session),
    Promise.all(runInFlight(owner, session)),
    Promise.all(runBaselines(owner, session)),
  ]);
  return { detection, serverSide, transient, stateLoss, inFlight, baselines };
}

// --- The report ---------------------------------------------------------------

const seconds = (x: number | null): string => (x === null ? '—' : `${x.toFixed(2)} s`);
const ratio = (measured: number | null, budget: number | null): string =>
  measured === null || budget === null ? '—' : (measured / budget).toFixed(3);

function probeColumn(p: ProbeReport | null): string {
  if (!p) return '';
  const [min, max] = [Math.min(...p.spacings).toFixed(2), Math.max(...p.spacings).toFixed(2)];
  const spacing = p.spacings.length === 0 ? '' : min === max ? `, ${min} s apart` : `, ${min}–${max} s apart`;
  return `tcpdump: ${p.probes.length} probes, first ${seconds(p.firstProbeAfter)} after the peer's last segment${spacing}`;
}

/** The detection report: one Markdown table, cases 1 to 6 (7 is the tcpdump column). */
export function formatReport(runs: AllRuns): string {
  const rows: string[][] = [];
  const outcome = (detection: number | null, code: string | null, waited: number): string =>
    detection === null ? `still open after ${seconds(waited)}` : `${seconds(detection)} ${code}`;
  for (const r of [...runs.detection, runs.serverSide]) {
    rows.push([
      `${r.case}: ${r.side === 'client' ? 'idle client detects a silent server' : 'server detects a vanished client'}`,
      label(r.setting!),
      seconds(r.budget),
      outcome(r.detection, r.code, r.waited),
      ratio(r.detection, r.budget),
      probeColumn(r.probes),
    ]);
  }
  const tr = runs.transient;
  rows.push([
    `3: ${tr.outage.toFixed(2)} s outage, shorter than interval × (count − 1) = ${tr.setting.interval * (tr.setting.count - 1)} s`,
    label(tr.setting),
    seconds(budgetOf(tr.setting)),
    tr.endings.length === 0 && tr.clientToServer && tr.serverToClient ? 'survived, data flows both ways after' : `FAILED ${JSON.stringify(tr.endings)}`,
    '—',
    `ss: ${tr.probesOutDuring} unanswered probe(s) during the outage, ${tr.probesOutAfter} after`,
  ]);
  const s = runs.stateLoss;
  rows.push([
    `4: server process killed while cut, path back at ${s.restoredAfter.toFixed(2)} s`,
    label(s.setting),
    seconds(s.budget),
    s.detection === null ? 'nothing' : `${seconds(s.detection)} ${s.code}`,
    ratio(s.detection, s.budget),
    `ss: server held ${s.unreadAtServer ?? '?'} unread bytes, ${s.serverSocketsAfterKill.length} sockets after the kill`,
  ]);
  for (const r of runs.inFlight) {
    const what =
      r.userTimeout === 'none' ? 'no userTimeout' : r.userTimeout === 'auto' ? `userTimeout 'auto' = ${r.effectiveUserTimeout}` : `userTimeout ${r.userTimeout}`;
    const bound = r.userTimeout === 'none' ? null : r.effectiveUserTimeout;
    rows.push([
      `5: data written right after the cut, ${what} (from the write)`,
      label(r.setting),
      r.userTimeout === 'none' ? `(${seconds(r.budget)}: not for data in flight)` : seconds(bound),
      outcome(r.detection, r.code, r.waited),
      ratio(r.detection, bound),
      r.timerAfterWrite ? `ss: timer ${r.timerAfterWrite.name} (retransmitting) 1 s after the write` : '',
    ]);
  }
  for (const r of runs.baselines) {
    const k = r.keepalive;
    rows.push([
      r.mode === 'node' ? `6: baseline, Node's socket.setKeepAlive(true, ${CASES.baseline.nodeDelayMs})` : '6: baseline, no keepalive',
      k ? `${label(k)} (read back)` : 'off',
      r.mode === 'node' ? seconds(r.budget) : 'none',
      outcome(r.detection, r.code, r.waited),
      ratio(r.detection, r.budget),
      r.probes
        ? probeColumn(r.probes)
        : `ss: ${r.establishedAtEnd ? 'still established' : 'gone'}, ${r.timerAtEnd ? `timer ${r.timerAtEnd.name}` : 'no timer'}`,
    ]);
  }
  const header = ['case', 'setting {idle,interval,count}', 'budget', 'measured from the cut', 'ratio', 'witness (tcpdump, ss)'];
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
