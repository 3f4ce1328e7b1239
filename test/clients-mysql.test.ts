// mysql2 on a real MariaDB from Debian, over TCP and TLS: after connect,
// after a query and after the connection was reused from a pool, the socket
// holds the policy (getKeepalive and `ss`). Without the policy mysql2's own
// values show (enableKeepAlive with keepAliveInitialDelay 1000: 1 s idle,
// libuv's interval 1 and count 10). mysqlStream() gives the same without install().
import t, { type Test } from 'tap';
import mysql from 'mysql2/promise';

import { install, mysqlStream } from '../lib/index';
import { EXPECTED, expectKeepalive, oneSocketTo, POLICY, socketsTo, until, type Values } from './helpers/dropin';
import { dbSupport, startMariadb, type DbServer } from './helpers/servers';
import { needs } from './helpers/tools';

const LIBRARY: Values = { enabled: true, idle: 1, interval: 1, count: 10 };

async function poolPhases(t: Test, label: string, server: DbServer, ssl: boolean, want: Values, extra: mysql.PoolOptions = {}): Promise<void> {
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
  const first = await pool.getConnection();
  const socket = oneSocketTo(t, server.port, label);
  if (!socket) {
    first.release();
    return;
  }
  await expectKeepalive(t, socket, want, `${label}: after connect`);
  const [rows] = await first.query('SELECT 1 AS n');
  t.same(rows, [{ n: 1 }]);
  if (ssl) {
    const [cipher] = await first.query("SHOW STATUS LIKE 'Ssl_cipher'");
    t.not((cipher as Array<{ Value: string }>)[0]?.Value ?? '', '', `${label}: the session is encrypted`);
  }
  await expectKeepalive(t, socket, want, `${label}: after a query`);
  const id = first.threadId;
  first.release();
  const second = await pool.getConnection();
  t.equal(second.threadId, id, `${label}: the pool handed out the same connection`);
  await second.query('SELECT 2');
  t.equal(oneSocketTo(t, server.port, label), socket, `${label}: on the same socket`);
  await expectKeepalive(t, socket, want, `${label}: after reuse from the pool`);
  second.release();
  await pool.end();
  await until(() => socketsTo(server.port).length === 0, 5000, `${label}: the pool's socket to close`);
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
        await poolPhases(t, label, server, ssl, installed ? EXPECTED : LIBRARY);
      });
    }
    await t.test(`mysqlStream() ${ssl ? 'TLS' : 'TCP'} without install()`, async (t) => {
      await poolPhases(t, `mysqlStream ${ssl ? 'TLS' : 'TCP'}`, server, ssl, EXPECTED, { stream: mysqlStream(POLICY) });
    });
  }
});
