// Node's http.Agent: its sockets are reused and get setKeepAlive(true, 1000)
// on every reuse; createHttpAgent keeps the policy on them anyway.
// Run: node examples/http-agent.js
'use strict';
const http = require('node:http');
const { createHttpAgent, getKeepalive } = require('tcp-keepalive');

async function main() {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = createHttpAgent({ idle: 60, interval: 10, count: 3, userTimeout: 'auto' });
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: server.address().port, agent }, (res) => {
        const s = getKeepalive(res.socket);
        console.log(`request ${i}: reused=${res.req.reusedSocket} idle=${s.idle} interval=${s.interval} count=${s.count} detectAfter=${s.detectAfter}s`);
        res.resume().on('end', resolve);
      }).on('error', reject);
    });
  }
  agent.destroy();
  server.close();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
