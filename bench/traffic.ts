// Loopback traffic used by comparisons 3 and 4: connect + accept cycles and
// HTTP requests, a bounded number, with a bounded number in flight.
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';

import { startWatch, stopWatch, type Sample } from './interleave';

/** Comparison 3's traffic patterns (bench/traffic-child.ts runs one). */
export type TrafficKind = 'connect' | 'keepalive' | 'close' | 'pg-query' | 'pg-connect';
/** The environment variable that gives the pg patterns' children the server's port. */
export const PG_PORT_VARIABLE = 'TCP_KEEPALIVE_BENCH_PG_PORT';
/** Queries in flight through the pool (twice its size), and connections in flight. */
export const PG_CONCURRENCY = 8;
export const PG_POOL_SIZE = 4;
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

type Pg = typeof import('pg');
// pg is loaded by the pg patterns' children only.
const pg = (): Pg => require('pg') as Pg;
const pgConfig = (port: number) => ({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });

/** A pool of PG_POOL_SIZE connections to the PostgreSQL on `port`, every connection open. */
export async function pgPool(port: number): Promise<import('pg').Pool> {
  const pool = new (pg().Pool)({ ...pgConfig(port), max: PG_POOL_SIZE });
  const clients = await Promise.all(Array.from({ length: PG_POOL_SIZE }, () => pool.connect()));
  for (const c of clients) c.release();
  return pool;
}

/** `n` queries (SELECT 1) through the pool, `concurrency` at a time: the connections stay open. */
export function pgQueries(pool: import('pg').Pool, n: number, concurrency: number): Promise<Sample> {
  return inFlight(n, concurrency, (done, fail) => {
    pool.query('SELECT 1').then(() => done(), fail);
  });
}

/** `n` times a new pg.Client: connect, SELECT 1, end; `concurrency` at a time. */
export function pgConnects(port: number, n: number, concurrency: number): Promise<Sample> {
  return inFlight(n, concurrency, (done, fail) => {
    const client = new (pg().Client)(pgConfig(port));
    client
      .connect()
      .then(() => client.query('SELECT 1'))
      .then(() => client.end())
      .then(() => done(), fail);
  });
}

