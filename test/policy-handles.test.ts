// The policy at the TCP handle (lib/policy-handles.ts): a listener given
// the policy before it listens passes it on to every connection it accepts
// (Linux), and a client socket gets it when its handle connects, with no
// listener on the socket. The oracles are strace (the setsockopt calls the
// process makes, counted per connection), ss (the kernel's keepalive
// timer of each accepted connection) and getsockopt through getKeepalive.
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { getKeepalive, install, policyApplied } from '../lib/index';
import { haveSs } from './helpers/dropin';
import { listen } from './helpers/net';
import { tlsCredentials } from './helpers/tls';
import { hasCommand, needs, scaled } from './helpers/tools';

const FIXTURE = path.join(__dirname, 'fixtures', 'handles', 'accept.js');
const POLICY = { idle: 53, interval: 6, count: 5, userTimeout: 29 };
const HELD = { enabled: true, idle: 53, interval: 6, count: 5, userTimeout: 29 };
const OPTIONS = /SO_KEEPALIVE|TCP_KEEPIDLE|TCP_KEEPINTVL|TCP_KEEPCNT|TCP_USER_TIMEOUT/;
const N = 12;
const linux = process.platform === 'linux';
const haveStrace = linux && hasCommand('strace');

interface Held {
  port: number;
  enabled: boolean;
  idle: number;
  interval: number;
  count: number;
  userTimeout: number;
  applied: boolean;
}
interface Report {
  port: number;
  accepted: Held[];
  clients: Held[];
  afterUninstall: Held | null;
}

/**
 * Every established connection's keepalive timer on the local port, from
 * ss, waiting up to 3 s for `n` of them (ss shows one timer per
 * connection: the retransmission timer while data just sent is unacked).
 */
