// A plain TCP server whose accepted sockets keep the policy (servers only).
// Equivalent without code changes:
//   TCP_KEEPALIVE=realtime TCP_KEEPALIVE_SIDE=servers node --require tcp-keepalive/register server.js
// Run: node examples/server.js
'use strict';
const net = require('node:net');
const { install, getKeepalive } = require('tcp-keepalive');

const policy = install('realtime', { clients: false });
const server = net.createServer((socket) => {
  const s = getKeepalive(socket);
  socket.end(`idle=${s.idle} interval=${s.interval} count=${s.count} detectAfter=${s.detectAfter}s\n`);
});
server.listen(0, '127.0.0.1', () => {
  const client = net.connect(server.address().port, '127.0.0.1');
  client.on('data', (d) => process.stdout.write(`server socket: ${d}`));
  client.on('close', () => {
    server.close();
    policy.uninstall();
  });
});
