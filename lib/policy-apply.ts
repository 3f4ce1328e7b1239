// A policy's state and how it reaches one socket: which sockets it covers
// (decided once per socket), applying its prepared settings, turning
// keepalive off, and reporting failures once as a TcpKeepaliveWarning.
// Shared by the process-wide hooks (policy-patch.ts) and attachPolicy
// (policy-attach.ts).
import type * as net from 'node:net';

import { internalsOf, keepaliveRecordOf } from './handle';
import { applyPrepared, applyValidated, prepareSettings, setKeepalive } from './keepalive';
import type { PolicySettings } from './policy-spec';
import { validOptions, type ValidOptions } from './validate';

/** Which end of a connection a socket is. */
export type Side = 'client' | 'server';

export type Filter = (socket: net.Socket, side: Side) => boolean;

export interface ActivePolicy {
  readonly settings: PolicySettings;
  /** The settings as a native request, prepared once (null: apply them the general way). */
  readonly prepared: Int32Array | null;
  /** The settings as setKeepalive validated them, applied without re-validation. */
  readonly valid: ValidOptions;
  readonly clients: boolean;
  readonly servers: boolean;
  readonly filter: Filter | undefined;
  /** Per socket: does the policy apply to it (decided once, when connected). */
  readonly decisions: WeakMap<net.Socket, boolean>;
  /** Warning codes already reported for this policy. */
  readonly warned: Set<string>;
}

type Coded = Error & { code?: string };

/** Symbol-keyed properties the policy keeps on a socket (they go with it). */
export type Marked = Record<symbol, unknown>;

// The policy's mark on a socket, in one symbol-keyed property (overwritten,
// never deleted, so the socket keeps its shape): AWAITING while the connect
// hook's listener is on it, then the policy last applied to it. Not
// WeakSets: adding young keys to a long-lived WeakSet takes V8's slow
// ephemeron write barrier, which was the largest JavaScript cost per
// connection.
export const kMark = Symbol('tcpKeepalivePolicy');
export const AWAITING = Symbol('awaiting connect');
// Set on a socket that arrived connected (from another process, or made
// over a descriptor): it counts as a server-side socket.
export const kHandedOver = Symbol('tcpKeepaliveHandedOver');

// Errors that mean "not a socket the policy can apply to": left alone silently.
const IGNORED = new Set(['ERR_SOCKET_CLOSED', 'ERR_KEEPALIVE_NOT_TCP', 'ERR_KEEPALIVE_NOT_CONNECTED']);

export function activePolicy(settings: PolicySettings, clients: boolean, servers: boolean, filter: Filter | undefined): ActivePolicy {
  const valid = validOptions(true, settings.idle, settings.interval, settings.count, settings.userTimeout);
  return { settings, prepared: prepareSettings(settings), valid, clients, servers, filter, decisions: new WeakMap(), warned: new Set() };
}

export function sideOf(socket: net.Socket): Side {
  const s = internalsOf(socket);
  return s.server || s._server || s._tlsOptions?.isServer || (socket as unknown as Marked)[kHandedOver] === true ? 'server' : 'client';
}

/** Whether the policy applies to this connected socket; decided once per socket. */
export function covers(policy: ActivePolicy, socket: net.Socket): boolean {
  // Without a filter the side alone decides: nothing to remember per socket.
  if (policy.filter === undefined) return sideOf(socket) === 'client' ? policy.clients : policy.servers;
  let decision = policy.decisions.get(socket);
  if (decision !== undefined) return decision;
  const side = sideOf(socket);
  decision = side === 'client' ? policy.clients : policy.servers;
  if (decision && policy.filter) {
    try {
      decision = Boolean(policy.filter(socket, side));
    } catch (error) {
      decision = false;
      warnOnce(policy, error as Coded, 'the policy filter threw; the socket was left alone');
    }
  }
  policy.decisions.set(socket, decision);
  return decision;
}

export function applyPolicy(policy: ActivePolicy, socket: net.Socket): void {
  try {
    if (policy.prepared !== null) applyPrepared(socket, policy.prepared);
    else applyValidated(socket, policy.valid);
    (socket as unknown as Marked)[kMark] = policy;
  } catch (error) {
    const code = (error as Coded).code;
    if (code === 'ERR_KEEPALIVE_NOT_TCP') policy.decisions.set(socket, false);
    if (code !== undefined && IGNORED.has(code)) return;
    warnOnce(policy, error as Coded, 'could not apply the keepalive policy');
  }
}

function warnOnce(policy: ActivePolicy, error: Coded, what: string): void {
  const key = error.code ?? error.message;
  if (policy.warned.has(key)) return;
  policy.warned.add(key);
  const warning = new Error(`tcp-keepalive: ${what}: ${error.message}`, { cause: error }) as Coded;
  warning.name = 'TcpKeepaliveWarning';
  warning.code = error.code ?? 'ERR_KEEPALIVE_POLICY';
  process.emitWarning(warning);
}

export function turnOff(socket: net.Socket): void {
  try {
    setKeepalive(socket, { enable: false });
  } catch {
    // closed or not TCP: nothing to turn off
  }
}

/**
 * Whether the setKeepAlive call that just returned turned keepalive on, as
 * the running Node decided it: its own record of the call. Node 20 takes
 * Boolean(first argument), so setKeepAlive({ enable: false }) turns
 * keepalive ON there; Node versions with an options form read the object.
 * Without a record: Boolean(first), an object by its own `enable`.
 */
export function turnedOn(socket: net.Socket, first: unknown): boolean {
  const record = keepaliveRecordOf(socket);
  if (record !== null) return (socket as unknown as Marked)[record[0]] === true;
  if (first !== null && typeof first === 'object') return !Object.hasOwn(first, 'enable') || (first as { enable?: unknown }).enable !== false;
  return Boolean(first);
}
