// setKeepalive / getKeepalive: validated options in, one native call, the
// state read back from the kernel out.
import type { Socket } from 'node:net';

import { binding, Field, FIELD_COUNT, KEEP, Out } from './binding';
import { computeDetectAfter } from './detect';
import { track } from './ends';
import { hideOwnFrames, keepaliveWarning, systemError, notConnected, outOfRange } from './errors';
import { descriptorOf, isPending, onceConnected, targetOf, type Target } from './handle';
import { supported, SETTING_FIELDS } from './supported';
import { definedOptions, mergeOptions, validOptions, validateOptions, validateSocket, type KeepaliveOptions, type ValidOptions } from './validate';

/** A socket's keepalive settings as the OS holds them. Durations in seconds. */
export interface KeepaliveState {
  enabled: boolean;
  /** Seconds of silence before the first probe. */
  idle: number;
  /** Seconds between unanswered probes. */
  interval: number;
  /** Unanswered probes before the connection is declared dead. */
  count: number;
  /** Seconds unacknowledged data may wait before the connection drops; 0 = system default. */
  userTimeout: number;
  /** Worst-case seconds to detect a silently dead peer while idle; null when keepalive is off. */
  detectAfter: number | null;
  /**
   * 'kernel' when every value was read back from the OS; 'requested' when the
   * OS cannot report some of them (see `supported.read`) and those are the
   * values last set through this package, or the OS default if none was.
   */
  source: 'kernel' | 'requested';
}

/** What `setKeepalive` returns for a socket that is still connecting. */
export interface PendingKeepalive {
  source: 'pending';
  /** The options that will be applied on 'connect' (later calls merged in). */
  requested: Readonly<KeepaliveOptions>;
}

// One request and one result buffer per thread: every call is synchronous.
// Backed by explicit ArrayBuffers, which V8 never moves: the functions bind()
// returns keep their addresses, so they take a descriptor only, and another
// copy of this module (over the same addon) gets functions of its own.
const request = new Int32Array(new ArrayBuffer(FIELD_COUNT * Int32Array.BYTES_PER_ELEMENT));
const out = new Int32Array(new ArrayBuffer(Out.Length * Int32Array.BYTES_PER_ELEMENT));
const bound = binding.bind(request, out);
const ALL_READ = (1 << FIELD_COUNT) - 1;
const UNSETTABLE = SETTING_FIELDS.filter(([name]) => !supported.set[name]).map(([, field]) => field);
const UNREADABLE = SETTING_FIELDS.filter(([name]) => !supported.read[name]).map(([, field]) => field);

// Values last set through this package, kept only where the OS cannot report
// them (Windows before 1709). Keyed by the socket object, never by fd.
const requestedValues = new WeakMap<Socket, Int32Array>();
const pendingOptions = new WeakMap<Socket, ValidOptions>();

function call(rc: number): void {
  if (rc < 0) {
    throw systemError(rc, binding.syscallNames[out[Out.Syscall]!]!, binding.optionNames[out[Out.Option]!]!);
  }
}

// With a descriptor, one argument (setFd/getFd use the bound arrays); the
// locator form only where there is none (Windows).
function nativeSet(target: Target): void {
  const { local, remote } = target;
  call(
    local === undefined || remote === undefined
      ? bound.setFd(target.fd)
      : binding.set(target.fd, request, out, local.address, local.port, remote.address, remote.port),
  );
}

function nativeGet(target: Target): void {
  const { local, remote } = target;
  call(
    local === undefined || remote === undefined
      ? bound.getFd(target.fd)
      : binding.get(target.fd, out, local.address, local.port, remote.address, remote.port),
  );
}

function stateFrom(socket: Socket): KeepaliveState {
  if (out[Out.ReadMask] !== ALL_READ) {
    const remembered = requestedValues.get(socket);
    if (remembered) for (const field of UNREADABLE) out[field] = remembered[field]!;
  }
  const enabled = out[Field.Enable] === 1;
  const idle = out[Field.Idle]!;
  const interval = out[Field.Interval]!;
  const count = out[Field.Count]!;
  const userTimeout = out[Field.UserTimeout]!;
  return {
    enabled,
    idle,
    interval,
    count,
    userTimeout,
    detectAfter: enabled ? computeDetectAfter(idle, interval, count, userTimeout, supported.platform) : null,
    source: out[Out.ReadMask] === ALL_READ ? 'kernel' : 'requested',
  };
}

/** Applies validated options to a connected socket; returns its new state. */
function apply(socket: Socket, options: ValidOptions): KeepaliveState {
  const target = targetOf(socket);
  request[Field.Enable] = options.enable ? 1 : 0;
  request[Field.Idle] = options.idle ?? KEEP;
  request[Field.Interval] = options.interval ?? KEEP;
  request[Field.Count] = options.count ?? KEEP;
  request[Field.UserTimeout] = KEEP;
  if (options.userTimeout !== undefined) {
    request[Field.UserTimeout] = options.userTimeout === 'auto' ? autoUserTimeout(socket, target, options) : options.userTimeout;
  }
  if (UNREADABLE.length > 0) rememberUnreadable(socket);
  for (const field of UNSETTABLE) request[field] = KEEP;
  nativeSet(target);
  const state = stateFrom(socket);
  track(socket, state);
  return state;
}

