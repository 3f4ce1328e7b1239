// Why each connection this package configured ended: a record per ended
// connection, classified by the shared classifier (outcome.ts) from what the
// kernel still knew at that moment, and published to whoever listens.
//
// - Tracking costs one small object per connection, in one property of its
//   socket, when it is configured (setKeepalive, a policy, attachPolicy, the
//   helpers): the settings in force (an object the package already holds),
//   the time, and two slots filled later.
// - The end is seen in net.Socket#_destroy, which Node runs once per socket,
//   before it closes the descriptor. Only when the socket failed (an error)
//   is the kernel asked (TCP_INFO, one getsockopt): a normal close makes no
//   system call here.
// - A record is built only when someone receives them (a listener, a
//   diagnostics_channel subscriber, the stderr log, OpenTelemetry). The
//   counters are kept always: a few numbers, not per connection.
// - Addresses: after a failure, both are read from the kernel before the
//   descriptor closes (Linux: getsockname and SO_PEERNAME, which still
//   answers when getpeername gives ENOTCONN). On a clean end no system
//   call: what Node had read (its getters cache them), a client's connect
//   arguments, and the peer read when the socket was configured while
//   records were received: by setKeepalive always, by a policy only where
//   the kernel forgets the peer of a failed connection (not Linux).
import * as diagnosticsChannel from 'node:diagnostics_channel';
import * as net from 'node:net';

import { Field, KEEP } from './binding';

import { computeDetectAfter } from './detect';
import { hideOwnFrames, keepaliveWarning } from './errors';
import { closingTcpHandleOf, internalsOf, sideOf, type Side } from './handle';
import type { Marked } from './policy-apply';
import { addressesReadableAtEnd, readAddressesFd, readHealthFd, type TcpHealth } from './health';
import type { KeepaliveState } from './keepalive';
import { classifyEnd, END_REASONS, type EndReason } from './outcome';
import { supported } from './supported';
import { validateFunction } from './validate';

export type { EndReason } from './outcome';

/** The diagnostics_channel every ConnectionEnd record is published on. */
export const CONNECTION_END_CHANNEL = 'tcp-keepalive:connection-end';

/** An address and port. */
export interface EndAddress {
  address: string;
  port: number;
}

/** The keepalive settings a connection had when it ended. Durations in seconds. */
export interface EndSettings {
  enabled: boolean;
  idle: number;
  interval: number;
  count: number;
  /** 0 = the OS default (no bound of its own). */
  userTimeout: number;
}

/** How one connection ended. Durations in seconds. */
export interface ConnectionEnd {
  /** Why it ended (see `END_REASONS` and docs/ends.md). */
  reason: EndReason;
  /** The socket error's code (ETIMEDOUT, ECONNRESET, ...), or null for a clean end. */
  code: string | null;
  /** The socket error's message, or null. */
  message: string | null;
  side: Side;
  /** This end's address: after a failure read from the kernel; on a clean end, when Node had read it (`socket.localPort`), else null. */
  local: EndAddress | null;
  /**
   * The peer's address, or null. After a failure read from the kernel
   * (Linux); on a clean end the connect target of a client, what Node had
   * read (`socket.remoteAddress`), or what setKeepalive read while records
   * were received (a policy reads it then only where the kernel forgets the
   * peer of a failed connection: not on Linux). See docs/ends.md.
   */
  remote: (EndAddress & { host?: string }) | null;
  /** The settings in force when it ended, as this package last set them. */
  settings: EndSettings;
  /** The worst case to detect a silent peer under those settings (detectAfter), or null with keepalive off. */
  detectAfter: number | null;
  /**
   * Seconds from the last segment received (data or acknowledgement) to the
   * end, as the kernel counted it: the detection time to compare with
   * `detectAfter`; for a reset, how long the connection had been idle.
   * Null when the kernel was not asked (a clean end) or could not say.
   */
  silence: number | null;
  /** Keepalive probes unanswered at the end, where known. */
  probes: number | null;
  /** Retransmissions of the oldest unacknowledged segment at the end, where known. */
  retransmits: number | null;
  /** Segments unacknowledged at the end, where known (Linux drops them when it gives up: 0). */
  unacked: number | null;
  /** Seconds since this package configured the connection. */
  age: number;
  /**
   * What decided the reason: 'tcp-info' (the kernel's view, read before the
   * descriptor closed), 'error-code' (only the error and the settings: the
   * OS reported nothing useful), 'socket' (a clean end: the socket's own state).
   */
  source: 'tcp-info' | 'error-code' | 'socket';
  /** A sentence on what the end suggests (a middlebox that forgets idle flows, ...), or null. */
  note: string | null;
  /** When it ended (Date.now()). */
  at: number;
}

