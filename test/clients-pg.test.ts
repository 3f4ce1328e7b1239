// node-postgres (pg) on a real PostgreSQL from Debian, over TCP and TLS:
// after connect, after a query and after the connection was reused from a
// pg.Pool, the socket holds the policy (getKeepalive and `ss`). Without the
// policy pg's own keepAlive values show (1 s idle, libuv's interval 1 and
// count 10), so the checks can fail. pgStream() gives the same without install().
import t, { type Test } from 'tap';
import pg from 'pg';

import { install, pgStream } from '../lib/index';
import { EXPECTED, POLICY, poolPhases, type Values } from './helpers/dropin';
import { dbSupport, startPostgres, type DbServer } from './helpers/servers';
import { needs } from './helpers/tools';

const LIBRARY: Values = { enabled: true, idle: 1, interval: 1, count: 10 }; // keepAlive: true, keepAliveInitialDelayMillis: 1000

async function pgPoolPhases(t: Test, label: string, server: DbServer, ssl: boolean, want: Values, extra: Partial<pg.PoolConfig> = {}): Promise<void> {
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
  await poolPhases(t, label, server.port, want, { acquire: () => pool.connect(), end: () => pool.end(), identity: (client) => client }, async (client) => {
    const { rows } = await client.query<{ n: number }>('SELECT 1 AS n');
    t.same(rows, [{ n: 1 }]);
    const tls = await client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    t.equal(tls.rows[0]?.ssl, ssl, `${label}: the server sees ${ssl ? 'a TLS' : 'a plain'} session`);
  });
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
        await pgPoolPhases(t, label, server, ssl, installed ? EXPECTED : LIBRARY);
      });
    }
    await t.test(`pgStream() ${ssl ? 'TLS' : 'TCP'} without install()`, async (t) => {
      await pgPoolPhases(t, `pgStream ${ssl ? 'TLS' : 'TCP'}`, server, ssl, EXPECTED, { stream: pgStream(POLICY) });
    });
  }
});
