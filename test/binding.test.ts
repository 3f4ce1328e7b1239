// The native binding: loads in worker threads (and twice in one process),
// and misuse of its raw functions throws instead of crashing.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';

import { binding, EXPECTED_LAYOUT, layoutDrift } from '../lib/binding';
import { getKeepalive, setKeepalive } from '../lib/index';
import { kernelOptions, setKernelUserTimeoutMs } from './fixtures/lifecycle/kernel';
import { tcpPair, unixClient } from './helpers/net';

const linuxRoot = process.platform === 'linux' && process.getuid?.() === 0 ? false : 'needs Linux and root (pidfd_getfd)';
const fdOf = (socket: net.Socket): number => (socket as unknown as { _handle: { fd: number } })._handle.fd;
// A dgram socket keeps its handle under Node's internal state symbol (its
// `_handle` getter, DEP0112, is gone in Node 26).
function udpFd(socket: dgram.Socket): number {
  const record = socket as unknown as Record<symbol, { handle?: { fd?: number } } | undefined>;
  for (const key of Object.getOwnPropertySymbols(socket)) {
    const fd = record[key]?.handle?.fd;
    if (typeof fd === 'number') return fd;
  }
  throw new Error('no descriptor found on the dgram socket');
}

const workerScript = `
const net = require('node:net');
const { once } = require('node:events');
const { parentPort, workerData } = require('node:worker_threads');
const { setKeepalive, getKeepalive } = require(workerData.entry);
(async () => {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const client = net.connect(server.address().port, '127.0.0.1');
  setKeepalive(client, { idle: workerData.idle + 1 });
  await once(client, 'connect');
  const [s] = await accepted;
  const state = setKeepalive(s, { idle: workerData.idle, interval: 2, count: 2 });
  parentPort.postMessage({ server: state, client: getKeepalive(client) });
  s.destroy(); client.destroy(); server.close();
})();
`;

t.test('works in worker threads, two at once', async (t) => {
  // Workers load the compiled package (dist/), as users would.
  const entry = path.join(__dirname, '..', 'dist', 'index.js');
  const results = await Promise.all(
    [11, 22].map(async (idle) => {
      const worker = new Worker(workerScript, { eval: true, workerData: { entry, idle } });
      // Both listeners up front: a worker that ends right after posting may
      // emit 'exit' in the same tick as its last 'message'.
      const exited = once(worker, 'exit');
      const [message] = await once(worker, 'message');
      await exited;
      return message as { server: { idle: number }; client: { idle: number } };
    }),
  );
  t.match(results, [
    { server: { idle: 11, interval: 2, count: 2, source: 'kernel' }, client: { idle: 12 } },
    { server: { idle: 22 }, client: { idle: 23 } },
  ]);
});

t.test('raw binding: bad arguments throw TypeError, never abort', async (t) => {
  const out = new Int32Array(8);
  const request = new Int32Array(5).fill(-1);
  const set = binding.set as unknown as (...args: unknown[]) => number;
  const get = binding.get as unknown as (...args: unknown[]) => number;
  for (const args of [[], ['x', request, out], [1, 'r', out], [1, request], [1, request, new Int32Array(2)], [1, new Float64Array(5), out], [1, new Int32Array(2), out]]) {
    t.throws(() => set(...args), TypeError, `set(${args.map((a) => typeof a).join(', ')})`);
  }
  for (const args of [[], [1], ['1', out], [1, new Uint8Array(8)]]) {
    t.throws(() => get(...args), TypeError);
  }
  t.equal(get(-1, out), -9, 'fd -1 is EBADF (on POSIX)', { skip: process.platform === 'win32' ? 'lookup by address' : false });
  t.equal(get(1 << 30, out), -9, 'an fd that is not open is EBADF');
});

