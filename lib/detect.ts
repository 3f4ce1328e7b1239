// The detection-time arithmetic, on its own for planning.
import { invalidArgType, outOfRange } from './errors';

export interface DetectOptions {
  /** Seconds of silence before the first probe. */
  idle: number;
  /** Seconds between unanswered probes. */
  interval: number;
  /** Unanswered probes before the connection is declared dead. */
  count: number;
  /** Seconds (0 = none). On Linux it replaces the count rule, see below. */
  userTimeout?: number;
}

/**
 * Worst-case seconds before a silently dead peer of an idle connection is
 * detected: idle + interval × count (RFC 1122 keepalive; 7200 + 75 × 9 =
 * 7875 s with Linux defaults).
 *
 * Linux specifics, applied when `platform` is 'linux' (the default is this
 * process's platform):
 * - Once a probe was answered, the kernel re-arms its keepalive timer for
 *   `interval` and a segment received later does not re-arm it, so the first
 *   probe can come up to max(idle, interval) after the last segment: the bound
 *   is max(idle, interval) + interval × count (the same when idle ≥ interval).
 * - A userTimeout (TCP_USER_TIMEOUT) replaces the count: the kernel drops the
 *   connection at the first probe time (first probe + k × interval, k ≥ 0)
 *   that is at or past userTimeout.
 */
export function detectAfter(options: DetectOptions, platform: string = process.platform): number {
  if (options === null || typeof options !== 'object') {
    throw invalidArgType('options', 'of type object', options);
  }
  const idle = positive('options.idle', options.idle);
  const interval = positive('options.interval', options.interval);
  const count = positive('options.count', options.count);
  const userTimeout = options.userTimeout === undefined ? 0 : nonNegative('options.userTimeout', options.userTimeout);
  return computeDetectAfter(idle, interval, count, userTimeout, platform);
}

/** The same arithmetic on values already validated. */
export function computeDetectAfter(
  idle: number,
  interval: number,
  count: number,
  userTimeout: number,
  platform: string,
): number {
  if (platform !== 'linux') return idle + interval * count;
  const first = Math.max(idle, interval);
  if (userTimeout > 0) return first + interval * Math.max(1, Math.ceil((userTimeout - first) / interval));
  return first + interval * count;
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < 1) throw outOfRange(name, '>= 1', value);
  return value;
}

function nonNegative(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < 0) throw outOfRange(name, '>= 0', value);
  return value;
}
