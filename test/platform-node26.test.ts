// Node >= 26.4 takes setKeepAlive({ enable, initialDelay, interval, count })
// (libuv's uv_tcp_keepalive_ex): Node itself can now set interval and count.
// How that meets this package, checked in the kernel (getKeepalive reads it
// back; `ss` shows the timer). This file runs in every suite run and skips
// (saying why) on Node versions without that form; the Node 26 run of
// test/platform-node-versions.test.ts is where it executes.
import t from 'tap';

import { getKeepalive, install, setKeepalive } from '../lib/index';
import { tcpPair } from './helpers/net';
import { keepaliveTimer } from './helpers/ss';
import { hasCommand } from './helpers/tools';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const objectForm = major > 26 || (major === 26 && minor >= 4);
const skip = objectForm ? false : `Node ${process.version} has no setKeepAlive({ enable, initialDelay, interval, count }); it runs on Node >= 26.4`;
const haveSs = process.platform === 'linux' && hasCommand('ss');

type ObjectForm = (options: { enable?: boolean; initialDelay?: number; interval?: number; count?: number }) => unknown;
const nodeSetKeepAlive = (socket: object, options: Parameters<ObjectForm>[0]): void =>
  void (socket as { setKeepAlive: ObjectForm }).setKeepAlive(options);

t.test("Node's setKeepAlive({...}) sets idle, interval and count (milliseconds in, seconds in the kernel)", { skip }, async (t) => {
  const { client } = await tcpPair(t);
  nodeSetKeepAlive(client, { enable: true, initialDelay: 30_000, interval: 5_000, count: 4 });
  t.match(getKeepalive(client), { enabled: true, idle: 30, interval: 5, count: 4, source: 'kernel' });
  if (haveSs) {
    const timer = await keepaliveTimer(client);
    t.ok(timer && timer.name === 'keepalive' && timer.seconds <= 30 && timer.seconds >= 27, `ss: keepalive timer at ${timer?.seconds}s`);
  }
});

t.test('omitted interval and count reset to 1 s and 10: a later Node call wipes what this package set', { skip }, async (t) => {
  const { client } = await tcpPair(t);
  setKeepalive(client, { idle: 60, interval: 10, count: 3 });
  nodeSetKeepAlive(client, { enable: true, initialDelay: 45_000 });
  t.match(getKeepalive(client), { enabled: true, idle: 45, interval: 1, count: 10 }, "Node's call wins: the last writer sets the kernel");
  t.match(setKeepalive(client, { idle: 60, interval: 10, count: 3 }), { idle: 60, interval: 10, count: 3 }, 'setKeepalive puts them back');
  // Node remembers what it last set and skips the system call when asked
  // for the same again: it cannot see that this package changed the socket.
  nodeSetKeepAlive(client, { enable: true, initialDelay: 45_000 });
  t.match(getKeepalive(client), { idle: 60, interval: 10, count: 3 }, 'a repeated identical Node call is skipped by Node');
  nodeSetKeepAlive(client, { enable: true, initialDelay: 45_000, interval: 2_000, count: 2 });
  t.match(getKeepalive(client), { idle: 45, interval: 2, count: 2 }, 'a different one goes through');
});

t.test('the drop-in policy holds its values against setKeepAlive({...}) and honours enable: false', { skip }, async (t) => {
  const handle = install({ idle: 67, interval: 7, count: 4 });
  t.teardown(() => handle.uninstall());
  const { client, server } = await tcpPair(t);
  for (const [socket, side] of [[client, 'client'], [server, 'server']] as const) {
    t.match(getKeepalive(socket), { enabled: true, idle: 67, interval: 7, count: 4 }, `${side}: the policy at connect`);
    nodeSetKeepAlive(socket, { enable: true, initialDelay: 1_000, interval: 1_000, count: 10 });
    t.match(getKeepalive(socket), { enabled: true, idle: 67, interval: 7, count: 4 }, `${side}: re-applied over Node's object form`);
    nodeSetKeepAlive(socket, { enable: false });
    t.match(getKeepalive(socket), { enabled: false }, `${side}: enable: false is the application's to make`);
  }
});
