// Keepalive's second job: keeping an idle flow alive through a middlebox
// that forgets flows after its own idle timeout. Client, router and server
// are three network namespaces (test/helpers/router.ts); the router tracks
// flows with conntrack and forgets an established one after 8 s of silence
// (per server port, longer for the presets). Every connection here is its
// own pair of peer processes (test/fixtures/faults/peer.js), one end setting
// keepalive, the other none; all run at once, so the file takes about as
// long as its longest idle wait (the nat preset's, 112 s: 1.6 × its path's
// timeout, past the moment the control connection beside it is forgotten).
//
// The router's own table (`conntrack -L`) is the witness that it forgot a
// flow or still holds it; the peers' errors and round trips show what the
// application sees.
import t, { type Test } from 'tap';

import type { KeepaliveOptions } from '../lib/index';
import { type KeepaliveMode, Peer, type PeerEvent, ssQueues } from './helpers/faults';
import { faultsCanRun, nothingLeft } from './helpers/faults-tap';
import { type MiddleboxMode, type RoutedHosts, routedHosts, routerSupport } from './helpers/router';
import { needs, scaled } from './helpers/tools';
import { makePlan, planInput } from '../lib/cli/plan';
import { presetSettings } from '../lib/presets';

t.setTimeout(5 * 60_000);

/** The router's established-flow timeout for most ports, seconds. */
const FORGETS_AFTER = 8;
/** Ports whose flows the router keeps longer: the presets' paths. */
const PRESET_PATHS = { nat: { port: 7101, timeout: 70 }, loadbalancer: { port: 7102, timeout: 60 } } as const;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const round = (x: number): number => Math.round(x * 10) / 10;

type Side = 'client' | 'server';
type Action =
  /** Stay idle until the router forgot the flow, then write from `side`. */
  | { kind: 'write-after-forgotten'; watchS: number }
  /** Stay idle and wait for the connection to end by itself. */
  | { kind: 'wait-for-end'; withinS: number }
  /** Stay idle `idleS`, then a round trip each way. */
  | { kind: 'survive'; idleS: number };

interface Scenario {
  name: string;
  mode: MiddleboxMode;
  port: number;
  /** The end that sets keepalive (the other sets none) and writes. */
  side: Side;
  keepalive: KeepaliveMode;
  action: Action;
}

interface Outcome {
  /** Seconds from connect until the router no longer listed the flow (write-after-forgotten). */
  forgottenAfter: number | null;
  /** The first error either end saw, with seconds since connect and since the write. */
  error: { side: Side; code: string; afterConnect: number; afterWrite: number | null } | null;
  /** Either end saw end (FIN) or close. */
  ended: boolean;
  /** survive: the router still held the flow at the end of the idle time (its line). */
  heldAtEnd: string | null;
  /** write-after-forgotten: bytes still unacknowledged in the writer's kernel (ss Send-Q) at the end of the watch. */
  unacked: number | null;
  /** survive: both round trips came back. */
  clientToServer: boolean;
  serverToClient: boolean;
  diagnostics: string;
}

const ours = (options: KeepaliveOptions): KeepaliveMode => ({ kind: 'ours', options });
const NONE: KeepaliveMode = { kind: 'none' };
/** Above the 8 s timeout: the first probe comes after the router forgot the flow. */
const ABOVE = ours({ idle: 12, interval: 1, count: 2 });
/** Below it: the flow is refreshed every 3 s. */
const BELOW = ours({ idle: 3, interval: 1, count: 3 });
/** No keepalive probe within the test, only a bound for data in flight. */
const USER_TIMEOUT_ONLY = ours({ idle: 3600, interval: 10, count: 3, userTimeout: 4 });

