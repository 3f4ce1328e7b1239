// The process-wide policy: install() and the prototype hooks that bring it
// to every TCP connection this thread opens, accepts or is handed. See
// policy.ts for what each hook covers and why.
import { EventEmitter } from 'node:events';
import * as net from 'node:net';

import { track } from './ends';
import { hideOwnFrames } from './errors';
import { handleKind, hasTcpHandle, internalsOf, isConnected, kHandedOver, keepaliveRecordOf, type Side } from './handle';
import { activePolicy, appliedTarget, applyPolicy, AWAITING, hasPolicy, kMark, targetFor, turnedOn, turnOff, warnOnce, type ActivePolicy, type Marked } from './policy-apply';
import { unwatchGaps, watchGaps } from './policy-gaps';
import { bindHook, connectHook, EARLY, findTcpPrototype, listenHook, passedOn, restoreListeners, uniformTarget, type HandleHookState } from './policy-handles';
import { isRulesSpec, resolveRules, ruleForEverySocket, type PolicyRules, type ResolvedRule } from './policy-rules';
import { policyDetectAfter, resolvePolicy, type PolicySettings, type PolicySpec } from './policy-spec';
import { ownValue, validateBoolean, validateFunction, validateKnownKeys, validateObject } from './validate';

/** Which sockets `install()` covers. */
export interface InstallOptions {
  /** Sockets the process opens (net/tls connect, http(s) agents, fetch, database clients). Default true. */
  clients?: boolean;
  /**
   * Sockets accepted by net/tls/http/https servers, and sockets that arrive
   * connected: received from another process (`child.send('socket', s)`)
   * or made over a connected descriptor (`new net.Socket({ fd })`). Default true.
   */
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
  /**
   * The settings applied to each covered socket. With rules: those of the
   * rule for every socket (`*`), or {} when no rule matches every socket.
   */
  readonly settings: PolicySettings;
  /** The rules, in order (the first that matches a socket decides), or null for a policy without rules. */
  readonly rules: readonly ResolvedRule[] | null;
  readonly clients: boolean;
  readonly servers: boolean;
  /** Worst-case seconds to detect a silently dead peer under this policy (with rules: the largest of theirs). */
  readonly detectAfter: number;
  /** False once uninstalled or replaced by a later `install()`. */
  readonly active: boolean;
  /**
   * Removes the policy and restores what install changed. Sockets keep the
   * values they have. Does nothing when already uninstalled or replaced.
   */
  uninstall(): void;
}

const INSTALL_OPTIONS: readonly string[] = ['clients', 'servers', 'filter'];

let active: ActivePolicy | null = null;
let activeHandle: PolicyHandle | null = null;
// Sockets whose latest setKeepAlive call turned keepalive off.
const turnedOff = new WeakSet<net.Socket>();

function installFlag(input: Record<string, unknown>, key: 'clients' | 'servers'): boolean {
  const value = ownValue(input, key);
  if (value === undefined) return true;
  validateBoolean(value, `options.${key}`);
  return value;
}

function validateInstallOptions(options: unknown): Required<Omit<InstallOptions, 'filter'>> & Pick<InstallOptions, 'filter'> {
  if (options === undefined) return { clients: true, servers: true, filter: undefined };
  validateObject(options, 'options');
  validateKnownKeys(options, 'options', INSTALL_OPTIONS, 'an install option');
  const filter = ownValue(options, 'filter');
  if (filter !== undefined) validateFunction(filter, 'options.filter');
  return { clients: installFlag(options, 'clients'), servers: installFlag(options, 'servers'), filter: filter as InstallOptions['filter'] };
}

/**
 * Installs a process-wide keepalive policy (this thread's `net` module).
 * The policy is validated here, once; bad input throws with a `code` and
 * changes nothing. Installing while a policy is active replaces it: the new
 * one governs every later connection and every later setKeepAlive call, and
 * the earlier handle's `uninstall()` becomes a no-op.
 */
