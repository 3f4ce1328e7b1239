// HTTP clients on real in-process HTTP and HTTPS servers: Node's http/https
// Agent, axios, undici (request and fetch) and Node's global fetch. For each,
// while a request is in flight (just after connect), after the response
// (socket back in the pool) and after the socket was reused, the client
// socket's keepalive is read with getKeepalive and `ss`. Without the policy
// the libraries' own values show (interval 1 s, count 10 from libuv), so
// the checks can fail; with install() the policy holds in all three phases.
// The per-library factories (createHttpAgent, createUndiciDispatcher, ...)
// are checked the same way without install().
import t, { type Test } from 'tap';
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';

import axios from 'axios';
import * as undici from 'undici';

import { createHttpAgent, createHttpsAgent, createUndiciDispatcher, install } from '../lib/index';
import { EXPECTED, expectKeepalive, POLICY, socketsTo, tlsConnectKeepAlive, until, type Values } from './helpers/dropin';
import { listen } from './helpers/net';
import { tlsCredentials } from './helpers/tls';

interface Server {
  port: number;
  url: string;
  /** Remote ports of the requests seen, in order. */
  peers: number[];
  /** Completes the request held at /hold. */
  release(): void;
  held(): boolean;
}

async function startServer(t: Test, secure: boolean): Promise<Server> {
  const creds = await tlsCredentials();
  let pending: (() => void) | null = null;
  const peers: number[] = [];
  const handler: http.RequestListener = (req, res) => {
    peers.push(req.socket.remotePort!);
    if (req.url === '/hold') pending = () => res.end('held');
    else res.end('quick');
  };
  const server = secure ? https.createServer({ key: creds.key, cert: creds.cert }, handler) : http.createServer(handler);
  const port = await listen(t, server);
  return {
    port,
    url: `${secure ? 'https' : 'http'}://localhost:${port}`,
    peers,
    release: () => {
      const fn = pending;
      pending = null;
      fn?.();
    },
    held: () => pending !== null,
  };
}

type Request = (url: string) => Promise<string>;
type Idle = [number | null, number | null, number | null];
interface Client {
  name: string;
  /** Makes the request function (a fresh agent/dispatcher per run) for plain or TLS. */
  make(t: Test, ca: Buffer, secure: boolean): Request | null;
  /**
   * Idle seconds the library itself sets over plain and TLS connections:
   * in flight, after the response, after reuse (always with libuv's
   * interval 1 and count 10); null: keepalive off.
   */
  idle: { plain: Idle; tls: Idle };
  /** The keepAlive delay (s) it passes to tls.connect, applied at connect by Nodes whose tls.connect honours it. */
  tlsOption?: number;
}

