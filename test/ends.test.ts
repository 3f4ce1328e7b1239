// Connection-end records (lib/ends.ts) on loopback, in this process: every
// way of receiving them (onConnectionEnd, the diagnostics channel, the
// counters, OpenTelemetry through the real metrics SDK, the preload's
// stderr log) delivers the same records; clean ends and a reset over TCP
// and TLS; bad arguments; a throwing listener. The reasons that need a
// silent or forgetful peer are proved on the two-host network
// (test/faults-ends.test.ts).
import t, { type Test } from 'tap';
import * as diagnosticsChannel from 'node:diagnostics_channel';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { promisify } from 'node:util';

import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

import {
  CONNECTION_END_CHANNEL,
  connectionCounters,
  enableMetrics,
  END_REASONS,
  getKeepalive,
  install,
  METRIC_NAMES,
  onConnectionEnd,
  setKeepalive,
  type ConnectionEnd,
} from '../lib/index';
import { addressesReadableAfterEnd, listen, tcpInfoReadable, tcpPair, tlsPair } from './helpers/net';
import { tlsCredentials } from './helpers/tls';

const SETTINGS = { idle: 30, interval: 5, count: 3 };

/** Collects records from every receiver until `stop`. */
function receivers(t: Test) {
  const viaListener: ConnectionEnd[] = [];
  const viaChannel: ConnectionEnd[] = [];
  const off = onConnectionEnd((r) => viaListener.push(r));
  const onMessage = (r: unknown): void => void viaChannel.push(r as ConnectionEnd);
  diagnosticsChannel.subscribe(CONNECTION_END_CHANNEL, onMessage);
  const stop = (): void => {
    off();
    diagnosticsChannel.unsubscribe(CONNECTION_END_CHANNEL, onMessage);
  };
  t.teardown(stop);
  return { viaListener, viaChannel, stop };
}

async function closed(...sockets: net.Socket[]): Promise<void> {
  // Not events.once: it rejects on 'error', and these sockets fail on purpose.
  await Promise.all(sockets.map((s) => (s.closed ? undefined : new Promise((resolve) => s.once('close', resolve)))));
}

t.test('clean ends: local on the end that closed, peer-closed on the other; the same record on every receiver', async (t) => {
  const got = receivers(t);
  const before = connectionCounters();
  const { client, server } = await tcpPair(t);
  setKeepalive(client, SETTINGS);
  setKeepalive(server, SETTINGS);
  const afterConfigure = connectionCounters();
  t.equal(afterConfigure.covered, before.covered + 2, 'two connections covered');
  const [serverPort, clientPort] = [server.localPort, client.localPort];
  client.end();
  server.resume();
  client.resume();
  await closed(client, server);
  got.stop();
  t.equal(got.viaListener.length, 2, 'two records through onConnectionEnd');
  t.same(got.viaChannel, got.viaListener, 'the diagnostics channel published the same records');
  const bySide = Object.fromEntries(got.viaListener.map((r) => [r.side, r]));
  t.match(bySide.client, { reason: 'local', code: null, source: 'socket', settings: { enabled: true, ...SETTINGS }, detectAfter: 45 });
  t.match(bySide.server, { reason: 'peer-closed', code: null, source: 'socket' });
  t.same(bySide.client!.remote, { address: '127.0.0.1', port: serverPort }, 'client: remote address');
  t.same(bySide.client!.local, { address: '127.0.0.1', port: clientPort }, 'client: local address');
  t.same(bySide.server!.remote, { address: '127.0.0.1', port: clientPort }, 'server: remote address');
  const after = connectionCounters();
  t.equal(after.ended.local - before.ended.local, 1, 'counters: one local end');
  t.equal(after.ended['peer-closed'] - before.ended['peer-closed'], 1, 'counters: one peer-closed end');
  t.same(Object.keys(after.ended), [...END_REASONS], 'counters name every reason');
});