/** Counts since the process started (or the package was loaded). */
export interface ConnectionCounters {
  /** Connections this package configured (a connect that failed or was given up is not counted). */
  covered: number;
  /** Connections that ended, by reason. */
  ended: Record<EndReason, number>;
  /** Detection time (`silence`) of ends by keepalive, user-timeout and retransmission, seconds; null fields when none. */
  detection: { count: number; min: number | null; max: number | null; mean: number | null };
}

/**
 * What the package set on a socket: the state setKeepalive read back, or a
 * policy's prepared native request (Field order; KEEP where it leaves a
 * setting as it was).
 */
export type Configured = KeepaliveState | Int32Array;

// A configured connection, in one symbol-keyed property of its socket
// (undefined once it ended; overwritten, never deleted, so the socket keeps
// its shape): one small object, not a property per field, because adding
// properties to a net.Socket grows its property store.
interface Tracked {
  /** What was set: the object itself, not a copy. */
  settings: Configured;
  /** Date.now() when it was first configured. */
  since: number;
  /** The peer noted for records (undefined: not noted). */
  remote: EndAddress | null | undefined;
  /** Whether this side sent FIN before the peer's arrived (undefined until its writable side ends). */
  closedFirst: boolean | undefined;
}
const kTracked = Symbol('tcpKeepaliveEnd');

type Listener = (record: ConnectionEnd) => void;
const listeners = new Set<Listener>();
const channel = diagnosticsChannel.channel(CONNECTION_END_CHANNEL);

const counts = {
  covered: 0,
  ended: Object.fromEntries(END_REASONS.map((r) => [r, 0])) as Record<EndReason, number>,
  detection: { count: 0, min: Number.POSITIVE_INFINITY, max: 0, sum: 0 },
};

let hooked = false;

/** Whether anything receives records (then addresses are read when a socket is configured). */
export function recording(): boolean {
  return listeners.size > 0 || channel.hasSubscribers;
}

/**
 * Marks a socket as configured by this package, with what was set. Called
 * by every path that sets keepalive; `address` and `port` when the caller
 * knows the peer without a system call (a client's connect arguments).
 * @internal
 */
export function track(socket: net.Socket, settings: Configured, address?: unknown, port?: unknown): void {
  // A TLS socket over a socket already tracked is the same connection: one record (see trackedOf).
  const tracked = trackedOf(socket);
  if (tracked === undefined) {
    // A new connection (a net.Socket can connect again after it closed).
    const fresh: Tracked = { settings, since: Date.now(), remote: undefined, closedFirst: undefined };
    (socket as unknown as Marked)[kTracked] = fresh;
    counts.covered++;
    if (!hooked) hookDestroy();
    if (recording()) noteRemote(socket, fresh, settings, address, port);
    return;
  }
  // More settings on this connection.
  tracked.settings = isRequest(settings) && settings[Field.UserTimeout] === KEEP ? keptUserTimeout(settings, tracked.settings) : settings;
  if (recording()) noteRemote(socket, tracked, settings, address, port);
}

