// A process-wide keepalive policy: every TCP connection the process opens
// (clients) or accepts (servers) gets the same settings when it is
// established, and gets them again whenever anything later calls
// socket.setKeepAlive(true, ...) on it. Libraries do that all the time
// (http.Agent on every socket reuse, pg/mysql2/ioredis/undici on connect),
// and Node's setKeepAlive(true, ms) also forces interval 1 s and count 10.
//
// Hooks, all undone by uninstall():
// - net.Socket.prototype.connect (tls.TLSSocket inherits it, so tls.connect
//   goes through it too): after the original, a still-connecting TCP socket
//   gets one 'connect' and one 'close' listener; whichever fires first
//   removes the other. The diagnostics channel 'net.client.socket' is not
//   used: it misses new Socket().connect() and tls.connect, and fires
//   before a descriptor exists.
// - net.Server.prototype.emit (an own method shadowing EventEmitter's, for
//   every net/tls/http/https server): an accepted socket gets the policy
//   just before its 'connection' listeners run. The diagnostics channel
//   'net.server.socket' would be later: it publishes after 'connection'.
// - net.Socket.prototype.setKeepAlive: the original runs, then the policy is
//   applied again on top when keepalive was turned on; setKeepAlive(false)
//   is honoured (latest call wins, as without the policy).
// Per-socket state lives only in WeakMaps/WeakSets keyed by the socket and
// in listeners removed at 'connect' or 'close': nothing outlives a socket.
import { EventEmitter } from 'node:events';
import * as net from 'node:net';

import { computeDetectAfter } from './detect';
import { invalidArgType, invalidArgValue, outOfRange } from './errors';
import { handleKind, onceConnected } from './handle';
import { applyPrepared, applyValidated, prepareSettings, setKeepalive } from './keepalive';
import type { ValidOptions } from './validate';
import { isPresetName, presetNames, presets, presetSettings, type Preset, type PresetName } from './presets';
import { supported } from './supported';
import { validateOptions, type KeepaliveOptions } from './validate';

/** Which end of a connection a socket is. */
export type Side = 'client' | 'server';

/** A policy: a preset name, a preset object, or keepalive options with idle, interval and count. */
export type PolicySpec = PresetName | Preset | KeepaliveOptions;

/** The settings a policy applies (whole seconds). */
export interface PolicySettings {
  readonly idle?: number;
  readonly interval?: number;
  readonly count?: number;
  readonly userTimeout?: number | 'auto';
}

/** Which sockets `install()` covers. */
export interface InstallOptions {
  /** Sockets the process opens (net/tls connect, http(s) agents, fetch, database clients). Default true. */
  clients?: boolean;
  /** Sockets accepted by net/tls/http/https servers. Default true. */
  servers?: boolean;
  /**
   * Called once per connected socket (remote address and port known); the
   * policy applies to it only when this returns true. An exception counts as
   * false and is reported once as a TcpKeepaliveWarning.
   */
  filter?: (socket: net.Socket, side: Side) => boolean;
}

/** What `install()` returns. */
export interface PolicyHandle {
  /** The settings applied to each covered socket. */
  readonly settings: PolicySettings;
  readonly clients: boolean;
  readonly servers: boolean;
  /** Worst-case seconds to detect a silently dead peer under this policy. */
  readonly detectAfter: number;
  /** False once uninstalled or replaced by a later `install()`. */
  readonly active: boolean;
  /**
   * Removes the policy and restores what install changed. Sockets keep the
   * values they have. Does nothing when already uninstalled or replaced.
   */
  uninstall(): void;
}

interface ActivePolicy {
  readonly settings: PolicySettings;
  /** The settings as a native request, prepared once (null: apply them the general way). */
  readonly prepared: Int32Array | null;
  /** The settings as setKeepalive validated them, applied without re-validation. */
  readonly valid: ValidOptions;
  readonly clients: boolean;
  readonly servers: boolean;
  readonly filter: ((socket: net.Socket, side: Side) => boolean) | undefined;
  /** Per socket: does the policy apply to it (decided once, when connected). */
  readonly decisions: WeakMap<net.Socket, boolean>;
  /** Warning codes already reported for this policy. */
  readonly warned: Set<string>;
}