t.test('raw binding: every argument error is coded', async (t) => {
  const out = new Int32Array(8);
  const request = new Int32Array(5).fill(-1);
  const bound = binding.bind(request, out);
  const call = (fn: unknown, ...args: unknown[]): unknown => (fn as (...a: unknown[]) => unknown)(...args);
  const cases: [string, () => unknown, string][] = [
    ['set("3")', () => call(binding.set, '3', request, out), 'ERR_INVALID_ARG_TYPE'],
    ['get("3")', () => call(binding.get, '3', out), 'ERR_INVALID_ARG_TYPE'],
    ['health("3")', () => call((binding as unknown as { health: unknown }).health, '3', new Float64Array(16)), 'ERR_INVALID_ARG_TYPE'],
    ['bind()', () => call(binding.bind), 'ERR_INVALID_ARG_TYPE'],
    ['setFd("3")', () => call(bound.setFd, '3'), 'ERR_INVALID_ARG_TYPE'],
    ['getFd()', () => call(bound.getFd), 'ERR_INVALID_ARG_TYPE'],
    ['applyFd({})', () => call(bound.applyFd, {}), 'ERR_INVALID_ARG_TYPE'],
    ['getFd(NaN)', () => call(bound.getFd, NaN), 'ERR_OUT_OF_RANGE'],
    ['getFd(3.5)', () => call(bound.getFd, 3.5), 'ERR_OUT_OF_RANGE'],
    ['getFd(-2)', () => call(bound.getFd, -2), 'ERR_OUT_OF_RANGE'],
    ['getFd(2 ** 31)', () => call(bound.getFd, 2 ** 31), 'ERR_OUT_OF_RANGE'],
  ];
  for (const [name, fn, code] of cases) t.throws(fn, { code }, name);
});

// Deno's TCP handle has no fd but fdForIpc(), a new duplicate per call,
// which the native call takes and closes itself (SocketArg in
// src/binding.cc). Here the "duplicate" is a descriptor of a plain file:
// the call fails on it (not a socket) and must have closed it all the same.
t.test('raw binding: a handle\'s duplicate is closed by the call that took it, even when the call fails', { skip: process.platform === 'win32' ? 'no duplicates on Windows' : false }, async (t) => {
  const out = new Int32Array(8);
  const request = new Int32Array(5).fill(-1);
  const bound = binding.bind(request, out);
  const calls: [string, (handle: unknown) => unknown][] = [
    ['set', (h) => (binding.set as unknown as (...a: unknown[]) => number)(h, request, out)],
    ['get', (h) => (binding.get as unknown as (...a: unknown[]) => number)(h, out)],
    ['health', (h) => (binding as unknown as { health: (...a: unknown[]) => number }).health(h, new Float64Array(16))],
    ['setFd', (h) => (bound.setFd as (h: unknown) => number)(h)],
    ['getFd', (h) => (bound.getFd as (h: unknown) => number)(h)],
    ['applyFd', (h) => (bound.applyFd as (h: unknown) => number)(h)],
  ];
  for (const [name, call] of calls) {
    let handed = -1;
    const handle = { fdForIpc: () => (handed = fs.openSync(__filename, 'r')) };
    const rc = call(handle);
    t.ok(typeof rc === 'number' && rc < 0, `${name}: fails on a descriptor that is not a socket (${String(rc)})`);
    t.throws(() => fs.fstatSync(handed), { code: 'EBADF' }, `${name}: the duplicate it was handed is closed`);
  }
  const get = binding.get as unknown as (...a: unknown[]) => number;
  t.throws(() => get({ fdForIpc: () => { throw new Error('closed handle'); } }, out), { message: 'closed handle' }, "the handle's own error comes through");
  t.throws(() => get({}, out), { code: 'ERR_INVALID_ARG_TYPE' }, 'an object without fdForIpc: ERR_INVALID_ARG_TYPE');
  t.throws(() => get({ fdForIpc: () => -1 }, out), { code: 'ERR_OUT_OF_RANGE' }, 'a duplicate of -1: ERR_OUT_OF_RANGE (nothing to close)');
  t.throws(() => get({ fdForIpc: () => 'x' }, out), { code: 'ERR_INVALID_ARG_TYPE' }, 'a duplicate that is no number: ERR_INVALID_ARG_TYPE');
});

t.test('the layout the addon exports is the one lib/ uses', async (t) => {
  t.same(binding.layout, EXPECTED_LAYOUT);
  const drifted: [string, Partial<typeof EXPECTED_LAYOUT> | undefined, string[]][] = [
    ['same', { ...EXPECTED_LAYOUT }, []],
    ['out grew', { ...EXPECTED_LAYOUT, outLength: 9 }, ['outLength']],
    ['fields moved', { ...EXPECTED_LAYOUT, outOption: 7, outSyscall: 8 }, ['outOption', 'outSyscall']],
    ['health', { ...EXPECTED_LAYOUT, healthOutLength: 17 }, ['healthOutLength']],
    ['no layout (an older addon)', undefined, Object.keys(EXPECTED_LAYOUT)],
  ];
  for (const [name, layout, names] of drifted) t.same(layoutDrift(layout), names, name);
});