function noteRemote(socket: net.Socket, tracked: Tracked, settings: Configured, address: unknown, port: unknown): void {
  // A connect attempt: the address tried (a later attempt of autoSelectFamily brings the one that connects).
  if (typeof address === 'string' && typeof port === 'number') tracked.remote = { address, port };
  // setKeepalive reads the peer (it reads its settings back anyway); a
  // policy's request does only where the kernel forgets it after a failure.
  // (null: asked while still connecting; asked again on the next call.)
  else if (tracked.remote == null && (!isRequest(settings) || !addressesReadableAtEnd(closingTcpHandleOf(socket)?.fd ?? -1))) tracked.remote = peerOf(socket);
}

const isRequest = (settings: Configured): settings is Int32Array => settings instanceof Int32Array;

// A policy request that leaves userTimeout as it was, over settings that had
// one: the record names the one still in force (rare: a policy applied again
// after setKeepalive set a userTimeout).
function keptUserTimeout(request: Int32Array, previous: Configured): Int32Array {
  const kept = settingsOf(previous).userTimeout;
  if (kept === 0) return request;
  const merged = Int32Array.from(request);
  merged[Field.UserTimeout] = kept;
  return merged;
}

// The peer, through Node's getter (which caches it: the application reading
// it later costs nothing more); null while connecting.
function peerOf(socket: net.Socket): EndAddress | null {
  return endAddress({ address: socket.remoteAddress, port: socket.remotePort });
}

function endAddress(a: { address?: string; port?: number }): EndAddress | null {
  return typeof a.address === 'string' && typeof a.port === 'number' ? { address: a.address, port: a.port } : null;
}

const peerFinished = (socket: net.Socket): boolean =>
  (socket as unknown as { _readableState?: { ended?: boolean } })._readableState?.ended === true;

// The connection a socket is part of: its own, or, for a TLS socket over a
// socket this package configured (a TLS server's accepted socket,
// tls.connect({ socket })), that socket's: errors and the peer's close
// arrive at the TLS socket, and Node destroys it before the one under it.
function trackedOf(socket: net.Socket): Tracked | undefined {
  const own = (socket as unknown as Marked)[kTracked] as Tracked | undefined;
  if (own !== undefined) return own;
  const parent = (socket as unknown as { _parent?: unknown })._parent;
  return parent instanceof net.Socket ? ((parent as unknown as Marked)[kTracked] as Tracked | undefined) : undefined;
}

// Which socket holds it (to clear it when the connection ends).
function holderOf(socket: net.Socket): Marked {
  const own = socket as unknown as Marked;
  return own[kTracked] !== undefined ? own : ((socket as unknown as { _parent: Marked })._parent);
}

// _final runs once, when the socket's writable side ends (end(): Node
// shuts the descriptor down, FIN). Without allowHalfOpen Node also calls
// end() itself after the peer's FIN, so both sides look ended at the close:
// who sent FIN first is known only here (the first _final decides: a TLS
// socket's, before the one under it).
// _destroy runs once per socket, before Node closes the descriptor.
function hookDestroy(): void {
  hooked = true;
  // Node's own (callback) parameters passed on as they are: no arguments object per call.
  const final = net.Socket.prototype._final;
  net.Socket.prototype._final = function _final(this: net.Socket, callback: (error?: Error | null) => void): void {
    const tracked = trackedOf(this);
    if (tracked !== undefined && tracked.closedFirst === undefined) tracked.closedFirst = !peerFinished(this);
    final.call(this, callback);
  };
  const original = net.Socket.prototype._destroy;
  net.Socket.prototype._destroy = function _destroy(this: net.Socket, error: Error | null, callback: (error?: Error | null) => void): void {
    const tracked = trackedOf(this);
    if (tracked !== undefined) {
      holderOf(this)[kTracked] = undefined;
      ended(this, tracked, error);
    }
    original.call(this, error, callback);
  };
}

// A policy's request is shared by all its sockets: so are its settings, frozen.
const requestSettings = new WeakMap<Int32Array, Readonly<EndSettings>>();

