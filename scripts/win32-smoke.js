// Smoke test of the win32 build, run inside node.exe (under Wine on Linux:
// scripts/win32-smoke.sh drives it). Plain JavaScript, no dependencies.
//
//   node.exe win32-smoke.js ADDON_PATH CONTROL_DIR
//
// Prints one line per step: `OK name {...}` or `FAIL name {...}`, and
// `SS label port enable idle interval` where the host should check the
// kernel's view of the connection whose local port is `port` against those
// values (idle/interval in seconds; enable 0 = no keepalive timer); it then
// waits for the file
// CONTROL_DIR/label.done (written by the host) before going on. Ends with
// `DONE passed=N failed=M` and exit code 0 only if nothing failed.
'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');
const util = require('util');

const addonPath = process.argv[2] ||
  path.join(__dirname, '..', 'build-win32', 'tcp_keepalive.node');
const controlDir = process.argv[3] || null;
const binding = require(addonPath);

const KEEP = -1;
let passed = 0;
let failed = 0;

function check(name, ok, detail) {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'OK' : 'FAIL'} ${name} ${JSON.stringify(detail)}`);
}

function locator(sock) {
  return [sock.localAddress, sock.localPort, sock.remoteAddress, sock.remotePort];
}

function call(fn, sock, request, loc) {
  const out = new Int32Array(8);
  const args = fn === 'set' ? [-1, Int32Array.from(request), out] : [-1, out];
  const err = binding[fn](...args, ...(loc || locator(sock)));
  return {
    err,
    code: err ? util.getSystemErrorName(err) : undefined,
    state: Array.from(out.slice(0, 5)),
    readMask: out[5],
    option: err ? binding.optionNames[out[6]] : undefined,
    syscall: err ? binding.syscallNames[out[7]] : undefined,
  };
}

// Lets the host run `ss` while the connection is in the state just set.
async function hostLook(label, sock, enable, idle, interval) {
  console.log(`SS ${label} ${sock.localPort} ${enable} ${idle} ${interval}`);
  if (!controlDir) return;
  const done = path.join(controlDir, `${label}.done`);
  const deadline = Date.now() + 60000;
  while (!fs.existsSync(done)) {
    if (Date.now() > deadline) throw new Error(`host never answered ${label}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function pair(listenHost, connectHost) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, listenHost, () => {
      const client = net.connect(server.address().port, connectHost);
      client.on('error', reject);
      server.once('connection', (accepted) => {
        const ready = () => resolve({ server, client, accepted });
        if (client.remotePort) ready(); else client.once('connect', ready);
      });
    });
  });
}

function close({ server, client, accepted }) {
  client.destroy();
  accepted.destroy();
  return new Promise((r) => server.close(r));
}

