// getHealth: what the kernel knows about a TCP connection right now, read
// with one native call (src/health_<os>.cc): Linux and FreeBSD TCP_INFO,
// macOS TCP_CONNECTION_INFO, Windows SIO_TCP_INFO.
import type { Socket } from 'node:net';

import { binding, HealthOut, type SocketRef } from './binding';
import { notConnected, systemError, type KeepaliveError, type KeepaliveSystemError } from './errors';
import { isPending, targetOf } from './handle';
import { supported } from './supported';
import { validateSocket } from './validate';

/** A TCP connection state, the same names on every OS. */
export type TcpState =
  | 'unknown'
  | 'established'
  | 'syn-sent'
  | 'syn-received'
  | 'fin-wait-1'
  | 'fin-wait-2'
  | 'time-wait'
  | 'closed'
  | 'close-wait'
  | 'last-ack'
  | 'listen'
  | 'closing';

/**
 * A connection's health as the kernel reports it at the moment of the call.
 * These are measurements, not settings: durations are milliseconds (named
 * `...Ms`, fractions allowed), counts are counts. A value this OS does not
 * report is `null` (see `healthFields`).
 */
export interface TcpHealth {
  /** The TCP state: 'established' for a live connection. */
  state: TcpState;
  /** Keepalive probes sent and not answered yet; 0 while the peer answers. (Linux) */
  probes: number | null;
  /** Retransmission timeouts of the oldest unacknowledged segment so far; 0 when nothing is outstanding. (Linux) */
  retransmits: number | null;
  /** Exponential backoff of the retransmission timer. (Linux) */
  backoff: number | null;
  /** Segments sent and not acknowledged yet. (Linux) */
  unacked: number | null;
  /** Current retransmission timeout, ms. (Linux, macOS, FreeBSD) */
  rtoMs: number | null;
  /** Smoothed round-trip time, ms. (all) */
  rttMs: number | null;
  /**
   * Time since any segment (data or acknowledgement) was received, ms: the
   * idle time the keepalive timer counts. (Linux, FreeBSD)
   */
  lastReceivedMs: number | null;
  /** Time since data was received, ms. (Linux) */
  lastDataReceivedMs: number | null;
  /** Time since an acknowledgement was received, ms; a keepalive probe's answer resets it. (Linux) */
  lastAckReceivedMs: number | null;
  /** Time since data was sent, ms. (Linux) */
  lastDataSentMs: number | null;
  /** Segments retransmitted over the connection's life. (Linux, macOS, FreeBSD) */
  totalRetransmits: number | null;
  /** Payload bytes sent, retransmissions included. (Linux 4.19+, macOS, Windows) */
  bytesSent: number | null;
  /** Payload bytes received. (Linux 4.1+, macOS, Windows) */
  bytesReceived: number | null;
  /** Where the values came from: 'TCP_INFO', 'TCP_CONNECTION_INFO' or 'SIO_TCP_INFO'. */
  source: string;
}

/** The numeric fields of `TcpHealth`. */
export type HealthField = Exclude<keyof TcpHealth, 'state' | 'source'>;

// Same order as HealthField in src/health.h.
const FIELDS = [
  'state',
  'probes',
  'retransmits',
  'backoff',
  'unacked',
  'rtoMs',
  'rttMs',
  'lastReceivedMs',
  'lastDataReceivedMs',
  'lastAckReceivedMs',
  'lastDataSentMs',
  'totalRetransmits',
  'bytesSent',
  'bytesReceived',
] as const;

/** The native call added for health (src/binding.cc), typed here. */
interface HealthBinding {
  /**
   * Reads the connection's health into `out` (-1 where unreported); returns
   * 0, or a negative errno with the option and system call in out[14], out[15].
   */
  health(
    fd: SocketRef,
    out: Float64Array,
    localAddress?: string,
    localPort?: number,
    remoteAddress?: string,
    remotePort?: number,
  ): number;
  /**
   * Linux only: both addresses of a connection that may already have
   * failed (getsockname, and getsockopt SO_PEERNAME: getpeername gives
   * ENOTCONN then), or a negative errno.
   */
  addressesAfterEnd?(fd: number): EndAddresses | number;
  /** Bit (1 << index in FIELDS) set for each value this OS can report. */
  readonly healthFieldMask: number;
  readonly stateNames: readonly string[];
}

const native = binding as typeof binding & HealthBinding;
const out = new Float64Array(HealthOut.Length);

const SOURCES: Readonly<Record<string, string>> = {
  linux: 'TCP_INFO',
  freebsd: 'TCP_INFO',
  darwin: 'TCP_CONNECTION_INFO',
  win32: 'SIO_TCP_INFO',
};

/** The OS call `getHealth` uses on this platform. */
export const healthSource: string = SOURCES[supported.platform] ?? 'TCP_INFO';

