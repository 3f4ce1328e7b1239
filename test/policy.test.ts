// install(): every client path and every server kind gets the policy when
// the connection is established and keeps it across later
// setKeepAlive(true, ...) calls; without the policy the same sockets show
// Node's own values (proving the checks can fail). Checked with getKeepalive
// and `ss`.
import t, { type Test } from 'tap';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';

import { currentPolicy, getKeepalive, install, presets, type PolicyHandle } from '../lib/index';
import { EXPECTED, expectKeepalive, POLICY, until } from './helpers/dropin';
import { listen } from './helpers/net';
import { tlsCredentials } from './helpers/tls';

const LIBRARY = { enabled: true, idle: 1, interval: 1, count: 10 }; // setKeepAlive(true, 1000) through libuv
const warnings: Error[] = [];
process.on('warning', (w) => warnings.push(w));

const proto = net.Socket.prototype;
const pristine = { connect: proto.connect, setKeepAlive: proto.setKeepAlive };

function withPolicy(t: Test, options?: Parameters<typeof install>[1]): PolicyHandle {
  const handle = install(POLICY, options);
  t.teardown(() => handle.uninstall());
  return handle;
}

type Connector = (port: number, ca: Buffer) => net.Socket;

const clientPaths: Array<[string, boolean, Connector]> = [
  ['net.connect', false, (port) => net.connect(port, '127.0.0.1')],
  ['net.createConnection with options', false, (port) => net.createConnection({ port, host: '127.0.0.1' })],
  ['new net.Socket().connect()', false, (port) => new net.Socket().connect(port, '127.0.0.1')],
  ['tls.connect', true, (port, ca) => tls.connect({ port, host: '127.0.0.1', ca, servername: 'localhost' })],
  ['tls.connect over a connecting net.Socket', true, (port, ca) => tls.connect({ socket: net.connect(port, '127.0.0.1'), ca, servername: 'localhost' })],
];

t.test('installing and uninstalling', async (t) => {
  t.equal(currentPolicy(), null, 'nothing installed at first');
  const first = install('database');
  t.not(proto.connect, pristine.connect, 'connect is wrapped');
  t.not(proto.setKeepAlive, pristine.setKeepAlive, 'setKeepAlive is wrapped');
  t.ok(Object.hasOwn(net.Server.prototype, 'emit'), 'net.Server.prototype has an own emit');
  t.equal(proto.setKeepAlive.name, pristine.setKeepAlive.name);
  t.equal(proto.setKeepAlive.length, pristine.setKeepAlive.length);
  t.same(first.settings, { idle: 60, interval: 20, count: 3, userTimeout: 'auto' });
  t.equal(first.detectAfter, presets.database.detectAfter);
  t.equal(currentPolicy(), first);
  const second = install({ idle: 30, interval: 5, count: 2 }, { servers: false });
  t.equal(first.active, false, 'a second install replaces the first');
  t.equal(second.active, true);
  t.equal(currentPolicy(), second);
  first.uninstall();
  t.equal(second.active, true, "the replaced handle's uninstall does nothing");
  second.uninstall();
  second.uninstall();
  t.equal(currentPolicy(), null);
  t.equal(proto.connect, pristine.connect, 'connect restored');
  t.equal(proto.setKeepAlive, pristine.setKeepAlive, 'setKeepAlive restored');
  t.notOk(Object.hasOwn(net.Server.prototype, 'emit'), 'net.Server.prototype.emit removed');
});