async function main() {
  const caps = binding.capabilities;
  console.log(`CAPS ${JSON.stringify(caps)}`);
  check('capabilities', caps.platform === 'win32' &&
    (caps.setMask & 0b111) === 0b111 && caps.fallback[3] >= -1, caps);

  // IPv4 on loopback.
  const v4 = await pair('127.0.0.1', '127.0.0.1');
  const { client, accepted } = v4;

  let r = call('get', client);
  check('get fresh client', r.err === 0 && r.state[0] === 0, r);

  r = call('set', client, [1, 17, 5, KEEP, KEEP]);
  check('set 1/17/5 on client', r.err === 0 && r.state[0] === 1 &&
    ((r.readMask & 2) === 0 || (r.state[1] === 17 && r.state[2] === 5)), r);
  await hostLook('client-17', client, 1, 17, 5);

  // Timing only, keepalive off: SIO_KEEPALIVE_VALS switches it on, Apply
  // must switch it back off.
  r = call('set', accepted, [KEEP, 30, 3, KEEP, KEEP]);
  check('set timing only leaves keepalive off', r.err === 0 && r.state[0] === 0, r);
  await hostLook('accepted-off', accepted, 0, 30, 3);

  // Now on: the timing set while off must still be there.
  r = call('set', accepted, [1, KEEP, KEEP, KEEP, KEEP]);
  check('enable alone', r.err === 0 && r.state[0] === 1, r);
  await hostLook('accepted-30', accepted, 1, 30, 3);

  // Idle alone: interval is taken from the socket (or the default).
  // Where TCP_KEEPINTVL cannot be read (before 1709, Wine 8) the TypeScript
  // layer fills the interval in; called directly, the default (1 s) is used.
  r = call('set', client, [KEEP, 40, KEEP, KEEP, KEEP]);
  check('set idle alone', r.err === 0 && r.state[0] === 1, r);
  await hostLook('client-40', client, 1, 40, (caps.readMask & 4) ? 5 : 1);

  r = call('set', client, [0, KEEP, KEEP, KEEP, KEEP]);
  check('disable', r.err === 0 && r.state[0] === 0, r);

  // Count and user timeout: either they work (capability bit set) or fail
  // with the option named.
  r = call('set', client, [KEEP, KEEP, KEEP, 4, KEEP]);
  check('set count', (caps.setMask & 8)
    ? r.err === 0 && ((r.readMask & 8) === 0 || r.state[3] === 4)
    : r.err < 0 && r.option === 'TCP_KEEPCNT' && r.syscall === 'setsockopt', r);

  r = call('set', client, [KEEP, KEEP, KEEP, KEEP, 20]);
  check('set user timeout', (caps.setMask & 16)
    ? r.err === 0 && ((r.readMask & 16) === 0 || r.state[4] === 20)
    : r.err < 0 && r.option === 'TCP_MAXRT' && r.syscall === 'setsockopt', r);

  // A locator that matches nothing.
  r = call('get', client, null, ['127.0.0.1', 1, '127.0.0.1', 2]);
  check('no such socket', r.err < 0 && r.option === 'socket lookup' &&
    r.syscall === 'uv_walk', r);
  r = call('get', client, null, ['not an address', client.localPort,
    client.remoteAddress, client.remotePort]);
  check('bad locator', r.err < 0 && r.option === 'socket lookup', r);

  // Both ends of one connection are two handles: each resolves to itself.
  const swapped = [client.remoteAddress, client.remotePort,
    client.localAddress, client.localPort];
  r = call('get', accepted, swapped);
  check('accepted side resolves', r.err === 0 && r.state[0] === 1, r);

  await close(v4);

  // Dual stack: the accepted socket reports ::ffff:127.0.0.1; the plain
  // IPv4 spelling must find it too.
  try {
    const ds = await pair('::', '127.0.0.1');
    const a = ds.accepted;
    r = call('set', a, [1, 21, 2, KEEP, KEEP]);
    check('dual-stack mapped', r.err === 0 && r.state[0] === 1,
      { local: a.localAddress, ...r });
    const plain = locator(a).map((v) =>
      typeof v === 'string' ? v.replace(/^::ffff:/, '') : v);
    r = call('get', a, null, plain);
    check('dual-stack plain IPv4 spelling', r.err === 0 && r.state[0] === 1,
      { plain, ...r });
    await hostLook('dualstack-21', a, 1, 21, 2);
    await close(ds);
  } catch (e) {
    console.log(`SKIP dual-stack ${e.message}`);
  }

  // IPv6 loopback, where there is one.
  try {
    const v6 = await pair('::1', '::1');
    r = call('set', v6.client, [1, 23, 2, KEEP, KEEP]);
    check('ipv6', r.err === 0 && r.state[0] === 1,
      { local: v6.client.localAddress, ...r });
    await hostLook('ipv6-23', v6.client, 1, 23, 2);
    await close(v6);
  } catch (e) {
    console.log(`SKIP ipv6 ${e.message}`);
  }

  console.log(`DONE passed=${passed} failed=${failed}`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.log(`FAIL exception ${JSON.stringify(String(e?.stack || e))}`);
  process.exitCode = 1;
});