function scenarios(): Scenario[] {
  const list: Scenario[] = [];
  let port = 7001;
  for (const side of ['client', 'server'] as const) {
    const at = (mode: MiddleboxMode, name: string, keepalive: KeepaliveMode, action: Action): void => {
      list.push({ name: `${mode}, ${side}-${side === 'client' ? 'opened' : 'accepted'}: ${name}`, mode, port: port++, side, keepalive, action });
    };
    at('nat', 'no keepalive: the first write after the router forgot the flow is reset', NONE, { kind: 'write-after-forgotten', watchS: 3 });
    at('nat', 'idle 12 s > 8 s: the first probe is reset', ABOVE, { kind: 'wait-for-end', withinS: 20 });
    at('nat', `idle 3 s < 8 s: survives ${4 * FORGETS_AFTER} s`, BELOW, { kind: 'survive', idleS: 4 * FORGETS_AFTER });
    at('firewall', 'userTimeout 4 s, no probe: a write after the firewall forgot the flow times out, unanswered', USER_TIMEOUT_ONLY, {
      kind: 'write-after-forgotten',
      watchS: 9,
    });
    at('firewall', 'idle 12 s > 8 s: the probes go unanswered (ETIMEDOUT)', ABOVE, { kind: 'wait-for-end', withinS: 22 });
    at('firewall', `idle 3 s < 8 s: survives ${4 * FORGETS_AFTER} s`, BELOW, { kind: 'survive', idleS: 4 * FORGETS_AFTER });
    if (side === 'client') {
      at('firewall', 'no keepalive, no userTimeout: a write after the firewall forgot the flow gets silence', NONE, {
        kind: 'write-after-forgotten',
        watchS: 6,
      });
    }
  }
  // What `tcp-keepalive plan --behind 8` chooses for a path that forgets
  // after 8 s (a timeout measured by probe --find-idle-timeout, say).
  const planned = makePlan(planInput(['--behind', String(FORGETS_AFTER)]).input).settings;
  const { idle, interval, count, userTimeout } = planned;
  list.push({
    name: `firewall, client-opened: plan --behind ${FORGETS_AFTER}'s settings (${idle}/${interval}/${count}, userTimeout ${userTimeout}): survives ${4 * FORGETS_AFTER} s`,
    mode: 'firewall',
    port: port++,
    side: 'client',
    keepalive: ours({ idle, interval, count, userTimeout }),
    action: { kind: 'survive', idleS: 4 * FORGETS_AFTER },
  });
  for (const name of ['nat', 'loadbalancer'] as const) {
    const { port: presetPort, timeout } = PRESET_PATHS[name];
    const path = `a path that forgets after ${timeout} s`;
    list.push({
      name: `preset ${name} on ${path}: survives ${Math.round(1.6 * timeout)} s`,
      mode: 'nat',
      port: presetPort,
      side: 'client',
      keepalive: ours(presetSettings(name)),
      action: { kind: 'survive', idleS: Math.round(1.6 * timeout) },
    });
    list.push({
      name: `no keepalive on ${path} (the control): reset after the router forgot the flow`,
      mode: 'nat',
      port: presetPort + 100,
      side: 'client',
      keepalive: NONE,
      action: { kind: 'write-after-forgotten', watchS: 3 },
    });
  }
  return list;
}

/** The router's line for the flow to `port`, or null when it holds none. */
function flowLine(hosts: RoutedHosts, port: number): string | null {
  return hosts.conntrack().find((line) => line.includes(` dport=${port} `)) ?? null;
}

const firstError = (events: PeerEvent[]): Extract<PeerEvent, { event: 'error' }> | undefined =>
  events.find((e): e is Extract<PeerEvent, { event: 'error' }> => e.event === 'error');

async function connectPair(hosts: RoutedHosts, s: Scenario): Promise<{ client: Peer; server: Peer; connectedAt: number; actorPort: number }> {
  const keepaliveOf = (side: Side): KeepaliveMode => (side === s.side ? s.keepalive : NONE);
  const server = new Peer(hosts, hosts.server, { role: 'server', address: hosts.serverAddress, port: s.port, keepalive: keepaliveOf('server') });
  await server.expect('listening', 20_000, 'listening');
  const client = new Peer(hosts, hosts.client, { role: 'client', address: hosts.serverAddress, port: s.port, keepalive: keepaliveOf('client') });
  const connected = await client.expect('connected', 20_000, 'connection');
  const accepted = await server.expect('connected', 20_000, 'accepted connection');
  return { client, server, connectedAt: connected.t, actorPort: (s.side === 'client' ? connected : accepted).localPort };
}