type Coded = Error & { code?: string };
type SetKeepAlive = (this: net.Socket, ...args: unknown[]) => net.Socket;
type Connect = (this: net.Socket, ...args: unknown[]) => net.Socket;

interface InternalSocket {
  _handle: { constructor: { name: string }; _parent?: { constructor: { name: string } } } | null;
  connecting: boolean;
  destroyed: boolean;
  server?: unknown;
  _server?: unknown;
  _tlsOptions?: { isServer?: boolean };
}

// Errors that mean "not a socket the policy can apply to": left alone silently.
const IGNORED = new Set(['ERR_SOCKET_CLOSED', 'ERR_KEEPALIVE_NOT_TCP', 'ERR_KEEPALIVE_NOT_CONNECTED']);
const NUMERIC = ['idle', 'interval', 'count'] as const;

let active: ActivePolicy | null = null;
let activeHandle: PolicyHandle | null = null;
let originalConnect: Connect | null = null;
let originalSetKeepAlive: SetKeepAlive | null = null;
type Emit = (this: net.Server, event: string | symbol, ...args: unknown[]) => boolean;
// What net.Server.prototype had as an own emit before patching (normally
// nothing: it inherits EventEmitter's), so unpatching can put it back.
let serverEmitPatched = false;
let ownServerEmit: Emit | undefined;
// Sockets whose latest setKeepAlive call turned keepalive off.
const turnedOff = new WeakSet<net.Socket>();
// The policy's mark on a socket, in one symbol-keyed property (it goes with
// the socket; overwritten, never deleted, so the socket keeps its shape):
// AWAITING while our 'connect' listener is on it, then the policy last
// applied to it. Not WeakSets: adding young keys to a long-lived WeakSet
// takes V8's slow ephemeron write barrier, which was the largest JavaScript
// cost per connection.
const kMark = Symbol('tcpKeepalivePolicy');
const AWAITING = Symbol('awaiting connect');
type Marked = Record<symbol, unknown>;

/** The settings a policy spec stands for, validated once. */
export function resolvePolicy(spec: PolicySpec, name = 'policy'): PolicySettings {
  if (typeof spec === 'string') {
    if (!isPresetName(spec)) {
      throw invalidArgValue(name, spec, `is not a preset name (use ${presetNames.join(', ')}) or an options object`);
    }
    return settingsOfPreset(spec);
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw invalidArgType(name, 'a preset name or an object', spec);
  }
  const presetName = (spec as Partial<Preset>).name;
  if (isPresetName(presetName) && presets[presetName] === spec) return settingsOfPreset(presetName);
  const valid = validateOptions(spec);
  if (!valid.enable) {
    throw invalidArgValue(`${name}.enable`, false, 'must be true: a policy turns keepalive on (to leave sockets alone, install none)');
  }
  const missing = NUMERIC.filter((field) => supported.set[field] && valid[field] === undefined);
  if (missing.length > 0) {
    throw invalidArgValue(
      name,
      spec,
      `must set ${missing.join(', ')}: a library's setKeepAlive(true) resets interval to 1 s and count to 10, so a policy names all three`,
    );
  }
  const settings: { -readonly [K in keyof PolicySettings]: PolicySettings[K] } = {};
  for (const field of NUMERIC) if (valid[field] !== undefined) settings[field] = valid[field];
  if (valid.userTimeout !== undefined) settings.userTimeout = valid.userTimeout;
  checkAuto(settings);
  return Object.freeze(settings);
}

function settingsOfPreset(name: PresetName): PolicySettings {
  const all = presetSettings(name);
  const settings: { -readonly [K in keyof PolicySettings]: PolicySettings[K] } = {};
  // Where a setting cannot be set (count on old Windows), a preset leaves it out.
  for (const field of NUMERIC) if (supported.set[field]) settings[field] = all[field];
  if (supported.set.userTimeout) settings.userTimeout = all.userTimeout;
  checkAuto(settings);
  return Object.freeze(settings);
}

