// Every kind of socket Node makes: the settings reach the right TCP socket,
// and everything that is not a live TCP socket gets a clear error.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Duplex } from 'node:stream';

import { setKeepalive, getKeepalive, type KeepaliveState } from '../lib/index';
import { httpPair, listen, tcpPair, tlsPair } from './helpers/net';
import { tlsCredentials } from './helpers/tls';
import { keepaliveTimer } from './helpers/ss';
import { hasCommand, scaled } from './helpers/tools';

const wanted = { idle: 61, interval: 7, count: 4, userTimeout: 'auto' as const };
const expected = { enabled: true, idle: 61, interval: 7, count: 4, userTimeout: 89, detectAfter: 89 };
const haveSs = process.platform === 'linux' && hasCommand('ss');

async function check(t: Test, socket: net.Socket, label: string): Promise<void> {
  t.match(setKeepalive(socket, wanted), expected, `${label}: set`);
  t.match(getKeepalive(socket), expected, `${label}: read back`);
  if (!haveSs) return;
  const timer = await keepaliveTimer(socket);
  t.ok(timer && timer.seconds > wanted.idle - 3 && timer.seconds <= wanted.idle, `${label}: ss shows the keepalive timer at ${timer?.seconds}s`);
}

t.test('net client and server-accepted sockets', async (t) => {
  const { client, server } = await tcpPair(t);
  await check(t, client, 'client');
  await check(t, server, 'accepted');
});

t.test('TLS client and server sockets', async (t) => {
  const { client, server } = await tlsPair(t);
  t.ok(client instanceof tls.TLSSocket);
  await check(t, client, 'tls client');
  await check(t, server, 'tls server');
});

t.test('TLS client over an explicit net.Socket', async (t) => {
  const { client, server } = await tlsPair(t, true);
  await check(t, client, 'tls over socket');
  await check(t, server, 'tls server');
});

t.test('http request and server sockets', async (t) => {
  const { client, server, finish } = await httpPair(t, false);
  await check(t, client, 'http request socket');
  await check(t, server, 'http server socket');
  await finish();
  t.match(getKeepalive(client), expected, 'still set after the response (socket back in the agent)');
});

t.test('https request and server sockets', async (t) => {
  const { client, server, finish } = await httpPair(t, true);
  await check(t, client, 'https request socket');
  await check(t, server, 'https server socket');
  await finish();
});

t.test('a still-connecting socket gets its settings on connect', async (t) => {
  const server = net.createServer();
  const port = await listen(t, server);
  const client = net.connect(port, '127.0.0.1');
  t.teardown(() => void client.destroy());
  t.equal(client.connecting, true);
  const listeners = (): number[] => [client.listenerCount('connect'), client.listenerCount('close')];
  const before = listeners();
  t.same(setKeepalive(client, { idle: 30, count: 2 }), { source: 'pending', requested: { enable: true, idle: 30, count: 2 } });
  t.same(setKeepalive(client, { interval: 9, count: 5 }), { source: 'pending', requested: { enable: true, idle: 30, count: 5, interval: 9 } }, 'later calls merge');
  t.throws(() => getKeepalive(client), { code: 'ERR_KEEPALIVE_NOT_CONNECTED' });
  await once(client, 'connect');
  t.match(getKeepalive(client), { enabled: true, idle: 30, interval: 9, count: 5 });
  t.same(listeners(), before, 'no listener of ours is left');
});

t.test('a still-connecting TLS socket, with and without an explicit socket', async (t) => {
  const creds = await tlsCredentials();
  const server = tls.createServer({ key: creds.key, cert: creds.cert });
  const port = await listen(t, server);
  const direct = tls.connect({ port, host: '127.0.0.1', ca: creds.cert, servername: 'localhost' });
  const wrapped = tls.connect({ socket: net.connect(port, '127.0.0.1'), ca: creds.cert, servername: 'localhost' });
  for (const socket of [direct, wrapped]) {
    t.teardown(() => void socket.destroy());
    t.match(setKeepalive(socket, { idle: 33, interval: 3, count: 3 }), { source: 'pending' });
  }
  await Promise.all([once(direct, 'secureConnect'), once(wrapped, 'secureConnect')]);
  for (const socket of [direct, wrapped]) t.match(getKeepalive(socket), { enabled: true, idle: 33, interval: 3, count: 3 });
});

