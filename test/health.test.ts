// getHealth: the kernel's view of a connection, checked against `ss -tnoi`
// (inet_diag, not this package's code) on loopback, and in a two-host
// namespace network where the path is cut: unanswered keepalive probes and
// retransmissions must climb as ss's timer says, until ETIMEDOUT.
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

import { binding } from '../lib/binding';
import { getHealth, healthFields, healthSource, type TcpHealth } from '../lib/health';
import { setKeepalive } from '../lib/keepalive';
import { ROOT, track, type Running } from './helpers/cli';
import { listen, tcpPair, tlsPair, unixClient } from './helpers/net';
import { netnsSupport, twoHosts, type TwoHosts } from './helpers/netns';
import { ssInfo } from './helpers/ssinfo';
import { hasCommand, needs } from './helpers/tools';

const linux = process.platform === 'linux';

async function drained(socket: net.Socket): Promise<void> {
  if (socket.writableLength > 0) await once(socket, 'drain');
}

t.test('a loopback connection: values agree with ss -tnoi', async (t) => {
  const { client, server } = await tcpPair(t);
  const payload = Buffer.alloc(10_000, 1);
  const got = new Promise<void>((resolve) => {
    let n = 0;
    server.on('data', (d: Buffer) => {
      n += d.length;
      if (n >= payload.length) resolve();
    });
  });
  client.write(payload);
  await got;
  await drained(client);
  server.write('ok');
  await once(client, 'data');
  await new Promise((r) => setTimeout(r, 300)); // let the "last ..." times grow

  const h = getHealth(client);
  t.equal(h.state, 'established');
  t.equal(h.source, healthSource);
  if (!needs(t, linux && hasCommand('ss'), 'ss (iproute2) on Linux is the oracle here')) return;
  const ss = ssInfo(client.localPort!);
  t.ok(ss, 'ss sees the connection');
  t.equal(h.bytesSent, payload.length, 'bytesSent is what was written');
  t.equal(h.bytesSent, ss!.values.bytes_sent, 'bytesSent as ss reports it');
  t.equal(h.bytesReceived, 2, 'bytesReceived: "ok"');
  t.equal(h.bytesReceived, ss!.values.bytes_received);
  t.equal(h.probes, 0, 'no probe outstanding');
  t.equal(h.retransmits, 0);
  t.equal(h.unacked, 0, 'everything acknowledged');
  t.equal(h.totalRetransmits, 0);
  t.ok(h.rttMs! > 0 && h.rttMs! < 50, `rtt ${h.rttMs} ms is a loopback rtt`);
  t.ok(Math.abs(h.rttMs! - ss!.rtt!) < 5, `rtt ${h.rttMs} close to ss ${ss!.rtt}`);
  t.ok(Math.abs(h.rtoMs! - ss!.values.rto!) <= 5, `rto ${h.rtoMs} ms, ss ${ss!.values.rto}`);
  for (const [mine, theirs] of [['lastDataSentMs', 'lastsnd'], ['lastDataReceivedMs', 'lastrcv'], ['lastAckReceivedMs', 'lastack']] as const) {
    const a = h[mine]!;
    const b = ss!.values[theirs]!;
    t.ok(a >= 250 && Math.abs(a - b) < 500, `${mine} ${a} ms ~ ss ${theirs} ${b} ms (ss runs just after)`);
  }
  t.equal(h.lastReceivedMs, Math.min(h.lastDataReceivedMs!, h.lastAckReceivedMs!), 'lastReceivedMs: the later of data and ack');

  // The server side sees the mirror image.
  const s = getHealth(server);
  t.equal(s.bytesReceived, payload.length);
  t.equal(s.bytesSent, 2);
});

t.test('every field is a number or null, and only the platform\'s fields are reported', async (t) => {
  const { client } = await tcpPair(t);
  const h = getHealth(client);
  for (const [key, value] of Object.entries(h) as Array<[keyof TcpHealth, unknown]>) {
    if (key === 'state' || key === 'source') continue;
    if ((healthFields as readonly string[]).includes(key)) t.type(value, 'number', `${key} is reported`);
    else t.equal(value, null, `${key} is null here`);
  }
  if (linux) t.equal(healthFields.length, 13, 'Linux reports every field');
});

t.test('TLS sockets, both ends', async (t) => {
  const { client, server } = await tlsPair(t);
  t.equal(getHealth(client).state, 'established');
  t.equal(getHealth(server).state, 'established');
});

