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

// A chain of comparisons: cheaper than Set#has on the per-call path.
function isKnown(key: string): boolean {
  return key === 'idle' || key === 'interval' || key === 'count' || key === 'enable' || key === 'userTimeout';
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

function checkSetting(rule: SettingRule, value: unknown): number {
  if (typeof value !== 'number') throw invalidArgType(rule.label, 'of type number', value);
  if (!rule.settable) throw unsupported(rule.name, supported.platform);
  if (!Number.isInteger(value)) throw outOfRange(rule.label, 'an integer', value);
  if (value < rule.min || value > rule.max) throw outOfRange(rule.label, `>= ${rule.min} && <= ${rule.max}`, value);
  return value;
}

export function validateOptions(options: unknown): ValidOptions {
  if (options === undefined) return { enable: true };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidArgType('options', 'of type object', options);
  }
  const input = options as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!isKnown(key)) {
      throw invalidArgValue(`options.${key}`, input[key], `is not a keepalive option (use ${[...KNOWN].join(', ')})`);
    }
  }
  const valid: ValidOptions = { enable: true };
  if (input.enable !== undefined) {
    if (typeof input.enable !== 'boolean') throw invalidArgType('options.enable', 'of type boolean', input.enable);
    valid.enable = input.enable;
  }
  // One line per setting, with rules looked up once, rather than a loop over
  // names: constant property names keep these loads monomorphic.
  if (input.idle !== undefined) valid.idle = checkSetting(IDLE, input.idle);
  if (input.interval !== undefined) valid.interval = checkSetting(INTERVAL, input.interval);
  if (input.count !== undefined) valid.count = checkSetting(COUNT, input.count);
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