t.test("a policy's sockets: a clean end carries the addresses Node had read, and no more on Linux", async (t) => {
  const got = receivers(t);
  const policy = install(SETTINGS, { clients: false });
  t.teardown(() => policy.uninstall());
  const read = await tcpPair(t);
  await new Promise((resolve) => setImmediate(resolve));
  t.match(getKeepalive(read.server), SETTINGS, 'the policy reached the accepted socket');
  // Read by the application, so Node has them cached.
  const seen = { local: { address: read.server.localAddress, port: read.server.localPort }, remote: { address: read.server.remoteAddress, port: read.server.remotePort } };
  const unread = await tcpPair(t);
  const unreadPeer = { address: '127.0.0.1', port: unread.client.localPort };
  for (const { client, server } of [read, unread]) {
    client.end();
    server.resume();
    client.resume();
    await closed(client, server);
  }
  const servers = got.viaListener.filter((r) => r.side === 'server');
  t.equal(servers.length, 2);
  t.match(servers[0], { reason: 'peer-closed', ...seen }, 'read by the application: in the record');
  // Where the kernel reports the peer after a failure (Linux), the policy reads nothing at configure; elsewhere
  // (other systems, qemu-user) it reads the peer then.
  const atEnd = await addressesReadableAfterEnd(t);
  t.same(servers[1]!.remote, atEnd ? null : unreadPeer, atEnd ? 'not read: no address' : 'read at configure');
});

t.test('a reset (the peer destroys with RST): reset on the other end, read from TCP_INFO', async (t) => {
  const got = receivers(t);
  const { client, server } = await tcpPair(t);
  setKeepalive(client, SETTINGS);
  client.on('error', () => {});
  server.resetAndDestroy();
  await closed(client);
  const record = got.viaListener.find((r) => r.side === 'client');
  t.match(record, { reason: 'reset', code: 'ECONNRESET', source: process.platform === 'linux' ? 'tcp-info' : String, note: null });
  t.ok(record!.silence !== null && record!.silence < 5, `idle ${record!.silence} s before the reset (no middlebox note)`);
  t.equal(got.viaListener.filter((r) => r.side === 'server').length, 0, 'the server socket was not configured: no record');
  // After the reset getpeername fails (ENOTCONN); on Linux the record's addresses come from the kernel all the same.

});

t.test('TLS: the record of the TLS socket', async (t) => {
  const got = receivers(t);
  const { client, server } = await tlsPair(t);
  setKeepalive(client, SETTINGS);
  client.end();
  server.resume();
  client.resume();
  await closed(client, server);
  t.match(got.viaListener, [{ reason: 'local', side: 'client' }]);
});

t.test('a TLS server under a policy: the end seen on its TLS socket, recorded with the accepted socket\'s settings', async (t) => {
  const got = receivers(t);
  const creds = await tlsCredentials();
  const raws: net.Socket[] = [];
  const server = tls.createServer({ key: creds.key, cert: creds.cert }, (s) => {
    s.on('error', () => {});
    s.resume();
    // The application configures the TLS socket too (or a policy applies itself again on it): still one connection.
    setKeepalive(s, SETTINGS);
  });
  // What a policy does for an accepted socket, before TLS wraps it.
  server.on('connection', (raw: net.Socket) => {
    setKeepalive(raw, SETTINGS);
    raws.push(raw);
  });
  const port = await listen(t, server);
  const connect = async (): Promise<{ client: tls.TLSSocket; raw: net.Socket }> => {
    const raw = net.connect(port, '127.0.0.1');
    const client = tls.connect({ socket: raw, ca: creds.cert, servername: 'localhost' });
    client.on('error', () => {});
    t.teardown(() => void client.destroy());
    await once(client, 'secureConnect');
    return { client, raw };
  };
  const clean = await connect();
  const cleanPort = clean.raw.localPort;
  clean.client.end();
  clean.client.resume();
  await closed(clean.client, raws[0]!);
  const reset = await connect();
  const resetPort = reset.raw.localPort;
  reset.client.write('x');
  await new Promise((resolve) => setTimeout(resolve, 50));
  reset.raw.resetAndDestroy();
  await closed(reset.client, raws[1]!);
  const records = got.viaListener.filter((r) => r.side === 'server');
  t.equal(records.length, 2, 'one record per connection (the TLS socket and the one under it are one connection)');
  t.match(records[0], { reason: 'peer-closed', code: null, settings: SETTINGS }, 'the client closed: peer-closed, not local');
  t.match(records[1], { reason: 'reset', code: 'ECONNRESET', settings: SETTINGS }, 'the client reset: reset, with its error');
  if (process.platform === 'linux' && (await tcpInfoReadable(t))) t.equal(records[1]!.source, 'tcp-info', 'the kernel was asked (TCP_INFO)');
  if (await addressesReadableAfterEnd(t)) t.equal(records[1]!.remote?.port, resetPort, 'the peer, read from the kernel after the reset');
  t.not(cleanPort, resetPort);
});

