// node-postgres (pg) on a real PostgreSQL from Debian, over TCP and TLS:
// after connect, after a query and after the connection was reused from a
// pg.Pool, the socket holds the policy (getKeepalive and `ss`). Without the
// policy pg's own keepAlive values show (1 s idle, libuv's interval 1 and
// count 10), so the checks can fail. pgStream() gives the same without install().
import t, { type Test } from 'tap';
import pg from 'pg';

import { install, pgStream } from '../lib/index';
import { EXPECTED, expectKeepalive, oneSocketTo, POLICY, socketsTo, until, type Values } from './helpers/dropin';
import { dbSupport, startPostgres, type DbServer } from './helpers/servers';
import { needs } from './helpers/tools';

const LIBRARY: Values = { enabled: true, idle: 1, interval: 1, count: 10 }; // keepAlive: true, keepAliveInitialDelayMillis: 1000

async function poolPhases(t: Test, label: string, server: DbServer, ssl: boolean, want: Values, extra: Partial<pg.PoolConfig> = {}): Promise<void> {
  const pool = new pg.Pool({
    host: server.host,
    port: server.port,
    user: 'postgres',
    database: 'postgres',
    max: 1,
    keepAlive: true,
    keepAliveInitialDelayMillis: 1000,
    ssl: ssl ? { ca: server.ca!.toString() } : false,
    ...extra,
  });
  pool.on('error', (error) => t.comment(`${label}: idle client error after the test: ${error.message}`));
  t.teardown(() => (pool.ended ? undefined : pool.end()));
  const first = await pool.connect();
  const socket = oneSocketTo(t, server.port, label);
  if (!socket) {
    first.release();
    return;
  }
  await expectKeepalive(t, socket, want, `${label}: after connect`);
  const { rows } = await first.query<{ n: number }>('SELECT 1 AS n');
  t.same(rows, [{ n: 1 }]);
  const tls = await first.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
  t.equal(tls.rows[0]?.ssl, ssl, `${label}: the server sees ${ssl ? 'a TLS' : 'a plain'} session`);
  await expectKeepalive(t, socket, want, `${label}: after a query`);
  first.release();
  const second = await pool.connect();
  t.equal(second, first, `${label}: the pool handed out the same client`);
  await second.query('SELECT 2');
  t.equal(oneSocketTo(t, server.port, label), socket, `${label}: on the same socket`);
  await expectKeepalive(t, socket, want, `${label}: after reuse from the pool`);
  second.release();
  await pool.end();
  await until(() => socketsTo(server.port).length === 0, 5000, `${label}: the pool's socket to close`);
}

t.test('pg with and without the policy, TCP and TLS', async (t) => {
  const support = dbSupport('postgres');
  if (!needs(t, support.ok, support.reason)) return;
  const server = await startPostgres(t, { tls: true });
  for (const ssl of [false, true]) {
    for (const installed of [false, true]) {
      const label = `pg.Pool ${ssl ? 'TLS' : 'TCP'} ${installed ? 'with' : 'without'} the policy`;
      await t.test(label, async (t) => {
        const handle = installed ? install(POLICY) : null;
        t.teardown(() => handle?.uninstall());
        await poolPhases(t, label, server, ssl, installed ? EXPECTED : LIBRARY);
      });
    }
    await t.test(`pgStream() ${ssl ? 'TLS' : 'TCP'} without install()`, async (t) => {
      await poolPhases(t, `pgStream ${ssl ? 'TLS' : 'TCP'}`, server, ssl, EXPECTED, { stream: pgStream(POLICY) });
    });
  }
});
