// The policy where a TCP descriptor first exists: the methods of Node's TCP
// handle class (tcp_wrap), shared by every TCP socket and server of the
// thread (a TLS socket's connect reaches its TCP handle through TLSWrap).
//
// - connect()/connect6() create the descriptor and start the non-blocking
//   connect. Keepalive options set then carry over to the connection once
//   it is established (the kernel starts the keepalive timer when the
//   handshake completes), so a client socket gets the policy there, with
//   no listener on the socket and nothing to remove afterwards.
// - listen() turns a bound descriptor into a listener. On Linux a
//   connection the listener accepts inherits its SO_KEEPALIVE, TCP_KEEPIDLE,
//   TCP_KEEPINTVL, TCP_KEEPCNT and TCP_USER_TIMEOUT as they are when the
//   handshake completes; so a listener this process bound itself gets the
//   policy just before it listens (no connection can be in its backlog
//   yet), and its accepted sockets need no system call. bind()/bind6() are
//   wrapped only to know which handles those are.
// test/policy-handles.test.ts checks both with getsockopt, ss and strace.
// Other systems keep the per-socket path until a test there proves the
// same; Windows exposes no descriptor on the handle at all.
import * as net from 'node:net';

import { track } from './ends';
import { applyPreparedFd, readPreparedFd } from './keepalive';
import { hasTcpHandle } from './handle';
import { RUNTIME } from './runtime';
import { hasPolicy, kMark, type ActivePolicy, type Marked, type Target } from './policy-apply';

/** An accepted socket inherits its listener's keepalive settings (verified per OS). */
export const LISTENERS_PASS_ON = process.platform === 'linux';
/**
 * Node's TCP handle class exposes its descriptor (all but Windows). Bun's
 * and Deno's handles are their own (lib/handle.ts): their sockets take the
 * per-socket path.
 */
export const HANDLES_HAVE_FDS = process.platform !== 'win32' && RUNTIME === 'node';

/** Marks a client socket whose TCP handle applies the policy when it connects. */
export const EARLY = Symbol('policy applied by the TCP handle');
// On a handle this process bound itself (bind/bind6): only such a listener is
// known to be new and this process's own. A descriptor it was given (open(fd):
// socket activation, an inherited descriptor) may be listening already, with
// connections queued that would not inherit; one received from a cluster
// primary (shared handles) is shared with other processes and their policies.
// Their accepted sockets get the policy per socket.
const kBound = Symbol('tcpKeepaliveBoundHere');
// On a listening handle: the target it was given, and what it held before.
const kListenerTarget = Symbol('tcpKeepaliveListenerTarget');
const kListenerBefore = Symbol('tcpKeepaliveListenerBefore');

type TcpHandle = { fd?: number } & Record<symbol, unknown>;
// As policy-patch.ts's hooks hold methods: called only through Reflect.apply.
type HandleMethod = (this: never, ...args: never[]) => unknown;

let tcpPrototype: object | null | undefined;
let ownerSymbol: symbol | undefined;

/**
 * Node's TCP handle prototype, found once per thread: a socket makes its
 * TCP handle at the start of connect(), before it validates the port, so
 * connect({ port: -1 }) leaves one without any system call or DNS lookup
 * (the socket is destroyed at once; nothing is published on a diagnostics
 * channel, which net.connect() does and Socket#connect does not).
 */
export function findTcpPrototype(connect: (this: net.Socket, options: net.SocketConnectOpts) => unknown): object | null {
  if (tcpPrototype !== undefined) return tcpPrototype;
  tcpPrototype = null;
  if (!HANDLES_HAVE_FDS) return null;
  const socket = new net.Socket();
  try {
    connect.call(socket, { port: -1 });
  } catch {
    // ERR_SOCKET_BAD_PORT, thrown after the handle was made
  }
  if (hasTcpHandle(socket)) tcpPrototype = Object.getPrototypeOf((socket as unknown as { _handle: object })._handle) as object;
  socket.destroy();
  return tcpPrototype;
}

/** The socket or server a handle belongs to (Node's owner_symbol, found on the first handle seen). */
function ownerOf(handle: TcpHandle): unknown {
  if (ownerSymbol === undefined) {
    ownerSymbol = Object.getOwnPropertySymbols(handle).find((s) => s.description === 'owner_symbol');
    if (ownerSymbol === undefined) return undefined;
  }
  return handle[ownerSymbol];
}

/** What the handle hooks read from the process-wide policy. */
export interface HandleHookState {
  /** The policy in force, or null. */
  active(): ActivePolicy | null;
  /** Whether the socket's latest setKeepAlive turned keepalive off. */
  turnedOff(socket: net.Socket): boolean;
  /** Reports a failure once per policy, as the per-socket path does. */
  warn(policy: ActivePolicy, error: Error, what: string): void;
}

