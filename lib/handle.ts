// Socket handle access: from a net.Socket or tls.TLSSocket to the TCP
// handle underneath (libuv's in Node, the runtime's own in Bun and Deno),
// and from that handle to what the native layer needs to name the OS
// socket. Nothing here is cached: the descriptor is read from the live
// handle at each call, because descriptors are reused once closed.
import type { Socket } from 'node:net';

import type { DuplicatingHandle, SocketRef } from './binding';
import { frozenSocket, notTcp, socketClosed } from './errors';
import { RUNTIME } from './runtime';

interface AddressOut {
  address?: string;
  port?: number;
}

/** The parts of Node's internal handles used here (tcp_wrap, tls_wrap), and of Bun's and Deno's. */
export interface InternalHandle {
  /** Node, Bun: the descriptor (Bun: -1 until connected). */
  readonly fd?: number;
  /** TLSWrap: the stream it wraps (a TCP handle, or JSStream over a JS stream). */
  readonly _parent?: InternalHandle;
  getsockname?(out: AddressOut): number;
  getpeername?(out: AddressOut): number;
  /** Deno. */
  fdForIpc?(): number;
  /** Bun: 'IPv4' or 'IPv6' for TCP; read only once connected. */
  readonly remoteFamily?: string;
}

/** The parts of Node's net.Socket internals read by this package. */
export interface InternalSocket {
  _handle: InternalHandle | null;
  connecting: boolean;
  destroyed: boolean;
  /**
   * The net.Server that accepted the socket: null once the constructor has
   * run (and for sockets of no server), undefined while it runs.
   */
  server?: unknown;
  _server?: unknown;
  _tlsOptions?: { isServer?: boolean };
  /** The host a client socket was given by connect() (a name or an address). */
  _host?: string | null;
}

/** A socket's internals, as Node's net.js keeps them. */
export function internalsOf(socket: Socket): InternalSocket {
  return socket as unknown as InternalSocket;
}

/** Which end of a connection a socket is. */
export type Side = 'client' | 'server';

// Set on a socket that arrived connected (from another process, or made
// over a descriptor): it counts as a server-side socket.
export const kHandedOver = Symbol('tcpKeepaliveHandedOver');

/** Whether a socket is the server end (accepted, or handed over connected) or the client end. */
export function sideOf(socket: Socket): Side {
  const s = internalsOf(socket);
  return s.server || s._server || s._tlsOptions?.isServer || (socket as unknown as Record<symbol, unknown>)[kHandedOver] === true ? 'server' : 'client';
}

/** Whether the socket has a live handle and is not connecting (it may be any kind of stream). */
export function isConnected(socket: Socket): boolean {
  const s = internalsOf(socket);
  return !s.destroyed && !s.connecting && s._handle !== null;
}

/** Whether the socket's own handle (not the one a TLS socket wraps) is a TCP handle. */
export function hasTcpHandle(socket: Socket): boolean {
  const handle = internalsOf(socket)._handle;
  if (handle === null || handle === undefined) return false;
  return (tcpClass !== undefined && handle.constructor === tcpClass) || kindOf(handle) === 'TCP';
}

/**
 * Node's own record of its last setKeepAlive on a socket: net.js keeps the
 * enable flag and the delay in two symbol-keyed properties set in the
 * Socket constructor. Found once; null where Node has no such record.
 */
export type KeepaliveRecord = readonly [enable: symbol, delay: symbol];
let keepaliveRecord: KeepaliveRecord | null | undefined;

export function keepaliveRecordOf(socket: Socket): KeepaliveRecord | null {
  // Bun and Deno keep properties of the same names, but whether a repeated
  // call reaches the OS is theirs to decide: no record, so the policy goes
  // on top of every call.
  if (RUNTIME !== 'node') return null;
  if (keepaliveRecord === undefined) {
    const symbols = Object.getOwnPropertySymbols(socket);
    const enable = symbols.find((s) => s.description === 'kSetKeepAlive');
    const delay = symbols.find((s) => s.description === 'kSetKeepAliveInitialDelay');
    keepaliveRecord = enable && delay ? [enable, delay] : null;
  }
  return keepaliveRecord;
}

/** The OS socket of a connection, as the native layer takes it. */
export interface Target {
  /** The descriptor, -1 where libuv does not expose it (Windows), or the handle to duplicate it from (Deno). */
  fd: SocketRef;
  /** Present only where fd is -1: the connection's addresses. */
  local?: AddressOut;
  remote?: AddressOut;
}

const HANDLE_KINDS: Readonly<Record<string, string>> = {
  Pipe: 'Unix domain socket or named pipe',
  JSStream: 'TLS socket over a JavaScript stream',
  TTY: 'TTY',
};

// Node's TCP handle class (tcp_wrap), remembered once a handle of it is seen.
let tcpClass: unknown;

// Deno's node:net names its handle classes otherwise.
const DENO_KINDS: Readonly<Record<string, string>> = { TCPWrap: 'TCP', PipeWrap: 'Pipe' };

function kindOf(handle: InternalHandle): string {
  if (RUNTIME === 'bun') return bunKindOf(handle);
  const name = handle.constructor.name;
  return RUNTIME === 'deno' ? (DENO_KINDS[name] ?? name) : name;
}

