// Loopback traffic used by comparisons 3 and 4: connect + accept cycles and
// HTTP requests, a bounded number, with a bounded number in flight.
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';

import { startWatch, stopWatch, type Sample } from './interleave';

/** Comparison 3's traffic patterns (bench/traffic-child.ts runs one). */
export type TrafficKind = 'connect' | 'keepalive' | 'close';
/** The policy installed for comparisons 3 and 4. */
export const POLICY = 'general';
/** Connections (or new-connection requests) in flight. */
export const CONCURRENCY = 8;
/** Keep-alive requests in flight, through an agent with twice as many sockets. */
export const HTTP_CONCURRENCY = 4;

export interface CycleServer {
  port: number;
  /** Sockets the server accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/** A server that closes every connection it accepts. */
export async function cycleServer(): Promise<CycleServer> {
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    socket.on('error', () => {});
    socket.destroy();
  });
  server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 });
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Runs `n` operations, `concurrency` at a time: `start` begins one and calls
 * `done` when it has finished (or `fail`). Resolves with the elapsed and CPU
 * nanoseconds of all `n`.
 */
function inFlight(n: number, concurrency: number, start: (done: () => void, fail: (error: Error) => void) => void): Promise<Sample> {
  return new Promise((resolve, reject) => {
    let started = 0;
    let finished = 0;
    const watch = startWatch();
    const next = (): void => {
      if (started >= n) return;
      started++;
      start(() => {
        finished++;
        if (finished === n) resolve(stopWatch(watch));
        else next();
      }, reject);
    };
    for (let i = 0; i < Math.min(concurrency, n); i++) next();
  });
}

/**
 * `n` connect + accept cycles to `port`, `concurrency` at a time: the client
 * connects, the server accepts and closes, the client sees the close.
 * Returns the elapsed and CPU nanoseconds.
 */
export async function connectCycles(port: number, n: number, concurrency: number): Promise<Sample> {
  let connected = 0;
  const sample = await inFlight(n, concurrency, (done, fail) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => connected++);
    socket.once('error', fail);
    socket.once('close', done);
  });
  if (connected !== n) throw new Error(`bench: ${n - connected} of ${n} connections never connected`);
  return sample;
}

export interface HttpServer {
  port: number;
  /** Connections the server accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export async function httpServer(): Promise<HttpServer> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.end('ok');
  });
  server.keepAliveTimeout = 30000;
  let connections = 0;
  server.on('connection', () => connections++);
  server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 });
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * `n` GET requests through `agent`, `concurrency` at a time; with `close`,
 * each request asks for `Connection: close`, so each gets a new connection.
 * Returns the elapsed and CPU nanoseconds.
 */
export function httpRequests(port: number, agent: http.Agent, n: number, concurrency: number, close = false): Promise<Sample> {
  const headers = close ? { connection: 'close' } : {};
  return inFlight(n, concurrency, (done, fail) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent, headers }, (res) => {
      if (res.statusCode !== 200) fail(new Error(`bench: HTTP ${res.statusCode}`));
      res.resume();
      res.once('end', done);
    });
    req.once('error', fail);
  });
}