// The bound is for the peer processes, not the path: the 20 connections'
// round trips come at the same moment, 40 processes on a loaded machine
// (a 5 s bound was missed once in CI, with the flow still ESTABLISHED).
async function roundTrip(from: Peer, to: Peer): Promise<boolean> {
  const mark = from.events.length;
  const toMark = to.events.length;
  from.command('ping');
  const pong = await from.waitFor((e) => e.event === 'data' && e.text.includes('pong'), scaled(15_000), mark);
  // The far peer reports the ping on its own stdout pipe, which can reach
  // this process after the pong it sent has come back through the other
  // peer's (seen in CI): wait for its line too, bounded.
  const ping = pong === null ? null : await to.waitFor((e) => e.event === 'data' && e.text.includes('ping'), scaled(5_000), toMark);
  return ping !== null;
}

async function run(hosts: RoutedHosts, s: Scenario): Promise<Outcome> {
  const { client, server, connectedAt, actorPort } = await connectPair(hosts, s);
  const actor = s.side === 'client' ? client : server;
  const outcome: Outcome = { forgottenAfter: null, error: null, ended: false, heldAtEnd: null, unacked: null, clientToServer: false, serverToClient: false, diagnostics: '' };
  let wroteAt: number | null = null;
  const since = (at: number, t: number): number => round((t - at) / 1000);
  if (s.action.kind === 'write-after-forgotten') {
    const deadline = Date.now() + (PRESET_PATHS.nat.timeout + 20) * 1000;
    while (flowLine(hosts, s.port) !== null && Date.now() < deadline) await sleep(500);
    outcome.forgottenAfter = since(connectedAt, Date.now());
    wroteAt = Date.now();
    actor.command('write 100');
    await actor.waitFor((e) => e.event === 'error', s.action.watchS * 1000);
    outcome.unacked = ssQueues(hosts, actor.host, actorPort)?.sendQ ?? null;
  } else if (s.action.kind === 'wait-for-end') {
    await actor.waitFor((e) => e.event === 'error' || e.event === 'close', s.action.withinS * 1000);
  } else {
    await sleep(s.action.idleS * 1000);
    outcome.heldAtEnd = flowLine(hosts, s.port);
    outcome.clientToServer = await roundTrip(client, server);
    outcome.serverToClient = await roundTrip(server, client);
  }
  for (const [side, peer] of [['client', client], ['server', server]] as const) {
    const error = firstError(peer.events);
    if (error && (!outcome.error || error.t < connectedAt + outcome.error.afterConnect * 1000)) {
      outcome.error = { side, code: error.code, afterConnect: since(connectedAt, error.t), afterWrite: wroteAt === null ? null : since(wroteAt, error.t) };
    }
    if (peer.events.some((e) => e.event === 'end' || e.event === 'close')) outcome.ended = true;
  }
  outcome.diagnostics = `client: ${client.diagnostics()}\nserver: ${server.diagnostics()}`;
  client.command('exit');
  server.command('exit');
  return outcome;
}