t.test('an addon whose layout drifted is refused with a code', async (t) => {
  const dir = t.testdir({ 'addon.js': `module.exports = ${JSON.stringify({ layout: { ...EXPECTED_LAYOUT, outLength: 9 } })};` });
  const script = `try { require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'binding.js'))}); } catch (e) { console.log(e.code, e.message); }`;
  const run = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, TCP_KEEPALIVE_ADDON: path.join(dir, 'addon.js') },
  });
  t.match(run.stdout, /^ERR_KEEPALIVE_ADDON_MISMATCH .*layout differs in outLength/);
});

t.test('userTimeout read back without overflow, up to what the kernel holds', { skip: linuxRoot }, async (t) => {
  const { client } = await tcpPair(t);
  // The documented maximum: 2147483 s = 2147483000 ms.
  t.match(setKeepalive(client, { userTimeout: 2147483 }), { userTimeout: 2147483 });
  t.equal(kernelOptions(fdOf(client)).userTimeoutMs, 2147483000, 'kernel: 2147483000 ms');
  t.equal(getKeepalive(client).userTimeout, 2147483);
  // INT32_MAX ms set by another program: rounded up, as 1500 ms reads 2 s.
  t.equal(setKernelUserTimeoutMs(fdOf(client), 2147483647).userTimeoutMs, 2147483647);
  t.equal(getKeepalive(client).userTimeout, 2147484, '2147483.647 s rounds up to 2147484');
  t.equal(setKernelUserTimeoutMs(fdOf(client), 1500).userTimeoutMs, 1500);
  t.equal(getKeepalive(client).userTimeout, 2, '1500 ms rounds up to 2 s');
});

// Raw binding calls: the public API refuses non-TCP handles before this.
const ENABLE_ONLY = Int32Array.of(1, -1, -1, -1, -1);

t.test('a non-TCP descriptor is refused before anything changes', { skip: linuxRoot }, async (t) => {
  const unix = await unixClient(t);
  const udp = dgram.createSocket('udp4');
  t.teardown(() => udp.close());
  udp.bind(0, '127.0.0.1');
  await once(udp, 'listening');
  for (const [name, fd] of [['unix', fdOf(unix)], ['udp', udpFd(udp)]] as const) {
    t.equal(kernelOptions(fd).keepalive, 0, `${name}: SO_KEEPALIVE off before`);
    const out = new Int32Array(8);
    t.equal(binding.set(fd, ENABLE_ONLY, out), -95, `${name}: EOPNOTSUPP`);
    t.equal(binding.optionNames[out[6]!], 'socket type', `${name}: reported as the socket type`);
    t.equal(kernelOptions(fd).keepalive, 0, `${name}: SO_KEEPALIVE still off after`);
  }
  const [readEnd, writeEnd] = pipeFds();
  const file = fs.openSync(__filename, 'r');
  t.teardown(() => {
    for (const fd of [readEnd, writeEnd, file]) fs.closeSync(fd);
  });
  for (const [name, fd] of [['pipe', readEnd], ['file', file]] as const) {
    t.equal(binding.set(fd, ENABLE_ONLY, new Int32Array(8)), -88, `${name}: ENOTSOCK`);
  }
});

// A pipe's two descriptors, from a child's stdio would be another process's:
// /proc/self/fd of a FIFO made here is this process's own.
function pipeFds(): [number, number] {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'tcp-keepalive-fifo-'));
  const fifo = path.join(dir, 'p');
  spawnSync('mkfifo', [fifo]);
  const readEnd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const writeEnd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  fs.rmSync(dir, { recursive: true, force: true });
  return [readEnd, writeEnd];
}

t.test('a setting the kernel rejects part-way leaves nothing changed', { skip: linuxRoot }, async (t) => {
  const { client } = await tcpPair(t);
  const fd = fdOf(client);
  const before = kernelOptions(fd);
  // idle is accepted, then the kernel rejects an interval above 32767 s.
  const out = new Int32Array(8);
  t.equal(binding.set(fd, Int32Array.of(1, 100, 40000, 3, 5), out), -22, 'EINVAL');
  t.equal(binding.optionNames[out[6]!], 'TCP_KEEPINTVL');
  t.same(kernelOptions(fd), before, 'idle, interval, count, user timeout and SO_KEEPALIVE as before');
  t.equal(binding.set(fd, Int32Array.of(1, 100, 10, 3, 2147484), out), -22, 'a user timeout beyond INT32_MAX ms');
  t.same(kernelOptions(fd), before, 'nothing changed either');
});
