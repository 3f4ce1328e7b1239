// Message-broker clients under the policy, against real brokers from Debian
// started on random ports: amqplib on RabbitMQ (AMQP heartbeat), mqtt on
// Mosquitto (MQTT keepalive: PINGREQ) and nats on nats-server (PING), each
// with its heartbeat at 1 s. After connect, after a message round trip and
// after several heartbeats, the client's socket holds the policy
// (getKeepalive and `ss`), and messages still flow. Without the policy each
// library's own values show, so every check can fail. Last, all six
// protocol clients (these three, ws, http2 and gRPC) in one process under
// `--require tcp-keepalive/register`, and without it.
import t, { type Test } from 'tap';
import * as amqp from 'amqplib';
import mqtt from 'mqtt';
import { connect as natsConnect, StringCodec } from 'nats';

import { spawn } from 'node:child_process';
import * as path from 'node:path';

import { install } from '../lib/index';
import { EXPECTED, expectKeepalive, oneSocketTo, POLICY, type Values } from './helpers/dropin';
import { dbSupport, startMosquitto, startNats, startRabbitmq, type BrokerKind, type DbServer } from './helpers/servers';
import { jsonLines } from './helpers/lines';
import { startGrpcEcho, startHttp2, startWsEcho } from './helpers/protocols';
import { keepaliveTimer } from './helpers/ss';
import { needs, scaled } from './helpers/tools';

const OFF: Values = { enabled: false };
const root = path.join(__dirname, '..');
const fixture = path.join(__dirname, 'fixtures', 'dropin', 'protocol-clients.js');
const POLICY_SPEC = `idle=${POLICY.idle},interval=${POLICY.interval},count=${POLICY.count},userTimeout=${POLICY.userTimeout}`;
const HEARTBEATS = 1500; // ms: a heartbeat at 1 s, and a margin

/** A connected client: one message through the broker and back, and a clean close. */
interface Session {
  roundTrip(): Promise<string>;
  close(): Promise<void>;
}

