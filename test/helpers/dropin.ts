// Checks for the drop-in policy tests: a socket's keepalive, read through
// getKeepalive and independently through `ss` (the kernel's keepalive timer),
// and the sockets a library opened, found among the process's active
// handles, so no library internals are needed.
import { once } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';

import type { Test } from 'tap';

import { getKeepalive } from '../../lib/index';
import { keepaliveTimer, keepaliveWithin } from './ss';
import { hasCommand } from './tools';

/** The policy the drop-in tests install: values no library or OS uses. */
export const POLICY = { idle: 67, interval: 7, count: 4, userTimeout: 'auto' as const };
/** What a socket under POLICY reports. */
export const EXPECTED = { enabled: true, idle: 67, interval: 7, count: 4, userTimeout: 95 };

export const haveSs = process.platform === 'linux' && hasCommand('ss');

/**
 * Whether this Node's tls.connect() acts on its keepAlive and
 * keepAliveInitialDelay options as net.connect() does, found by trying it:
 * a TLS client to a loopback listener asks for a 7 s delay, and the kernel
 * is read at 'connect'. Libraries that pass these options there (node-redis,
 * Node's https.Agent) get keepalive over TLS only on such a Node. Measured:
 * 20.20.2 and 22.23.3 ignore them; 24.21.0 and 26.10.0 apply them (idle =
 * the delay, interval 1 s, count 10, as setKeepAlive).
 */
export async function tlsConnectKeepAlive(): Promise<boolean> {
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => accepted.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  // (@types/node 20 does not list these two options for tls.connect)
  const options: tls.ConnectionOptions & { keepAlive: boolean; keepAliveInitialDelay: number } =
    { port, host: '127.0.0.1', keepAlive: true, keepAliveInitialDelay: 7000, rejectUnauthorized: false };
  const client = tls.connect(options);
  client.on('error', () => {}); // the listener speaks no TLS; only the TCP connection matters
  try {
    await Promise.race([
      once(client, 'connect'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('tlsConnectKeepAlive: no TCP connection within 5 s')), 5000).unref()),
    ]);
    const state = getKeepalive(client);
    return state.enabled && state.idle === 7;
  } finally {
    client.destroy();
    for (const s of accepted) s.destroy();
    server.close();
  }
}

export interface Values {
  enabled: boolean;
  idle?: number;
  interval?: number;
  count?: number;
}

/**
 * Asserts the socket's keepalive: getKeepalive matches `want`, and `ss`
 * shows a keepalive timer no longer than want.idle (and, for idle ≥ 10,
 * more than want.idle - 5 s, so a 1 s library value cannot pass for it).
 */
export async function expectKeepalive(t: Test, socket: net.Socket, want: Values, label: string, netns?: string): Promise<void> {
  const state = getKeepalive(socket);
  t.match(state, want, `${label}: getKeepalive ${JSON.stringify(pick(state))}`);
  if (!haveSs || !want.enabled || want.idle === undefined) return;
  if (socket.localPort === undefined || socket.remotePort === undefined) {
    t.fail(`${label}: socket has no local or remote port`);
    return;
  }
  const within = keepaliveWithin(await keepaliveTimer(socket, 3000, netns), want.idle);
  t.ok(within.ok, `${label}: ${within.text}`);
}

function pick(state: ReturnType<typeof getKeepalive>): Record<string, unknown> {
  return { enabled: state.enabled, idle: state.idle, interval: state.interval, count: state.count, userTimeout: state.userTimeout };
}

interface ActiveHandles {
  _getActiveHandles(): unknown[];
}

/** This process's open TCP sockets whose remote port is `port` (TLS sockets included). */
export function socketsTo(port: number): net.Socket[] {
  const handles = (process as unknown as ActiveHandles)._getActiveHandles();
  return handles.filter((h): h is net.Socket => h instanceof net.Socket && !h.destroyed && h.remotePort === port);
}

/** The single socket to `port`; fails the test when there is not exactly one. */
export function oneSocketTo(t: Test, port: number, label: string): net.Socket | undefined {
  const found = socketsTo(port);
  if (found.length !== 1) {
    t.fail(`${label}: expected one socket to port ${port}, found ${found.length}`);
    return undefined;
  }
  return found[0];
}

/** Waits (bounded) until `check` holds. */
export async function until(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A connection a database client's pool hands out. */
export interface Pooled {
  query(sql: string): Promise<unknown>;
  release(): void;
}

/** What poolPhases needs of a database client's pool (one connection at most). */
export interface PoolUnderTest<C extends Pooled> {
  acquire(): Promise<C>;
  end(): Promise<void>;
  /** What names the server connection behind a handed-out one (the client object, a thread id). */
  identity(connection: C): unknown;
}

/**
 * The database client tests' phases: after connect, after the queries of
 * `session`, and after the connection came back from the pool, the socket to
 * `port` holds `want`; at the end the pool closes it.
 */
export async function poolPhases<C extends Pooled>(
  t: Test,
  label: string,
  port: number,
  want: Values,
  pool: PoolUnderTest<C>,
  session: (connection: C) => Promise<void>,
): Promise<void> {
  const first = await pool.acquire();
  const socket = oneSocketTo(t, port, label);
  if (!socket) {
    first.release();
    return;
  }
  await expectKeepalive(t, socket, want, `${label}: after connect`);
  await session(first);
  await expectKeepalive(t, socket, want, `${label}: after a query`);
  const id = pool.identity(first);
  first.release();
  const second = await pool.acquire();
  t.equal(pool.identity(second), id, `${label}: the pool handed out the same connection`);
  await second.query('SELECT 2');
  t.equal(oneSocketTo(t, port, label), socket, `${label}: on the same socket`);
  await expectKeepalive(t, socket, want, `${label}: after reuse from the pool`);
  second.release();
  await pool.end();
  await until(() => socketsTo(port).length === 0, 5000, `${label}: the pool's socket to close`);
}