t.test('bad policies are rejected before anything changes', async (t) => {
  const cases: Array<[string, () => unknown, string]> = [
    ['unknown preset', () => install('fast' as 'general'), 'ERR_INVALID_ARG_VALUE'],
    ['not an object', () => install(42 as unknown as 'general'), 'ERR_INVALID_ARG_TYPE'],
    ['count missing', () => install({ idle: 60, interval: 10 }), 'ERR_INVALID_ARG_VALUE'],
    ['idle 0', () => install({ idle: 0, interval: 10, count: 3 }), 'ERR_OUT_OF_RANGE'],
    ['milliseconds by mistake', () => install({ idle: 60000, interval: 10, count: 3 }), 'ERR_OUT_OF_RANGE'],
    ['a typo', () => install({ idle: 60, interval: 10, count: 3, userTimout: 5 } as never), 'ERR_INVALID_ARG_VALUE'],
    ['enable: false', () => install({ enable: false, idle: 60, interval: 10, count: 3 }), 'ERR_INVALID_ARG_VALUE'],
    ['unknown install option', () => install('general', { client: true } as never), 'ERR_INVALID_ARG_VALUE'],
    ['filter not a function', () => install('general', { filter: 5432 } as never), 'ERR_INVALID_ARG_TYPE'],
    ['servers not boolean', () => install('general', { servers: 'yes' } as never), 'ERR_INVALID_ARG_TYPE'],
  ];
  for (const [label, fn, code] of cases) t.throws(fn, { code }, label);
  t.equal(currentPolicy(), null, 'no policy installed');
  t.equal(proto.connect, pristine.connect, 'nothing patched');
});

t.test('client paths: policy on connect, kept after a library setKeepAlive(true, 1000)', async (t) => {
  const creds = await tlsCredentials();
  const plain = await listen(t, net.createServer((s) => s.resume()));
  const secure = await listen(t, tls.createServer({ key: creds.key, cert: creds.cert }, (s) => s.resume()));
  for (const [label, isTls, connect] of clientPaths) {
    for (const installed of [false, true]) {
      const handle = installed ? withPolicy(t) : null;
      const socket = connect(isTls ? secure : plain, creds.cert);
      t.teardown(() => void socket.destroy());
      let inConnect: ReturnType<typeof getKeepalive> | undefined;
      socket.once('connect', () => (inConnect = getKeepalive(socket)));
      await once(socket, isTls ? 'secureConnect' : 'connect');
      const name = `${label} ${installed ? 'with' : 'without'} the policy`;
      if (installed) {
        if (inConnect) t.match(inConnect, EXPECTED, `${name}: already set in the caller's 'connect' listener`);
        await expectKeepalive(t, socket, EXPECTED, `${name}: after connect`);
      } else {
        t.match(getKeepalive(socket), { enabled: false }, `${name}: off after connect`);
      }
      socket.setKeepAlive(true, 1000);
      await expectKeepalive(t, socket, installed ? EXPECTED : LIBRARY, `${name}: after setKeepAlive(true, 1000)`);
      socket.destroy();
      handle?.uninstall();
    }
  }
});

t.test('server sockets of net, tls, http and https servers', async (t) => {
  const creds = await tlsCredentials();
  withPolicy(t);
  const seen: Array<[string, ReturnType<typeof getKeepalive>, net.Socket]> = [];
  const record = (label: string) => (socket: net.Socket) => seen.push([label, getKeepalive(socket), socket]);
  const netServer = net.createServer(record('net server'));
  const tlsServer = tls.createServer({ key: creds.key, cert: creds.cert }, record('tls server'));
  const httpServer = http.createServer((req, res) => {
    record('http server')(req.socket);
    res.end('ok');
  });
  const httpsServer = https.createServer({ key: creds.key, cert: creds.cert }, (req, res) => {
    record('https server')(req.socket);
    res.end('ok');
  });
  const rawServer = net.createServer();
  rawServer.on('connection', record("net server, in the first 'connection' listener"));
  const ports = await Promise.all([netServer, tlsServer, httpServer, httpsServer, rawServer].map((s) => listen(t, s)));
  const clients: net.Socket[] = [];
  clients.push(net.connect(ports[0]!, '127.0.0.1'));
  clients.push(tls.connect({ port: ports[1]!, host: '127.0.0.1', ca: creds.cert, servername: 'localhost' }));
  const agent = new http.Agent({ keepAlive: true });
  const sAgent = new https.Agent({ keepAlive: true, ca: creds.cert });
  t.teardown(() => {
    agent.destroy();
    sAgent.destroy();
  });
  for (const [mod, port, a] of [[http, ports[2]!, agent], [https, ports[3]!, sAgent]] as const) {
    const options: https.RequestOptions = { host: '127.0.0.1', port, agent: a, servername: 'localhost' };
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => (mod as typeof https).get(options, resolve).on('error', reject));
    res.resume();
    await once(res, 'end');
  }
  clients.push(net.connect(ports[4]!, '127.0.0.1'));
  for (const c of clients) t.teardown(() => void c.destroy());
  await until(() => seen.length === 5, 5000, 'five accepted sockets');
  for (const [label, state, socket] of seen) {
    t.match(state, EXPECTED, `${label}: policy already in force when the application first sees the socket`);
    socket.setKeepAlive(true, 1000);
    await expectKeepalive(t, socket, EXPECTED, `${label}: after setKeepAlive(true, 1000)`);
  }
});