function checkAuto(settings: PolicySettings): void {
  if (settings.userTimeout !== 'auto') return;
  const { idle = 0, interval = 0, count = 0 } = settings;
  const seconds = idle + interval * count;
  const { max } = supported.limits.userTimeout;
  if (seconds > max) {
    throw outOfRange('policy.userTimeout', `>= 0 && <= ${max} (auto: ${idle} + ${interval} × ${count} = ${seconds})`, 'auto');
  }
}

/** Worst-case detection time of the settings on this platform (s). */
export function policyDetectAfter(settings: PolicySettings): number {
  const idle = settings.idle ?? 0;
  const interval = settings.interval ?? 0;
  const count = settings.count ?? supported.defaults.count ?? 0;
  const userTimeout = settings.userTimeout === 'auto' ? idle + interval * count : settings.userTimeout ?? 0;
  return computeDetectAfter(idle, interval, count, userTimeout, supported.platform);
}

function validateInstallOptions(options: unknown): Required<Omit<InstallOptions, 'filter'>> & Pick<InstallOptions, 'filter'> {
  if (options === undefined) return { clients: true, servers: true, filter: undefined };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidArgType('options', 'of type object', options);
  }
  const input = options as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (key !== 'clients' && key !== 'servers' && key !== 'filter') {
      throw invalidArgValue(`options.${key}`, input[key], 'is not an install option (use clients, servers, filter)');
    }
  }
  const flag = (key: 'clients' | 'servers'): boolean => {
    const value = input[key];
    if (value === undefined) return true;
    if (typeof value !== 'boolean') throw invalidArgType(`options.${key}`, 'of type boolean', value);
    return value;
  };
  const filter = input.filter;
  if (filter !== undefined && typeof filter !== 'function') throw invalidArgType('options.filter', 'of type function', filter);
  return { clients: flag('clients'), servers: flag('servers'), filter: filter as InstallOptions['filter'] };
}

/**
 * Installs a process-wide keepalive policy (this thread's `net` module).
 * The policy is validated here, once; bad input throws with a `code` and
 * changes nothing. Installing while a policy is active replaces it: the new
 * one governs every later connection and every later setKeepAlive call, and
 * the earlier handle's `uninstall()` becomes a no-op.
 */
export function install(policy: PolicySpec = 'general', options?: InstallOptions): PolicyHandle {
  const settings = resolvePolicy(policy);
  const { clients, servers, filter } = validateInstallOptions(options);
  const state = activePolicy(settings, clients, servers, filter);
  const detect = policyDetectAfter(settings);
  const handle: PolicyHandle = Object.freeze({
    settings,
    clients,
    servers,
    detectAfter: detect,
    get active(): boolean {
      return active === state;
    },
    uninstall(): void {
      if (active !== state) return;
      active = null;
      activeHandle = null;
      unpatch();
    },
  });
  patch();
  active = state;
  activeHandle = handle;
  return handle;
}

function activePolicy(settings: PolicySettings, clients: boolean, servers: boolean, filter: ActivePolicy['filter']): ActivePolicy {
  const valid: ValidOptions = { enable: true, ...settings };
  return { settings, prepared: prepareSettings(settings), valid, clients, servers, filter, decisions: new WeakMap(), warned: new Set() };
}

/** The policy in force in this thread, or null. */
export function currentPolicy(): PolicyHandle | null {
  return activeHandle;
}

function sideOf(socket: net.Socket): Side {
  const s = socket as unknown as InternalSocket;
  return s.server || s._server || s._tlsOptions?.isServer ? 'server' : 'client';
}

