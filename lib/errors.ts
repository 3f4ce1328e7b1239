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
  | 'ERR_KEEPALIVE_LISTENER'
  | 'ERR_KEEPALIVE_NO_OPENTELEMETRY'
  | 'ERR_KEEPALIVE_UNREACHABLE'
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

/** Any function, as a stack cut-off point. */
type AnyFunction = (...args: never[]) => unknown;

type ErrorClass = typeof Error | typeof TypeError | typeof RangeError;

// Characters that must not reach a terminal or a log line as they are:
// C0 and C1 controls, DEL, the line and paragraph separators and the
// bidirectional overrides (they reorder what a terminal shows).
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeOne(char: string): string {
  const code = char.charCodeAt(0);
  return NAMED[char] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/**
 * Text from the caller made safe to print: a newline, return or tab as \n,
 * \r, \t, other control characters as \xNN (\uNNNN above U+00FF), as a
 * C or JavaScript string literal writes them. Every message that quotes
 * input, the library's and the command's, goes through it.
 */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}

// Errors made by this package, so the public entry points can cut the
// package's own frames off their stacks (as Node's validators do).
const ownErrors = new WeakSet<Error>();

// Node prints its coded errors as "TypeError [ERR_X]: message": the stack is
// formatted when captured, with the name the error has then.
function captureStack(error: Error, code: string, base: string, below?: AnyFunction): void {
  Object.defineProperty(error, 'name', { value: `${base} [${code}]`, configurable: true });
  if (below !== undefined) Error.captureStackTrace(error, below);
  void error.stack;
  delete (error as { name?: string }).name;
}

function codedError(Base: ErrorClass, code: ErrorCode, message: string, cause?: unknown): KeepaliveError {
  const error = new Base(escapeControl(message), cause === undefined ? undefined : { cause }) as KeepaliveError;
  error.code = code;
  captureStack(error, code, Base.name);
  ownErrors.add(error);
  return error;
}

/**
 * An error made by this package, its stack cut to start at the caller of
 * `entry` (a public function): what Node's hideStackFrames does for its
 * validators. Anything else is returned as it is.
 */
export function hideOwnFrames<E>(error: E, entry: AnyFunction): E {
  if (!(error instanceof Error) || !ownErrors.has(error)) return error;
  const { code } = error as Error & { code?: unknown };
  if (typeof code !== 'string' || !code.startsWith('ERR_')) Error.captureStackTrace(error, entry);
  else captureStack(error, code, Object.getPrototypeOf(error).constructor.name, entry);
  return error;
}

/**
 * Wraps a validator so that errors it throws start their stacks at its
 * caller (Node's internal hideStackFrames). For functions off the per-call
 * path: the wrapper passes its arguments through a rest parameter.
 */
export function hideStackFrames<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  const wrapper = function (this: unknown, ...args: A): R {
    try {
      return fn.apply(this, args);
    } catch (error) {
      throw hideOwnFrames(error, wrapper);
    }
  };
  Object.defineProperty(wrapper, 'name', { value: fn.name, configurable: true });
  return wrapper;
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

/** A socket that is still connecting but cannot take a 'connect' listener. */
export function frozenSocket(): KeepaliveError {
  return codedError(
    TypeError,
    'ERR_INVALID_ARG_VALUE',
    "The argument 'socket' is frozen: settings for a socket still connecting wait for its 'connect' event, " +
      'and a frozen socket cannot take a listener. Received an instance of Socket',
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

/** Connections a policy cannot reach in this runtime (lib/policy-gaps.ts); `what` says which and why. */
export function unreachable(what: string): KeepaliveError {
  return codedError(Error, 'ERR_KEEPALIVE_UNREACHABLE', what);
}

/** enableMetrics without a meterProvider where @opentelemetry/api cannot be loaded. */
export function noOpenTelemetry(cause: unknown): KeepaliveError {
  return codedError(
    Error,
    'ERR_KEEPALIVE_NO_OPENTELEMETRY',
    'enableMetrics needs @opentelemetry/api (npm install @opentelemetry/api), or a meterProvider in its options',
    cause,
  );
}

/**
 * A warning for process.emitWarning: named TcpKeepaliveWarning, with a code
 * and the error behind it.
 */
export function keepaliveWarning(message: string, code: string | undefined, cause: unknown): Error & { code?: string } {
  const warning = new Error(message, { cause }) as Error & { code?: string };
  warning.name = 'TcpKeepaliveWarning';
  warning.code = code;
  return warning;
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
  ownErrors.add(error);
  error.code = code;
  error.errno = errno;
  error.syscall = syscall;
  error.option = option;
  return error;
}