t.test('setKeepAlive(false) by the application is honoured', async (t) => {
  withPolicy(t);
  const port = await listen(t, net.createServer((s) => s.resume()));
  const socket = net.connect(port, '127.0.0.1');
  t.teardown(() => void socket.destroy());
  await once(socket, 'connect');
  socket.setKeepAlive(false);
  t.match(getKeepalive(socket), { enabled: false }, 'off after setKeepAlive(false)');
  socket.setKeepAlive(true, 1000);
  await expectKeepalive(t, socket, EXPECTED, 'the latest call wins: on again, with the policy');
  const early = new net.Socket();
  t.teardown(() => void early.destroy());
  early.setKeepAlive(false);
  early.connect(port, '127.0.0.1');
  await once(early, 'connect');
  t.match(getKeepalive(early), { enabled: false }, 'setKeepAlive(false) before connect: left off at connect');
});

t.test('filter, clients and servers', async (t) => {
  const a = await listen(t, net.createServer((s) => s.resume()));
  const b = await listen(t, net.createServer((s) => s.resume()));
  const sides: string[] = [];
  withPolicy(t, {
    servers: false,
    filter: (socket, side) => {
      sides.push(side);
      return socket.remotePort === b;
    },
  });
  const toA = net.connect(a, '127.0.0.1');
  const toB = net.connect(b, '127.0.0.1');
  for (const s of [toA, toB]) t.teardown(() => void s.destroy());
  await Promise.all([once(toA, 'connect'), once(toB, 'connect')]);
  t.match(getKeepalive(toA), { enabled: false }, 'filtered out: left alone');
  await expectKeepalive(t, toB, EXPECTED, 'filter accepted: policy');
  toA.setKeepAlive(true, 1000);
  t.match(getKeepalive(toA), LIBRARY, 'filtered out: later setKeepAlive calls are not overridden');
  t.same(sides, ['client', 'client'], 'the filter saw client sockets only (servers: false), once each');
  const boom = install(POLICY, {
    filter: () => {
      throw new Error('boom');
    },
  });
  t.teardown(() => boom.uninstall());
  const c = net.connect(a, '127.0.0.1');
  t.teardown(() => void c.destroy());
  await once(c, 'connect');
  t.match(getKeepalive(c), { enabled: false }, 'a throwing filter counts as false');
  await until(() => warnings.some((w) => /filter threw/.test(w.message)), 2000, 'the filter warning');
  t.ok(true, 'reported once as a TcpKeepaliveWarning');
  warnings.length = 0;
});

t.test('not TCP: Unix domain sockets and TLS over a JS stream are left alone', async (t) => {
  withPolicy(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-keepalive-ipc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 's');
  const server = net.createServer((s) => s.end('hi'));
  server.listen(sock);
  await once(server, 'listening');
  t.teardown(() => void server.close());
  const client = net.connect(sock);
  const chunks: Buffer[] = [];
  client.on('data', (d: Buffer) => chunks.push(d));
  await once(client, 'close');
  t.equal(Buffer.concat(chunks).toString(), 'hi', 'the Unix socket worked');
  t.equal(client.listenerCount('connect'), 0, 'no connect listener left');

  const creds = await tlsCredentials();
  const port = await listen(t, tls.createServer({ key: creds.key, cert: creds.cert }, (s) => s.end('tls over js')));
  const raw = net.connect(port, '127.0.0.1');
  await once(raw, 'connect');
  const js = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      raw.write(chunk, cb);
    },
  });
  raw.on('data', (d: Buffer) => js.push(d));
  raw.on('end', () => js.push(null));
  const secure = tls.connect({ socket: js, ca: creds.cert, servername: 'localhost' });
  const got: Buffer[] = [];
  secure.on('data', (d: Buffer) => got.push(d));
  await once(secure, 'end');
  secure.setKeepAlive(true, 1000);
  t.equal(Buffer.concat(got).toString(), 'tls over js', 'TLS over a JS stream worked');
  secure.destroy();
  raw.destroy();
  t.same(warnings, [], 'no warnings');
});