/** Whether the policy applies to this connected socket; decided once per socket. */
function covers(policy: ActivePolicy, socket: net.Socket): boolean {
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

function applyPolicy(policy: ActivePolicy, socket: net.Socket): void {
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

function isConnected(socket: net.Socket): boolean {
  const s = socket as unknown as InternalSocket;
  return !s.destroyed && !s.connecting && s._handle !== null;
}

/** Turning keepalive on? Boolean(first argument), or an options object (Node ≥ 26) without enable: false. */
function enabling(first: unknown): boolean {
  if (first !== null && typeof first === 'object') return (first as { enable?: unknown }).enable !== false;
  return Boolean(first);
}

/** Applies the policy when the socket connects; nothing is left on it if it closes first. */
function whenConnected(socket: net.Socket): void {
  const marked = socket as unknown as Marked;
  if (marked[kMark] === AWAITING) return;
  marked[kMark] = AWAITING;
  // First in line: listeners the caller added see the socket with the policy.
  // Two shared listener functions: no closures or once() wrappers per socket.
  socket.prependListener('connect', onConnectListener);
  socket.on('close', onCloseListener);
}

function onConnectListener(this: net.Socket): void {
  unlisten(this);
  onClientConnected(this);
}

function onCloseListener(this: net.Socket): void {
  unlisten(this);
}

function unlisten(socket: net.Socket): void {
  socket.removeListener('connect', onConnectListener);
  socket.removeListener('close', onCloseListener);
  const marked = socket as unknown as Marked;
  if (marked[kMark] === AWAITING) marked[kMark] = undefined;
}

function onClientConnected(socket: net.Socket): void {
  const policy = active;
  if (policy !== null && policy.clients && !turnedOff.has(socket) && covers(policy, socket)) applyPolicy(policy, socket);
}

// The wrappers pass their arguments on as `arguments` rather than through a
// rest parameter and a spread: no array per call (they run on every connect,
// every setKeepAlive and every event of every server).
function connectWrapper(this: net.Socket): net.Socket {
  // eslint-disable-next-line prefer-rest-params
  const result: net.Socket = Reflect.apply(originalConnect!, this, arguments);
  const policy = active;
  if (policy !== null && policy.clients && this.connecting) {
    const kind = handleKind(this);
    if (kind === 'TCP' || kind === '') whenConnected(this);
  }
  return result;
}

// Node's own record of its last setKeepAlive on a socket (net.js keeps it in
// two symbol-keyed properties, set in the Socket constructor), found once.
// A call that leaves it unchanged made no system call (Node skips repeats),
// so a socket that has the policy still has it: http.Agent repeats
// setKeepAlive(true, keepAliveMsecs) every time it reuses a socket.
let nodeRecord: readonly [symbol, symbol] | null | undefined;

function nodeRecordOf(socket: net.Socket): readonly [symbol, symbol] | null {
  if (nodeRecord === undefined) {
    const symbols = Object.getOwnPropertySymbols(socket);
    const enable = symbols.find((s) => s.description === 'kSetKeepAlive');
    const delay = symbols.find((s) => s.description === 'kSetKeepAliveInitialDelay');
    nodeRecord = enable && delay ? [enable, delay] : null;
  }
  return nodeRecord;
}

function setKeepAliveWrapper(this: net.Socket, first?: unknown): net.Socket {
  const record = nodeRecordOf(this);
  const own = this as unknown as Marked;
  const enableBefore = record && own[record[0]];
  const delayBefore = record && own[record[1]];
  // eslint-disable-next-line prefer-rest-params
  const result: net.Socket = Reflect.apply(originalSetKeepAlive!, this, arguments);
  const policy = active;
  if (policy !== null) {
    if (!enabling(first)) {
      turnedOff.add(this);
      // Node skips the system call when its own record already says "off"
      // (it never saw the policy turn keepalive on), so turn it off here.
      if (isConnected(this) && covers(policy, this)) turnOff(this);
    } else {
      turnedOff.delete(this);
      const nodeCalledTheOs = record === null || own[record[0]] !== enableBefore || own[record[1]] !== delayBefore;
      if (!nodeCalledTheOs && own[kMark] === policy) return result;
      if (isConnected(this) && covers(policy, this)) applyPolicy(policy, this);
    }
  }
  return result;
}

function serverEmitWrapper(this: net.Server, event: string | symbol): boolean {
  // eslint-disable-next-line prefer-rest-params
  if (event === 'connection' && active !== null) onServerSocket(arguments[1]);
  // eslint-disable-next-line prefer-rest-params
  return Reflect.apply(ownServerEmit ?? (EventEmitter.prototype.emit as Emit), this, arguments) as boolean;
}

function turnOff(socket: net.Socket): void {
  try {
    setKeepalive(socket, { enable: false });
  } catch {
    // closed or not TCP: nothing to turn off
  }
}

function onServerSocket(socket: unknown): void {
  const policy = active;
  if (policy === null || !policy.servers) return;
  if (socket instanceof net.Socket && isConnected(socket) && !turnedOff.has(socket) && covers(policy, socket)) {
    applyPolicy(policy, socket);
  }
}

function mirror(wrapper: (...args: never[]) => unknown, original: (...args: never[]) => unknown): void {
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
  Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
}

// Each hook is "in the chain" from patch() until unpatch() can take it out
// again. When someone wrapped the method over ours in between, ours stays
// in their chain, inert while no policy is active, and is reused by the next
// install() instead of being wrapped a second time.
let connectInChain = false;
let setKeepAliveInChain = false;

function patch(): void {
  const proto = net.Socket.prototype as unknown as { connect: Connect; setKeepAlive: SetKeepAlive };
  if (!connectInChain) {
    originalConnect = proto.connect;
    mirror(connectWrapper, originalConnect);
    proto.connect = connectWrapper;
    connectInChain = true;
  }
  if (!setKeepAliveInChain) {
    originalSetKeepAlive = proto.setKeepAlive;
    mirror(setKeepAliveWrapper, originalSetKeepAlive);
    proto.setKeepAlive = setKeepAliveWrapper;
    setKeepAliveInChain = true;
  }
  if (!serverEmitPatched) {
    const serverProto = net.Server.prototype as unknown as { emit: Emit };
    ownServerEmit = Object.prototype.hasOwnProperty.call(serverProto, 'emit') ? serverProto.emit : undefined;
    Object.defineProperty(serverProto, 'emit', { value: serverEmitWrapper, writable: true, configurable: true, enumerable: false });
    serverEmitPatched = true;
  }
}

function unpatch(): void {
  const proto = net.Socket.prototype as unknown as { connect: Connect; setKeepAlive: SetKeepAlive };
  if (connectInChain && proto.connect === connectWrapper) {
    proto.connect = originalConnect!;
    connectInChain = false;
  }
  if (setKeepAliveInChain && proto.setKeepAlive === setKeepAliveWrapper) {
    proto.setKeepAlive = originalSetKeepAlive!;
    setKeepAliveInChain = false;
  }
  const serverProto = net.Server.prototype as unknown as { emit: Emit };
  if (serverEmitPatched && serverProto.emit === serverEmitWrapper) {
    if (ownServerEmit) serverProto.emit = ownServerEmit;
    else delete (serverProto as { emit?: Emit }).emit;
    ownServerEmit = undefined;
    serverEmitPatched = false;
  }
}

/**
 * Gives one socket a policy for its whole life, without the process-wide
 * hooks: applied on 'connect' (or now, if connected) and again after every
 * `setKeepAlive(true, ...)` call on this socket; `setKeepAlive(false)` is
 * honoured. For sockets handed to a library (pg's and mysql2's `stream`
 * option, custom agents). Returns the socket.
 */
export function attachPolicy<S extends net.Socket>(socket: S, policy: PolicySpec = 'general'): S {
  if (!(socket instanceof net.Socket)) throw invalidArgType('socket', 'an instance of net.Socket or tls.TLSSocket', socket);
  return attachSettings(socket, resolvePolicy(policy));
}

/** attachPolicy with settings already resolved by resolvePolicy (no validation). */
export function attachSettings<S extends net.Socket>(socket: S, settings: PolicySettings): S {
  const state = activePolicy(settings, true, true, undefined);
  let off = false;
  const own = socket as unknown as { setKeepAlive: SetKeepAlive };
  const inherited = Object.getPrototypeOf(socket) as { setKeepAlive: SetKeepAlive };
  own.setKeepAlive = function setKeepAlive(this: net.Socket, ...args: unknown[]): net.Socket {
    const result = inherited.setKeepAlive.apply(this, args);
    off = !enabling(args[0]);
    if (isConnected(this)) {
      if (off) turnOff(this);
      else applyPolicy(state, this);
    }
    return result;
  };
  const now = (s: net.Socket): void => {
    if (!off) applyPolicy(state, s);
  };
  if (isConnected(socket)) now(socket);
  // (not whenConnected: its shared "awaiting" mark belongs to the process-wide hook)
  else if (!(socket as unknown as InternalSocket).destroyed) onceConnected(socket, () => now(socket), undefined, true);
  return socket;
}
