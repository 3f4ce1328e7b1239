// Lifecycle tier: the package's JavaScript loaded twice over one cached addon
// (issue 11 item 2). Each copy sets its own values on its own socket, calls
// interleaved, in both orders; the kernel's values are read with getsockopt
// from another process (test/fixtures/lifecycle/sockopt.py). Before the fix
// the second copy's bind() replaced the first copy's arrays: the first
// copy's setKeepalive returned the other copy's (or stale) values and the
// kernel got the other copy's settings.
import t from 'tap';
import type * as net from 'node:net';

import { freshCopy } from './fixtures/lifecycle/copies';
import { kernelOptions } from './fixtures/lifecycle/kernel';
import { tcpPair } from './helpers/net';

const skip = process.platform === 'linux' && process.getuid?.() === 0 ? false : 'needs Linux and root (pidfd_getfd)';
const fdOf = (socket: net.Socket): number => (socket as unknown as { _handle: { fd: number } })._handle.fd;

const A = { idle: 111, interval: 11, count: 4 };
const B = { idle: 222, interval: 22, count: 5 };
// Rounds of interleaved calls per order, each value shifted by the round.
const ROUNDS = 5;

for (const order of ['first copy first', 'second copy first'] as const) {
  t.test(`two copies, interleaved, ${order}: each its own values on its own socket`, { skip }, async (t) => {
    const first = freshCopy();
    const second = freshCopy();
    t.not(first.setKeepalive, second.setKeepalive, 'two distinct copies');
    const a = (await tcpPair(t)).client;
    const b = (await tcpPair(t)).client;
    const calls = [
      () => ({ copy: 'first', socket: a, wanted: A, state: first.setKeepalive(a, A) }),
      () => ({ copy: 'second', socket: b, wanted: B, state: second.setKeepalive(b, B) }),
    ];
    if (order === 'second copy first') calls.reverse();
    for (let round = 0; round < ROUNDS; round++) {
      for (const call of calls) {
        const { copy, socket, wanted, state } = call();
        t.match(state, { enabled: true, ...wanted, source: 'kernel' }, `${copy} copy: its own values read back`);
        t.match(kernelOptions(fdOf(socket)), { keepalive: 1, ...wanted }, `${copy} copy: kernel holds them`);
      }
      t.match(first.getKeepalive(a), A, 'first copy reads its socket');
      t.match(second.getKeepalive(b), B, 'second copy reads its socket');
    }
  });
}
