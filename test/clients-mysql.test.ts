// mysql2 on a real MariaDB from Debian, over TCP and TLS: after connect,
// after a query and after the connection was reused from a pool, the socket
// holds the policy (getKeepalive and `ss`). Without the policy mysql2's own
// values show (enableKeepAlive with keepAliveInitialDelay 1000: 1 s idle,
// libuv's interval 1 and count 10). mysqlStream() gives the same without install().
import t, { type Test } from 'tap';
import mysql from 'mysql2/promise';

import { install, mysqlStream } from '../lib/index';
import { EXPECTED, POLICY, poolPhases, type Values } from './helpers/dropin';
import { dbSupport, startMariadb, type DbServer } from './helpers/servers';
import { needs } from './helpers/tools';

const LIBRARY: Values = { enabled: true, idle: 1, interval: 1, count: 10 };

async function mysqlPoolPhases(t: Test, label: string, server: DbServer, ssl: boolean, want: Values, extra: mysql.PoolOptions = {}): Promise<void> {
  const pool = mysql.createPool({
    host: server.host,
    port: server.port,
    user: 'root',
    database: 'test',
    connectionLimit: 1,
    enableKeepAlive: true,
    keepAliveInitialDelay: 1000,
    ...(ssl ? { ssl: { ca: server.ca!.toString() } } : {}),
    ...extra,
  });
  t.teardown(() => pool.end().catch(() => {}));
  await poolPhases(t, label, server.port, want, { acquire: () => pool.getConnection(), end: () => pool.end(), identity: (c) => c.threadId }, async (c) => {
    const [rows] = await c.query('SELECT 1 AS n');
    t.same(rows, [{ n: 1 }]);
    if (ssl) {
      const [cipher] = await c.query("SHOW STATUS LIKE 'Ssl_cipher'");
      t.not((cipher as Array<{ Value: string }>)[0]?.Value ?? '', '', `${label}: the session is encrypted`);
    }
  });
}

t.test('mysql2 with and without the policy, TCP and TLS', async (t) => {
  const support = dbSupport('mariadb');
  if (!needs(t, support.ok, support.reason)) return;
  const server = await startMariadb(t, { tls: true });
  for (const ssl of [false, true]) {
    for (const installed of [false, true]) {
      const label = `mysql2 pool ${ssl ? 'TLS' : 'TCP'} ${installed ? 'with' : 'without'} the policy`;
      await t.test(label, async (t) => {
        const handle = installed ? install(POLICY) : null;
        t.teardown(() => handle?.uninstall());
        await mysqlPoolPhases(t, label, server, ssl, installed ? EXPECTED : LIBRARY);
      });
    }
    await t.test(`mysqlStream() ${ssl ? 'TLS' : 'TCP'} without install()`, async (t) => {
      await mysqlPoolPhases(t, `mysqlStream ${ssl ? 'TLS' : 'TCP'}`, server, ssl, EXPECTED, { stream: mysqlStream(POLICY) });
    });
  }
});