t.test('a socket handed to another process ends there: no record in this one', async (t) => {
  const got = receivers(t);
  const { client, server } = await tcpPair(t);
  setKeepalive(client, SETTINGS);
  const child = spawn(process.execPath, ['-e', "process.on('message', (m, s) => { s.end('bye'); s.resume(); s.on('close', () => process.disconnect()); })"], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  t.teardown(() => void child.kill());
  // A client: handing over a server's accepted socket ties the server's close to the child.
  await new Promise<void>((resolve, reject) => child.send('socket', client, (error) => (error ? reject(error) : resolve())));
  // This process's copy, closed here, as an application would after handing it over.
  client.destroy();
  const chunks: Buffer[] = [];
  server.on('data', (chunk: Buffer) => void chunks.push(chunk));
  await closed(client, server);
  await once(child, 'exit');
  t.equal(Buffer.concat(chunks).toString(), 'bye', 'the child had the connection and closed it');
  t.same(got.viaListener, [], 'no record here');
});

t.test('a net.Socket that connects again: each connection judged on its own', async (t) => {
  const got = receivers(t);
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => {
    accepted.push(s);
    s.resume();
  });
  const port = await listen(t, server);
  const socket = new net.Socket();
  t.teardown(() => void socket.destroy());
  socket.resume();
  socket.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  setKeepalive(socket, SETTINGS);
  socket.end();
  await closed(socket);
  socket.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  setKeepalive(socket, SETTINGS);
  await new Promise((resolve) => setTimeout(resolve, 20));
  accepted[1]!.end();
  await closed(socket);
  t.match(
    got.viaListener.map((r) => r.reason),
    ['local', 'peer-closed'],
    'first this end closed, then the server did',
  );
});

t.test('another error: unknown, with its code and message', async (t) => {
  const got = receivers(t);
  const { client } = await tcpPair(t);
  setKeepalive(client, SETTINGS);
  client.on('error', () => {});
  client.destroy(Object.assign(new Error('protocol error'), { code: 'EPROTO' }));
  await closed(client);
  t.match(got.viaListener, [{ reason: 'unknown', code: 'EPROTO', message: 'protocol error' }]);
});

t.test('a connect that fails is no ended connection', async (t) => {
  const got = receivers(t);
  const server = net.createServer();
  const port = await listen(t, server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const before = connectionCounters();
  const socket = net.connect(port, '127.0.0.1');
  setKeepalive(socket, SETTINGS);
  socket.on('error', () => {});
  await closed(socket);
  t.same(got.viaListener, [], 'no record');
  t.same(connectionCounters(), before, 'counters unchanged');
});

t.test('OpenTelemetry: the real metrics SDK counts the same ends', async (t) => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  t.teardown(() => meterProvider.shutdown());
  const stop = enableMetrics({ meterProvider });
  const got = receivers(t);
  for (let i = 0; i < 3; i++) {
    const { client, server } = await tcpPair(t);
    setKeepalive(client, SETTINGS);
    client.on('error', () => {});
    if (i === 0) server.resetAndDestroy();
    else client.destroy();
    await closed(client);
  }
  stop();
  await reader.forceFlush();
  const metrics = exporter.getMetrics().flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics));
  const ended = metrics.find((m) => m.descriptor.name === METRIC_NAMES.ended);
  t.ok(ended, `${METRIC_NAMES.ended} exported`);
  const points = Object.fromEntries(ended!.dataPoints.map((p) => [`${p.attributes['tcp_keepalive.side']}:${p.attributes['tcp_keepalive.reason']}`, p.value]));
  const fromRecords: Record<string, number> = {};
  for (const r of got.viaListener) fromRecords[`${r.side}:${r.reason}`] = (fromRecords[`${r.side}:${r.reason}`] ?? 0) + 1;
  t.same(points, fromRecords, 'one count per record, by side and reason');
  t.same(fromRecords, { 'client:reset': 1, 'client:local': 2 });
  t.equal(ended!.descriptor.unit, '{connection}');
  // The detection histogram takes ends by keepalive and the retransmission bounds: test/faults-ends.test.ts.
  t.notOk(metrics.some((m) => m.descriptor.name === METRIC_NAMES.detection), 'no detection time for resets and local ends');
});

