// Property test of option validation on a real loopback socket (issue 11):
// each generated input to setKeepalive is either accepted with the result
// the documentation gives (an independent model below: omitted options keep
// the socket's values, enable defaults to true, 'auto' = idle + interval ×
// count of the resulting settings), which getKeepalive then reads back from
// the kernel, or rejected with the coded error the model names and no
// change to the socket. Fixed seed, NUM_RUNS cases.
import t from 'tap';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';

import { getKeepalive, setKeepalive, supported, type KeepaliveState } from '../lib/index';
import { tcpPair } from './helpers/net';

const NUM_RUNS = 10_000;
const SEED = 42;

type Settings = Pick<KeepaliveState, 'enabled' | 'idle' | 'interval' | 'count' | 'userTimeout'>;
type Outcome = { ok: true; state: Settings } | { ok: false; code: string };

const NUMERIC = ['idle', 'interval', 'count'] as const;
// 2147483 s = 2147483000 ms: rounding that to seconds in a 32-bit int
// overflowed (issue 11 item 3); the cases from here are counted.
const OVERFLOW_FROM = 2147483;
const KNOWN = ['enable', 'idle', 'interval', 'count', 'userTimeout'];

function settingsOf(state: KeepaliveState): Settings {
  const { enabled, idle, interval, count, userTimeout } = state;
  return { enabled, idle, interval, count, userTimeout };
}

/** The code a numeric setting's value gets, or null when it is valid ([min, max] whole numbers). */
function numericFault(value: unknown, min: number, max: number): string | null {
  if (typeof value !== 'number') return 'ERR_INVALID_ARG_TYPE';
  if (Math.trunc(value) !== value || !Number.isFinite(value)) return 'ERR_OUT_OF_RANGE';
  return value < min || value > max ? 'ERR_OUT_OF_RANGE' : null;
}

/** What the documentation says setKeepalive(socket-with-`current`, input) does. */
function model(current: Settings, input: unknown): Outcome {
  if (input === undefined) return { ok: true, state: { ...current, enabled: true } };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { ok: false, code: 'ERR_INVALID_ARG_TYPE' };
  const next: Settings = { ...current, enabled: true };
  let auto = false;
  for (const [key, value] of Object.entries(input)) {
    if (!KNOWN.includes(key)) return { ok: false, code: 'ERR_INVALID_ARG_VALUE' };
    if (value === undefined) continue;
    if (key === 'enable') {
      if (typeof value !== 'boolean') return { ok: false, code: 'ERR_INVALID_ARG_TYPE' };
      next.enabled = value;
    } else if (key === 'userTimeout') {
      if (value === 'auto') {
        auto = true;
        continue;
      }
      auto = false;
      const fault = value === 0 ? null : numericFault(value, 1, supported.limits.userTimeout.max);
      if (fault) return { ok: false, code: fault };
      next.userTimeout = value === 0 ? 0 : (value as number); // -0 too: the system default
    } else {
      const name = key as (typeof NUMERIC)[number];
      const fault = numericFault(value, supported.limits[name].min, supported.limits[name].max);
      if (fault) return { ok: false, code: fault };
      next[name] = value as number;
    }
  }
  if (auto) {
    const seconds = next.idle + next.interval * next.count;
    if (seconds > supported.limits.userTimeout.max) return { ok: false, code: 'ERR_OUT_OF_RANGE' };
    next.userTimeout = seconds;
  }
  return { ok: true, state: next };
}

// Values around every limit, of every type, and some of anything.
const edges = [0, -0, 1, -1, 126, 127, 128, 32766, 32767, 32768, 2147483, 2147484, 2 ** 31, 1.5, NaN, Infinity, -Infinity];
const value = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 200 }) },
  { weight: 2, arbitrary: fc.integer({ min: -10, max: 40_000 }) },
  { weight: 2, arbitrary: fc.constantFrom(...edges) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>('auto', '60', '', true, false, null, undefined, {}, [], 10n) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
);
/** Mostly valid values for a setting (so that most inputs are accepted), sometimes anything. */
function setting(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 7, arbitrary: valid }, { weight: 1, arbitrary: value });
}
const limits = supported.limits;
const known = fc.record(
  {
    enable: setting(fc.boolean()),
    idle: setting(fc.integer({ min: limits.idle.min, max: limits.idle.max })),
    interval: setting(fc.integer({ min: limits.interval.min, max: limits.interval.max })),
    count: setting(fc.integer({ min: limits.count.min, max: limits.count.max })),
    userTimeout: setting(fc.oneof(fc.constant('auto'), fc.integer({ min: 0, max: limits.userTimeout.max }))),
  },
  { requiredKeys: [] },
);
const unknownKey = fc.constantFrom('enabled', 'Idle', 'keepAlive', 'delay', 'user_timeout', 'constructor', 'toString', '');
const options = fc.oneof(
  { weight: 12, arbitrary: known },
  { weight: 2, arbitrary: fc.tuple(known, unknownKey, value).map(([o, k, v]) => ({ ...o, [k]: v })) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, 0, 1, 'idle=5', true, [], [1, 2], () => {}) },
);

t.test(`setKeepalive: ${NUM_RUNS} generated inputs, each accepted as documented or rejected with a code and no change`, async (t) => {
  const { client } = await tcpPair(t);
  setKeepalive(client, { enable: true, idle: 100, interval: 10, count: 5, userTimeout: 0 });
  let accepted = 0;
  let nearMaximum = 0;
  let rejected = 0;
  const started = Date.now();
  fc.assert(
    fc.property(options, (input) => {
      const before = settingsOf(getKeepalive(client));
      const want = model(before, input);
      let result: KeepaliveState | undefined;
      let code: string | undefined = 'no error';
      try {
        result = setKeepalive(client, input as never) as KeepaliveState;
      } catch (error) {
        code = (error as { code?: string }).code;
      }
      const after = settingsOf(getKeepalive(client));
      if (want.ok) {
        accepted++;
        if (result === undefined) throw new Error(`rejected (${code}) but documented as accepted`);
        if (want.state.userTimeout >= OVERFLOW_FROM) nearMaximum++;
        if (!isDeepStrictEqual(settingsOf(result), want.state)) throw new Error(`result ${JSON.stringify(settingsOf(result))}, documented ${JSON.stringify(want.state)}`);
        if (!isDeepStrictEqual(after, want.state)) throw new Error(`the kernel holds ${JSON.stringify(after)}, not ${JSON.stringify(want.state)}`);
      } else {
        rejected++;
        if (code !== want.code) throw new Error(`expected ${want.code}, got ${code}`);
        if (JSON.stringify(after) !== JSON.stringify(before)) throw new Error(`a rejected call changed the socket: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
      }
    }),
    { seed: SEED, numRuns: NUM_RUNS },
  );
  t.comment(`${NUM_RUNS} cases (seed ${SEED}): ${accepted} accepted, ${rejected} rejected, ${Date.now() - started} ms`);
  t.ok(nearMaximum > 0, `userTimeout at its maximum read back exactly (${nearMaximum} cases)`);
  t.ok(accepted > NUM_RUNS / 5 && rejected > NUM_RUNS / 5, 'both outcomes well represented');
});