/** idle + interval × count of the settings the socket will have. */
function autoUserTimeout(socket: Socket, target: Target, options: ValidOptions): number {
  let { idle, interval, count } = options;
  if (idle === undefined || interval === undefined || count === undefined) {
    nativeGet(target);
    const current = stateFrom(socket);
    idle ??= current.idle;
    interval ??= current.interval;
    count ??= current.count;
  }
  const seconds = idle + interval * count;
  const { max } = supported.limits.userTimeout;
  if (seconds > max) {
    throw outOfRange('options.userTimeout', `>= 0 && <= ${max} (auto: ${idle} + ${interval} × ${count} = ${seconds})`, 'auto');
  }
  return seconds;
}

// Where the OS cannot report a setting, a request must carry its value anyway
// (Windows sets idle and interval together), and the value is remembered to
// be reported back as source 'requested'.
function rememberUnreadable(socket: Socket): void {
  let remembered = requestedValues.get(socket);
  if (!remembered) {
    remembered = Int32Array.from(binding.capabilities.fallback);
    requestedValues.set(socket, remembered);
  }
  for (const field of UNREADABLE) {
    if (request[field] === KEEP) request[field] = remembered[field]!;
    else remembered[field] = request[field]!;
  }
}

function applyOnConnect(socket: Socket, options: ValidOptions): PendingKeepalive {
  const queued = pendingOptions.get(socket);
  if (queued) {
    mergeOptions(queued, options);
    return { source: 'pending', requested: definedOptions(queued) };
  }
  const merged = validOptions();
  mergeOptions(merged, options);
  // Listeners first: on a socket that cannot take them (frozen) this throws
  // a coded error before anything is queued.
  onceConnected(
    socket,
    () => {
      pendingOptions.delete(socket);
      try {
        apply(socket, merged);
      } catch (error) {
        warn(error as Error & { code?: string });
      }
    },
    () => pendingOptions.delete(socket),
  );
  pendingOptions.set(socket, merged);
  return { source: 'pending', requested: definedOptions(merged) };
}

function warn(error: Error & { code?: string }): void {
  process.emitWarning(keepaliveWarning(`tcp-keepalive could not apply settings on 'connect': ${error.message}`, error.code, error));
}

/**
 * Sets a TCP socket's keepalive (client or server side, net or tls).
 * Omitted options keep the socket's current values; `enable` defaults to
 * true. Returns the state read back from the kernel, or, for a socket still
 * connecting, `{ source: 'pending' }`: the options are then applied on its
 * 'connect', and a failure there is reported with process.emitWarning.
 */
export function setKeepalive(socket: Socket, options?: KeepaliveOptions): KeepaliveState | PendingKeepalive {
  try {
    validateSocket(socket);
    return applyValidated(socket, validateOptions(options));
  } catch (error) {
    throw hideOwnFrames(error, setKeepalive);
  }
}

/**
 * setKeepalive for callers that validated the socket and the options once up
 * front (the drop-in policy, on every connection): no per-call validation.
 * @internal
 */
export function applyValidated(socket: Socket, options: ValidOptions): KeepaliveState | PendingKeepalive {
  if (isPending(socket)) return applyOnConnect(socket, options);
  return apply(socket, options);
}

/** Reads a connected TCP socket's keepalive state back from the kernel. */
export function getKeepalive(socket: Socket): KeepaliveState {
  try {
    validateSocket(socket);
    if (isPending(socket)) throw notConnected();
    nativeGet(targetOf(socket));
    return stateFrom(socket);
  } catch (error) {
    throw hideOwnFrames(error, getKeepalive);
  }
}

/**
 * Settings validated and resolved once, as the native request, for a caller
 * that applies the same settings to many sockets (the drop-in policy); null
 * where they cannot be prepared (an OS that cannot set or read back every
 * setting, or userTimeout 'auto' without idle, interval and count).
 */
export function prepareSettings(options: KeepaliveOptions): Int32Array | null {
  const valid = validateOptions(options);
  if (UNREADABLE.length > 0 || UNSETTABLE.length > 0) return null;
  const { idle, interval, count } = valid;
  let userTimeout = valid.userTimeout;
  if (userTimeout === 'auto') {
    if (idle === undefined || interval === undefined || count === undefined) return null;
    userTimeout = idle + interval * count;
    if (userTimeout > supported.limits.userTimeout.max) return null;
  }
  return Int32Array.of(valid.enable ? 1 : 0, idle ?? KEEP, interval ?? KEEP, count ?? KEEP, userTimeout ?? KEEP);
}

/**
 * Applies prepared settings to a connected socket, without reading them
 * back: the same system calls as setKeepalive minus the five getsockopt.
 * Throws as setKeepalive does (closed, not TCP, a system error).
 */
export function applyPrepared(socket: Socket, prepared: Int32Array): void {
  // The descriptor alone (no target object): this runs for every connection.
  const fd = descriptorOf(socket);
  request.set(prepared);
  if (typeof fd === 'number' && fd < 0) nativeSet(targetOf(socket));
  else call(bound.applyFd(fd));
}

/**
 * Prepared settings applied to a descriptor that has no connected socket
 * around it yet: a client's handle right after its connect() started, a
 * server's handle before it listens. Throws as setKeepalive does.
 */
export function applyPreparedFd(fd: number, prepared: Int32Array): void {
  request.set(prepared);
  call(bound.applyFd(fd));
}

/** What a descriptor holds, as a prepared request that puts it back (applyPreparedFd). */
export function readPreparedFd(fd: number): Int32Array {
  call(bound.getFd(fd));
  return Int32Array.from(out.subarray(0, FIELD_COUNT));
}