export function install(policy: PolicySpec | PolicyRules = 'general', options?: InstallOptions): PolicyHandle {
  try {
    const resolved = isRulesSpec(policy) ? resolveRules(policy) : resolvePolicy(policy);
    return installValidated(resolved, validateInstallOptions(options));
  } catch (error) {
    throw hideOwnFrames(error, install);
  }
}

type Resolved = PolicySettings | ReturnType<typeof resolveRules>;

function installValidated(resolved: Resolved, { clients, servers, filter }: ReturnType<typeof validateInstallOptions>): PolicyHandle {
  const state = activePolicy(resolved, clients, servers, filter);
  const rules = 'rules' in resolved ? Object.freeze(resolved.rules) : null;
  const settings = rules === null ? (resolved as PolicySettings) : (ruleForEverySocket(rules)?.settings ?? Object.freeze({}));
  const handle: PolicyHandle = Object.freeze({
    settings,
    rules,
    clients,
    servers,
    detectAfter: rules === null ? policyDetectAfter(settings) : Math.max(0, ...rules.map((r) => (r.settings ? policyDetectAfter(r.settings) : 0))),
    get active(): boolean {
      return active === state;
    },
    uninstall(): void {
      if (active !== state) return;
      active = null;
      activeHandle = null;
      unpatch();
      unwatchGaps();
      restoreListeners();
    },
  });
  patch();
  active = state;
  activeHandle = handle;
  watchGaps(state, () => active);
  return handle;
}

/** What the policy in force applied to a socket: its settings and the rule that chose them. */
export interface AppliedPolicy {
  readonly settings: PolicySettings;
  /** The rule that chose the settings, or null for a policy without rules. */
  readonly rule: ResolvedRule | null;
}

/**
 * What the policy in force last applied to `socket` (after any later
 * setKeepAlive, it is applied again), or null: no policy, not connected yet,
 * or left alone (its side, the filter, no rule matched, a rule 'off',
 * setKeepAlive(false)). A debugging aid: which rule a connection got.
 */
export function policyApplied(socket: net.Socket): AppliedPolicy | null {
  const target = appliedTarget(socket);
  if (target === null || target.policy !== active || turnedOff.has(socket) || !isConnected(socket)) return null;
  return Object.freeze({ settings: target.settings, rule: target.rule ?? null });
}

/** The policy in force in this thread, or null. */
export function currentPolicy(): PolicyHandle | null {
  return activeHandle;
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
  if (!policy?.clients || turnedOff.has(socket)) return;
  const target = targetFor(policy, socket);
  if (target !== null) applyPolicy(target, socket);
}

// The wrappers pass their arguments on as `arguments` rather than through a
// rest parameter and a spread: no array per call (they run on every connect,
// every setKeepAlive, every read and every event of every server).
function connectWrapper(this: net.Socket): net.Socket {
  const policy = active;
  if (handleConnect === undefined && policy !== null) addHandleHooks();
  const own = this as unknown as Marked;
  // The TCP handle applies the policy when it connects (policy-handles.ts),
  // unless Node will call setKeepAlive on the handle once connected (the
  // keepAlive option, or setKeepAlive(true) before connect()). Marked before
  // the original: with a lookup that answers at once, the handle connects
  // inside it.
  const early = policy?.clients === true && handleConnect?.inChain === true && uniformTarget(policy, 'client') !== null && !turnedOff.has(this) && !nodeSetsKeepaliveOnConnect(this);
  if (early) own[kMark] = EARLY;
  const result = Reflect.apply(CONNECT.original!, this, arguments) as net.Socket;
  if (policy?.clients && this.connecting) {
    const kind = handleKind(this);
    if (kind === 'TCP' || kind === '') {
      if (!early) whenConnected(this);
      return result;
    }
  }
  if (own[kMark] === EARLY) own[kMark] = undefined;
  return result;
}

function nodeSetsKeepaliveOnConnect(socket: net.Socket): boolean {
  const record = keepaliveRecordOf(socket);
  return record === null || (socket as unknown as Marked)[record[0]] === true;
}