t.test('a server socket that received FIN reads close-wait', { skip: !linux && 'state numbers checked on Linux' }, async (t) => {
  const { client, server: s } = await tcpPair(t, { allowHalfOpen: true });
  s.resume();
  client.end();
  await once(s, 'end');
  t.equal(getHealth(s).state, 'close-wait');
  // The client moves on once our ACK of its FIN arrives: wait for it, bounded.
  const deadline = Date.now() + 2000;
  while (getHealth(client).state === 'fin-wait-1' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.equal(getHealth(client).state, 'fin-wait-2');
});

t.test('errors like getKeepalive', async (t) => {
  t.throws(() => getHealth({} as net.Socket), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => getHealth(new net.Socket()), { code: 'ERR_KEEPALIVE_NOT_CONNECTED' });

  const server = net.createServer();
  const port = await listen(t, server);
  const pending = net.connect(port, '127.0.0.1');
  t.throws(() => getHealth(pending), { code: 'ERR_KEEPALIVE_NOT_CONNECTED' }, 'still connecting');
  await once(pending, 'connect');
  pending.destroy();
  t.throws(() => getHealth(pending), { code: 'ERR_SOCKET_CLOSED' });

  const unix = await unixClient(t);
  t.throws(() => getHealth(unix), { code: 'ERR_KEEPALIVE_NOT_TCP' });
});

t.test('raw binding: bad arguments throw, the OS refusing is a system error', { skip: !linux && 'Linux descriptors' }, async (t) => {
  const health = (binding as unknown as { health: (...args: unknown[]) => number }).health;
  const out = new Float64Array(16);
  for (const args of [[], ['1', out], [1], [1, new Float64Array(4)], [1, new Int32Array(16)]]) {
    t.throws(() => health(...args), TypeError);
  }
  t.equal(health(-1, out), -9, 'fd -1: EBADF');
  t.equal(health(1 << 30, out), -9, 'an fd that is not open: EBADF');
  t.equal(binding.optionNames[out[14]!], 'TCP_INFO');
  t.equal(binding.syscallNames[out[15]!], 'getsockopt');

  // A Unix domain socket's descriptor: TCP_INFO is refused with EOPNOTSUPP.
  const unix = await unixClient(t);
  const fd = (unix as unknown as { _handle: { fd: number } })._handle.fd;
  t.equal(health(fd, out), -95, 'EOPNOTSUPP for a Unix domain socket');
  t.equal(binding.optionNames[out[14]!], 'TCP_INFO');
});

// A client inside the client namespace that reports getHealth every 100 ms
// as JSON lines, with the given keepalive options; "write" on stdin sends
// 100 bytes.
const childScript = `
const net = require('node:net');
const { setKeepalive, getHealth } = require(process.argv[1]);
const [host, port, options] = [process.argv[2], Number(process.argv[3]), JSON.parse(process.argv[4])];
const c = net.connect(port, host, () => {
  setKeepalive(c, options);
  console.log(JSON.stringify({ local: c.localPort }));
  setInterval(() => { try { console.log(JSON.stringify(getHealth(c))); } catch (e) { console.log(JSON.stringify({ error: e.code })); } }, 100);
  process.stdin.on('data', (d) => { if (String(d).includes('write')) c.write('x'.repeat(100)); });
});
c.on('error', (e) => { console.log(JSON.stringify({ socketError: e.code })); process.exit(0); });
`;

interface Line extends Partial<TcpHealth> {
  local?: number;
  socketError?: string;
}

async function serverIn(t: Test, hosts: TwoHosts): Promise<void> {
  const server = track(
    t,
    hosts.spawn(hosts.server, process.execPath, ['-e', `require('net').createServer((c) => c.resume()).listen(7000, '${hosts.server.address}', () => console.log('listening'))`]),
  );
  await server.waitFor(/listening/, 10_000);
}

function clientIn(t: Test, hosts: TwoHosts, options: object): Running {
  return track(
    t,
    hosts.spawn(hosts.client, process.execPath, ['-e', childScript, path.join(ROOT, 'dist', 'index.js'), hosts.server.address, '7000', JSON.stringify(options)]),
  );
}

function lines(run: Running): Line[] {
  return run
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

t.test('path cut: probes climb as ss says, then ETIMEDOUT', { timeout: 30_000 }, async (t) => {
  const support = netnsSupport();
  if (!needs(t, support.ok, support.reason)) return;
  const hosts = twoHosts(t);
  await serverIn(t, hosts);
  const client = clientIn(t, hosts, { idle: 1, interval: 1, count: 4 });
  const port = Number((await client.waitFor(/"local":(\d+)/, 10_000))[1]);
  await client.waitFor(/"state":"established"/, 5000);
  hosts.cut();
  await client.waitFor(/"probes":2/, 6000);
  const ss = ssInfo(port, hosts.client.ns);
  t.equal(ss?.timer?.name, 'keepalive', 'ss: the keepalive timer runs');
  t.ok(ss!.timer!.backoff >= 2 && ss!.timer!.backoff <= 3, `ss counts ${ss!.timer!.backoff} unanswered probes (we saw 2)`);
  await client.waitFor(/socketError/, 8000);
  const seen = lines(client);
  const probes = seen.filter((l) => typeof l.probes === 'number').map((l) => l.probes!);
  t.same([...new Set(probes)], [0, 1, 2, 3, 4], 'probes 0, 1, 2, 3, 4 in order');
  t.equal(seen.at(-1)!.socketError, 'ETIMEDOUT');
  const silent = seen.filter((l) => typeof l.lastReceivedMs === 'number').at(-1)!.lastReceivedMs!;
  // The budget is idle + interval × count = 5 s of silence; kernel timers
  // fire a little late (and retry after 500 ms when a probe could not leave
  // the host), so up to one interval more is accepted.
  t.ok(silent >= 4000 && silent <= 6000, `last sample before ETIMEDOUT: silent ${silent} ms (budget 5 s)`);
});

t.test('path cut with data in flight: retransmissions climb, userTimeout ends it', { timeout: 30_000 }, async (t) => {
  const support = netnsSupport();
  if (!needs(t, support.ok, support.reason)) return;
  const hosts = twoHosts(t);
  await serverIn(t, hosts);
  const client = clientIn(t, hosts, { idle: 60, interval: 10, count: 3, userTimeout: 3 });
  const port = Number((await client.waitFor(/"local":(\d+)/, 10_000))[1]);
  await client.waitFor(/"state":"established"/, 5000);
  hosts.cut();
  client.child.stdin!.write('write\n');
  await client.waitFor(/"retransmits":2/, 5000);
  const ss = ssInfo(port, hosts.client.ns);
  t.equal(ss?.timer?.name, 'on', 'ss: the retransmission timer runs');
  t.ok(ss!.timer!.backoff >= 2, `ss counts ${ss!.timer!.backoff} retransmissions`);
  t.equal(ss!.values.unacked, 1, 'ss: one segment unacknowledged');
  await client.waitFor(/socketError/, 8000);
  const seen = lines(client);
  const inFlight = seen.filter((l) => (l.retransmits ?? 0) > 0);
  t.ok(inFlight.every((l) => l.unacked === 1 && l.probes === 0), 'unacked 1 and no keepalive probes while data is in flight');
  const counts = inFlight.map((l) => l.retransmits!);
  t.ok(counts.every((n, i) => i === 0 || n >= counts[i - 1]!) && counts.at(-1)! >= 3, `retransmissions climb: ${[...new Set(counts)].join(', ')}`);
  t.equal(seen.at(-1)!.socketError, 'ETIMEDOUT');
});

t.test('setKeepalive and getHealth agree on an idle loopback connection', async (t) => {
  const { client } = await tcpPair(t);
  setKeepalive(client, { idle: 1, interval: 1, count: 3 });
  await new Promise((r) => setTimeout(r, 1500));
  const h = getHealth(client);
  t.equal(h.probes, 0, 'the loopback peer answers every probe');
  t.ok(h.lastAckReceivedMs! < 1100, `a probe was answered: last ack ${h.lastAckReceivedMs} ms ago`);
  t.ok(h.lastDataReceivedMs! >= 1400, 'no data was received');
});

t.test('macOS and FreeBSD health sources pass a syntax check', async (t) => {
  // No macOS or FreeBSD SDK on Debian: their headers' TCP_CONNECTION_INFO /
  // TCP_INFO parts are shimmed from the documented layouts (test/fixtures/
  // bsd-headers), so a misspelled member or a type error still fails here.
  if (!needs(t, hasCommand('g++'), 'g++ is not installed')) return;
  for (const os of ['darwin', 'freebsd']) {
    const result = spawnSync(
      'g++',
      ['-fsyntax-only', '-std=c++17', '-Wall', '-Wextra', '-Werror', '-I', path.join(__dirname, 'fixtures', 'bsd-headers', os), '-I', path.join(ROOT, 'src'), path.join(ROOT, 'src', `health_${os}.cc`)],
      { encoding: 'utf8' },
    );
    t.equal(result.status, 0, `health_${os}.cc ${result.stderr}`);
  }
});