// Bun's handle is its own socket object, a plain Object tagged TCPSocket or
// TLSSocket whether it is over TCP or a Unix socket, with the descriptor in
// `fd` (-1 until connected). Its remoteFamily tells the two apart, but
// reading it (or remoteAddress) before the socket has connected leaves both
// undefined for good, for the application too: so it is read only once
// there is a descriptor, and until then the socket counts as TCP (nothing is
// applied to it before 'connect', where this is asked again).
function bunKindOf(handle: InternalHandle): string {
  const tag = Object.prototype.toString.call(handle).slice(8, -1);
  if (tag !== 'TCPSocket' && tag !== 'TLSSocket') return handle.constructor?.name ?? tag;
  if ((handle.fd ?? -1) < 0) return 'TCP';
  const family = handle.remoteFamily;
  return family === 'IPv4' || family === 'IPv6' ? 'TCP' : 'Pipe';
}

/**
 * The kind of the OS handle under a socket ('TCP', 'Pipe', 'JSStream', ...;
 * a TLS socket's is the stream it wraps), or '' without a handle.
 */
export function handleKind(socket: Socket): string {
  const handle = (socket as unknown as InternalSocket)._handle;
  if (handle === null || handle === undefined) return '';
  const below = tcpHandleBelow(handle);
  return typeof below === 'string' ? below : 'TCP';
}

// The TCP handle a socket's handle is or wraps (a TLSWrap's parent), or the
// kind of handle it is instead. The drop-in policy asks this on every
// connect: a plain TCP handle is recognised by its class alone (reading a
// constructor's name is a call into V8's runtime).
function tcpHandleBelow(handle: InternalHandle): InternalHandle | string {
  if (handle.constructor === tcpClass) return handle;
  const below = kindOf(handle) === 'TLSWrap' && handle._parent ? handle._parent : handle;
  const kind = kindOf(below);
  if (kind !== 'TCP') return kind;
  // Bun's handles of every kind share their constructor (Object).
  if (RUNTIME === 'node') tcpClass = below.constructor;
  return below;
}

/**
 * Whether the socket has no connected handle yet and will get one on
 * 'connect' (still connecting, or created and not yet connected).
 */
export function isPending(socket: Socket): boolean {
  const s = socket as unknown as InternalSocket;
  return !s.destroyed && (s.connecting || s._handle === null);
}

/**
 * Runs `onConnect` when a pending socket connects (first among its
 * 'connect' listeners with `first`), or `onClose` if it closes before;
 * nothing is left on the socket either way.
 */
export function onceConnected(socket: Socket, onConnect: () => void, onClose?: () => void, first = false): void {
  // Adding a listener writes to the socket (its listener count): on a frozen
  // socket that is a TypeError half-way through EventEmitter's bookkeeping.
  if (Object.isFrozen(socket)) throw frozenSocket();
  const connected = (): void => {
    socket.removeListener('close', closed);
    onConnect();
  };
  const closed = (): void => {
    socket.removeListener('connect', connected);
    onClose?.();
  };
  if (first) socket.prependOnceListener('connect', connected);
  else socket.once('connect', connected);
  socket.once('close', closed);
}

/**
 * The connected TCP socket's target for the native layer. Throws
 * ERR_SOCKET_CLOSED for a destroyed or closed socket and
 * ERR_KEEPALIVE_NOT_TCP for anything that is not TCP.
 */
export function targetOf(socket: Socket): Target {
  const handle = tcpHandleOf(socket);
  const fd = handle.fd ?? -1;
  if (fd >= 0) return { fd };
  if (duplicates(handle)) return { fd: handle };
  return locatorOf(handle);
}

/**
 * The descriptor of a connected TCP socket (Deno: its handle, to duplicate
 * it from), or -1 where libuv does not expose it (Windows: use targetOf).
 * Throws as targetOf does. For the per-connection path of the drop-in
 * policy: no object per call.
 */
export function descriptorOf(socket: Socket): SocketRef {
  const handle = tcpHandleOf(socket);
  const fd = handle.fd ?? -1;
  if (fd >= 0 || process.platform === 'win32') return fd;
  if (duplicates(handle)) return handle;
  throw socketClosed();
}

// Deno's TCP handle: no `fd`, a duplicate from fdForIpc() (POSIX only; on
// Windows the addresses name the socket, as in Node).
function duplicates(handle: InternalHandle): handle is InternalHandle & DuplicatingHandle {
  return RUNTIME === 'deno' && process.platform !== 'win32' && typeof handle.fdForIpc === 'function';
}

/**
 * The TCP handle under a socket that Node is closing (inside _destroy:
 * `destroyed` is already true, the descriptor still open), or null.
 */
export function closingTcpHandleOf(socket: Socket): InternalHandle | null {
  const handle = internalsOf(socket)._handle;
  if (handle === null || handle === undefined) return null;
  const below = tcpHandleBelow(handle);
  return typeof below === 'string' ? null : below;
}

/** The TCP handle under a connected socket (a TLS socket's parent); throws as targetOf does. */
function tcpHandleOf(socket: Socket): InternalHandle {
  const s = socket as unknown as InternalSocket;
  if (s.destroyed || s._handle === null) throw socketClosed();
  const below = tcpHandleBelow(s._handle);
  if (typeof below === 'string') throw notTcp(HANDLE_KINDS[below] ?? `${below} handle`);
  return below;
}

/** A TCP handle without a descriptor: closed, or on Windows named by its addresses. */
function locatorOf(handle: InternalHandle): Target {
  if (process.platform !== 'win32') throw socketClosed();
  // Windows: libuv keeps the SOCKET to itself; the native layer finds the
  // handle by the connection's addresses.
  const local: AddressOut = {};
  const remote: AddressOut = {};
  if (handle.getsockname?.(local) !== 0 || handle.getpeername?.(remote) !== 0) throw socketClosed();
  return { fd: -1, local, remote };
}
