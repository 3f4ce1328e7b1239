// ioredis and node-redis (redis) on a real Redis from Debian, over TCP and
// TLS: after connect, after a command and after the connection was reused
// (ioredis: its single connection for a later command; node-redis: a client
// pool handing out the same connection), the socket holds the policy
// (getKeepalive and `ss`). Without the policy the libraries' own values
// show: ioredis keepAlive 1000 (1 s, interval 1, count 10), node-redis's
// default keepAliveInitialDelay 30 s set through connect options.
import t, { type Test } from 'tap';
import Redis from 'ioredis';
import { createClient, createClientPool } from 'redis';
import type * as net from 'node:net';

import { install } from '../lib/index';
import { EXPECTED, expectKeepalive, oneSocketTo, POLICY, socketsTo, tlsConnectKeepAlive, until, type Values } from './helpers/dropin';
import { dbSupport, startRedis, type DbServer } from './helpers/servers';
import { needs } from './helpers/tools';

interface Library {
  name: string;
  /** The library's own values over TCP and over TLS. */
  baseline: { tcp: Values; tls: Values };
  /** Over TLS instead, where tls.connect applies the keepAlive option the library passes it. */
  tlsOption?: Values;
  /** Connects, runs a command, runs another after a pause; calls `check` at each phase. */
  run(t: Test, server: DbServer, tls: boolean, check: (phase: string) => Promise<void>): Promise<void>;
}

const libraries: Library[] = [
  {
    name: 'ioredis',
    baseline: { tcp: { enabled: true, idle: 1, interval: 1, count: 10 }, tls: { enabled: true, idle: 1, interval: 1, count: 10 } },
    run: async (t, server, tls, check) => {
      const client = new Redis({
        host: server.host,
        port: tls ? server.tlsPort! : server.port,
        keepAlive: 1000,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        ...(tls ? { tls: { ca: server.ca!, servername: 'localhost' } } : {}),
      });
      t.teardown(() => client.disconnect());
      await client.connect();
      await check('after connect');
      t.equal(await client.set('k', 'v'), 'OK');
      await check('after a command');
      await new Promise((resolve) => setTimeout(resolve, 50));
      t.equal(await client.get('k'), 'v');
      await check('after reuse for a later command');
      await client.quit();
    },
  },
  {
    name: 'node-redis',
    // Its keepAlive goes in connect options: off over TLS where tls.connect ignores them (tlsConnectKeepAlive).
    baseline: { tcp: { enabled: true, idle: 30, interval: 1, count: 10 }, tls: { enabled: false } },
    tlsOption: { enabled: true, idle: 30, interval: 1, count: 10 },
    run: async (t, server, tls, check) => {
      const socket = tls
        ? { host: server.host, port: server.tlsPort!, tls: true as const, ca: server.ca!, servername: 'localhost' }
        : { host: server.host, port: server.port };
      const client = createClient({ socket });
      client.on('error', (error: Error) => t.comment(`node-redis: ${error.message}`));
      await client.connect();
      t.teardown(() => (client.isOpen ? client.destroy() : undefined));
      await check('after connect');
      t.equal(await client.set('k', 'v'), 'OK');
      await check('after a command');
      client.destroy();
      await until(() => socketsTo(tls ? server.tlsPort! : server.port).length === 0, 5000, 'the client to close');
      const pool = await createClientPool({ socket }, { minimum: 1, maximum: 1 }).connect();
      if (!pool) throw new Error('node-redis: the client pool did not connect');
      t.teardown(() => (pool.isOpen ? pool.destroy() : undefined));
      t.equal(await pool.get('k'), 'v');
      const first = oneSocketTo(t, tls ? server.tlsPort! : server.port, 'node-redis pool');
      t.equal(await pool.get('k'), 'v');
      t.equal(oneSocketTo(t, tls ? server.tlsPort! : server.port, 'node-redis pool'), first, 'the pool reused its connection');
      await check('after reuse from a client pool');
      pool.destroy();
    },
  },
];

t.test('Redis clients with and without the policy, TCP and TLS', async (t) => {
  const support = dbSupport('redis');
  if (!needs(t, support.ok, support.reason)) return;
  const server = await startRedis(t, { tls: true });
  const tlsOptionApplied = await tlsConnectKeepAlive();
  t.comment(`tls.connect ${tlsOptionApplied ? 'applies' : 'ignores'} its keepAlive option on Node ${process.version}`);
  for (const library of libraries) {
    for (const tls of [false, true]) {
      for (const installed of [false, true]) {
        const label = `${library.name} ${tls ? 'TLS' : 'TCP'} ${installed ? 'with' : 'without'} the policy`;
        await t.test(label, async (t) => {
          const handle = installed ? install(POLICY) : null;
          t.teardown(() => handle?.uninstall());
          const port = tls ? server.tlsPort! : server.port;
          const check = async (phase: string): Promise<void> => {
            const socket: net.Socket | undefined = oneSocketTo(t, port, `${label} ${phase}`);
            if (socket) await expectKeepalive(t, socket, installed ? EXPECTED : tls && tlsOptionApplied && library.tlsOption ? library.tlsOption : library.baseline[tls ? 'tls' : 'tcp'], `${label}: ${phase}`);
          };
          await library.run(t, server, tls, check);
          await until(() => socketsTo(port).length === 0, 5000, `${label}: sockets to close`);
        });
      }
    }
  }
});
