// The policy named by the environment, for `tcp-keepalive/register`:
//
//   TCP_KEEPALIVE       a preset name ("database"), a spec
//                       ("idle=60,interval=10,count=3,userTimeout=auto"),
//                       a preset with overrides ("database,userTimeout=0"),
//                       or "off". Unset or empty: the "general" preset.
//                       Or rules per destination, the first match wins:
//                       "5432,3306=database;6379=realtime;*=general"
//                       (matchers as policy-rules.ts reads them; a rule's
//                       policy is any of the above, "off" included).
//   TCP_KEEPALIVE_SIDE  "both" (default), "clients" or "servers".
//   TCP_KEEPALIVE_LOG   "off" (default), "abnormal" (one line on stderr
//                       per connection that ended by keepalive, userTimeout,
//                       the retransmission limit, a reset or an error) or
//                       "all" (every end, clean ones too).
//
// Anything else is an error that names the variable, the bad part and what
// is allowed: the register entry stops the process with it. No fallback.
import { escapeControl } from './errors';
import { isPresetName, presetNames, defaultPresetName, presetSettings } from './presets';
import { resolvePolicy, type PolicyRules, type PolicySettings } from './policy';
import { isMatcherList, parseMatcher, ruleForEverySocket, unreachableRule, type Matcher } from './policy-rules';
import { supported, type NumericSettingName } from './supported';

/** The variable holding the policy. */
export const POLICY_VARIABLE = 'TCP_KEEPALIVE';
/** The variable choosing client sockets, server sockets or both. */
export const SIDE_VARIABLE = 'TCP_KEEPALIVE_SIDE';

/** The variable asking for one stderr line per ended connection. */
export const LOG_VARIABLE = 'TCP_KEEPALIVE_LOG';

/** Which ended connections TCP_KEEPALIVE_LOG logs. */
export type EnvLog = 'off' | 'abnormal' | 'all';

/** Reads `TCP_KEEPALIVE_LOG` from `env`. Throws an EnvError when it is invalid. */
export function logFromEnv(env: NodeJS.ProcessEnv = process.env): EnvLog {
  const raw = (variableOf(env, LOG_VARIABLE) ?? '').trim();
  const value = raw.toLowerCase();
  if (value === '' || value === 'off') return 'off';
  if (value === 'abnormal' || value === 'all') return value;
  throw envError(LOG_VARIABLE, raw, raw, `"${raw}" is not a log level`, 'off (the default), abnormal or all');
}

/** What the environment asks for. */
export type EnvPolicy =
  | { off: true; description: string }
  | {
      off: false;
      /** The settings (with rules: those of the rule for every socket, `*`, or {} when there is none). */
      settings: PolicySettings;
      /** The rules, when the variable holds rules; null otherwise. */
      rules: EnvRules | null;
      clients: boolean;
      servers: boolean;
      description: string;
    };

/** An invalid environment variable; `code` is 'ERR_TCP_KEEPALIVE_ENV'. */
export interface EnvError extends Error {
  code: 'ERR_TCP_KEEPALIVE_ENV';
  /** The variable at fault. */
  variable: string;
  /** The part of its value that is wrong. */
  part: string;
}

// A map without a prototype, read through Object.hasOwn: "__proto__" and
// "constructor" are unknown keys like any other.
const KEYS: Readonly<Record<string, NumericSettingName>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, NumericSettingName>, {
    idle: 'idle',
    interval: 'interval',
    count: 'count',
    usertimeout: 'userTimeout',
  }),
);

function allowedPolicy(): string {
  const { idle, interval, count, userTimeout } = supported.limits;
  return (
    `a preset name (${presetNames.join(', ')}), "off", or comma-separated key=value pairs, optionally after a preset name: ` +
    `idle=${idle.min}..${idle.max}, interval=${interval.min}..${interval.max} (whole seconds), count=${count.min}..${count.max}, ` +
    `userTimeout=0..${userTimeout.max} seconds or auto; ` +
    'for example "database", "idle=60,interval=10,count=3,userTimeout=auto" or "web,userTimeout=0"'
  );
}

