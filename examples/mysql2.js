// mysql2 with a keepalive policy on its pool's sockets.
// Run: MYSQL_HOST=127.0.0.1 MYSQL_PORT=3306 MYSQL_USER=root node examples/mysql2.js
'use strict';
const mysql = require('mysql2/promise');
const { mysqlStream, getKeepalive } = require('tcp-keepalive');

async function main() {
  const pool = mysql.createPool({
    host: process.env.MYSQL_HOST || '127.0.0.1',
    port: Number(process.env.MYSQL_PORT || 3306),
    user: process.env.MYSQL_USER || 'root',
    password: process.env.MYSQL_PASSWORD,
    stream: mysqlStream('database'),
    connectionLimit: 2,
  });
  const conn = await pool.getConnection();
  const [rows] = await conn.query('SELECT NOW() AS now');
  console.log('query:', rows[0].now, 'keepalive:', getKeepalive(conn.connection.stream));
  conn.release();
  await pool.end();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