// A call that leaves Node's own record of its last setKeepAlive unchanged
// made no system call (Node skips repeats), so a socket that has the policy
// still has it: http.Agent repeats setKeepAlive(true, keepAliveMsecs) every
// time it reuses a socket.
function setKeepAliveWrapper(this: net.Socket, first?: unknown): net.Socket {
  const record = keepaliveRecordOf(this);
  const own = this as unknown as Marked;
  const enableBefore = record && own[record[0]];
  const delayBefore = record && own[record[1]];
  const result = Reflect.apply(SET_KEEPALIVE.original!, this, arguments) as net.Socket;
  const policy = active;
  if (policy === null) return result;
  if (!turnedOn(this, first)) {
    turnedOff.add(this);
    // Node skips the system call when its own record already says "off"
    // (it never saw the policy turn keepalive on), so turn it off here;
    // also on a connecting socket whose handle already got the policy.
    // (a socket still marked EARLY is left alone by the handle: turnedOff)
    if (isConnected(this) ? targetFor(policy, this) !== null : appliedEarly(this)) turnOff(this);
    return result;
  }
  turnedOff.delete(this);
  if (this.connecting) {
    // Node calls setKeepAlive on the handle again once connected, over
    // anything applied before: the policy goes on top after that.
    if (policy.clients && own[kMark] !== AWAITING) whenConnected(this);
    return result;
  }
  const nodeCalledTheOs = record === null || own[record[0]] !== enableBefore || own[record[1]] !== delayBefore;
  if (!nodeCalledTheOs && hasPolicy(this, policy)) return result;
  const target = isConnected(this) ? targetFor(policy, this) : null;
  if (target !== null) applyPolicy(target, this);
  return result;
}

function appliedEarly(socket: net.Socket): boolean {
  return appliedTarget(socket) !== null && internalsOf(socket).connecting === true;
}

function serverEmitWrapper(this: net.Server, event: string | symbol): boolean {
  if (event === 'connection' && active !== null) onServerSocket(this, arguments[1]);
  return Reflect.apply(SERVER_EMIT.original ?? EventEmitter.prototype.emit, this, arguments) as boolean;
}

function onServerSocket(server: net.Server, socket: unknown): void {
  const policy = active;
  if (policy === null || !policy.servers) return;
  if (!(socket instanceof net.Socket) || !isConnected(socket) || turnedOff.has(socket)) return;
  const target = targetFor(policy, socket);
  if (target === null) return;
  // Inherited from the listener (policy-handles.ts): no system call.
  if (passedOn(server, target)) {
    (socket as unknown as Marked)[kMark] = target;
    track(socket, target.prepared!);
  } else applyPolicy(target, socket);
}

// A socket made with a handle or a descriptor (a socket received from
// another process, `new net.Socket({ fd })`, an accepted one) starts reading
// from its constructor: `this.read(0)`, before the constructor has set
// `server` (undefined until then, null or the server after). That call is
// the one place Node's code passes through for all of them; the policy is
// applied on the next tick, once the constructor's caller has set the
// socket up (a server's accepted socket has had its 'connection' and the
// policy by then, and is left alone).
function readWrapper(this: net.Socket): unknown {
  if (active !== null && internalsOf(this).server === undefined && hasTcpHandle(this)) process.nextTick(onHandedOver, this);
  return Reflect.apply(READ.original!, this, arguments);
}

function onHandedOver(socket: net.Socket): void {
  const policy = active;
  const s = internalsOf(socket);
  if (policy === null || !policy.servers || s.server || hasPolicy(socket, policy)) return;
  if (!isConnected(socket) || turnedOff.has(socket)) return;
  (socket as unknown as Marked)[kHandedOver] = true;
  const target = targetFor(policy, socket);
  if (target !== null) applyPolicy(target, socket);
}

type Method = (this: never, ...args: never[]) => unknown;

/**
 * One prototype method the policy wraps. It is "in the chain" from patch()
 * until unpatch() can take it out again. When someone wrapped the method
 * over ours in between, ours stays in their chain, inert while no policy is
 * active, and is reused by the next install() instead of being wrapped a
 * second time.
 */
