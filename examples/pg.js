// node-postgres with a keepalive policy on its pool's sockets.
// Run: PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres node examples/pg.js
// (or keep the code unchanged and run: node --require tcp-keepalive/register app.js)
'use strict';
const pg = require('pg');
const { pgStream, getKeepalive } = require('tcp-keepalive');

async function main() {
  // pg still calls setKeepAlive(true, ...) on connect; the policy wins.
  const pool = new pg.Pool({ stream: pgStream('database'), keepAlive: true, max: 2 });
  const client = await pool.connect();
  const { rows } = await client.query('SELECT now() AS now');
  console.log('query:', rows[0].now, 'keepalive:', getKeepalive(client.connection.stream));
  client.release();
  await pool.end();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