t.test('a connecting socket whose handle is replaced (autoSelectFamily) gets the settings on the final one', async (t) => {
  const server = net.createServer();
  const port = await listen(t, server); // 127.0.0.1 only: the attempt on 127.0.0.2 is refused first
  const lookup = ((_host: string, _options: unknown, callback: (err: null, addresses: Array<{ address: string; family: number }>) => void) =>
    setImmediate(() => callback(null, [{ address: '127.0.0.2', family: 4 }, { address: '127.0.0.1', family: 4 }]))) as unknown as net.LookupFunction;
  const client = net.connect({ host: 'dual.test', port, lookup, autoSelectFamily: true, autoSelectFamilyAttemptTimeout: 100 });
  t.teardown(() => void client.destroy());
  const attempts: string[] = [];
  client.on('connectionAttempt', (address: string) => attempts.push(address));
  t.match(setKeepalive(client, { idle: 55, interval: 5, count: 5 }), { source: 'pending' });
  await once(client, 'connect');
  t.same(attempts, ['127.0.0.2', '127.0.0.1'], 'two attempts, so two handles');
  t.equal(client.remoteAddress, '127.0.0.1');
  t.match(getKeepalive(client), { enabled: true, idle: 55, interval: 5, count: 5 });
  if (haveSs) t.equal((await keepaliveTimer(client))?.name, 'keepalive', 'ss sees it on the connected socket');
});

t.test('a new net.Socket() connected later', async (t) => {
  const server = net.createServer();
  const port = await listen(t, server);
  const socket = new net.Socket();
  t.teardown(() => void socket.destroy());
  t.match(setKeepalive(socket, { idle: 44 }), { source: 'pending' });
  socket.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  t.match(getKeepalive(socket), { idle: 44 });
});

t.test('a connecting socket destroyed before connect leaves nothing behind', async (t) => {
  const server = net.createServer();
  const port = await listen(t, server);
  const client = net.connect(port, '127.0.0.1');
  const listeners = (): number[] => [client.listenerCount('connect'), client.listenerCount('close')];
  const [connectBefore, closeBefore] = listeners();
  setKeepalive(client, { idle: 5 });
  t.same(listeners(), [connectBefore! + 1, closeBefore! + 1], 'one connect and one close listener while pending');
  client.destroy();
  await once(client, 'close');
  t.same(listeners(), [connectBefore, closeBefore], 'both removed on close');
  t.throws(() => setKeepalive(client, { idle: 5 }), { code: 'ERR_SOCKET_CLOSED' });
});

t.test('connect failure after a pending call: no warning, no crash', async (t) => {
  const server = net.createServer();
  const port = await listen(t, server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const client = net.connect(port, '127.0.0.1');
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  setKeepalive(client, { idle: 5 });
  const [err] = (await once(client, 'error')) as [NodeJS.ErrnoException];
  t.equal(err.code, 'ECONNREFUSED');
  await new Promise((r) => setImmediate(r));
  t.same(warnings, []);
});

t.test('a pending socket that turns out not to be TCP warns with a code', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-keepalive-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sockPath = path.join(dir, 's.sock');
  const server = net.createServer().listen(sockPath);
  await once(server, 'listening');
  t.teardown(() => void server.close());
  const socket = new net.Socket();
  t.teardown(() => void socket.destroy());
  setKeepalive(socket, { idle: 5 });
  const warned = once(process, 'warning') as Promise<[Error & { code?: string; cause?: Error }]>;
  socket.connect(sockPath);
  const [warning] = await warned;
  t.equal(warning.name, 'TcpKeepaliveWarning');
  t.equal(warning.code, 'ERR_KEEPALIVE_NOT_TCP');
  t.match(warning.message, /could not apply settings on 'connect'/);
});

t.test('destroyed sockets: ERR_SOCKET_CLOSED', async (t) => {
  const { client, server } = await tcpPair(t);
  server.destroy();
  t.throws(() => setKeepalive(server, { idle: 5 }), { code: 'ERR_SOCKET_CLOSED', message: 'Socket is closed' });
  t.throws(() => getKeepalive(server), { code: 'ERR_SOCKET_CLOSED' });
  await once(client, 'end');
  client.end();
  await once(client, 'close');
  t.throws(() => setKeepalive(client, { idle: 5 }), { code: 'ERR_SOCKET_CLOSED' });
});

