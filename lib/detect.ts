// The detection-time arithmetic, on its own for planning.
import { hideOwnFrames, outOfRange } from './errors';
import { ownValue, validateInteger, validateObject } from './validate';

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
  try {
    validateObject(options, 'options');
    const idle = integerField(options, 'idle', 1);
    const interval = integerField(options, 'interval', 1);
    const count = integerField(options, 'count', 1);
    const userTimeout = Object.hasOwn(options, 'userTimeout') && options.userTimeout !== undefined ? integerField(options, 'userTimeout', 0) : 0;
    const seconds = computeDetectAfter(idle, interval, count, userTimeout, platform);
    if (!Number.isSafeInteger(seconds)) {
      throw outOfRange('detectAfter(options)', `<= ${Number.MAX_SAFE_INTEGER} seconds (idle + interval × count)`, seconds);
    }
    return seconds;
  } catch (error) {
    throw hideOwnFrames(error, detectAfter);
  }
}

/** An own integer property from `min` to the largest safe integer. */
function integerField(options: Record<string, unknown>, key: keyof DetectOptions, min: number): number {
  const value = ownValue(options, key);
  validateInteger(value, `options.${key}`, min, Number.MAX_SAFE_INTEGER);
  return value;
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
