// ioredis: install a process-wide policy before connecting; ioredis's own
// setKeepAlive on connect cannot wipe it.
// Run: REDIS_URL=redis://127.0.0.1:6379 node examples/ioredis.js
'use strict';
const { install, getKeepalive } = require('tcp-keepalive');
const Redis = require('ioredis');

async function main() {
  const policy = install('database', { servers: false });
  const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379', { keepAlive: 1000 });
  await redis.ping();
  console.log('ping ok, keepalive:', getKeepalive(redis.stream), 'detectAfter policy:', policy.detectAfter, 's');
  await redis.quit();
  policy.uninstall();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
