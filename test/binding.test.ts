// The native binding: loads in worker threads (and twice in one process),
// and misuse of its raw functions throws instead of crashing.
import t from 'tap';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';

import { binding } from '../lib/binding';

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
