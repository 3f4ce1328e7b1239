// undici and Node's global fetch through a dispatcher whose connections keep
// the policy. Run: node examples/undici-fetch.js [url]  (default: a local server)
'use strict';
const http = require('node:http');
const diagnostics = require('node:diagnostics_channel');
const undici = require('undici');
const { createUndiciDispatcher, getKeepalive } = require('tcp-keepalive');

async function main() {
  const server = http.createServer((_req, res) => res.end('ok'));
  // undici reports each new connection; show what its socket holds.
  diagnostics.subscribe('undici:client:connected', ({ socket }) => {
    setImmediate(() => console.log('connection keepalive:', getKeepalive(socket)));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = process.argv[2] || `http://127.0.0.1:${server.address().port}/`;
  const dispatcher = createUndiciDispatcher(undici, { idle: 30, interval: 10, count: 3, userTimeout: 'auto' });
  undici.setGlobalDispatcher(dispatcher); // global fetch uses it too
  const viaFetch = await (await fetch(url)).text();
  const viaUndici = await (await undici.request(url)).body.text();
  console.log('fetch:', viaFetch.slice(0, 40), '| undici.request:', viaUndici.slice(0, 40));
  await dispatcher.close();
  server.close();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