/**
 * The target every socket of a side gets under this policy when nothing
 * about the connected socket decides it (no filter, no rules), prepared as
 * one native request; else null (those sockets take the per-socket path).
 */
export function uniformTarget(policy: ActivePolicy, side: 'client' | 'server'): Target | null {
  const target = policy.target;
  if (target === null || target.prepared === null || policy.filter !== undefined) return null;
  return (side === 'client' ? policy.clients : policy.servers) ? target : null;
}

/** connect/connect6: after the original, a socket marked EARLY gets the policy on the new descriptor. */
export function connectHook(state: HandleHookState, original: () => HandleMethod | undefined): HandleMethod {
  return function connect(this: TcpHandle): unknown {
    const result = Reflect.apply(original()!, this, arguments);
    if (result === 0 && state.active() !== null) onHandleConnect(state, this, arguments[1], arguments[2]);
    return result;
  };
}

function onHandleConnect(state: HandleHookState, handle: TcpHandle, address: unknown, port: unknown): void {
  const socket = ownerOf(handle);
  if (!(socket instanceof net.Socket)) return;
  const marked = socket as unknown as Marked;
  const policy = state.active()!;
  // EARLY, or applied to an earlier attempt of autoSelectFamily (one handle per address tried).
  if (marked[kMark] !== EARLY && !hasPolicy(socket, policy)) return;
  const target = uniformTarget(policy, 'client');
  const fd = handle.fd ?? -1;
  if (target === null || fd < 0 || state.turnedOff(socket)) {
    marked[kMark] = undefined;
    return;
  }
  try {
    applyPreparedFd(fd, target.prepared!);
    marked[kMark] = target;
    track(socket, target.prepared!, address, port);
  } catch (error) {
    marked[kMark] = undefined;
    state.warn(policy, error as Error, 'could not apply the keepalive policy');
  }
}

// Listening handles given a policy, to put back what they held on uninstall
// (else a listener would go on passing an uninstalled policy to every
// connection it accepts). Weak: a closed server's handle goes.
const listeners = new Set<WeakRef<TcpHandle>>();

/** bind/bind6: marks the handle as bound by this process. */
export function bindHook(original: () => HandleMethod | undefined): HandleMethod {
  return function bind(this: TcpHandle): unknown {
    const result = Reflect.apply(original()!, this, arguments);
    if (result === 0) this[kBound] = true;
    return result;
  };
}

/** listen: before the original, a net.Server's handle gets the policy its accepted sockets inherit. */
export function listenHook(state: HandleHookState, original: () => HandleMethod | undefined): HandleMethod {
  return function listen(this: TcpHandle): unknown {
    const policy = state.active();
    if (policy !== null && LISTENERS_PASS_ON) onHandleListen(state, policy, this);
    return Reflect.apply(original()!, this, arguments);
  };
}

function onHandleListen(state: HandleHookState, policy: ActivePolicy, handle: TcpHandle): void {
  const target = uniformTarget(policy, 'server');
  const fd = handle.fd ?? -1;
  if (target === null || fd < 0 || handle[kBound] !== true || !(ownerOf(handle) instanceof net.Server)) return;
  try {
    if (handle[kListenerBefore] === undefined) handle[kListenerBefore] = readPreparedFd(fd);
    applyPreparedFd(fd, target.prepared!);
    handle[kListenerTarget] = target;
    for (const ref of listeners) if (ref.deref() === undefined) listeners.delete(ref);
    listeners.add(new WeakRef(handle));
  } catch (error) {
    handle[kListenerTarget] = undefined;
    state.warn(policy, error as Error, 'could not apply the keepalive policy to a listening socket');
  }
}

/**
 * Whether the server's accepted sockets already hold `target`: its handle
 * listened with it, and the server does not call setKeepAlive on each
 * accepted handle (net.Server's keepAlive option, which Node applies before
 * 'connection' and which would have replaced the inherited values).
 */
export function passedOn(server: net.Server, target: Target): boolean {
  const handle = (server as unknown as { _handle: TcpHandle | null })._handle;
  return handle !== null && handle !== undefined && handle[kListenerTarget] === target && !(server as unknown as { keepAlive?: boolean }).keepAlive;
}

/** Uninstall: every listener still open gets back what it held before the policy. */
export function restoreListeners(): void {
  for (const ref of listeners) {
    const handle = ref.deref();
    listeners.delete(ref);
    if (handle === undefined || handle[kListenerTarget] === undefined) continue;
    handle[kListenerTarget] = undefined;
    const fd = handle.fd ?? -1;
    try {
      if (fd >= 0) applyPreparedFd(fd, handle[kListenerBefore] as Int32Array);
    } catch {
      // closed meanwhile: nothing to put back
    }
  }
}
