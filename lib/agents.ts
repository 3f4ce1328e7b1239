// Per-library hooks, for code that wants a policy on some connections
// without the process-wide `install()`: each socket gets the policy when it
// connects and again after every setKeepAlive(true, ...) on it (see
// attachPolicy in policy.ts).
//
// undici is not a dependency of this package: pass your own `undici`
// module, so the dispatcher is built by the same undici the application uses.
// http and https are loaded when an agent is first made, not with the
// package: https brings tls and crypto, milliseconds of start-up.
import type * as http from 'node:http';
import type * as https from 'node:https';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';

import { invalidArgType } from './errors';
import { ownValue, validateObject } from './validate';
import { attachSettings, resolvePolicy, type PolicySettings, type PolicySpec } from './policy';

type CreateConnection = (options: object, callback?: (error: Error | null, socket: Duplex) => void) => Duplex | null | undefined;

function wrapCreateConnection(agent: http.Agent, settings: PolicySettings): void {
  const internal = agent as unknown as { createConnection: CreateConnection };
  const create = internal.createConnection;
  internal.createConnection = function createConnection(this: http.Agent, options, callback) {
    const socket = create.call(this, options, callback);
    if (socket instanceof net.Socket) attachSettings(socket, settings);
    return socket;
  };
}

/**
 * An `http.Agent` (keepAlive: true unless set) whose sockets keep the
 * policy for their whole life, also across the agent's own
 * setKeepAlive(true, keepAliveMsecs) on every reuse.
 */
export function createHttpAgent(policy: PolicySpec = 'general', options?: http.AgentOptions): http.Agent {
  const settings = resolvePolicy(policy);
  const { Agent } = require('node:http') as typeof http;
  const agent = new Agent({ keepAlive: true, ...options });
  wrapCreateConnection(agent, settings);
  return agent;
}

/** The same for `https.Agent`. */
export function createHttpsAgent(policy: PolicySpec = 'general', options?: https.AgentOptions): https.Agent {
  const settings = resolvePolicy(policy);
  const { Agent } = require('node:https') as typeof https;
  const agent = new Agent({ keepAlive: true, ...options });
  wrapCreateConnection(agent, settings);
  return agent;
}

// Declared as a method so undici's own, more precise connector type is
// assignable to it (method parameters are compared bivariantly).
interface ConnectorMethod {
  connector(options: object, callback: (error: Error | null, socket: Duplex | null) => void): unknown;
}

/** undici's connector: `(options, callback)` calling back with the connected socket. */
export type UndiciConnector = ConnectorMethod['connector'];

/** The parts of the `undici` module used here. */
export interface UndiciModule {
  buildConnector(options?: object): UndiciConnector;
  Agent: new (options?: object) => object;
}

function checkUndici(undici: unknown): asserts undici is UndiciModule {
  const u = undici as Partial<UndiciModule> | null;
  if (u === null || typeof u !== 'object' || typeof u.buildConnector !== 'function' || typeof u.Agent !== 'function') {
    throw invalidArgType('undici', 'the undici module (require("undici"))', undici);
  }
}

/**
 * An undici connector (the `connect` option of undici's Agent, Pool or
 * Client) that applies the policy to each connection once it is
 * established, after undici's own setKeepAlive.
 * `connectOptions` are those of undici's `buildConnector`.
 */
export function createUndiciConnector(undici: UndiciModule, policy: PolicySpec = 'general', connectOptions?: object): UndiciConnector {
  checkUndici(undici);
  const settings = resolvePolicy(policy);
  const connect = undici.buildConnector(connectOptions ?? {});
  return function keepaliveConnector(options, callback) {
    return connect(options, (error, socket) => {
      if (error === null && socket instanceof net.Socket) attachSettings(socket, settings);
      callback(error, socket);
    });
  };
}

/**
 * An undici `Agent` using that connector; `undici.setGlobalDispatcher()`
 * with it makes Node's global `fetch` use it too. `options` are undici
 * Agent options; an object `options.connect` is passed to buildConnector.
 */
export function createUndiciDispatcher<D extends object = object>(
  undici: UndiciModule,
  policy: PolicySpec = 'general',
  options: { connect?: object } & Record<string, unknown> = {},
): D {
  checkUndici(undici);
  validateObject(options, 'options');
  // Own properties only, as everywhere in the package.
  const connect = ownValue(options, 'connect');
  if (connect !== undefined) validateObject(connect, 'options.connect');
  const rest: Record<string, unknown> = { ...options };
  delete rest.connect;
  return new undici.Agent({ ...rest, connect: createUndiciConnector(undici, policy, connect) }) as D;
}

/**
 * A socket factory for pg's `stream` option (`new pg.Client({ stream })`,
 * also in a `pg.Pool`): each connection gets a new net.Socket carrying the
 * policy. pg connects it, upgrades it to TLS when `ssl` is set, and its
 * keepAlive option (setKeepAlive on 'connect') cannot wipe the policy.
 */
export function pgStream(policy: PolicySpec = 'general'): () => net.Socket {
  const settings = resolvePolicy(policy);
  return () => attachSettings(new net.Socket(), settings);
}

/** What mysql2 passes to a `stream` function. */
export interface MysqlStreamOptions {
  config: { host?: string; port?: number; socketPath?: string };
}

/**
 * A socket factory for mysql2's `stream` option (createConnection and
 * createPool): connects to the configured host and port (or socketPath,
 * left alone as it is not TCP) with the policy. mysql2's own
 * enableKeepAlive does not apply to streams it is given.
 */
export function mysqlStream(policy: PolicySpec = 'general'): (options: MysqlStreamOptions) => net.Socket {
  const settings = resolvePolicy(policy);
  return ({ config }) => {
    if (config.socketPath) return net.connect(config.socketPath);
    const socket = net.connect(config.port ?? 3306, config.host ?? 'localhost');
    socket.setNoDelay(true);
    return attachSettings(socket, settings);
  };
}
