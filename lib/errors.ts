// Errors in Node's own shapes: a `code` on every error, Node's codes and
// wording where Node has one, and system errors like Node's ErrnoException.
import { inspect, getSystemErrorName } from 'node:util';

export type ErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_SOCKET_CLOSED'
  | 'ERR_KEEPALIVE_NOT_TCP'
  | 'ERR_KEEPALIVE_NOT_CONNECTED'
  | 'ERR_KEEPALIVE_UNSUPPORTED'
  | 'ERR_KEEPALIVE_POLICY'
  | 'ERR_TCP_KEEPALIVE_ENV';

/** An error thrown by tcp-keepalive for bad input or an unusable socket. */
export interface KeepaliveError extends Error {
  code: ErrorCode;
}

/** An operating-system failure, shaped like Node's own system errors. */
export interface KeepaliveSystemError extends Error {
  /** Error name such as 'EINVAL'. */
  code: string;
  /** Negative errno, as Node reports it. */
  errno: number;
  /** 'setsockopt', 'getsockopt', 'WSAIoctl' or 'uv_walk'. */
  syscall: string;
  /** The socket option that failed, such as 'TCP_KEEPIDLE'. */
  option: string;
}

type ErrorClass = typeof Error | typeof TypeError | typeof RangeError;

function codedError(Base: ErrorClass, code: ErrorCode, message: string): KeepaliveError {
  const error = new Base(message) as KeepaliveError;
  error.code = code;
  // Node prints its own coded errors as "TypeError [ERR_X]: message".
  // Node prints its coded errors as "TypeError [ERR_X]: message": the stack
  // is formatted on first access, with the name it has then.
  Object.defineProperty(error, 'name', { value: `${Base.name} [${code}]`, configurable: true });
  void error.stack;
  delete (error as { name?: string }).name;
  return error;
}

/** Node's description of a received value, as in its ERR_INVALID_ARG_TYPE. */
export function describeReceived(value: unknown): string {
  if (value == null) return ` Received ${String(value)}`;
  if (typeof value === 'function') return ` Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return name ? ` Received an instance of ${name}` : ` Received ${inspect(value, { depth: -1 })}`;
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return ` Received type ${typeof value} (${shown})`;
}

export function invalidArgType(name: string, expected: string, value: unknown): KeepaliveError {
  const kind = name.includes('.') ? 'property' : 'argument';
  return codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" ${kind} must be ${expected}.${describeReceived(value)}`);
}

export function invalidArgValue(name: string, value: unknown, reason: string): KeepaliveError {
  const kind = name.includes('.') ? 'property' : 'argument';
  return codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `The ${kind} '${name}' ${reason}. Received ${inspect(value)}`);
}

export function outOfRange(name: string, range: string, value: unknown): KeepaliveError {
  return codedError(
    RangeError,
    'ERR_OUT_OF_RANGE',
    `The value of "${name}" is out of range. It must be ${range}. Received ${inspect(value)}`,
  );
}

export function socketClosed(): KeepaliveError {
  return codedError(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed');
}

export function notTcp(kind: string): KeepaliveError {
  return codedError(
    Error,
    'ERR_KEEPALIVE_NOT_TCP',
    `TCP keepalive applies to TCP sockets only; this socket is a ${kind}`,
  );
}

export function notConnected(): KeepaliveError {
  return codedError(
    Error,
    'ERR_KEEPALIVE_NOT_CONNECTED',
    "Socket is not connected yet; its keepalive state can be read after 'connect'",
  );
}

export function unsupported(option: string, platform: string): KeepaliveError {
  return codedError(
    Error,
    'ERR_KEEPALIVE_UNSUPPORTED',
    `The "${option}" option is not supported on ${platform}; leave it out there (see \`supported\`)`,
  );
}

/** Like Node's ErrnoException: "setsockopt EINVAL (TCP_KEEPIDLE)". */
export function systemError(errno: number, syscall: string, option: string): KeepaliveSystemError {
  let code: string;
  try {
    code = getSystemErrorName(errno);
  } catch {
    code = `Unknown system error ${errno}`;
  }
  const error = new Error(`${syscall} ${code} (${option})`) as KeepaliveSystemError;
  error.code = code;
  error.errno = errno;
  error.syscall = syscall;
  error.option = option;
  return error;
}
