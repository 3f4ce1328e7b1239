// setKeepalive / getKeepalive round trips, checked against the kernel's own
// keepalive timer as printed by `ss -tnoi` (independent of this package).
import t from 'tap';
import type * as net from 'node:net';

import { setKeepalive, getKeepalive, detectAfter, supported, type KeepaliveState } from '../lib/index';
import { tcpPair } from './helpers/net';
import { ssTimer } from './helpers/ss';
import { hasCommand, needs } from './helpers/tools';

const linux = process.platform === 'linux';

function state(result: ReturnType<typeof setKeepalive>): KeepaliveState {
  if (result.source === 'pending') throw new Error('unexpectedly pending');
  return result;
}

t.test('read-back equals what was set (acceptance settings)', async (t) => {
  const { client, server } = await tcpPair(t);
  const settings = [
    { idle: 60, interval: 10, count: 3 },
    { idle: 1, interval: 1, count: 1 },
    { idle: 32767, interval: 32767, count: 127 },
  ];
  for (const s of settings) {
    for (const socket of [client, server]) {
      const set = state(setKeepalive(socket, s));
      t.match(set, { enabled: true, ...s, source: 'kernel', detectAfter: s.idle + s.interval * s.count }, JSON.stringify(s));
      t.same(getKeepalive(socket), set, 'getKeepalive agrees');
    }
  }
});

t.test("userTimeout 'auto' and explicit values", async (t) => {
  const { client } = await tcpPair(t);
  t.match(setKeepalive(client, { idle: 60, interval: 10, count: 3, userTimeout: 'auto' }), { userTimeout: 90, detectAfter: 90 });
  t.match(setKeepalive(client, { userTimeout: 45 }), { idle: 60, interval: 10, count: 3, userTimeout: 45 });
  // 'auto' with omitted fields uses the socket's current ones
  t.match(setKeepalive(client, { count: 5, userTimeout: 'auto' }), { count: 5, userTimeout: 110 });
  t.match(setKeepalive(client, { userTimeout: 0 }), { userTimeout: 0, detectAfter: 110 });
  if (linux) {
    // TCP_USER_TIMEOUT replaces the count on Linux: the drop happens at the
    // first probe at or after 45 s (60 s: the first probe itself).
    t.match(setKeepalive(client, { userTimeout: 45 }), { detectAfter: 70 });
    t.match(setKeepalive(client, { idle: 10, interval: 10, count: 9, userTimeout: 35 }), { detectAfter: 40 });
  }
});

t.test('partial updates keep the other values', async (t) => {
  const { client } = await tcpPair(t);
  setKeepalive(client, { idle: 61, interval: 11, count: 4, userTimeout: 50 });
  t.match(setKeepalive(client, { interval: 12 }), { idle: 61, interval: 12, count: 4, userTimeout: 50 });
  t.match(setKeepalive(client, { count: 6 }), { idle: 61, interval: 12, count: 6 });
  t.match(setKeepalive(client, { idle: 62 }), { idle: 62, interval: 12, count: 6 });
  t.match(setKeepalive(client), { enabled: true, idle: 62, interval: 12, count: 6, userTimeout: 50 });
  t.match(setKeepalive(client, {}), { enabled: true, idle: 62 });
});

t.test('enable and disable', async (t) => {
  const { client } = await tcpPair(t);
  t.match(getKeepalive(client), { enabled: false, detectAfter: null }, 'off by default in Node');
  t.match(setKeepalive(client, { idle: 30 }), { enabled: true, idle: 30 }, 'enable defaults to true');
  t.match(setKeepalive(client, { enable: false }), { enabled: false, idle: 30, detectAfter: null });
  t.match(setKeepalive(client, { enable: false, idle: 40 }), { enabled: false, idle: 40 }, 'timing can be set while off');
  const { interval, count } = getKeepalive(client);
  t.match(setKeepalive(client, { enable: true }), { enabled: true, idle: 40, detectAfter: detectAfter({ idle: 40, interval, count }) });
});

t.test("Node's own setKeepAlive is visible (and what it does to interval and count)", async (t) => {
  const { client } = await tcpPair(t);
  setKeepalive(client, { idle: 100, interval: 20, count: 5 });
  client.setKeepAlive(true, 45_000);
  const after = getKeepalive(client);
  t.equal(after.idle, 45, 'Node set the idle time');
  t.equal(after.enabled, true);
  t.comment(`after socket.setKeepAlive(true, 45000): interval ${after.interval}, count ${after.count}`);
});

t.test('the kernel keepalive timer (ss -tnoi) matches the idle that was set', {
  // Not a missing tool but another platform: the Windows run (under Wine) checks ss from the Linux host.
  skip: !linux && 'ss -tnoi shows Linux sockets; on other systems this oracle does not apply',
}, async (t) => {
  if (!needs(t, hasCommand('ss'), 'ss (iproute2) is not installed')) return;
  const { client, server } = await tcpPair(t);
  const checks: Array<[net.Socket, number]> = [
    [client, 60],
    [server, 45],
    [client, 1],
    [client, 32767],
    [server, 1000],
  ];
  for (const [socket, idle] of checks) {
    setKeepalive(socket, { idle, interval: 10, count: 3 });
    const timer = ssTimer(socket);
    t.ok(timer, `ss shows a timer for port ${socket.localPort}`);
    t.equal(timer?.name, 'keepalive', 'it is the keepalive timer');
    // ss prints whole minutes only from 10 min on ("546min" for 32767 s)
    const slack = 2 + (idle >= 600 ? 60 : 0);
    t.ok(timer && timer.seconds <= idle && timer.seconds >= idle - slack, `timer ${timer?.seconds}s within ${slack} s of idle ${idle}s`);
  }
  // and the oracle can tell: with keepalive off there is no keepalive timer
  setKeepalive(client, { enable: false });
  t.equal(ssTimer(client), null, 'no timer once disabled');
});

t.test('the state type carries the platform view', async (t) => {
  const { client } = await tcpPair(t);
  const s = state(setKeepalive(client, { idle: 5 }));
  t.equal(s.source, Object.values(supported.read).every(Boolean) ? 'kernel' : 'requested');
  t.same(Object.keys(s).sort(), ['count', 'detectAfter', 'enabled', 'idle', 'interval', 'source', 'userTimeout']);
});
