// Input validation, before any system call, with Node's codes and wording.
import { Socket } from 'node:net';

import { invalidArgType, invalidArgValue, outOfRange, unsupported } from './errors';
import { supported, type NumericSettingName } from './supported';

/** What `setKeepalive` accepts. Durations are whole seconds. */
export interface KeepaliveOptions {
  /** Turn keepalive on (default) or off. */
  enable?: boolean;
  /** Seconds of silence before the first probe. */
  idle?: number;
  /** Seconds between unanswered probes. */
  interval?: number;
  /** Unanswered probes before the connection is declared dead. */
  count?: number;
  /**
   * Seconds sent data may stay unacknowledged before the connection is
   * dropped; 0 = system default; 'auto' = idle + interval × count.
   */
  userTimeout?: number | 'auto';
}

/** Validated options: every present field is in range for this platform. */
export interface ValidOptions {
  enable: boolean;
  idle?: number;
  interval?: number;
  count?: number;
  userTimeout?: number | 'auto';
}

const KNOWN = new Set(['enable', 'idle', 'interval', 'count', 'userTimeout']);
const NUMERIC: readonly NumericSettingName[] = ['idle', 'interval', 'count'];

export function validateSocket(socket: unknown): asserts socket is Socket {
  if (!(socket instanceof Socket)) {
    throw invalidArgType('socket', 'an instance of net.Socket or tls.TLSSocket', socket);
  }
}

/** Checks one numeric setting against this platform's range. */
export function validateSetting(name: NumericSettingName, value: unknown, label = `options.${name}`): number {
  if (typeof value !== 'number') throw invalidArgType(label, 'of type number', value);
  if (!supported.set[name]) throw unsupported(name, supported.platform);
  const { min, max } = supported.limits[name];
  if (!Number.isInteger(value)) throw outOfRange(label, 'an integer', value);
  if (value < min || value > max) throw outOfRange(label, `>= ${min} && <= ${max}`, value);
  return value;
}

export function validateOptions(options: unknown): ValidOptions {
  if (options === undefined) return { enable: true };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidArgType('options', 'of type object', options);
  }
  const input = options as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KNOWN.has(key)) {
      throw invalidArgValue(`options.${key}`, input[key], `is not a keepalive option (use ${[...KNOWN].join(', ')})`);
    }
  }
  const valid: ValidOptions = { enable: true };
  if (input.enable !== undefined) {
    if (typeof input.enable !== 'boolean') throw invalidArgType('options.enable', 'of type boolean', input.enable);
    valid.enable = input.enable;
  }
  for (const name of NUMERIC) {
    if (input[name] !== undefined) valid[name] = validateSetting(name, input[name]);
  }
  const userTimeout = input.userTimeout;
  if (userTimeout === 'auto') {
    if (!supported.set.userTimeout) throw unsupported('userTimeout', supported.platform);
    valid.userTimeout = 'auto';
  } else if (userTimeout !== undefined) {
    if (typeof userTimeout !== 'number') {
      throw invalidArgType('options.userTimeout', "of type number or 'auto'", userTimeout);
    }
    // 0 (the system default) is accepted everywhere, even without support.
    valid.userTimeout = userTimeout === 0 ? 0 : validateSetting('userTimeout', userTimeout);
  }
  return valid;
}