function nodeRequest(agent: http.Agent): Request {
  return (url) =>
    new Promise((resolve, reject) => {
      const mod = url.startsWith('https') ? https : http;
      mod
        .get(url, { agent, lookup: loopbackLookup, servername: 'localhost' } as https.RequestOptions, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
}

// "localhost" names the servers in URLs (the certificate's name); this
// lookup keeps every client on 127.0.0.1.
const loopbackLookup = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as unknown as net.LookupFunction;

function undiciAgent(t: Test, ca: Buffer): undici.Agent {
  const agent = new undici.Agent({ connect: { ca, lookup: loopbackLookup } });
  t.teardown(() => agent.close());
  return agent;
}

const clients: Client[] = [
  {
    name: 'http/https.Agent',
    make: (t, ca, secure) => {
      const agent = secure ? new https.Agent({ keepAlive: true, ca }) : new http.Agent({ keepAlive: true });
      t.teardown(() => agent.destroy());
      return nodeRequest(agent);
    },
    // Node's Agent sets keepAliveMsecs (1 s) on new plain sockets; on TLS
    // ones only when they go back to the pool, unless tls.connect applies
    // the keepAlive option the Agent passes it (tlsConnectKeepAlive).
    idle: { plain: [1, 1, 1], tls: [null, 1, 1] },
    tlsOption: 1,
  },
  {
    name: 'axios',
    make: (t, ca, secure) => {
      const instance = secure
        ? axios.create({ httpsAgent: new https.Agent({ keepAlive: true, ca, lookup: loopbackLookup } as https.AgentOptions) })
        : axios.create({ httpAgent: new http.Agent({ keepAlive: true }), lookup: loopbackLookup } as Parameters<typeof axios.create>[0]);
      t.teardown(() => {
        (instance.defaults.httpAgent as http.Agent | undefined)?.destroy();
        (instance.defaults.httpsAgent as https.Agent | undefined)?.destroy();
      });
      return async (url) => (await instance.get<string>(url, { responseType: 'text' })).data;
    },
    // axios sets 60 s on each request's socket; the Agent's 1 s follows.
    idle: { plain: [60, 1, 1], tls: [60, 1, 1] },
  },
  {
    name: 'undici.request',
    make: (t, ca) => {
      const dispatcher = undiciAgent(t, ca);
      return async (url) => (await undici.request(url, { dispatcher })).body.text();
    },
    idle: { plain: [60, 60, 60], tls: [60, 60, 60] },
  },
  {
    name: 'undici.fetch',
    make: (t, ca) => {
      const dispatcher = undiciAgent(t, ca);
      return async (url) => (await undici.fetch(url, { dispatcher })).text();
    },
    idle: { plain: [60, 60, 60], tls: [60, 60, 60] },
  },
  {
    // Node's own fetch with its own global dispatcher; plain HTTP only (it
    // takes no CA without a dispatcher, and with an undici dispatcher it is
    // the undici case above).
    name: 'global fetch',
    make: (_t, _ca, secure) => (secure ? null : async (url) => (await fetch(url.replace('localhost', '127.0.0.1'))).text()),
    idle: { plain: [60, 60, 60], tls: [60, 60, 60] },
  },
];

/** Runs hold / release / reuse against the server, checking the client socket at each phase. */
async function phases(t: Test, label: string, request: Request, server: Server, want: [Values, Values, Values]): Promise<void> {
  const first = request(`${server.url}/hold`);
  await until(() => server.held(), 5000, `${label}: request to arrive`);
  // The client socket is the one whose local port the server saw.
  const mine = socketsTo(server.port).filter((s) => s.localPort === server.peers.at(-1));
  if (mine.length !== 1) {
    t.fail(`${label}: expected one client socket from port ${server.peers.at(-1)}, found ${mine.length}`);
    server.release();
    await first;
    return;
  }
  const socket = mine[0]!;
  await expectKeepalive(t, socket, want[0], `${label}: request in flight`);
  server.release();
  t.equal(await first, 'held');
  await new Promise((resolve) => setTimeout(resolve, 20)); // the pool's 'free' handling
  await expectKeepalive(t, socket, want[1], `${label}: after the response, in the pool`);
  t.equal(await request(`${server.url}/quick`), 'quick');
  t.equal(server.peers.at(-1), server.peers.at(-2), `${label}: the second request reused the connection`);
  await expectKeepalive(t, socket, want[2], `${label}: after reuse`);
  t.equal(socket.destroyed, false, `${label}: the same socket object`);
  socket.destroy();
  await new Promise((resolve) => setTimeout(resolve, 50)); // let the pool see it close
}

t.test('clients with and without the installed policy', async (t) => {
  const creds = await tlsCredentials();
  const servers = { plain: await startServer(t, false), tls: await startServer(t, true) };
  const tlsOptionApplied = await tlsConnectKeepAlive();
  t.comment(`tls.connect ${tlsOptionApplied ? 'applies' : 'ignores'} its keepAlive option on Node ${process.version}`);
  for (const client of clients) {
    for (const secure of [false, true]) {
      for (const installed of [false, true]) {
        const label = `${client.name} ${secure ? 'https' : 'http'} ${installed ? 'with' : 'without'} the policy`;
        await t.test(label, async (t) => {
          const request = client.make(t, creds.cert, secure);
          if (!request) {
            t.pass(`${client.name} over TLS: covered by the undici case`);
            return;
          }
          const handle = installed ? install(POLICY) : null;
          t.teardown(() => handle?.uninstall());
          const idles = [...client.idle[secure ? 'tls' : 'plain']];
          if (secure && tlsOptionApplied && client.tlsOption !== undefined) idles[0] ??= client.tlsOption;
          const library = idles.map((idle): Values =>
            idle === null ? { enabled: false } : { enabled: true, idle, interval: 1, count: 10 },
          ) as [Values, Values, Values];
          await phases(t, label, request, secure ? servers.tls : servers.plain, installed ? [EXPECTED, EXPECTED, EXPECTED] : library);
        });
      }
    }
  }
});

t.test('per-library factories, without install()', async (t) => {
  const creds = await tlsCredentials();
  const plain = await startServer(t, false);
  const secure = await startServer(t, true);
  const all: [Values, Values, Values] = [EXPECTED, EXPECTED, EXPECTED];

  const agent = createHttpAgent(POLICY);
  const sAgent = createHttpsAgent(POLICY, { ca: creds.cert });
  t.teardown(() => {
    agent.destroy();
    sAgent.destroy();
  });
  t.equal((agent as http.Agent & { keepAlive?: boolean }).keepAlive, true, 'createHttpAgent: keepAlive on by default');
  await phases(t, 'createHttpAgent', nodeRequest(agent), plain, all);
  await phases(t, 'createHttpsAgent', nodeRequest(sAgent), secure, all);
  const viaAxios = axios.create({ httpAgent: agent, httpsAgent: sAgent, lookup: loopbackLookup } as Parameters<typeof axios.create>[0]);
  await phases(t, 'axios with createHttpAgent', async (url) => (await viaAxios.get<string>(url, { responseType: 'text' })).data, plain, all);

  const dispatcher = createUndiciDispatcher<undici.Agent>(undici, POLICY, { connect: { ca: creds.cert, lookup: loopbackLookup } });
  t.teardown(() => dispatcher.close());
  for (const server of [plain, secure]) {
    await phases(t, `undici.request with createUndiciDispatcher ${server === plain ? 'http' : 'https'}`, async (url) => (await undici.request(url, { dispatcher })).body.text(), server, all);
    await phases(t, `undici.fetch with createUndiciDispatcher ${server === plain ? 'http' : 'https'}`, async (url) => (await undici.fetch(url, { dispatcher })).text(), server, all);
  }
  const previous = undici.getGlobalDispatcher();
  undici.setGlobalDispatcher(dispatcher);
  t.teardown(() => undici.setGlobalDispatcher(previous));
  await phases(t, 'global fetch after setGlobalDispatcher(createUndiciDispatcher(...))', async (url) => (await fetch(url)).text(), secure, all);

  t.throws(() => createUndiciDispatcher({} as never, POLICY), { code: 'ERR_INVALID_ARG_TYPE' }, 'needs the undici module');
  t.throws(() => createHttpAgent({ idle: 1 }), { code: 'ERR_INVALID_ARG_VALUE' }, 'a policy names idle, interval and count');
});
