// Input validation, before any system call, with Node's codes and wording:
// Node-style validators (as in Node's internal/validators) used by every
// module that takes options, and the keepalive options check built on them.
// Options are read from own properties only: a polluted Object.prototype
// changes nothing.
import { Socket } from 'node:net';

import { hideOwnFrames, invalidArgType, invalidArgValue, outOfRange, unsupported } from './errors';
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

/**
 * Validated options: every present field is in range for this platform.
 * Made by validOptions(): every field is an own property (undefined when
 * not given), so reading one never falls through to Object.prototype.
 */
export interface ValidOptions {
  enable: boolean;
  idle?: number;
  interval?: number;
  count?: number;
  userTimeout?: number | 'auto';
}

/** ValidOptions with every field its own property (one object shape for all). */
export function validOptions(
  enable = true,
  idle?: number,
  interval?: number,
  count?: number,
  userTimeout?: number | 'auto',
): ValidOptions {
  return { enable, idle, interval, count, userTimeout };
}

/** The fields of `options` that are set (undefined ones left out), as a fresh plain object. */
export function definedOptions(options: ValidOptions): ValidOptions {
  const copy: ValidOptions = { enable: options.enable };
  if (options.idle !== undefined) copy.idle = options.idle;
  if (options.interval !== undefined) copy.interval = options.interval;
  if (options.count !== undefined) copy.count = options.count;
  if (options.userTimeout !== undefined) copy.userTimeout = options.userTimeout;
  return copy;
}

/** Later options over earlier ones: the fields `later` sets replace those of `target`. */
export function mergeOptions(target: ValidOptions, later: ValidOptions): void {
  target.enable = later.enable;
  if (later.idle !== undefined) target.idle = later.idle;
  if (later.interval !== undefined) target.interval = later.interval;
  if (later.count !== undefined) target.count = later.count;
  if (later.userTimeout !== undefined) target.userTimeout = later.userTimeout;
}

/** The keepalive option names, in the order messages list them. */
export const OPTION_NAMES: readonly string[] = Object.freeze(['enable', 'idle', 'interval', 'count', 'userTimeout']);

/** An object's own property, or undefined: never one inherited from its prototype chain. */
export function ownValue(object: object, key: string): unknown {
  return Object.hasOwn(object, key) ? (object as Record<string, unknown>)[key] : undefined;
}

/**
 * Node's validateObject: a non-null object, not an array unless
 * `allowArray`, not null unless `nullable`. ERR_INVALID_ARG_TYPE.
 */
export function validateObject(
  value: unknown,
  name: string,
  options?: { allowArray?: boolean; nullable?: boolean },
): asserts value is Record<string, unknown> {
  if (value === null ? options?.nullable !== true : typeof value !== 'object' || (Array.isArray(value) && options?.allowArray !== true)) {
    throw hideOwnFrames(invalidArgType(name, 'of type object', value), validateObject);
  }
}

/** Node's validateBoolean. ERR_INVALID_ARG_TYPE. */
export function validateBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw hideOwnFrames(invalidArgType(name, 'of type boolean', value), validateBoolean);
}

/** Node's validateFunction. ERR_INVALID_ARG_TYPE. */
export function validateFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw hideOwnFrames(invalidArgType(name, 'of type function', value), validateFunction);
}

/** Node's validateString. ERR_INVALID_ARG_TYPE. */
export function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw hideOwnFrames(invalidArgType(name, 'of type string', value), validateString);
}

/**
 * Node's validateNumber: a number (ERR_INVALID_ARG_TYPE), within the bounds
 * given, NaN outside any bound (ERR_OUT_OF_RANGE).
 */
export function validateNumber(value: unknown, name: string, min?: number, max?: number): asserts value is number {
  if (typeof value !== 'number') throw hideOwnFrames(invalidArgType(name, 'of type number', value), validateNumber);
  const bounded = min !== undefined || max !== undefined;
  if ((min !== undefined && value < min) || (max !== undefined && value > max) || (bounded && Number.isNaN(value))) {
    const range = [min === undefined ? '' : `>= ${min}`, max === undefined ? '' : `<= ${max}`].filter(Boolean).join(' && ');
    throw hideOwnFrames(outOfRange(name, range, value), validateNumber);
  }
}

/**
 * Node's validateInteger: a number (ERR_INVALID_ARG_TYPE), an integer and
 * from `min` to `max` (ERR_OUT_OF_RANGE; by default the safe integers).
 */
