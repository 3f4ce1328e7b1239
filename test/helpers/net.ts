// Loopback connections for tests: every socket kind Node makes, on random
// ports, closed by t.teardown even when a test fails.
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';

import { addressesAfterEnd, addressesReadableAtEnd, getHealth, readAddressesFd } from '../../lib/health';
import { tlsCredentials } from './tls';

export interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export interface Pair<S extends net.Socket = net.Socket> {
  client: S;
  server: S;
}

function serverFor<T extends net.Server>(t: Teardown, server: T): T {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return server;
}

export async function listen<T extends net.Server>(t: Teardown, server: T): Promise<number> {
  serverFor(t, server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** A connected net client and the server's accepted socket (`options` for the server, e.g. allowHalfOpen). */
export async function tcpPair(t: Teardown, options: net.ServerOpts = {}): Promise<Pair & { port: number }> {
  const server = net.createServer(options);
  const port = await listen(t, server);
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect(port, '127.0.0.1');
  t.teardown(() => void client.destroy());
  await once(client, 'connect');
  const [s] = await accepted;
  return { client, server: s, port };
}

/** A TLS client (optionally over an explicit net.Socket) and the server side, after the handshake. */
export async function tlsPair(t: Teardown, overSocket = false): Promise<Pair<tls.TLSSocket>> {
  const creds = await tlsCredentials();
  const server = tls.createServer({ key: creds.key, cert: creds.cert });
  const port = await listen(t, server);
  const accepted = once(server, 'secureConnection') as Promise<[tls.TLSSocket]>;
  const options: tls.ConnectionOptions = { ca: creds.cert, servername: 'localhost' };
  const client = overSocket
    ? tls.connect({ ...options, socket: net.connect(port, '127.0.0.1') })
    : tls.connect({ ...options, port, host: '127.0.0.1' });
  t.teardown(() => void client.destroy());
  await once(client, 'secureConnect');
  const [s] = await accepted;
  return { client, server: s };
}

/** An HTTP(S) request's socket and the server's socket for it, while the request is open. */
export async function httpPair(t: Teardown, secure: boolean): Promise<Pair & { finish: () => Promise<void> }> {
  const creds = secure ? await tlsCredentials() : undefined;
  let serverSocket: net.Socket | undefined;
  let respond: (() => void) | undefined;
  const handler: http.RequestListener = (req, res) => {
    serverSocket = req.socket;
    respond = () => res.end('ok');
  };
  const server = secure ? https.createServer({ key: creds!.key, cert: creds!.cert }, handler) : http.createServer(handler);
  const port = await listen(t, server);
  const agent = secure ? new https.Agent({ keepAlive: true, ca: creds!.cert }) : new http.Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  const req = (secure ? https : http).request({ host: '127.0.0.1', port, agent, servername: 'localhost', path: '/' });
  req.end();
  const [client] = (await once(req, 'socket')) as [net.Socket];
  if (client.connecting) await once(client, secure ? 'secureConnect' : 'connect');
  const started = Date.now();
  while (!respond && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 5));
  if (!respond || !serverSocket) throw new Error('server did not see the request within 5 s');
  const finish = async (): Promise<void> => {
    const response = once(req, 'response') as Promise<[http.IncomingMessage]>;
    respond!();
    const [res] = await response;
    res.resume();
    await once(res, 'end');
  };
  return { client, server: serverSocket, finish };
}

/** A connected Unix domain socket client (and its server), in a throwaway directory. */
export async function unixClient(t: Teardown): Promise<net.Socket> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-keepalive-unix-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const server = net.createServer();
  server.listen(path.join(dir, 's.sock'));
  await once(server, 'listening');
  t.teardown(() => void server.close());
  const client = net.connect(path.join(dir, 's.sock'));
  t.teardown(() => void client.destroy());
  await once(client, 'connect');
  return client;
}

/**
 * Whether this process can read TCP_INFO (getHealth) on a loopback
 * connection: not under qemu-user, which passes SOL_TCP getsockopt through
 * as a 4-byte int (getsockopt EPROTO). Connection-end records are then
 * decided from the error code alone (source 'error-code').
 */
export async function tcpInfoReadable(t: Teardown): Promise<boolean> {
  const { client } = await tcpPair(t);
  try {
    getHealth(client);
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

/**
 * Whether the kernel reports a connection's addresses after it failed, as
 * the connection-end records read them (Linux: SO_PEERNAME). Not under
 * qemu-user, which does not pass SO_PEERNAME through (EOPNOTSUPP); there a
 * failed end of a policy's socket has no remote address.
 */
export async function addressesReadableAfterEnd(t: Teardown): Promise<boolean> {
  if (!addressesAfterEnd) return false;
  const { client } = await tcpPair(t);
  try {
    const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
    return readAddressesFd(fd) !== null && addressesReadableAtEnd(fd);
  } finally {
    client.destroy();
  }
}