t.test('OpenTelemetry: enableMetrics twice for one provider counts each end once; the last stop ends it', async (t) => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  t.teardown(() => meterProvider.shutdown());
  const endOne = async (): Promise<void> => {
    const { client } = await tcpPair(t);
    setKeepalive(client, SETTINGS);
    client.destroy();
    await closed(client);
  };
  const counted = async (): Promise<number> => {
    await reader.forceFlush();
    const metrics = exporter.getMetrics().flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics));
    const ended = metrics.filter((m) => m.descriptor.name === METRIC_NAMES.ended).pop();
    return (ended?.dataPoints ?? []).reduce((sum, p) => sum + (p.value as number), 0);
  };
  const first = enableMetrics({ meterProvider });
  const second = enableMetrics({ meterProvider });
  await endOne();
  t.equal(await counted(), 1, 'one end, counted once');
  first();
  first();
  await endOne();
  t.equal(await counted(), 2, 'still reported after one of the two stops (called twice: it counts once)');
  second();
  await endOne();
  t.equal(await counted(), 2, 'not reported after the last stop');
});

t.test('bad arguments: coded errors', async (t) => {
  t.throws(() => onConnectionEnd('x' as never), { code: 'ERR_INVALID_ARG_TYPE', message: /The "listener" argument must be of type function/ });
  t.throws(() => enableMetrics(5 as never), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => enableMetrics({ meterProvider: 5 } as never), { code: 'ERR_INVALID_ARG_TYPE', message: /options\.meterProvider/ });
  t.throws(() => enableMetrics({ meter: {} } as never), { code: 'ERR_INVALID_ARG_VALUE' });
});

t.test('a listener that throws: one warning, the close completes, other listeners still get the record', async (t) => {
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const offBad = onConnectionEnd(() => {
    throw new Error('listener bug');
  });
  t.teardown(offBad);
  const got = receivers(t);
  for (let i = 0; i < 2; i++) {
    const { client } = await tcpPair(t);
    setKeepalive(client, SETTINGS);
    client.destroy();
    await closed(client);
  }
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(got.viaListener.length, 2, 'the other listener got both records');
  const ours = warnings.filter((w) => (w as Error & { code?: string }).code === 'ERR_KEEPALIVE_LISTENER');
  t.equal(ours.length, 1, 'one TcpKeepaliveWarning');
  t.match(ours[0], { name: 'TcpKeepaliveWarning', message: /listener bug/ });
});

const exec = promisify(execFile);
const ROOT = path.join(__dirname, '..');