t.test('a socket destroyed mid-way through a series of calls', async (t) => {
  const { client } = await tcpPair(t);
  const results: Array<string> = [];
  for (let i = 1; i <= 6; i++) {
    if (i === 4) client.destroy();
    try {
      setKeepalive(client, { idle: i });
      results.push('ok');
    } catch (e) {
      results.push((e as NodeJS.ErrnoException).code!);
    }
  }
  t.same(results, ['ok', 'ok', 'ok', 'ERR_SOCKET_CLOSED', 'ERR_SOCKET_CLOSED', 'ERR_SOCKET_CLOSED']);
});

t.test("a descriptor closed behind Node's back gives a system error, not a crash", { skip: process.platform === 'win32' ? 'no descriptors on Windows' : false }, async (t) => {
  // In a child process: a descriptor closed under libuv breaks that event loop.
  // closed-fd.ts, or the .js tsc made of it when this file runs compiled (the emulated arm64 run).
  const fixture = path.join(__dirname, 'fixtures', `closed-fd${path.extname(__filename)}`);
  const child = spawnSync(process.execPath, [...process.execArgv, fixture], {
    encoding: 'utf8',
    timeout: scaled(20_000),
  });
  t.equal(child.status, 0, `child exited cleanly ${child.stderr}`);
  const results = JSON.parse(child.stdout) as Record<string, Record<string, unknown>>;
  // The TCP check comes before any change: the closed descriptor fails there.
  t.match(results.set, { code: 'EBADF', errno: -9, syscall: 'getsockopt', option: 'socket type', message: 'getsockopt EBADF (socket type)' });
  t.match(results.get, { code: 'EBADF', errno: -9, syscall: 'getsockopt', option: 'SO_KEEPALIVE' });
  if (results.reused) t.match(results.reused, { code: 'ENOTSOCK', syscall: 'getsockopt' }, 'a file reusing the number is refused');
});

t.test('Unix domain sockets: ERR_KEEPALIVE_NOT_TCP', { skip: process.platform === 'win32' ? 'named pipes instead' : false }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-keepalive-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sockPath = path.join(dir, 's.sock');
  const accepted = new Promise<net.Socket>((resolve) => {
    const server = net.createServer(resolve).listen(sockPath);
    t.teardown(() => void server.close());
  });
  const client = net.connect(sockPath);
  t.teardown(() => void client.destroy());
  await once(client, 'connect');
  const server = await accepted;
  t.teardown(() => void server.destroy());
  for (const socket of [client, server]) {
    t.throws(() => setKeepalive(socket, { idle: 5 }), { code: 'ERR_KEEPALIVE_NOT_TCP', message: /Unix domain socket or named pipe/ });
    t.throws(() => getKeepalive(socket), { code: 'ERR_KEEPALIVE_NOT_TCP' });
  }
});

t.test('TLS over a JavaScript stream: ERR_KEEPALIVE_NOT_TCP', async (t) => {
  const creds = await tlsCredentials();
  const server = tls.createServer({ key: creds.key, cert: creds.cert });
  const port = await listen(t, server);
  const raw = net.connect(port, '127.0.0.1');
  t.teardown(() => void raw.destroy());
  const stream = new Duplex({
    read() {},
    write(chunk, _encoding, callback) {
      raw.write(chunk, callback);
    },
  });
  raw.on('data', (chunk) => stream.push(chunk));
  const socket = tls.connect({ socket: stream, ca: creds.cert, servername: 'localhost' });
  t.teardown(() => void socket.destroy());
  await once(socket, 'secureConnect');
  t.throws(() => setKeepalive(socket, { idle: 5 }), { code: 'ERR_KEEPALIVE_NOT_TCP', message: /JavaScript stream/ });
  // The TCP socket underneath is still a TCP socket.
  t.match(setKeepalive(raw, { idle: 5 }) as KeepaliveState, { idle: 5 });
});

t.test('a fd reused by another connection is never configured through an old socket', async (t) => {
  // Settings are applied through the live handle only: after a socket closes,
  // its number may belong to a new connection, which must stay untouched.
  const first = await tcpPair(t);
  const oldFd = (first.client as unknown as { _handle: { fd: number } })._handle.fd;
  first.client.destroy();
  await once(first.client, 'close');
  const second = await tcpPair(t);
  const fds = [second.client, second.server].map((s) => (s as unknown as { _handle: { fd: number } })._handle.fd);
  t.throws(() => setKeepalive(first.client, { idle: 9 }), { code: 'ERR_SOCKET_CLOSED' });
  t.comment(`old fd ${oldFd}, new fds ${fds.join(', ')}`);
  for (const s of [second.client, second.server]) t.match(getKeepalive(s), { enabled: false });
});
