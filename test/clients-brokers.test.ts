// Message-broker clients under the policy, against real brokers from Debian
// started on random ports: amqplib on RabbitMQ (AMQP heartbeat), mqtt on
// Mosquitto (MQTT keepalive: PINGREQ) and nats on nats-server (PING), each
// with its heartbeat at 1 s. After connect, after a message round trip and
// after several heartbeats, the client's socket holds the policy
// (getKeepalive and `ss`), and messages still flow. Without the policy each
// library's own values show, so every check can fail.
import t, { type Test } from 'tap';
import * as amqp from 'amqplib';
import mqtt from 'mqtt';
import { connect as natsConnect, StringCodec } from 'nats';

import { install } from '../lib/index';
import { EXPECTED, expectKeepalive, oneSocketTo, POLICY, type Values } from './helpers/dropin';
import { dbSupport, startMosquitto, startNats, startRabbitmq, type BrokerKind, type DbServer } from './helpers/servers';
import { needs } from './helpers/tools';

const OFF: Values = { enabled: false };
const HEARTBEATS = 1500; // ms: a heartbeat at 1 s, and a margin

interface Library {
  name: string;
  broker: BrokerKind;
  start: (t: Test) => Promise<DbServer>;
  /** The library's own values without the package, found by running it. */
  baseline: Values;
  run(t: Test, server: DbServer, check: (phase: string) => Promise<void>): Promise<void>;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const libraries: Library[] = [
  {
    name: 'amqplib (RabbitMQ)',
    broker: 'rabbitmq',
    start: startRabbitmq,
    baseline: OFF,
    run: async (t, server, check) => {
      const connection = await amqp.connect({ hostname: server.host, port: server.port, username: 'guest', password: 'guest', heartbeat: 1 });
      t.teardown(() => connection.close().catch(() => undefined));
      await check('after connect');
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      channel.sendToQueue(queue, Buffer.from('hello'));
      const message = await new Promise<amqp.ConsumeMessage>((resolve) => void channel.consume(queue, (m) => m && resolve(m), { noAck: true }));
      t.equal(message.content.toString(), 'hello', 'a message through the queue');
      await check('after a message');
      await pause(HEARTBEATS);
      await check('after heartbeats');
      await connection.close();
    },
  },
  {
    name: 'mqtt (Mosquitto)',
    broker: 'mosquitto',
    start: startMosquitto,
    baseline: OFF,
    run: async (t, server, check) => {
      const client = mqtt.connect({ host: server.host, port: server.port, keepalive: 1, reconnectPeriod: 0 });
      t.teardown(() => client.end(true));
      await new Promise((resolve) => client.once('connect', resolve));
      await check('after connect');
      await client.subscribeAsync('tcp-keepalive/test');
      const received = new Promise<[string, Buffer]>((resolve) => client.once('message', (topic, payload) => resolve([topic, payload])));
      await client.publishAsync('tcp-keepalive/test', 'hello');
      const [, payload] = await received;
      t.equal(payload.toString(), 'hello', 'a message through the broker');
      await check('after a message');
      await pause(HEARTBEATS);
      await check('after keepalive pings');
      await client.endAsync();
    },
  },
  {
    name: 'nats (nats-server)',
    broker: 'nats',
    start: startNats,
    baseline: OFF,
    run: async (t, server, check) => {
      const nc = await natsConnect({ servers: `${server.host}:${server.port}`, pingInterval: 1000, maxPingOut: 2, reconnect: false });
      t.teardown(() => nc.close());
      await check('after connect');
      const codec = StringCodec();
      const sub = nc.subscribe('tcp-keepalive.test', { max: 1 });
      nc.publish('tcp-keepalive.test', codec.encode('hello'));
      for await (const m of sub) t.equal(codec.decode(m.data), 'hello', 'a message through the server');
      await check('after a message');
      await pause(HEARTBEATS);
      await check('after pings');
      await nc.drain();
    },
  },
];

for (const library of libraries) {
  t.test(`${library.name} with and without the policy`, async (t) => {
    const support = dbSupport(library.broker);
    if (!needs(t, support.ok, support.reason)) return;
    const server = await library.start(t);
    for (const installed of [false, true]) {
      await t.test(installed ? 'with the policy' : "without it: the library's own values", async (t) => {
        const handle = installed ? install(POLICY) : null;
        t.teardown(() => handle?.uninstall());
        const want = installed ? EXPECTED : library.baseline;
        await library.run(t, server, async (phase) => {
          const socket = oneSocketTo(t, server.port, `${library.name} ${phase}`);
          if (socket) await expectKeepalive(t, socket, want, `${library.name} ${phase}`);
        });
      });
    }
  });
}