t.test('destroyed before connecting, refused, or replaced handles (autoSelectFamily)', async (t) => {
  withPolicy(t);
  const port = await listen(t, net.createServer((s) => s.resume()));
  const base = [new net.Socket().listenerCount('connect'), new net.Socket().listenerCount('close')];
  const early = net.connect(port, '127.0.0.1');
  early.destroy();
  await once(early, 'close');
  t.same([early.listenerCount('connect'), early.listenerCount('close')], base, 'destroyed while connecting: no listener of ours left');
  const closed = await listen(t, net.createServer());
  const refusedServer = net.createServer();
  refusedServer.listen(0, '127.0.0.1');
  await once(refusedServer, 'listening');
  const refusedPort = (refusedServer.address() as net.AddressInfo).port;
  await new Promise((resolve) => refusedServer.close(resolve));
  void closed;
  const refused = net.connect(refusedPort, '127.0.0.1');
  const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
  t.equal(error.code, 'ECONNREFUSED', 'a refused connection fails as usual');
  await once(refused, 'close');
  t.same([refused.listenerCount('connect'), refused.listenerCount('close')], base, 'refused: no listener of ours left');

  // A name resolving to ::1 and then 127.0.0.1; the server listens on
  // 127.0.0.1 only, so with autoSelectFamily the first attempt (::1) is
  // refused and the socket's handle is replaced before 'connect'.
  const lookup = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void): void => {
    const both = [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }];
    if (options.all) callback(null, both);
    else callback(null, '::1', 6);
  }) as unknown as net.LookupFunction;
  const happy = net.connect({ port, host: 'dual.test', lookup, autoSelectFamily: true, autoSelectFamilyAttemptTimeout: 250 });
  t.teardown(() => void happy.destroy());
  await once(happy, 'connect');
  const attempted = (happy as net.Socket & { autoSelectFamilyAttemptedAddresses?: string[] }).autoSelectFamilyAttemptedAddresses ?? [];
  t.same(attempted.map((a) => a.replace(/:\d+$/, '')), ['::1', '127.0.0.1'], 'two attempts, the second on a new handle');
  await expectKeepalive(t, happy, EXPECTED, `autoSelectFamily after ${attempted.length} attempt(s)`);
  t.same(warnings, [], 'no warnings');
});

t.test('sockets connected before install get the policy at their next setKeepAlive(true)', async (t) => {
  const port = await listen(t, net.createServer((s) => s.resume()));
  const socket = net.connect(port, '127.0.0.1');
  t.teardown(() => void socket.destroy());
  await once(socket, 'connect');
  withPolicy(t);
  t.match(getKeepalive(socket), { enabled: false }, 'not touched by install itself');
  socket.setKeepAlive(true, 1000);
  await expectKeepalive(t, socket, EXPECTED, 'after setKeepAlive(true, 1000)');
});

t.test('after uninstall, sockets behave as without the package', async (t) => {
  const handle = install(POLICY);
  handle.uninstall();
  const port = await listen(t, net.createServer((s) => s.resume()));
  const socket = net.connect(port, '127.0.0.1');
  t.teardown(() => void socket.destroy());
  await once(socket, 'connect');
  t.match(getKeepalive(socket), { enabled: false });
  socket.setKeepAlive(true, 1000);
  t.match(getKeepalive(socket), LIBRARY);
});