interface Library {
  name: string;
  broker: BrokerKind;
  start: (t: Test) => Promise<DbServer>;
  /** The library's own values without the package, found by running it. */
  baseline: Values;
  /** Connects with its heartbeat at 1 s (closed at teardown too). */
  connect(t: Test, server: DbServer): Promise<Session>;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const libraries: Library[] = [
  {
    name: 'amqplib (RabbitMQ)',
    broker: 'rabbitmq',
    start: startRabbitmq,
    baseline: OFF,
    connect: async (t, server) => {
      const connection = await amqp.connect({ hostname: server.host, port: server.port, username: 'guest', password: 'guest', heartbeat: 1 });
      t.teardown(() => connection.close().catch(() => undefined));
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      return {
        roundTrip: async () => {
          channel.sendToQueue(queue, Buffer.from('hello'));
          const message = await new Promise<amqp.ConsumeMessage>((resolve) => void channel.consume(queue, (m) => m && resolve(m), { noAck: true }));
          return message.content.toString();
        },
        close: () => connection.close(),
      };
    },
  },
  {
    name: 'mqtt (Mosquitto)',
    broker: 'mosquitto',
    start: startMosquitto,
    baseline: OFF,
    connect: async (t, server) => {
      const client = mqtt.connect({ host: server.host, port: server.port, keepalive: 1, reconnectPeriod: 0 });
      t.teardown(() => client.end(true));
      await new Promise((resolve) => client.once('connect', resolve));
      return {
        roundTrip: async () => {
          await client.subscribeAsync('tcp-keepalive/test');
          const received = new Promise<Buffer>((resolve) => client.once('message', (_topic, payload) => resolve(payload)));
          await client.publishAsync('tcp-keepalive/test', 'hello');
          return (await received).toString();
        },
        close: () => client.endAsync(),
      };
    },
  },
  {
    name: 'nats (nats-server)',
    broker: 'nats',
    start: startNats,
    baseline: OFF,
    connect: async (t, server) => {
      const nc = await natsConnect({ servers: `${server.host}:${server.port}`, pingInterval: 1000, maxPingOut: 2, reconnect: false });
      t.teardown(() => nc.close());
      const codec = StringCodec();
      return {
        roundTrip: async () => {
          const sub = nc.subscribe('tcp-keepalive.test', { max: 1 });
          nc.publish('tcp-keepalive.test', codec.encode('hello'));
          for await (const m of sub) return codec.decode(m.data);
          return '';
        },
        close: () => nc.drain(),
      };
    },
  },
];

/** After connect, after a message and after heartbeats, the socket to the broker holds `want`. */
async function phases(t: Test, library: Library, server: DbServer, want: Values): Promise<void> {
  const check = async (phase: string): Promise<void> => {
    const socket = oneSocketTo(t, server.port, `${library.name} ${phase}`);
    if (socket) await expectKeepalive(t, socket, want, `${library.name} ${phase}`);
  };
  const session = await library.connect(t, server);
  await check('after connect');
  t.equal(await session.roundTrip(), 'hello', `${library.name}: a message through the broker`);
  await check('after a message');
  await pause(HEARTBEATS);
  await check('after heartbeats');
  await session.close();
}

// Each broker started once for this file (stopped when it ends), shared by its tests.
const started = new Map<BrokerKind, Promise<DbServer>>();
function broker(library: Library): Promise<DbServer> {
  let server = started.get(library.broker);
  if (!server) {
    server = library.start(t);
    started.set(library.broker, server);
  }
  return server;
}

for (const library of libraries) {
  t.test(`${library.name} with and without the policy`, async (t) => {
    const support = dbSupport(library.broker);
    if (!needs(t, support.ok, support.reason)) return;
    const server = await broker(library);
    for (const installed of [false, true]) {
      await t.test(installed ? 'with the policy' : "without it: the library's own values", async (t) => {
        const handle = installed ? install(POLICY) : null;
        t.teardown(() => handle?.uninstall());
        await phases(t, library, server, installed ? EXPECTED : library.baseline);
      });
    }
  });
}

interface Seen {
  sockets: number;
  localPort?: number;
  remotePort?: number;
  keepalive?: Values & { userTimeout: number };
}

/** The fixture's report (under the preload or not), each socket also checked with `ss` while the fixture waits. */
async function protocolClients(t: Test, preload: boolean, ports: Record<string, number>): Promise<Record<string, Seen>> {
  const env = { ...process.env, NODE_OPTIONS: '', PORTS: JSON.stringify(ports), TCP_KEEPALIVE: preload ? POLICY_SPEC : 'off' };
  const child = spawn(process.execPath, [...(preload ? ['--require', path.join(root, 'dist', 'register.js')] : []), fixture], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  child.stdin.on('error', () => {});
  const report = await jsonLines<Record<string, Seen> & { failed?: string }>(child)(scaled(30_000));
  t.ok(report && !report.failed, `the fixture reported ${report?.failed ?? ''}`);
  const seen = (report ?? {}) as Record<string, Seen>;
  for (const [name, s] of Object.entries(seen)) {
    if (s.localPort === undefined || !s.keepalive?.enabled) continue;
    const timer = await keepaliveTimer(s, 3000);
    t.ok(timer?.name === 'keepalive' && timer.seconds <= s.keepalive.idle! && timer.seconds > s.keepalive.idle! - 5,
      `${name}: ss keepalive timer ${timer ? `${timer.name},${timer.seconds}s` : 'none'} agrees with idle ${s.keepalive.idle}`);
  }
  child.stdin.end('done\n');
  return seen;
}

t.test('under the preload: ws, http2, gRPC, amqplib, mqtt and nats in one process', async (t) => {
  for (const library of libraries) {
    const support = dbSupport(library.broker);
    if (!needs(t, support.ok, support.reason)) return;
  }
  const [amqpServer, mqttServer, natsServer] = await Promise.all(libraries.map(broker));
  const ports = {
    ws: await startWsEcho(t),
    http2: await startHttp2(t),
    grpc: await startGrpcEcho(t),
    amqp: amqpServer!.port,
    mqtt: mqttServer!.port,
    nats: natsServer!.port,
  };
  const names = Object.keys(ports);
  const without = await protocolClients(t, false, ports);
  for (const name of names) t.match(without[name], { sockets: 1, keepalive: OFF }, `${name} without the package: no keepalive`);
  const under = await protocolClients(t, true, ports);
  for (const name of names) t.match(under[name], { sockets: 1, keepalive: EXPECTED }, `${name} under --require tcp-keepalive/register: the policy`);
});