function check(t: Test, s: Scenario, o: Outcome, forgetsAfter: number): void {
  const actor = s.side;
  const { action } = s;
  if (action.kind === 'write-after-forgotten') {
    t.ok(o.forgottenAfter !== null && o.forgottenAfter >= forgetsAfter - 1, `conntrack: the router (timeout ${forgetsAfter} s) forgot the idle flow after ${o.forgottenAfter} s`);
    if (s.mode === 'nat') {
      t.equal(o.error?.code, 'ECONNRESET', `the ${actor}'s write got a reset (${o.error?.afterWrite} s after it)`, { diagnostics: o.diagnostics });
      t.equal(o.error?.side, actor, 'seen by the end that wrote');
    } else if (s.keepalive.kind === 'ours' && s.keepalive.options.userTimeout !== undefined) {
      const bound = s.keepalive.options.userTimeout as number;
      t.equal(o.error?.code, 'ETIMEDOUT', `the ${actor} gave up on the unacknowledged write: ETIMEDOUT`, { diagnostics: o.diagnostics });
      t.ok(o.error?.afterWrite !== undefined && o.error.afterWrite !== null && o.error.afterWrite >= bound - 0.5, `after ${o.error?.afterWrite} s, not before the userTimeout ${bound} s: nothing answered, not even a reset`);
    } else {
      t.same(o.error, null, `no error ${action.watchS} s after the write: the firewall answers nothing, and without userTimeout the kernel retries for many minutes`);
      t.notOk(o.ended, 'no end or close');
      t.equal(o.unacked, 100, `ss: the 100 bytes written are still unacknowledged in the ${actor}'s kernel (Send-Q ${o.unacked})`);
    }
  } else if (action.kind === 'wait-for-end') {
    const code = s.mode === 'nat' ? 'ECONNRESET' : 'ETIMEDOUT';
    const { idle, interval, count } = s.keepalive.kind === 'ours' ? (s.keepalive.options as Required<Pick<KeepaliveOptions, 'idle' | 'interval' | 'count'>>) : { idle: 0, interval: 0, count: 0 };
    t.equal(o.error?.code, code, `the ${actor} saw ${code} without writing anything`, { diagnostics: o.diagnostics });
    t.equal(o.error?.side, actor, 'seen by the end that sent the probes');
    const [low, high] = s.mode === 'nat' ? [idle - 0.5, idle + 1.5] : [idle + interval * count - 0.5, idle + interval * count + 2];
    t.ok(o.error !== null && o.error.afterConnect >= low && o.error.afterConnect <= high, `after ${o.error?.afterConnect} s idle, in [${low}, ${high}] (${s.mode === 'nat' ? 'the first probe' : 'idle + interval × count'})`);
  } else {
    t.same(o.error, null, `no error in ${action.idleS} s idle`, { diagnostics: o.diagnostics });
    t.ok(o.heldAtEnd?.includes('ESTABLISHED'), `conntrack still holds the flow after ${action.idleS} s idle: ${o.heldAtEnd}`);
    t.ok(o.clientToServer, 'then a round trip client → server → client', { diagnostics: o.clientToServer ? '' : o.diagnostics });
    t.ok(o.serverToClient, 'and server → client → server', { diagnostics: o.serverToClient ? '' : o.diagnostics });
  }
}

if (faultsCanRun(t, []) && needs(t, routerSupport().ok, routerSupport().reason)) {
  const portTimeouts: Record<number, number> = Object.fromEntries(Object.values(PRESET_PATHS).flatMap(({ port, timeout }) => [[port, timeout], [port + 100, timeout]]));
  const routers = {
    nat: routedHosts(t, { mode: 'nat', established: FORGETS_AFTER, portTimeouts }),
    firewall: routedHosts(t, { mode: 'firewall', established: FORGETS_AFTER }),
  };
  const list = scenarios();
  const runs = list.map((s) => run(routers[s.mode], s));
  for (const r of runs) r.catch(() => {}); // each is awaited (and reported) by its own subtest
  for (const [i, s] of list.entries()) {
    t.test(s.name, async (t) => check(t, s, await runs[i]!, portTimeouts[s.port] ?? FORGETS_AFTER));
  }
  t.test('the router namespaces go away with the test', async (t) => {
    await Promise.allSettled(runs);
    for (const hosts of Object.values(routers)) hosts.destroy();
    t.pass('destroyed');
  });
  nothingLeft(t);
}