/**
 * The `TcpHealth` fields this platform can report (others are always null).
 * On Windows they need Windows 10 1703 / Server 2016 or later; before that
 * `getHealth` throws ERR_KEEPALIVE_UNSUPPORTED.
 */
export const healthFields: readonly HealthField[] = Object.freeze(
  FIELDS.filter((name, index): name is HealthField => name !== 'state' && (native.healthFieldMask & (1 << index)) !== 0),
);

function unsupportedHealth(cause: KeepaliveSystemError): KeepaliveError {
  const error = new Error(
    `Connection health is not available on this system: ${cause.syscall} ${healthSource} is not supported ` +
      '(Windows needs 10 version 1703 or Server 2016 or later)',
    { cause },
  ) as KeepaliveError;
  error.code = 'ERR_KEEPALIVE_UNSUPPORTED';
  return error;
}

function healthFromOut(): TcpHealth {
  return {
    state: (native.stateNames[out[0]!] ?? 'unknown') as TcpState,
    probes: value(1),
    retransmits: value(2),
    backoff: value(3),
    unacked: value(4),
    rtoMs: value(5),
    rttMs: value(6),
    lastReceivedMs: value(7),
    lastDataReceivedMs: value(8),
    lastAckReceivedMs: value(9),
    lastDataSentMs: value(10),
    totalRetransmits: value(11),
    bytesSent: value(12),
    bytesReceived: value(13),
    source: healthSource,
  };
}

/**
 * The health of a descriptor, read without checking the socket around it
 * (the connection-end records read it while Node is closing the socket);
 * null where the OS refuses or needs more than a descriptor (Windows).
 * @internal
 */
export function readHealthFd(fd: number): TcpHealth | null {
  if (fd < 0 || native.health(fd, out) < 0) return null;
  return healthFromOut();
}

/** A connection's two addresses. @internal */
export interface EndAddresses {
  local: { address: string; port: number };
  remote: { address: string; port: number };
}

/**
 * Whether the OS still reports both addresses of a connection that failed,
 * until its descriptor closes (Linux). Elsewhere the connection-end records
 * read the peer while the connection is up.
 * @internal
 */
export const addressesAfterEnd: boolean = typeof native.addressesAfterEnd === 'function';

let addressesAnswer: boolean | undefined;

/**
 * Whether the addresses of a failed connection can be read at its end here:
 * the native call exists (Linux) and the system answers it. qemu-user does
 * not pass SO_PEERNAME through (EOPNOTSUPP). Asked once per process, on the
 * first descriptor given that can tell; until then, whether the call exists.
 * @internal
 */
export function addressesReadableAtEnd(fd: number): boolean {
  if (addressesAnswer === undefined && addressesAfterEnd && fd >= 0) askAddresses(fd);
  return addressesAnswer ?? addressesAfterEnd;
}

/**
 * Both addresses of a descriptor about to close, even after a reset or
 * timeout (Linux); null where unknown, and without a system call once this
 * system refused the question. @internal
 */
export function readAddressesFd(fd: number): EndAddresses | null {
  return addressesAfterEnd && addressesAnswer !== false && fd >= 0 ? askAddresses(fd) : null;
}

// The one native call; its first conclusive answer is kept for the process.
function askAddresses(fd: number): EndAddresses | null {
  const read = native.addressesAfterEnd!(fd);
  if (typeof read === 'object') {
    addressesAnswer = true;
    return read;
  }
  if (read === -95 || read === -92) addressesAnswer = false; // EOPNOTSUPP, ENOPROTOOPT: not on this system
  return null;
}

function value(index: number): number | null {
  const v = out[index]!;
  return v < 0 ? null : v;
}

/**
 * Reads a connected TCP socket's health from the kernel (client or server
 * side, net or tls). Throws like `getKeepalive`: ERR_INVALID_ARG_TYPE,
 * ERR_SOCKET_CLOSED, ERR_KEEPALIVE_NOT_TCP, ERR_KEEPALIVE_NOT_CONNECTED; a
 * system error (`getsockopt EBADF (TCP_INFO)`) when the OS refuses; and
 * ERR_KEEPALIVE_UNSUPPORTED where the OS has no such call (Windows before
 * 10 1703).
 */
export function getHealth(socket: Socket): TcpHealth {
  validateSocket(socket);
  if (isPending(socket)) throw notConnected();
  const target = targetOf(socket);
  const rc = native.health(target.fd, out, target.local?.address, target.local?.port, target.remote?.address, target.remote?.port);
  if (rc < 0) {
    const error = systemError(rc, binding.syscallNames[out[HealthOut.Syscall]!]!, binding.optionNames[out[HealthOut.Option]!]!);
    throw error.code === 'ENOTSUP' && supported.platform === 'win32' ? unsupportedHealth(error) : error;
  }
  return healthFromOut();
}
