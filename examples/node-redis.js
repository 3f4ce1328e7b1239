// node-redis (the `redis` package): install a policy for connections to the
// Redis port only, then use the client as usual.
// Run: REDIS_URL=redis://127.0.0.1:6379 node examples/node-redis.js
'use strict';
const { install, currentPolicy } = require('tcp-keepalive');
const { createClient } = require('redis');

async function main() {
  const url = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
  const policy = install('database', { filter: (socket) => socket.remotePort === Number(url.port || 6379) });
  const client = createClient({ url: url.href });
  await client.connect();
  console.log('ping:', await client.ping(), 'policy:', currentPolicy().settings, 'detects a dead server within', policy.detectAfter, 's');
  await client.quit();
  policy.uninstall();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