function settingsOf(configured: Configured): EndSettings {
  if (!isRequest(configured)) {
    const { enabled, idle, interval, count, userTimeout } = configured;
    return { enabled, idle, interval, count, userTimeout };
  }
  let settings = requestSettings.get(configured);
  if (settings === undefined) {
    settings = Object.freeze({
      enabled: configured[Field.Enable] === 1,
      idle: configured[Field.Idle]!,
      interval: configured[Field.Interval]!,
      count: configured[Field.Count]!,
      userTimeout: Math.max(0, configured[Field.UserTimeout]!),
    });
    requestSettings.set(configured, settings);
  }
  return settings;
}

function ended(socket: net.Socket, tracked: Tracked, error: Error | null): void {
  const closedFirst = tracked.closedFirst === true;
  // A connect that failed or was given up is no connection that ended (a
  // client is tracked from its connect attempt, on the handle path); nor is
  // a socket whose handle went to another process (child.send): the
  // connection lives on there.
  const s = internalsOf(socket);
  if (s.connecting || s._handle === null || (error as Error & { syscall?: string } | null)?.syscall === 'connect') {
    counts.covered--;
    return;
  }
  const peerEnded = !closedFirst && peerFinished(socket);
  if (error === null) {
    // A clean end: decided by who closed first, with no system call.
    const reason: EndReason = peerEnded ? 'peer-closed' : 'local';
    if (peerEnded) counts.ended['peer-closed']++;
    else counts.ended.local++;
    if (recording()) publish(recordOf(socket, tracked, reason, null, null, null, null, 'socket'));
    return;
  }
  const settings = settingsOf(tracked.settings);
  // Only a failure asks the kernel: a normal close costs no system call.
  const health = kernelView(socket);
  const code = (error as Error & { code?: unknown }).code ?? null;
  const outcome = classifyEnd({
    closedBy: null,
    error: { code: typeof code === 'string' ? code : null, message: error.message },
    peerEnded,
    // Where the OS reports neither probes nor retransmissions (macOS, Windows),
    // the kernel's view cannot tell the reasons apart: the error code decides.
    health: health !== null && (health.probes !== null || health.retransmits !== null) ? health : null,
    peakProbes: 0,
    peakRetransmits: 0,
    settings: { count: settings.count, userTimeout: settings.userTimeout },
  });
  const silence = health?.lastReceivedMs != null ? health.lastReceivedMs / 1000 : null;
  count(outcome.reason, silence);
  if (recording()) publish(recordOf(socket, tracked, outcome.reason, outcome, health, silence, settings, outcome.source));
}

// The record, built only when someone receives it.
function recordOf(
  socket: net.Socket,
  tracked: Tracked,
  reason: EndReason,
  outcome: { code: string | null; message: string | null } | null,
  health: TcpHealth | null,
  silence: number | null,
  known: EndSettings | null,
  source: ConnectionEnd['source'],
): ConnectionEnd {
  const configured = tracked.settings;
  const settings = known ?? settingsOf(configured);
  const at = Date.now();
  const addresses = addressesAtEnd(socket, tracked.remote, outcome !== null);
  const host = internalsOf(socket)._host;
  return {
    reason,
    code: outcome?.code ?? null,
    message: outcome?.message ?? null,
    side: sideOf(socket),
    local: addresses.local,
    remote: addresses.remote && typeof host === 'string' && host !== addresses.remote.address ? { ...addresses.remote, host } : addresses.remote,
    settings,
    detectAfter: isRequest(configured) || known !== null ? detectAfterOf(settings) : configured.detectAfter,
    silence,
    probes: health?.probes ?? null,
    retransmits: health?.retransmits ?? null,
    unacked: health?.unacked ?? null,
    age: (at - tracked.since) / 1000,
    source,
    note: noteFor(reason, health, silence, settings),
    at,
  };
}

function detectAfterOf(settings: EndSettings): number | null {
  return settings.enabled ? computeDetectAfter(settings.idle, settings.interval, settings.count, settings.userTimeout, supported.platform) : null;
}