function settingKey(rawKey: string): NumericSettingName | undefined {
  const lower = rawKey.toLowerCase();
  return Object.hasOwn(KEYS, lower) ? KEYS[lower] : undefined;
}

/** A variable of `env` (its own property only: never one inherited by a plain object). */
function variableOf(env: NodeJS.ProcessEnv, name: string): string | undefined {
  return Object.hasOwn(env, name) ? env[name] : undefined;
}

function envError(variable: string, value: string, part: string, problem: string, allowed: string): EnvError {
  // The message quotes the value and its parts: control characters escaped
  // (it goes to stderr and logs).
  const error = new Error(
    escapeControl(`${variable}=${JSON.stringify(value)} is invalid: ${problem}. Allowed: ${allowed}.`),
  ) as EnvError;
  error.code = 'ERR_TCP_KEEPALIVE_ENV';
  error.variable = variable;
  error.part = part;
  return error;
}

/**
 * Parses a policy spec as `TCP_KEEPALIVE` holds it ("database",
 * "idle=60,interval=10,count=3,userTimeout=auto", "web,idle=45") into
 * validated settings. Throws an EnvError naming `variable`.
 */
export function parsePolicySpec(value: string, variable: string = POLICY_VARIABLE): PolicySettings {
  return settingsFromText(value, variable, (part, problem) => envError(variable, value, part, problem, allowedPolicy()));
}

type Fail = (part: string, problem: string) => EnvError;

function settingsFromText(value: string, variable: string, fail: Fail): PolicySettings {
  const parts = value.split(',').map((part) => part.trim());
  const settings: { -readonly [K in keyof PolicySettings]: PolicySettings[K] } = {};
  const seen = new Set<string>();
  parts.forEach((part, index) => {
    if (part === '') throw fail(part, 'an empty part (two commas in a row, or a comma at an end)');
    const eq = part.indexOf('=');
    if (eq < 0) {
      const name = part.toLowerCase();
      if (index !== 0) throw fail(part, `"${part}" is not key=value (a preset name may only come first)`);
      if (!isPresetName(name)) throw fail(part, `"${part}" is not a preset name`);
      Object.assign(settings, presetSettings(name));
      return;
    }
    const rawKey = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    const key = settingKey(rawKey);
    if (key === undefined) throw fail(part, `"${rawKey}" is not a setting (use idle, interval, count, userTimeout)`);
    if (seen.has(key)) throw fail(part, `${key} is given twice`);
    seen.add(key);
    if (key === 'userTimeout' && raw.toLowerCase() === 'auto') {
      settings.userTimeout = 'auto';
      return;
    }
    if (!/^\d+$/.test(raw)) {
      throw fail(part, `${key} must be a whole number${key === 'count' ? '' : ' of seconds, without a unit'}, not "${raw}"`);
    }
    const number = Number(raw);
    if (!supported.set[key]) throw fail(part, `${key} cannot be set on ${supported.platform}; leave it out`);
    const { min, max } = supported.limits[key];
    const lowest = key === 'userTimeout' ? 0 : min;
    if (number < lowest || number > max) throw fail(part, `${key} must be from ${lowest} to ${max}, not ${number}`);
    settings[key] = number;
  });
  const missing = (['idle', 'interval', 'count'] as const).filter((key) => supported.set[key] && settings[key] === undefined);
  if (missing.length > 0) {
    throw fail(value, `${missing.join(', ')} missing (give all of idle, interval and count, or start from a preset such as "general,idle=30")`);
  }
  try {
    return resolvePolicy(settings, variable);
  } catch (error) {
    throw fail(value, (error as Error).message);
  }
}

function allowedRules(): string {
  return (
    'rules separated by ";", each MATCHERS=POLICY, the first that matches a socket deciding: MATCHERS a comma-separated list of ' +
    '* (every socket), ports (5432), host:port (db.internal:5432, [::1]:5432) or host:* ; POLICY "off" or ' +
    allowedPolicy()
  );
}