export function validateInteger(
  value: unknown,
  name: string,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): asserts value is number {
  if (typeof value !== 'number') throw hideOwnFrames(invalidArgType(name, 'of type number', value), validateInteger);
  if (!Number.isInteger(value)) throw hideOwnFrames(outOfRange(name, 'an integer', value), validateInteger);
  if (value < min || value > max) throw hideOwnFrames(outOfRange(name, `>= ${min} && <= ${max}`, value), validateInteger);
}

/** Node's validateOneOf: one of the listed values (ERR_INVALID_ARG_VALUE, "must be one of: 'a', 'b'"). */
export function validateOneOf<T>(value: unknown, name: string, oneOf: readonly T[]): asserts value is T {
  if (!oneOf.includes(value as T)) {
    const allowed = oneOf.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ');
    throw hideOwnFrames(invalidArgValue(name, value, `must be one of: ${allowed}`), validateOneOf);
  }
}

/** The error for an own key that is not one of `known` (ERR_INVALID_ARG_VALUE). */
export function unknownKeyError(name: string, key: string, value: unknown, what: string, known: readonly string[]): Error {
  return invalidArgValue(`${name}.${key}`, value, `is not ${what} (use ${known.join(', ')})`);
}

/**
 * Every own enumerable key of `object` is one of `known`; otherwise
 * ERR_INVALID_ARG_VALUE naming the key: "The property 'options.x' is not
 * an install option (use clients, servers, filter)".
 */
export function validateKnownKeys(object: object, name: string, known: readonly string[], what: string): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) {
      throw hideOwnFrames(unknownKeyError(name, key, (object as Record<string, unknown>)[key], what, known), validateKnownKeys);
    }
  }
}

export function validateSocket(socket: unknown): asserts socket is Socket {
  if (!(socket instanceof Socket)) {
    throw invalidArgType('socket', 'an instance of net.Socket or tls.TLSSocket', socket);
  }
}

/** Checks one numeric setting against this platform's range. */
export function validateSetting(name: NumericSettingName, value: unknown, label = `options.${name}`): number {
  return checkSetting(ruleFor(name, label), value);
}

/** One numeric setting's rules, looked up once: the per-call checks read fixed fields. */
interface SettingRule {
  readonly name: NumericSettingName;
  readonly label: string;
  readonly settable: boolean;
  readonly min: number;
  readonly max: number;
}

function ruleFor(name: NumericSettingName, label = `options.${name}`): SettingRule {
  const { min, max } = supported.limits[name];
  return { name, label, settable: supported.set[name], min, max };
}

const IDLE = ruleFor('idle');
const INTERVAL = ruleFor('interval');
const COUNT = ruleFor('count');

// validateInteger's checks, with the platform check between type and range
// (an unsupported setting is reported before its value).
function checkSetting(rule: SettingRule, value: unknown): number {
  if (typeof value !== 'number') throw invalidArgType(rule.label, 'of type number', value);
  if (!rule.settable) throw unsupported(rule.name, supported.platform);
  validateInteger(value, rule.label, rule.min, rule.max);
  return value;
}

function checkUserTimeout(value: unknown): number | 'auto' {
  if (value === 'auto') {
    if (!supported.set.userTimeout) throw unsupported('userTimeout', supported.platform);
    return 'auto';
  }
  if (typeof value !== 'number') throw invalidArgType('options.userTimeout', "of type number or 'auto'", value);
  // 0 (the system default) is accepted everywhere, even without support.
  return value === 0 ? 0 : validateSetting('userTimeout', value);
}

/**
 * The keepalive options, validated: own properties only, each known key
 * checked with one comparison chain (this runs on every setKeepalive call),
 * undefined values left out.
 */
export function validateOptions(options: unknown): ValidOptions {
  if (options === undefined) return validOptions();
  validateObject(options, 'options');
  const valid = validOptions();
  const keys = Object.keys(options);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    // Constant property names in each branch keep these loads monomorphic.
    if (key === 'idle') {
      const value = options.idle;
      if (value !== undefined) valid.idle = checkSetting(IDLE, value);
    } else if (key === 'interval') {
      const value = options.interval;
      if (value !== undefined) valid.interval = checkSetting(INTERVAL, value);
    } else if (key === 'count') {
      const value = options.count;
      if (value !== undefined) valid.count = checkSetting(COUNT, value);
    } else if (key === 'enable') {
      const value = options.enable;
      if (value !== undefined) {
        validateBoolean(value, 'options.enable');
        valid.enable = value;
      }
    } else if (key === 'userTimeout') {
      const value = options.userTimeout;
      if (value !== undefined) valid.userTimeout = checkUserTimeout(value);
    } else {
      throw unknownKeyError('options', key, options[key], 'a keepalive option', OPTION_NAMES);
    }
  }
  return valid;
}