interface Hook {
  readonly target: object;
  readonly key: string;
  readonly wrapper: Method;
  /** What the target had before (an own value, or the inherited one when it had none). */
  original: Method | undefined;
  /** Whether the target had the method as an own property before. */
  hadOwn: boolean;
  inChain: boolean;
}

function hook(target: object, key: string, wrapper: Method): Hook {
  return { target, key, wrapper, original: undefined, hadOwn: false, inChain: false };
}

const CONNECT = hook(net.Socket.prototype, 'connect', connectWrapper as Method);
const SET_KEEPALIVE = hook(net.Socket.prototype, 'setKeepAlive', setKeepAliveWrapper as Method);
const READ = hook(net.Socket.prototype, 'read', readWrapper as Method);
// net.Server.prototype.emit: an own method shadowing EventEmitter's (none before).
const SERVER_EMIT = hook(net.Server.prototype, 'emit', serverEmitWrapper as Method);
const SERVER_LISTEN = hook(net.Server.prototype, 'listen', serverListenWrapper as Method);
const HOOKS: Hook[] = [CONNECT, SET_KEEPALIVE, READ, SERVER_EMIT, SERVER_LISTEN];

// The TCP handle's connect, connect6, listen, bind and bind6
// (policy-handles.ts), added to HOOKS when a policy first meets a socket
// or a server (the first connect() or listen() while one is installed):
// finding the handle class makes a handle, which costs start-up time that
// a process that never opens a socket need not pay.
const handleState: HandleHookState = { active: () => active, turnedOff: (socket) => turnedOff.has(socket), warn: warnOnce };
let handleConnect: Hook | null | undefined;

function handleHook(target: object, key: string, make: (original: () => Method | undefined) => Method): Hook {
  const h = hook(target, key, (() => undefined) as Method) as { -readonly [K in keyof Hook]: Hook[K] };
  h.wrapper = make(() => h.original);
  return h;
}

/** Finds the TCP handle class once and puts its hooks in the chain beside the others. */
function addHandleHooks(): void {
  if (handleConnect !== undefined) return;
  handleConnect = null;
  // Through the original connect: the probe socket is no socket of the policy's.
  const proto = findTcpPrototype(CONNECT.original as (this: net.Socket, options: net.SocketConnectOpts) => unknown);
  if (proto === null) return;
  const added = [
    handleHook(proto, 'connect', (original) => connectHook(handleState, original)),
    handleHook(proto, 'connect6', (original) => connectHook(handleState, original)),
    handleHook(proto, 'listen', (original) => listenHook(handleState, original)),
    handleHook(proto, 'bind', bindHook),
    handleHook(proto, 'bind6', bindHook),
  ];
  handleConnect = added[0]!;
  HOOKS.push(...added);
  patch();
}

// Server#listen: before the original, which makes the listening handle.
function serverListenWrapper(this: net.Server): net.Server {
  if (handleConnect === undefined && active !== null) addHandleHooks();
  return Reflect.apply(SERVER_LISTEN.original!, this, arguments) as net.Server;
}

function mirror(wrapper: Method, original: Method): void {
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
  Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
}

function patch(): void {
  for (const h of HOOKS) {
    if (h.inChain) continue;
    const descriptor = Object.getOwnPropertyDescriptor(h.target, h.key);
    h.hadOwn = descriptor !== undefined;
    // A method only inherited (Server's emit) is called through the prototype chain, not kept.
    h.original = h.hadOwn ? (descriptor!.value as Method) : undefined;
    if (h.original) mirror(h.wrapper, h.original);
    Object.defineProperty(h.target, h.key, { value: h.wrapper, writable: true, configurable: true, enumerable: descriptor?.enumerable ?? false });
    h.inChain = true;
  }
}

function unpatch(): void {
  for (const h of HOOKS) {
    const target = h.target as Record<string, unknown>;
    if (!h.inChain || target[h.key] !== h.wrapper) continue;
    if (h.hadOwn) target[h.key] = h.original;
    else delete target[h.key];
    h.original = undefined;
    h.inChain = false;
  }
}
