// Why each connection this package configured ended: a record per ended
// connection, classified by the shared classifier (outcome.ts) from what the
// kernel still knew at that moment, and published to whoever listens.
//
// - Tracking costs two property writes per socket when it is configured
//   (setKeepalive, a policy, attachPolicy, the helpers): the settings in
//   force (an object the package already holds) and the time.
// - The end is seen in net.Socket#_destroy, which Node runs once per socket,
//   before it closes the descriptor. Only when the socket failed (an error)
//   is the kernel asked (TCP_INFO, one getsockopt): a normal close makes no
//   system call here.
// - A record is built only when someone receives them (a listener, a
//   diagnostics_channel subscriber, the stderr log, OpenTelemetry). The
//   counters are kept always: a few numbers, not per connection.
// - Addresses: once the connection ends with an error the kernel no longer
//   reports the peer, so while records are received the peer is read when
//   the socket is configured (a client's connect call gives it for free; an
//   accepted socket costs one getpeername). This end's address comes from
//   Node's cache, or, after a failure, from the kernel (it still knows it).
import * as diagnosticsChannel from 'node:diagnostics_channel';
import * as net from 'node:net';

import { computeDetectAfter } from './detect';
import { hideOwnFrames } from './errors';
import { closingTcpHandleOf, internalsOf, sideOf, type Side } from './handle';
import { readHealthFd, type TcpHealth } from './health';
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
  /** The peer's address (read when the socket was configured while records were received), or null (docs/ends.md). */
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

/** Something the package set on a socket: what setKeepalive read back, or a policy's target. */
export type Configured = KeepaliveState | { readonly prepared: Int32Array | null; readonly valid: { enable: boolean; idle?: number; interval?: number; count?: number; userTimeout?: number | 'auto' } };

type Marked = Record<symbol, unknown>;
// On a configured socket: what was set (the object itself, not a copy), when,
// and the addresses read for records.
const kSettings = Symbol('tcpKeepaliveEndSettings');
const kSince = Symbol('tcpKeepaliveEndSince');
const kRemote = Symbol('tcpKeepaliveEndRemote');
// Set when this side ended its writable side (end(): FIN) before the peer's FIN arrived.
const kClosedFirst = Symbol('tcpKeepaliveEndClosedFirst');

type Listener = (record: ConnectionEnd) => void;
const listeners = new Set<Listener>();
const channel = diagnosticsChannel.channel(CONNECTION_END_CHANNEL);
// Receivers inside the package (the stderr log, OpenTelemetry): like listeners, and counted apart.
const sinks = new Set<Listener>();

const counts = {
  covered: 0,
  ended: Object.fromEntries(END_REASONS.map((r) => [r, 0])) as Record<EndReason, number>,
  detection: { count: 0, min: Number.POSITIVE_INFINITY, max: 0, sum: 0 },
};

let hooked = false;

/** Whether anything receives records (then addresses are read when a socket is configured). */
export function recording(): boolean {
  return listeners.size > 0 || sinks.size > 0 || channel.hasSubscribers;
}

/**
 * Marks a socket as configured by this package, with what was set. Called
 * by every path that sets keepalive; `remote` when the caller knows the
 * peer's address without a system call (a client's connect arguments).
 * @internal
 */