function kernelView(socket: net.Socket): TcpHealth | null {
  const fd = closingTcpHandleOf(socket)?.fd ?? -1;
  return fd >= 0 ? readHealthFd(fd) : null;
}

// The addresses at the end. After a failure: from the kernel (Linux, both;
// elsewhere this end's only). Otherwise, with no system call: what Node had
// already read (its getters cache them) and the peer noted at configure.
function addressesAtEnd(socket: net.Socket, remote: EndAddress | null | undefined, failed: boolean): { local: EndAddress | null; remote: EndAddress | null } {
  const handle = failed ? closingTcpHandleOf(socket) : null;
  const read = handle !== null ? readAddressesFd(handle.fd ?? -1) : null;
  if (read !== null) return read;
  const s = socket as unknown as { _sockname?: { address?: string; port?: number }; _peername?: { address?: string; port?: number } };
  let local = s._sockname ? endAddress(s._sockname) : null;
  if (local === null && handle !== null) {
    const out: { address?: string; port?: number } = {};
    if (handle.getsockname?.(out) === 0) local = endAddress(out);
  }
  return { local, remote: remote ?? (s._peername ? endAddress(s._peername) : null) };
}

/** A reset after the connection sat idle about as long as keepalive waits, or answering a probe: a middlebox forgot the flow. */
export function noteFor(reason: EndReason, health: Pick<TcpHealth, 'probes'> | null, silence: number | null, settings: EndSettings): string | null {
  if (reason !== 'reset' || silence === null) return null;
  const probed = (health?.probes ?? 0) > 0;
  if (!probed && !(settings.enabled && silence >= settings.idle * 0.9)) return null;
  return (
    `reset ${probed ? 'answering a keepalive probe ' : ''}after ${silence.toFixed(1)} s idle: the signature of a NAT or load balancer ` +
    'that forgot the flow; if it repeats after the same idle, set idle below it'
  );
}

function count(reason: EndReason, silence: number | null): void {
  counts.ended[reason]++;
  if (silence === null || (reason !== 'keepalive' && reason !== 'user-timeout' && reason !== 'retransmission')) return;
  const d = counts.detection;
  d.count++;
  d.sum += silence;
  d.min = Math.min(d.min, silence);
  d.max = Math.max(d.max, silence);
}

let listenerFailed = false;

function deliver(receive: Listener, record: ConnectionEnd): void {
  try {
    receive(record);
  } catch (error) {
    // Inside Node's destroy: a throwing listener must not break the close.
    if (listenerFailed) return;
    listenerFailed = true;
    process.emitWarning(keepaliveWarning(`tcp-keepalive: an onConnectionEnd listener threw: ${(error as Error).message}`, 'ERR_KEEPALIVE_LISTENER', error));
  }
}

function publish(record: ConnectionEnd): void {
  for (const receive of listeners) deliver(receive, record);
  if (channel.hasSubscribers) channel.publish(record);
}

/**
 * Calls `listener` with a ConnectionEnd record each time a connection this
 * package configured ends (synchronously, while Node closes it). Returns a
 * function that removes the listener. Throws ERR_INVALID_ARG_TYPE for a
 * listener that is not a function.
 */
export function onConnectionEnd(listener: (record: ConnectionEnd) => void): () => void {
  try {
    validateFunction(listener, 'listener');
  } catch (error) {
    throw hideOwnFrames(error, onConnectionEnd);
  }
  const own = (record: ConnectionEnd): void => listener(record);
  listeners.add(own);
  return () => void listeners.delete(own);
}

/** A snapshot of the counters (a new object each call). */
export function connectionCounters(): ConnectionCounters {
  const d = counts.detection;
  return {
    covered: counts.covered,
    ended: { ...counts.ended },
    detection: {
      count: d.count,
      min: d.count > 0 ? d.min : null,
      max: d.count > 0 ? d.max : null,
      mean: d.count > 0 ? d.sum / d.count : null,
    },
  };
}
