// axios with an http.Agent whose sockets keep the policy (axios and the
// Agent call setKeepAlive on every request; the policy is re-applied).
// Run: node examples/axios.js [url]  (default: a local server)
'use strict';
const http = require('node:http');
const axios = require('axios');
const { createHttpAgent, createHttpsAgent, getKeepalive } = require('tcp-keepalive');

async function main() {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = process.argv[2] || `http://127.0.0.1:${server.address().port}/`;
  const httpAgent = createHttpAgent('web');
  const client = axios.create({ httpAgent, httpsAgent: createHttpsAgent('web') });
  for (let i = 0; i < 3; i++) {
    const res = await client.get(url);
    console.log(`request ${i}:`, res.status, 'keepalive:', getKeepalive(res.request.socket));
  }
  httpAgent.destroy();
  server.close();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