export function track(socket: net.Socket, settings: Configured, remote?: EndAddress): void {
  const marked = socket as unknown as Marked;
  marked[kSettings] = settings;
  if (marked[kSince] === undefined) {
    marked[kSince] = performance.now();
    counts.covered++;
    if (!hooked) hookDestroy();
  }
  // A later attempt of autoSelectFamily brings the address actually tried.
  if ((remote !== undefined || marked[kRemote] === undefined) && recording()) marked[kRemote] = remote ?? peerOf(socket);
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

// _final runs once, when the socket's writable side ends (end(): Node
// shuts the descriptor down, FIN). Without allowHalfOpen Node also calls
// end() itself after the peer's FIN, so both sides look ended at the close:
// who sent FIN first is known only here.
// _destroy runs once per socket, before Node closes the descriptor.
function hookDestroy(): void {
  hooked = true;
  const final = net.Socket.prototype._final;
  net.Socket.prototype._final = function _final(this: net.Socket): void {
    const marked = this as unknown as Marked;
    if (marked[kSince] !== undefined && !peerFinished(this)) marked[kClosedFirst] = true;
    Reflect.apply(final, this, arguments);
  };
  const original = net.Socket.prototype._destroy;
  net.Socket.prototype._destroy = function _destroy(this: net.Socket, error: Error | null): void {
    if ((this as unknown as Marked)[kSince] !== undefined) ended(this, error);
    Reflect.apply(original, this, arguments);
  };
}

function settingsOf(configured: Configured): EndSettings {
  if ('source' in configured) {
    const { enabled, idle, interval, count, userTimeout } = configured;
    return { enabled, idle, interval, count, userTimeout };
  }
  const p = configured.prepared;
  if (p !== null) return { enabled: p[0] === 1, idle: p[1]!, interval: p[2]!, count: p[3]!, userTimeout: Math.max(0, p[4]!) };
  const v = configured.valid;
  const idle = v.idle ?? 0;
  const interval = v.interval ?? 0;
  const count = v.count ?? 0;
  const userTimeout = v.userTimeout === 'auto' ? idle + interval * count : (v.userTimeout ?? 0);
  return { enabled: v.enable, idle, interval, count, userTimeout };
}

function ended(socket: net.Socket, error: Error | null): void {
  const marked = socket as unknown as Marked;
  const since = marked[kSince] as number;
  marked[kSince] = undefined;
  // A connect that failed or was given up is no connection that ended (a
  // client is tracked from its connect attempt, on the handle path).
  if (internalsOf(socket).connecting || (error as Error & { syscall?: string } | null)?.syscall === 'connect') {
    counts.covered--;
    return;
  }
  const settings = settingsOf(marked[kSettings] as Configured);
  // Only a failure asks the kernel: a normal close costs no system call.
  const health = error ? kernelView(socket) : null;
  const code = error ? ((error as Error & { code?: unknown }).code ?? null) : null;
  const peerEnded = marked[kClosedFirst] !== true && peerFinished(socket);
  const outcome = classifyEnd({
    closedBy: error || peerEnded ? null : 'local',
    error: error ? { code: typeof code === 'string' ? code : null, message: error.message } : null,
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
  if (!recording()) return;
  const addresses = addressesAtEnd(socket, marked[kRemote] as EndAddress | null | undefined, error !== null);
  const host = (socket as unknown as { _host?: unknown })._host;
  const record: ConnectionEnd = {
    reason: outcome.reason,
    code: outcome.code,
    message: outcome.message,
    side: sideOf(socket),
    local: addresses.local,
    remote: addresses.remote && typeof host === 'string' && host !== addresses.remote.address ? { ...addresses.remote, host } : addresses.remote,
    settings,
    detectAfter: settings.enabled ? computeDetectAfter(settings.idle, settings.interval, settings.count, settings.userTimeout, supported.platform) : null,
    silence,
    probes: health?.probes ?? null,
    retransmits: health?.retransmits ?? null,
    unacked: health?.unacked ?? null,
    age: Math.round(performance.now() - since) / 1000,
    source: error ? outcome.source : 'socket',
    note: noteFor(outcome.reason, health, silence, settings),
    at: Date.now(),
  };
  publish(record);
}

function kernelView(socket: net.Socket): TcpHealth | null {
  const fd = closingTcpHandleOf(socket)?.fd ?? -1;
  return fd >= 0 ? readHealthFd(fd) : null;
}

// The addresses at the end: what Node had already read (its getters cache
// them) and the peer read when the socket was configured, with no system
// call; after a failure the kernel still reports this end's address (not
// the peer's), so an end with an error reads it.
function addressesAtEnd(socket: net.Socket, remote: EndAddress | null | undefined, failed: boolean): { local: EndAddress | null; remote: EndAddress | null } {
  const s = socket as unknown as { _sockname?: { address?: string; port?: number }; _peername?: { address?: string; port?: number } };
  let local = s._sockname ? endAddress(s._sockname) : null;
  if (local === null && failed) {
    const out: { address?: string; port?: number } = {};
    if (closingTcpHandleOf(socket)?.getsockname?.(out) === 0) local = endAddress(out);
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
    const warning = new Error(`tcp-keepalive: an onConnectionEnd listener threw: ${(error as Error).message}`, { cause: error });
    warning.name = 'TcpKeepaliveWarning';
    (warning as Error & { code?: string }).code = 'ERR_KEEPALIVE_LISTENER';
    process.emitWarning(warning);
  }
}

function publish(record: ConnectionEnd): void {
  for (const receive of listeners) deliver(receive, record);
  for (const receive of sinks) deliver(receive, record);
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

/** Adds a receiver inside the package (the log, metrics); returns its removal. @internal */
export function addSink(sink: Listener): () => void {
  sinks.add(sink);
  return () => void sinks.delete(sink);
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
