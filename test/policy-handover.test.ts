// Sockets that arrive connected (issue 11, item 7): one received from
// another process (child.send('socket', socket), cluster-style handoff) and
// one made over a connected descriptor (new net.Socket({ fd }), socket
// activation) get the installed policy without any setKeepAlive call, in a
// child process running the register preload. Checked by the child's
// getKeepalive and independently by `ss` on the kernel socket. Also:
// under the policy, setKeepAlive with an object does what the running
// Node does with it (Node 20: an object is truthy, keepalive on).
import t, { type Test } from 'tap';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import * as path from 'node:path';

import { getKeepalive, install } from '../lib/index';
import { EXPECTED, haveSs, POLICY } from './helpers/dropin';
import { tcpPair } from './helpers/net';
import { keepaliveTimer } from './helpers/ss';
import { scaled } from './helpers/tools';

const child = path.join(__dirname, 'fixtures', 'dropin', 'handover-child.js');
const register = path.join(__dirname, '..', 'dist', 'register.js');
const SPEC = `idle=${POLICY.idle},interval=${POLICY.interval},count=${POLICY.count},userTimeout=auto`;

interface Report {
  when: string;
  state: { enabled: boolean; idle: number; interval: number; count: number; userTimeout: number };
  localPort: number;
  remotePort: number;
}

async function handOver(how: 'message' | 'fd', socket: net.Socket, side: string): Promise<{ report: Report; ss: string }> {
  const proc = fork(child, [], {
    execArgv: ['--require', register],
    env: { ...process.env, NODE_OPTIONS: '', HOW: how, TCP_KEEPALIVE: SPEC, TCP_KEEPALIVE_SIDE: side },
    stdio: how === 'fd' ? ['ignore', 'inherit', 'inherit', 'ipc', socket] : ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const timer = setTimeout(() => proc.kill(), scaled(20_000));
  const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    // A child that dies (or is killed by the timer) before it reports ends the wait.
    const died = exited.then(([code, signal]) => Promise.reject(new Error(`the child exited (${signal ?? code}) before it reported`)));
    const reported = Promise.race([once(proc, 'message') as Promise<[Report]>, died]);
    if (how === 'message') proc.send('socket', socket);
    const [report] = await reported;
    const ss = haveSs ? await keepaliveTimer(report, 3000) : null;
    proc.send('done');
    await exited;
    return { report, ss: ss ? `${ss.name},${ss.seconds}` : 'none' };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A server-side socket of a fresh loopback connection, never given
 * keepalive here; both ends and the listener destroyed at teardown (not
 * tcpPair's: a handed-over socket leaves the server waiting on close).
 */
async function acceptedSocket(t: Test): Promise<net.Socket> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('error', () => {});
  const [socket] = await accepted;
  t.teardown(() => {
    client.destroy();
    socket.destroy();
    server.close();
  });
  t.equal(getKeepalive(socket).enabled, false, 'before the handoff the socket has no keepalive');
  return socket;
}

for (const how of ['message', 'fd'] as const) {
  t.test(`a socket handed over by ${how === 'message' ? "child.send('socket')" : 'descriptor (new net.Socket({ fd }))'} gets the policy`, async (t) => {
    for (const side of ['both', 'servers']) {
      const socket = await acceptedSocket(t);
      // The kernel counts idle from the connection's last segment (its
      // set-up, here), so the timer shows idle less the time since then:
      // the child's start-up included (seconds under emulation).
      const connected = Date.now();
      const { report, ss } = await handOver(how, socket, side);
      const sinceConnect = Math.ceil((Date.now() - connected) / 1000);
      t.match(report.state, EXPECTED, `${side}: the child's getKeepalive ${report.when}`);
      if (haveSs) {
        const seconds = Number(ss.split(',')[1]);
        t.ok(ss.startsWith('keepalive,') && seconds <= POLICY.idle && seconds >= POLICY.idle - sinceConnect - 1,
          `${side}: ss shows the kernel's keepalive timer (${ss}; ${sinceConnect} s since the connection was made)`);
      }
    }
    const socket = await acceptedSocket(t);
    const { report } = await handOver(how, socket, 'clients');
    t.match(report.state, { enabled: false }, 'TCP_KEEPALIVE_SIDE=clients: a handed-over socket counts as a server socket, left alone');
  });
}

t.test('setKeepAlive(object) under the policy does what this Node does with it', async (t) => {
  // What this Node does without the policy, found by trying it.
  const bare = await tcpPair(t);
  bare.client.setKeepAlive({ enable: false } as unknown as boolean);
  const nodeTurnsOn = getKeepalive(bare.client).enabled;
  t.comment(`Node ${process.version}: setKeepAlive({ enable: false }) turns keepalive ${nodeTurnsOn ? 'on' : 'off'}`);

  const handle = install(POLICY);
  t.teardown(() => handle.uninstall());
  const { client } = await tcpPair(t);
  t.match(getKeepalive(client), EXPECTED, 'connected with the policy');
  client.setKeepAlive({ enable: false } as unknown as boolean);
  t.equal(getKeepalive(client).enabled, nodeTurnsOn, 'the patch leaves Node\'s decision as it is');
  if (nodeTurnsOn) t.match(getKeepalive(client), EXPECTED, 'and keepalive on means the policy');
  client.setKeepAlive(false);
  t.equal(getKeepalive(client).enabled, false, 'setKeepAlive(false) still turns it off');
  client.setKeepAlive(true, 1000);
  t.match(getKeepalive(client), EXPECTED, 'setKeepAlive(true) puts the policy back');
});
