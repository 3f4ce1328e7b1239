// Property test of the TCP_KEEPALIVE spec parser (lib/env.ts, issue 11):
// generated specs, built from the grammar's pieces with faults mixed in,
// are either accepted with the settings an independent model of the
// documented grammar gives, or rejected with ERR_TCP_KEEPALIVE_ENV naming
// the variable and a part of the value, in a message without raw control
// characters; arbitrary strings only ever get one of those two outcomes.
// Fixed seed, NUM_RUNS cases per property.
import t from 'tap';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';

import { parsePolicySpec, presetNames, presetSettings, supported, type PolicySettings, type PresetName } from '../lib/index';

const NUM_RUNS = 5000;
const SEED = 42;
const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

type Outcome = { ok: true; settings: PolicySettings } | { ok: false };
const KEYS: Readonly<Record<string, 'idle' | 'interval' | 'count' | 'userTimeout'>> = { idle: 'idle', interval: 'interval', count: 'count', usertimeout: 'userTimeout' };
const WHITESPACE = /^\s+|\s+$/g;

/** The documented grammar: [preset,]key=value,... with every rule of the README, written apart from lib/env.ts. */
function model(spec: string): Outcome {
  const settings: Record<string, number | 'auto'> = {};
  const seen: string[] = [];
  const parts = spec.split(',').map((part) => part.replace(WHITESPACE, ''));
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const eq = part.indexOf('=');
    if (part === '') return { ok: false };
    if (eq === -1) {
      if (i > 0 || !(presetNames as readonly string[]).includes(part.toLowerCase())) return { ok: false };
      Object.assign(settings, presetSettings(part.toLowerCase() as PresetName));
      continue;
    }
    const rawKey = part.slice(0, eq).replace(WHITESPACE, '').toLowerCase();
    const raw = part.slice(eq + 1).replace(WHITESPACE, '');
    const key = Object.keys(KEYS).includes(rawKey) ? KEYS[rawKey]! : undefined;
    if (key === undefined || seen.includes(key)) return { ok: false };
    seen.push(key);
    if (key === 'userTimeout' && raw.toLowerCase() === 'auto') {
      settings.userTimeout = 'auto';
      continue;
    }
    if (raw === '' || [...raw].some((c) => c < '0' || c > '9')) return { ok: false };
    const n = Number(raw);
    const low = key === 'userTimeout' ? 0 : supported.limits[key].min;
    if (n < low || n > supported.limits[key].max) return { ok: false };
    settings[key] = n;
  }
  const { idle, interval, count, userTimeout } = settings as { idle?: number; interval?: number; count?: number; userTimeout?: number | 'auto' };
  if (idle === undefined || interval === undefined || count === undefined) return { ok: false };
  if (userTimeout === 'auto' && idle + interval * count > supported.limits.userTimeout.max) return { ok: false };
  const result: Record<string, number | 'auto'> = { idle, interval, count };
  if (userTimeout !== undefined) result.userTimeout = userTimeout;
  return { ok: true, settings: result };
}

const space = fc.constantFrom('', '', '', ' ', '  ', '\t');
const padded = (a: fc.Arbitrary<string>): fc.Arbitrary<string> => fc.tuple(space, a, space).map(([l, s, r]) => l + s + r);
const keyName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('idle', 'interval', 'count', 'userTimeout', 'usertimeout', 'IDLE', 'Count') },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'idel', '', 'user timeout', 'idle\x1b') },
);
const number = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 127 }).map(String) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 3_000_000 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '00060', 'auto', 'AUTO', '-1', '1.5', '1e3', '60s', '', ' 5', '5\x07', '99999999999999999999') },
);
const pair = fc.tuple(padded(keyName), number).map(([k, v]) => `${k}=${v}`);
const preset = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...presetNames, 'DATABASE', 'Web') },
  { weight: 1, arbitrary: fc.constantFrom('gen\x1beral', 'none', 'off', '__proto__', 'constructor') },
);
const spec = fc.tuple(fc.option(padded(preset), { nil: undefined }), fc.array(padded(pair), { maxLength: 5 }), fc.constantFrom('', '', '', ',', ',,')).map(
  ([name, pairs, tail]) => [...(name === undefined ? [] : [name]), ...pairs].join(',') + tail,
);

function outcome(value: string): { settings?: PolicySettings; error?: Error & { code?: string; variable?: string; part?: string } } {
  try {
    return { settings: parsePolicySpec(value, 'TCP_KEEPALIVE') };
  } catch (error) {
    return { error: error as Error & { code?: string; variable?: string; part?: string } };
  }
}

function checkRejection(value: string, error: Error & { code?: string; variable?: string; part?: string }): void {
  if (error.code !== 'ERR_TCP_KEEPALIVE_ENV') throw new Error(`uncoded or wrongly coded error ${error.code}: ${error.message}`);
  if (error.variable !== 'TCP_KEEPALIVE') throw new Error(`wrong variable ${error.variable}`);
  if (typeof error.part !== 'string' || !value.includes(error.part)) throw new Error(`part ${JSON.stringify(error.part)} is not in the value`);
  if (RAW.test(error.message)) throw new Error(`raw control character in ${JSON.stringify(error.message)}`);
}

function checkSettings(settings: PolicySettings): void {
  for (const key of ['idle', 'interval', 'count'] as const) {
    const v = settings[key];
    if (v === undefined || !Number.isInteger(v) || v < supported.limits[key].min || v > supported.limits[key].max) throw new Error(`${key} ${v} out of range`);
  }
  if (!Object.isFrozen(settings)) throw new Error('settings not frozen');
}

t.test(`${NUM_RUNS} grammar-built specs: accepted exactly as the model says, or rejected with a coded, escaped error`, async (t) => {
  let accepted = 0;
  fc.assert(
    fc.property(spec, (value) => {
      const want = model(value);
      const got = outcome(value);
      if (want.ok) {
        if (got.settings === undefined) throw new Error(`rejected: ${got.error?.message}`);
        if (!isDeepStrictEqual({ ...got.settings }, want.settings)) throw new Error(`${JSON.stringify(got.settings)} != ${JSON.stringify(want.settings)}`);
        checkSettings(got.settings);
        accepted++;
      } else {
        if (got.error === undefined) throw new Error(`accepted as ${JSON.stringify(got.settings)}, documented as invalid`);
        checkRejection(value, got.error);
      }
    }),
    { seed: SEED, numRuns: NUM_RUNS },
  );
  t.comment(`${NUM_RUNS} specs (seed ${SEED}): ${accepted} accepted`);
  t.ok(accepted > NUM_RUNS / 10 && accepted < NUM_RUNS * 0.9, 'both outcomes well represented');
});

t.test(`${NUM_RUNS} arbitrary strings: valid settings or a coded, escaped error, nothing else`, async (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 })), (value) => {
      const got = outcome(value);
      if (got.settings) checkSettings(got.settings);
      else checkRejection(value, got.error!);
    }),
    { seed: SEED, numRuns: NUM_RUNS },
  );
  t.pass('every outcome was one of the two');
});
