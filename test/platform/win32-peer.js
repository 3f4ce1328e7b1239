// One end of a dead-peer run, inside the official node.exe under Wine, in a
// test host's network namespace (test/platform-win32-faults.test.ts). The
// other end is a Linux peer (test/fixtures/faults/peer.js) in the other
// namespace. Plain JavaScript: node.exe runs it as is.
//
//   node.exe win32-peer.js PACKAGE_DIR CONTROL_DIR CONFIG_JSON
//
// CONFIG_JSON: {role: 'client' | 'server', address, port, idle, interval}.
// A client connects and sends "ping"; a server listens (KERNEL listening,
// so the host starts its client) and answers the client's "ping" with
// "pong". Either sets keepalive with the package's setKeepalive on its
// connection. Once the ping has been answered the line is quiet: KERNEL
// synced, and the host cuts the path on the far side. What the application
// then sees is reported as INFO error / INFO close with `t` = Date.now()
// (the host's clock: Wine runs on it). Lines: test/platform/win32-lines.js.
'use strict';
const net = require('net');

const [packageDir, controlDir, configJson] = process.argv.slice(2);
const { setKeepalive, supported } = require(packageDir);
const { lines } = require('./win32-lines');

const config = JSON.parse(configJson);
const { check, info, kernel, finish } = lines(controlDir);
const stamp = (value) => ({ ...value, t: Date.now() });
// Bounded: the host's own limit is shorter; this one ends a forgotten process.
const limit = setTimeout(() => {
  check('the connection ended within 90 s', false);
  finish();
}, 90000);

function watch(socket) {
  let state;
  try {
    state = setKeepalive(socket, { idle: config.idle, interval: config.interval });
  } catch (e) {
    check('setKeepalive', false, { code: e.code, message: e.message });
    finish();
    return;
  }
  info('connected', stamp({ localPort: socket.localPort, remotePort: socket.remotePort, keepalive: state, platform: supported.platform }));
  socket.setEncoding('utf8');
  let synced = false;
  socket.on('data', (text) => {
    if (config.role === 'server' && text.includes('ping')) socket.write('pong\n');
    if (synced) return;
    synced = (config.role === 'client' && text.includes('pong')) || (config.role === 'server' && text.includes('ping'));
    if (synced) kernel('synced', stamp({})).catch((e) => check('the host cut the path', false, String(e)));
  });
  socket.on('error', (e) => info('error', stamp({ code: e.code || '', message: e.message })));
  socket.on('close', (hadError) => {
    info('close', stamp({ hadError }));
    clearTimeout(limit);
    check('the connection ended', true);
    finish();
  });
}

if (config.role === 'client') {
  const early = (e) => {
    check('connected', false, { code: e.code, message: e.message });
    finish();
  };
  const socket = net.connect(config.port, config.address, () => {
    socket.off('error', early);
    watch(socket);
    socket.write('ping\n');
  });
  socket.once('error', early);
} else {
  const server = net.createServer((socket) => {
    server.close();
    watch(socket);
  });
  server.listen(config.port, config.address, () => {
    kernel('listening', stamp({ port: config.port })).catch((e) => check('the host started its client', false, String(e)));
  });
}