t.test('without @opentelemetry/api installed the package loads and works; enableMetrics says what is missing', async (t) => {
  // A copy of the built package with no node_modules of its own but node-gyp-build: @opentelemetry/api is really absent.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tka-no-otel-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  // The addons this suite may load (build/, prebuilds/), at the same places in the copy.
  for (const addon of [path.join('build', 'Release', 'tcp_keepalive.node'), path.join('prebuilds', `${process.platform}-${process.arch}`, 'tcp-keepalive.node')]) {
    if (fs.existsSync(path.join(ROOT, addon))) fs.cpSync(path.join(ROOT, addon), path.join(dir, addon));
  }
  fs.cpSync(path.join(ROOT, 'node_modules', 'node-gyp-build'), path.join(dir, 'node_modules', 'node-gyp-build'), { recursive: true });
  const code = `
    const net = require('node:net');
    const k = require('./dist/index.js');
    let resolved = 'absent';
    try { require.resolve('@opentelemetry/api'); resolved = 'present'; } catch {}
    const records = [];
    k.onConnectionEnd((r) => records.push(r.reason));
    let metrics;
    try { k.enableMetrics(); } catch (e) { metrics = e.code + ': ' + e.message; }
    const server = net.createServer((s) => s.resume()).listen(0, '127.0.0.1', () => {
      const c = net.connect(server.address().port, '127.0.0.1', () => {
        k.setKeepalive(c, { idle: 30 });
        c.destroy();
        c.on('close', () => { server.close(); console.log(JSON.stringify({ resolved, records, metrics })); });
      });
    });`;
  const { stdout } = await exec(process.execPath, ['-e', code], { cwd: dir, env: { ...process.env, NODE_OPTIONS: '' }, timeout: 30_000 });
  const out = JSON.parse(stdout) as { resolved: string; records: string[]; metrics: string };
  t.equal(out.resolved, 'absent', '@opentelemetry/api cannot be resolved from the copy');
  t.same(out.records, ['local'], 'records still work');
  t.match(out.metrics, /^ERR_KEEPALIVE_NO_OPENTELEMETRY: enableMetrics needs @opentelemetry\/api/);
});

t.test('the preload: TCP_KEEPALIVE_LOG=abnormal writes one line per abnormal end, none for clean ones', async (t) => {
  const code = `
    const net = require('node:net');
    let accepted = 0;
    // Answered once connected (a reset during the handshake is a failed connect, not an end).
    const server = net.createServer((s) => {
      s.on('error', () => {});
      const first = accepted++ === 0;
      s.once('data', () => (first ? s.end() : s.resetAndDestroy()));
    });
    server.listen(0, '127.0.0.1', async () => {
      for (let i = 0; i < 2; i++) {
        await new Promise((resolve) => {
          const c = net.connect(server.address().port, '127.0.0.1');
          c.on('error', () => {});
          c.on('connect', () => c.write('hi'));
          c.resume();
          c.on('close', resolve);
        });
      }
      server.close();
    });`;
  const { stderr } = await exec(process.execPath, ['-e', code], {
    env: { ...process.env, NODE_OPTIONS: `--require ${path.join(ROOT, 'dist', 'register.js')}`, TCP_KEEPALIVE: 'idle=40,interval=5,count=4', TCP_KEEPALIVE_SIDE: 'clients', TCP_KEEPALIVE_LOG: 'abnormal' },
    timeout: 30_000,
  });
  const lines = stderr.split('\n').filter((l) => l.startsWith('tcp-keepalive: '));
  t.equal(lines.length, 1, `one line: the reset, not the clean close (stderr: ${stderr})`);
  // Without TCP_INFO (qemu-user) the idle time is unknown, and the line says the error code alone decided.
  const after = (await tcpInfoReadable(t)) ? ' after [\\d.]+ s idle by the peer or a middlebox' : ' by the peer or a middlebox \\(from the error code alone: the OS reported nothing more\\)';
  t.match(lines[0], new RegExp(`^tcp-keepalive: connection to 127\\.0\\.0\\.1:\\d+ reset \\(ECONNRESET\\)${after} \\(after [\\d.]+ s\\)$`));
});

t.test('the preload: an invalid TCP_KEEPALIVE_LOG stops the process with the variable named', async (t) => {
  const result = await exec(process.execPath, ['-e', ''], {
    env: { ...process.env, NODE_OPTIONS: `--require ${path.join(ROOT, 'dist', 'register.js')}`, TCP_KEEPALIVE_LOG: 'loud' },
  }).catch((e: { code: number; stderr: string }) => e);
  t.match(result, { code: 1, stderr: /TCP_KEEPALIVE_LOG="loud" is invalid: "loud" is not a log level\. Allowed: off \(the default\), abnormal or all\./ });
});
