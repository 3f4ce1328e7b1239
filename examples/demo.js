// npm run demo: a loopback server and client, { idle: 60, interval: 10,
// count: 3 } on both ends, and what the kernel reports back.
'use strict';
const net = require('node:net');
const { once } = require('node:events');
const { setKeepalive, getKeepalive, supported, detectAfter } = require('..');

const settings = { idle: 60, interval: 10, count: 3, userTimeout: 'auto' };

function line(label, s) {
  return `${label.padEnd(7)} enabled=${s.enabled} idle=${s.idle}s interval=${s.interval}s count=${s.count} ` +
    `userTimeout=${s.userTimeout}s -> a dead peer is detected within ${s.detectAfter}s (read from: ${s.source})`;
}

async function main() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  const accepted = once(server, 'connection');
  const client = net.connect(port, '127.0.0.1');
  // Still connecting: the settings are applied on 'connect'.
  setKeepalive(client, settings);
  await once(client, 'connect');
  const [serverSide] = await accepted;

  console.log(`tcp-keepalive on ${supported.platform}: ${JSON.stringify(settings)} on both ends of 127.0.0.1:${port}`);
  console.log(line('client', getKeepalive(client)));
  console.log(line('server', setKeepalive(serverSide, settings)));
  const before = detectAfter({ idle: 7200, interval: 75, count: 9 });
  console.log(`Linux defaults (7200 + 75 x 9) would take ${before}s, about ${Math.round(before / 60)} minutes.`);

  serverSide.destroy();
  client.destroy();
  server.close();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