async function ssTimers(port: number, n: number): Promise<number[]> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const output = execFileSync('ss', ['-tnoi', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
    const timers = [...output.matchAll(/timer:\(keepalive,([\d.]+)sec,\d+\)/g)].map((m) => Number(m[1]));
    if (timers.length >= n || Date.now() > deadline) return timers;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Runs the fixture under strace; the report and the keepalive setsockopt calls made, as "OPTION" names. */
async function runFixture(env: Record<string, string>, check?: (report: Report) => Promise<void>): Promise<{ report: Report; calls: string[] }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tcp-keepalive-handles-'));
  try {
    const creds = await tlsCredentials();
    const credentials = path.join(dir, 'credentials.json');
    await writeFile(credentials, JSON.stringify({ key: creds.key.toString(), cert: creds.cert.toString() }));
    const log = path.join(dir, 'strace.log');
    const command = env.LISTEN_FD === undefined ? [process.execPath, FIXTURE] : givenListener(process.execPath, FIXTURE);
    const child = spawn('strace', ['-f', '-qq', '-e', 'trace=setsockopt', '-o', log, ...command], {
      env: { ...process.env, NODE_OPTIONS: '', N: String(N), POLICY: JSON.stringify(POLICY), CREDENTIALS: credentials, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), scaled(30_000));
    try {
      while (!stdout.includes('\n') && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 20));
      if (!stdout.includes('\n')) throw new Error(`the fixture ended without a report: ${stderr}`);
      const report = JSON.parse(stdout) as Report;
      await check?.(report); // while the connections are open (ss)
      child.stdin.end('done\n');
      if (child.exitCode === null) await once(child, 'exit');
      const calls = (await readFile(log, 'utf8')).split('\n').filter((line) => OPTIONS.test(line)).map((line) => OPTIONS.exec(line)![0]);
      return { report, calls };
    } finally {
      clearTimeout(timer);
      child.kill('SIGKILL');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The command that runs the fixture with a listening socket it did not make:
 * python binds and listens on 127.0.0.1 and execs Node with the descriptor
 * inherited (as systemd's socket activation does); LISTEN_FD names it.
 */
function givenListener(node: string, fixture: string): string[] {
  const script = [
    'import os, socket, sys',
    's = socket.socket()',
    "s.bind(('127.0.0.1', 0))",
    's.listen(511)',
    's.set_inheritable(True)',
    "os.environ['LISTEN_FD'] = str(s.fileno())",
    'os.execv(sys.argv[1], sys.argv[1:])',
  ].join('\n');
  return ['python3', '-c', script, node, fixture];
}

const values = (h: Held): Omit<Held, 'port' | 'applied'> => ({ enabled: h.enabled, idle: h.idle, interval: h.interval, count: h.count, userTimeout: h.userTimeout });

for (const kind of ['net', 'tls', 'http', 'https']) {
  t.test(`${kind} server: accepted connections inherit the listener's policy, with no setsockopt per connection`, async (t) => {
    if (!needs(t, linux, 'listener inheritance is verified on Linux only')) return;
    if (!needs(t, haveStrace, 'strace is not installed (Debian package strace)')) return;
    if (!needs(t, haveSs, 'ss is not installed (Debian package iproute2)')) return;
    let timers: number[] = [];
    const { report, calls } = await runFixture({ KIND: kind, SIDE: 'servers' }, async (r) => {
      timers = await ssTimers(r.port, N);
    });
    t.equal(report.accepted.length, N, `${N} connections accepted`);
    for (const [i, socket] of report.accepted.entries()) {
      t.same(values(socket), HELD, `accepted #${i}: getsockopt reads the policy`);
      t.equal(socket.applied, true, `accepted #${i}: policyApplied() names the policy`);
    }
    t.equal(timers.length, N, 'ss shows a keepalive timer on every accepted connection');
    t.ok(timers.every((s) => s <= POLICY.idle && s > POLICY.idle - 10), `ss: every timer within (${POLICY.idle - 10}, ${POLICY.idle}] s: ${timers.join(' ')}`);
    // The listener, once before it listens (5 options), and once more at uninstall, putting back what it held.
    t.same(calls.length, 10, `strace: 10 keepalive setsockopt calls in the whole run for ${N} connections (${calls.join(' ')})`);
    t.same(values(report.afterUninstall!), { enabled: false, idle: 7200, interval: 75, count: 9, userTimeout: 0 }, 'after uninstall, a new connection inherits what the listener held before (the OS defaults)');
  });
}

t.test("net.Server's keepAlive option: Node sets each accepted handle, so the policy goes on per socket (the control: calls grow with connections)", async (t) => {
  if (!needs(t, linux && haveStrace, 'strace on Linux')) return;
  const { report, calls } = await runFixture({ KIND: 'net', SIDE: 'servers', SERVER_KEEPALIVE: '1' });
  for (const [i, socket] of report.accepted.entries()) t.same(values(socket), HELD, `accepted #${i}: the policy, over Node's setKeepAlive`);
  t.ok(calls.length >= 10 + 5 * N, `strace: ${calls.length} calls, at least the listener's 10 plus 5 per accepted connection`);
});

t.test('a listener over a descriptor the process was given (socket activation): its accepted sockets get the policy per socket', async (t) => {
  if (!needs(t, linux && haveStrace, 'strace on Linux')) return;
  if (!needs(t, hasCommand('python3'), 'python3 (which makes the listening socket) is not installed')) return;
  const { report, calls } = await runFixture({ KIND: 'net', SIDE: 'servers', LISTEN_FD: 'given' });
  t.equal(report.accepted.length, N);
  for (const [i, socket] of report.accepted.entries()) t.same(values(socket), HELD, `accepted #${i}: the policy`);
  t.equal(calls.length, 5 * N, `strace: 5 calls per accepted connection (${N}), none on the listener it was given`);
});

t.test('clients: the policy is applied when the handle connects, 5 setsockopt per connection, no listener on the socket', async (t) => {
  if (!needs(t, linux && haveStrace, 'strace on Linux')) return;
  for (const kind of ['net', 'tls']) {
    const { report, calls } = await runFixture({ KIND: kind, SIDE: 'clients' });
    for (const [i, socket] of report.clients.entries()) t.same(values(socket), HELD, `${kind} client #${i}: getsockopt reads the policy at 'connect'`);
    // (the fixture's last client connects after uninstall: none for it)
    t.equal(calls.length, 5 * N, `${kind}: strace: 5 calls per client connection under the policy (${N}), none for the listener or the accepted sockets`);
    t.ok(report.accepted.every((s) => !s.enabled), `${kind}: accepted sockets untouched (servers not covered)`);
  }
});

// In a fresh process: install() makes no socket; the first connect() finds the
// handle class and its socket already takes the handle path.
const LAZY = `
const net = require('node:net');
const { install, getKeepalive } = require(process.argv[1]);
const connect = net.Socket.prototype.connect;
let made = 0;
net.Socket.prototype.connect = function () { made++; return connect.apply(this, arguments); };
const server = net.createServer((s) => s.on('error', () => {})).listen(0, '127.0.0.1', () => {
  const handle = install(${JSON.stringify(POLICY)});
  const atInstall = made;
  const socket = net.connect(server.address().port, '127.0.0.1');
  const listeners = socket.listenerCount('connect') + socket.listenerCount('close');
  socket.on('connect', () => {
    console.log(JSON.stringify({ atInstall, listeners, held: getKeepalive(socket) }));
    handle.uninstall();
    socket.destroy();
    server.close();
  });
});`;

t.test('install() makes no socket: the first connect() finds the handle class, and its socket gets the policy from its handle', async (t) => {
  if (!needs(t, linux, 'the handle path applies on Linux (and the other systems with descriptors)')) return;
  const child = spawn(process.execPath, ['-e', LAZY, path.join(__dirname, '..', 'dist', 'index.js')], { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), scaled(15_000));
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  t.equal(code, 0, 'the child ran', { stderr });
  const report = JSON.parse(stdout) as { atInstall: number; listeners: number; held: Record<string, unknown> };
  t.equal(report.atInstall, 0, 'no connect() at install (the probe socket comes with the first connect)');
  t.equal(report.listeners, 0, "the first client carries no 'connect' or 'close' listener of the policy: its handle applied it");
  t.match(report.held, HELD, "getsockopt at 'connect' reads the policy");
});

t.test('a client socket under the policy carries no listener of the policy, and keeps every guarantee', async (t) => {
  const server = net.createServer((s) => s.on('error', () => {}));
  const port = await listen(t, server);
  const handle = install(POLICY);
  t.teardown(() => handle.uninstall());
  const connected = (socket: net.Socket): Promise<void> => once(socket, 'connect').then(() => undefined);

  await t.test('no listener added: the socket has the listeners its caller added, and no more', async (t) => {
    const socket = net.connect(port, '127.0.0.1');
    t.teardown(() => socket.destroy());
    t.equal(socket.listenerCount('connect'), 0, 'no connect listener');
    t.equal(socket.listenerCount('close'), 0, 'no close listener');
    t.equal(policyApplied(socket), null, 'not applied while connecting');
    await connected(socket);
    t.match(getKeepalive(socket), HELD);
    t.not(policyApplied(socket), null);
  });

  await t.test('a lookup that answers at once (the handle connects inside connect())', async (t) => {
    const lookup = ((_h: string, options: { all?: boolean }, cb: (...a: unknown[]) => void): void => {
      if (options.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
      else cb(null, '127.0.0.1', 4);
    }) as unknown as net.LookupFunction;
    const socket = net.connect({ port, host: 'localhost', lookup });
    t.teardown(() => socket.destroy());
    await connected(socket);
    t.match(getKeepalive(socket), HELD);
  });

  await t.test('autoSelectFamily: the address that answers gets it', async (t) => {
    const lookup = ((_h: string, _o: unknown, cb: (...a: unknown[]) => void): void => {
      setImmediate(cb, null, [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }]);
    }) as unknown as net.LookupFunction;
    const socket = net.connect({ port, host: 'two.test', lookup, autoSelectFamily: true });
    t.teardown(() => socket.destroy());
    socket.on('error', () => {});
    await connected(socket);
    t.match(getKeepalive(socket), HELD);
  });

  await t.test('setKeepAlive(true, ms) before connect: Node sets the handle once connected, and the policy goes on top', async (t) => {
    const socket = new net.Socket();
    socket.setKeepAlive(true, 3000);
    socket.connect(port, '127.0.0.1');
    t.teardown(() => socket.destroy());
    await connected(socket);
    t.match(getKeepalive(socket), HELD);
  });

  await t.test('setKeepAlive(true, ms) while connecting, after the handle connected', async (t) => {
    const socket = net.connect(port, '127.0.0.1');
    t.teardown(() => socket.destroy());
    await new Promise((resolve) => process.nextTick(resolve)); // the handle has connected (an IP: the next tick)
    socket.setKeepAlive(true, 3000);
    await connected(socket);
    t.match(getKeepalive(socket), HELD);
  });

  await t.test('the keepAlive option of net.connect', async (t) => {
    const socket = net.connect({ port, host: '127.0.0.1', keepAlive: true, keepAliveInitialDelay: 3000 });
    t.teardown(() => socket.destroy());
    await connected(socket);
    t.match(getKeepalive(socket), HELD);
  });

  await t.test('setKeepAlive(false) before and while connecting is honoured', async (t) => {
    const before = new net.Socket();
    before.setKeepAlive(false);
    before.connect(port, '127.0.0.1');
    const during = net.connect(port, '127.0.0.1');
    t.teardown(() => {
      before.destroy();
      during.destroy();
    });
    await new Promise((resolve) => process.nextTick(resolve));
    during.setKeepAlive(false);
    await Promise.all([connected(before), connected(during)]);
    t.equal(getKeepalive(before).enabled, false, 'before connect()');
    t.equal(getKeepalive(during).enabled, false, 'after the handle connected, before connect');
    t.equal(policyApplied(during), null);
  });

  await t.test('destroyed while connecting: nothing is left, nothing throws', async (t) => {
    for (let i = 0; i < 50; i++) {
      const socket = net.connect(port, '127.0.0.1');
      if (i % 2 === 0) socket.destroy();
      else process.nextTick(() => socket.destroy());
      await once(socket, 'close');
      t.equal(socket.listenerCount('connect') + socket.listenerCount('close'), 0);
    }
  });
});
