// How long a dead peer takes to notice with an application heartbeat, with
// keepalive and userTimeout, and with both coordinated as `plan --heartbeat`
// says, on the two-host network: ws, gRPC and MQTT (Mosquitto) servers on
// one host, one client process per case on the other (each under the
// preload when the package is in it). The path is cut once for all cases (no
// FIN, no RST); each client reports when it noticed. Every measured time
// must lie within the stated window of plan's prediction (its --json
// output), and in the coordinated cases the user timeout must end the
// connection well before the heartbeat's own slow timeout would.
import t from 'tap';
import { execFileSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

import { jsonLines } from './helpers/lines';
import { netnsSupport, twoHosts } from './helpers/netns';
import { dbSupport, startMosquitto } from './helpers/servers';
import { needs, scaled } from './helpers/tools';

const root = path.join(__dirname, '..');
const fixtures = path.join(__dirname, 'fixtures', 'faults');
const cli = path.join(root, 'bin', 'tcp-keepalive.js');
const H = 2; // every heartbeat period, seconds
const KEEPALIVE = { idle: 2, interval: 1, count: 2 };
const PORTS = { ws: 8081, grpc: 8082, mqtt: 1883 } as const;
// mqtt.js pings after `keepalive` of silence and ends the connection at 1.5 × keepalive: T = H / 2.
const OWN_TIMEOUT = { ws: 2, grpc: 2, mqtt: 1 } as const;
// A slow heartbeat timeout, for the coordinated case where userTimeout must decide (mqtt.js's is fixed).
const SLOW_TIMEOUT = { ws: 10, grpc: 10, mqtt: 1 } as const;

type Lib = keyof typeof PORTS;
type Mode = 'heartbeat alone' | 'keepalive + userTimeout alone' | 'both, as plan says';

interface PlanJson {
  detectAfter: number;
  options: { idle: number; interval: number; count: number; userTimeout: number | 'auto' };
  heartbeat?: { detection: { seconds: number; decider: string } };
}

interface Case {
  lib: Lib;
  mode: Mode;
  /** Heartbeat period and timeout given to the client (0: none). */
  heartbeat: number;
  timeout: number;
  /** The policy through the preload, or none. */
  spec: string | null;
  /** plan's worst-case detection, and what decides it. */
  predicted: number;
  decider: string;
  /** How much earlier than the worst case it may come (the cut falls anywhere in a period). */
  phase: number;
  child?: ChildProcess;
  next?: (ms: number) => Promise<Message | null>;
}

interface Message {
  ready?: boolean;
  keepalive?: { enabled: boolean; idle: number; interval: number; count: number; userTimeout: number } | null;
  ended?: boolean;
  ms?: number | null;
  how?: string;
  failed?: string;
}

function plan(args: string[]): PlanJson {
  return JSON.parse(execFileSync(process.execPath, [cli, 'plan', ...args, '--json'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })) as PlanJson;
}

const specOf = (o: PlanJson['options']): string => `idle=${o.idle},interval=${o.interval},count=${o.count},userTimeout=${o.userTimeout}`;
const keepaliveArgs = ['--idle', String(KEEPALIVE.idle), '--interval', String(KEEPALIVE.interval), '--count', String(KEEPALIVE.count)];

function casesFor(lib: Lib): Case[] {
  const alone = plan(['--heartbeat', String(H), '--heartbeat-timeout', String(OWN_TIMEOUT[lib]), '--user-timeout', '0']);
  const keepalive = plan([...keepaliveArgs, '--user-timeout', 'auto']);
  // idle above the heartbeat period (plan would raise it to 1.5 × H anyway).
  const both = plan(['--heartbeat', String(H), '--heartbeat-timeout', String(SLOW_TIMEOUT[lib]), '--idle', '3', '--interval', '1', '--count', '2']);
  return [
    { lib, mode: 'heartbeat alone', heartbeat: H, timeout: OWN_TIMEOUT[lib], spec: null, predicted: alone.heartbeat!.detection.seconds, decider: alone.heartbeat!.detection.decider, phase: H },
    { lib, mode: 'keepalive + userTimeout alone', heartbeat: 0, timeout: 0, spec: specOf(keepalive.options), predicted: keepalive.detectAfter, decider: 'keepalive', phase: KEEPALIVE.idle },
    { lib, mode: 'both, as plan says', heartbeat: H, timeout: SLOW_TIMEOUT[lib], spec: specOf(both.options), predicted: both.heartbeat!.detection.seconds, decider: both.heartbeat!.detection.decider, phase: H },
  ];
}

t.test('detection times against plan --heartbeat (ws, gRPC, MQTT)', { timeout: scaled(120_000) }, async (t) => {
  const ns = netnsSupport();
  if (!needs(t, ns.ok, ns.reason)) return;
  const mosquitto = dbSupport('mosquitto');
  if (!needs(t, mosquitto.ok, mosquitto.reason)) return;
  const cases = (Object.keys(PORTS) as Lib[]).flatMap(casesFor);

  const hosts = twoHosts(t);
  await startMosquitto(t, { host: hosts.server.address, netns: hosts.server.ns });
  const server = hosts.spawn(hosts.server, process.execPath, [path.join(fixtures, 'heartbeat-server.js'), hosts.server.address, String(PORTS.ws), String(PORTS.grpc)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const serverReady = await jsonLines<{ ready?: boolean; failed?: string }>(server)(scaled(15_000));
  t.ok(serverReady?.ready, `the ws and gRPC servers listen ${serverReady?.failed ?? ''}`);

  for (const c of cases) {
    const args = [...(c.spec ? ['--require', path.join(root, 'dist', 'register.js')] : []), path.join(fixtures, 'heartbeat-client.js'), c.lib, hosts.server.address, String(PORTS[c.lib]), String(c.heartbeat), String(c.timeout)];
    c.child = hosts.spawn(hosts.client, process.execPath, args, { cwd: root, env: { ...process.env, NODE_OPTIONS: '', TCP_KEEPALIVE: c.spec ?? 'off' }, stdio: ['pipe', 'pipe', 'pipe'] });
    c.child.stdin!.on('error', () => {});
    c.next = jsonLines<Message>(c.child);
  }
  for (const c of cases) {
    const ready = await c.next!(scaled(15_000));
    t.ok(ready?.ready, `${c.lib}, ${c.mode}: connected ${ready?.failed ?? ''}`);
    if (c.spec) t.match(ready?.keepalive, { enabled: true }, `${c.lib}, ${c.mode}: the preload's policy on the client socket (${c.spec})`);
    else t.match(ready?.keepalive, { enabled: false }, `${c.lib}, ${c.mode}: no keepalive without the package`);
  }

  hosts.cut('server');
  for (const c of cases) c.child!.stdin!.write('cut\n');
  const longest = Math.max(...cases.map((c) => c.predicted));
  const rows: string[] = [];
  for (const c of cases) {
    const end = await c.next!(Math.max(0, (longest + 3) * 1000));
    const seconds = end?.ms === undefined || end.ms === null ? null : end.ms / 1000;
    const low = c.predicted - c.phase - 1;
    const high = c.predicted + 1.5;
    rows.push(`| ${c.lib} | ${c.mode} | ${c.spec ?? 'none'} | ${c.predicted} s (${c.decider}) | ${seconds?.toFixed(2) ?? 'not noticed'} s |`);
    t.ok(seconds !== null && seconds >= low && seconds <= high,
      `${c.lib}, ${c.mode}: noticed ${seconds} s after the cut (${end?.how}); plan predicts at most ${c.predicted} s (${c.decider}), window [${low}, ${high}]`);
    if (c.mode === 'both, as plan says' && c.decider === 'user-timeout') {
      t.ok(seconds !== null && seconds < c.timeout, `${c.lib}: the user timeout ended it before the heartbeat's own ${c.timeout} s timeout`);
    }
  }
  t.comment(['| client | mode | policy (preload) | plan predicts | measured |', '|---|---|---|---|---|', ...rows].join('\n'));
  for (const c of cases) c.child!.kill('SIGKILL');
  hosts.restore();
});
