// Clients whose protocols carry their own heartbeats, under the policy: ws
// (WebSocket ping/pong), node:http2 over TCP and TLS (PING frames) and
// @grpc/grpc-js (HTTP/2 keepalive pings). Both ends of each connection
// (client and server-accepted socket) hold the policy after connect, after
// traffic and after a heartbeat round trip (getKeepalive and `ss`), and the
// client works as without the package. Without the policy each library's
// own values show, so every check can fail.
import t, { type Test } from 'tap';
import * as grpc from '@grpc/grpc-js';
import { WebSocket } from 'ws';
import * as diagnostics from 'node:diagnostics_channel';
import { once } from 'node:events';
import * as http2 from 'node:http2';
import * as net from 'node:net';

import { getKeepalive, install } from '../lib/index';
import { EXPECTED, expectKeepalive, POLICY, socketsTo, until, type Values } from './helpers/dropin';
import { EchoClient, startGrpcEcho, startHttp2, startWsEcho, type Echo } from './helpers/protocols';
import { tlsCredentials } from './helpers/tls';

interface ActiveHandles {
  _getActiveHandles(): unknown[];
}

/** This process's open TCP sockets accepted on `port` (the server ends). */
function socketsAt(port: number): net.Socket[] {
  const handles = (process as unknown as ActiveHandles)._getActiveHandles();
  return handles.filter((h): h is net.Socket => h instanceof net.Socket && !h.destroyed && h.localPort === port && h.remotePort !== port);
}

// Client sockets: the active handles, and those Node's net module publishes
// (grpc-js unrefs its channel's socket, so process._getActiveHandles() does
// not list it; tls.connect does not publish).
const made: net.Socket[] = [];
const onClientSocket = (message: unknown): void => {
  made.push((message as { socket: net.Socket }).socket);
};
diagnostics.subscribe('net.client.socket', onClientSocket);
t.teardown(() => diagnostics.unsubscribe('net.client.socket', onClientSocket));
const clientEnds = (port: number): net.Socket[] => [...new Set([...made, ...socketsTo(port)])].filter((s) => !s.destroyed && s.remotePort === port);

/** Both ends of the one connection to `port`, checked against `want`. */
async function bothEnds(t: Test, port: number, want: { client: Values; server: Values }, label: string): Promise<void> {
  await until(() => clientEnds(port).length === 1 && socketsAt(port).length === 1, 5000, `${label}: one connection to ${port}`);
  await expectKeepalive(t, clientEnds(port)[0]!, want.client, `${label}: client end`);
  await expectKeepalive(t, socketsAt(port)[0]!, want.server, `${label}: server end`);
}

interface Library {
  name: string;
  /** The library's own values without the package, found by running it (client end, server end). */
  baseline: { client: Values; server: Values };
  /** Starts a server and a client; `check` at each phase; closes both. */
  run(t: Test, check: (port: number, phase: string) => Promise<void>): Promise<void>;
}

const OFF: Values = { enabled: false };

const ws: Library = {
  name: 'ws',
  baseline: { client: OFF, server: OFF },
  run: async (t, check) => {
    const port = await startWsEcho(t);
    const client = new WebSocket(`ws://127.0.0.1:${port}/`);
    t.teardown(() => client.terminate());
    await once(client, 'open');
    await check(port, 'after the upgrade');
    client.send('echo');
    const [reply] = (await once(client, 'message')) as [Buffer];
    t.equal(reply.toString(), 'echo', 'ws: a message echoed');
    await check(port, 'after a message');
    client.ping();
    await once(client, 'pong');
    await check(port, 'after a ping/pong heartbeat');
    client.close();
    await once(client, 'close');
  },
};

function http2Library(secure: boolean): Library {
  return {
    name: `node:http2 ${secure ? 'TLS' : 'TCP'}`,
    baseline: { client: OFF, server: OFF },
    run: async (t, check) => {
      const credentials = secure ? await tlsCredentials() : undefined;
      const port = await startHttp2(t, credentials);
      const session = http2.connect(`${secure ? 'https' : 'http'}://127.0.0.1:${port}`, credentials ? { ca: credentials.cert } : {});
      t.teardown(() => session.destroy());
      await once(session, 'connect');
      await check(port, 'after connect');
      const request = session.request({ ':path': '/' });
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      await once(request, 'end');
      t.equal(body, 'ok', 'http2: a response');
      await check(port, 'after a request');
      await new Promise<void>((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())));
      await check(port, 'after a PING heartbeat');
      session.close();
    },
  };
}

const grpcLibrary: Library = {
  name: '@grpc/grpc-js',
  baseline: { client: OFF, server: OFF },
  run: async (t, check) => {
    const port = await startGrpcEcho(t, { 'grpc.keepalive_time_ms': 1000, 'grpc.keepalive_timeout_ms': 1000 });
    // Client keepalive pings every second (HTTP/2 PING): the heartbeat.
    const client = new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      'grpc.keepalive_time_ms': 1000,
      'grpc.keepalive_timeout_ms': 1000,
      'grpc.keepalive_permit_without_calls': 1,
    }) as unknown as Echo;
    t.teardown(() => client.close());
    const call = (): Promise<Buffer> => new Promise((resolve, reject) => client.echo(Buffer.from('echo'), (error, reply) => (error ? reject(error) : resolve(reply!))));
    t.equal((await call()).toString(), 'echo', 'grpc: a unary call');
    await check(port, 'after a call');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    t.equal((await call()).toString(), 'echo', 'grpc: a call after a keepalive ping');
    await check(port, 'after a keepalive ping interval');
    client.close();
  },
};

const libraries = [ws, http2Library(false), http2Library(true), grpcLibrary];

for (const library of libraries) {
  t.test(`${library.name} with and without the policy`, async (t) => {
    for (const installed of [false, true]) {
      await t.test(installed ? 'with the policy' : "without it: the library's own values", async (t) => {
        const handle = installed ? install(POLICY) : null;
        t.teardown(() => handle?.uninstall());
        const want = installed ? { client: EXPECTED, server: EXPECTED } : library.baseline;
        await library.run(t, (port, phase) => bothEnds(t, port, want, `${library.name} ${phase}`));
      });
    }
  });
}

t.test('the policy survives a library that turns keepalive on itself', async (t) => {
  // http2.connect with a socket the caller made and gave setKeepAlive(true, 1000), as some wrappers do.
  const port = await startHttp2(t);
  const handle = install(POLICY);
  t.teardown(() => handle.uninstall());
  const session = http2.connect(`http://127.0.0.1:${port}`, {
    createConnection: () => net.connect(port, '127.0.0.1').setKeepAlive(true, 1000),
  });
  t.teardown(() => session.destroy());
  await once(session, 'connect');
  await until(() => clientEnds(port).length === 1, 5000, 'the connection');
  t.match(getKeepalive(clientEnds(port)[0]!), EXPECTED, "the policy's values, over the caller's setKeepAlive(true, 1000)");
  session.close();
});