/**
 * Whether a `TCP_KEEPALIVE` value holds rules ("5432=database;*=general"):
 * one of its ";"-separated parts starts with a list of matchers before its
 * first "=" (a setting's name never is one).
 */
export function isRulesText(value: string): boolean {
  return value.split(';').some((part) => {
    const eq = part.indexOf('=');
    return eq > 0 && isMatcherList(part.slice(0, eq));
  });
}

/**
 * Parses rules as `TCP_KEEPALIVE` holds them
 * ("5432,3306=database;6379=realtime;*=general") into install()'s rules
 * form, each rule's policy validated. Throws an EnvError naming the rule.
 */
export function parsePolicyRules(value: string, variable: string = POLICY_VARIABLE): EnvRules {
  const texts = value.split(';').map((rule) => rule.trim());
  const matchers: Matcher[][] = [];
  const rules = texts.map((text, i) => {
    const fail: Fail = (_part, problem) => envError(variable, value, text, `rule ${i + 1} ("${text}"): ${problem}`, allowedRules());
    if (text === '') throw fail(text, 'an empty rule (two ";" in a row, or one at an end)');
    const eq = text.indexOf('=');
    if (eq < 0) throw fail(text, 'not MATCHERS=POLICY');
    const left = text.slice(0, eq).split(',').map((m) => parseMatcher(m));
    const wrong = left.find((m): m is string => typeof m === 'string');
    if (wrong !== undefined) throw fail(text, wrong);
    matchers.push(left as Matcher[]);
    const right = text.slice(eq + 1).trim();
    const policy = right.toLowerCase() === 'off' ? ('off' as const) : settingsFromText(right, variable, fail);
    return { match: (left as Matcher[]).map((m) => m.text), policy };
  });
  const unreachable = unreachableRule(matchers);
  if (unreachable !== null) {
    const text = texts[unreachable.rule]!;
    throw envError(variable, value, text, `rule ${unreachable.rule + 1} ("${text}") ${unreachable.problem}`, allowedRules());
  }
  return { rules };
}

/** Rules as parsePolicyRules returns them: install()'s rules form, matchers normalized, policies resolved. */
export interface EnvRules extends PolicyRules {
  rules: ReadonlyArray<{ match: string[]; policy: PolicySettings | 'off' }>;
}

/** Reads `TCP_KEEPALIVE` and `TCP_KEEPALIVE_SIDE` from `env`. Throws an EnvError when either is invalid. */
export function policyFromEnv(env: NodeJS.ProcessEnv = process.env): EnvPolicy {
  const rawSide = (variableOf(env, SIDE_VARIABLE) ?? '').trim();
  const side = rawSide === '' ? 'both' : rawSide.toLowerCase();
  if (side !== 'both' && side !== 'clients' && side !== 'servers') {
    throw envError(SIDE_VARIABLE, rawSide, rawSide, `"${rawSide}" is not a side`, 'clients, servers or both (the default)');
  }
  const raw = (variableOf(env, POLICY_VARIABLE) ?? '').trim();
  if (raw.toLowerCase() === 'off') return { off: true, description: `${POLICY_VARIABLE}=off: no policy installed` };
  const rules = isRulesText(raw) ? parsePolicyRules(raw) : null;
  const everySocket = rules === null ? undefined : ruleForEverySocket(rules.rules)?.policy;
  const settings =
    rules !== null ? (typeof everySocket === 'object' ? everySocket : Object.freeze({})) : raw === '' ? resolvePolicy(defaultPresetName) : parsePolicySpec(raw);
  const named = raw === '' ? `${defaultPresetName} (default)` : raw;
  return {
    off: false,
    settings,
    rules,
    clients: side !== 'servers',
    servers: side !== 'clients',
    description: `${named} on ${side === 'both' ? 'clients and servers' : side}`,
  };
}
