// Property-based tests of `plan`'s arithmetic (lib/cli/plan.ts) and of its
// command line, with fast-check: RUNS generated cases per property, fixed
// seed, so a failure replays. Each input is either accepted with the result
// the README's plan section documents (checked against the formulas written
// out here, not the library's) or refused with a UsageError.
import t from 'tap';
import fc from 'fast-check';

import { MAX_INTEGER, MAX_SECONDS, UsageError } from '../lib/cli/args';
import { makePlan, planInput, type Plan, type PlanInput } from '../lib/cli/plan';
import { presetNames, type PresetName } from '../lib/presets';
import { supported } from '../lib/supported';

const RUNS = 2000;
const SEED = 20261201;
const settings = { numRuns: RUNS, seed: SEED };
const PLATFORMS = ['linux', 'darwin', 'freebsd', 'win32'] as const;

/** The README's detection formula, written out independently. */
function detectionOracle(idle: number, interval: number, count: number, userTimeout: number, platform: string): number {
  if (platform !== 'linux') return idle + interval * count;
  const first = Math.max(idle, interval);
  if (userTimeout === 0) return first + interval * count;
  let at = first + interval; // the first probe time at or past userTimeout, at least one probe
  while (at < userTimeout) at += interval;
  return at;
}

const seconds = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 4000 }), fc.integer({ min: 1, max: MAX_SECONDS }));
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq: 2 });
const planInputs: fc.Arbitrary<PlanInput> = fc
  .record({
    preset: maybe(fc.constantFrom<PresetName>(...presetNames)),
    idle: maybe(seconds),
    interval: maybe(seconds),
    count: maybe(fc.integer({ min: 1, max: 300 })),
    userTimeout: maybe(fc.oneof(fc.constant<'auto'>('auto'), fc.integer({ min: 0, max: 5000 }))),
    detectWithin: maybe(seconds),
    surviveOutage: maybe(seconds),
    lbIdleTimeout: maybe(seconds),
    connections: maybe(fc.integer({ min: 1, max: MAX_INTEGER })),
    frameBytes: maybe(fc.integer({ min: 40, max: 65535 })),
    platform: maybe(fc.constantFrom(...PLATFORMS)),
  })
  .map((record) => Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as PlanInput);

const hasConflict = (plan: Plan): boolean => plan.warnings.some((w) => w.kind === 'conflict');

t.test(`makePlan: the documented arithmetic holds (${RUNS} inputs, seed ${SEED})`, async (t) => {
  fc.assert(
    fc.property(planInputs, (input) => {
      const plan = makePlan(input);
      const { idle, interval, count, userTimeout, userTimeoutAuto } = plan.settings;
      const platform = plan.platform;
      // Whole seconds, at least 1; values given are kept.
      for (const v of [idle, interval, count]) if (!Number.isInteger(v) || v < 1) return false;
      for (const k of ['idle', 'interval', 'count'] as const) if (input[k] !== undefined && plan.settings[k] !== input[k]) return false;
      // userTimeout: auto = idle + interval × count; a number as given; FreeBSD none by default.
      if (userTimeoutAuto && userTimeout !== idle + interval * count) return false;
      if (typeof input.userTimeout === 'number' && userTimeout !== input.userTimeout) return false;
      if (input.userTimeout === undefined && (platform === 'freebsd') !== !userTimeoutAuto) return false;
      // Detection, probes and outage tolerance.
      if (plan.detectAfter !== detectionOracle(idle, interval, count, userTimeout, platform)) return false;
      const first = platform === 'linux' ? Math.max(idle, interval) : idle;
      if (plan.probes * interval !== plan.detectAfter - first || plan.probes < 1) return false;
      if (plan.survivesOutage !== interval * (plan.probes - 1)) return false;
      if (plan.dataTimeout !== (userTimeout > 0 ? userTimeout : null)) return false;
      // Goals: met exactly as stated.
      for (const goal of plan.goals) {
        const met =
          goal.goal === 'detect-within' ? plan.detectAfter <= goal.target : goal.goal === 'survive-outage' ? plan.survivesOutage >= goal.target : idle + interval < goal.target;
        if (goal.met !== met) return false;
      }
      // A conflict (exit code 3) exactly when a detection or outage goal fails,
      // idle reaches the balancer's timeout, or a value passes this platform's limit.
      const overLimit =
        platform === supported.platform &&
        ([['idle', idle], ['interval', interval], ['count', count], ['userTimeout', userTimeout]] as const).some(
          ([name, v]) => supported.set[name] && v > supported.limits[name].max,
        );
      const failing = plan.goals.some((g) => !g.met && g.goal !== 'lb-idle-timeout') || (input.lbIdleTimeout !== undefined && idle >= input.lbIdleTimeout);
      if (hasConflict(plan) !== (failing || overLimit)) return false;
      // Traffic: one probe and its ACK per connection per first-probe period.
      const connections = input.connections ?? 1000;
      const frameBytes = input.frameBytes ?? 66;
      const pps = (connections * 2) / first;
      if (plan.traffic.packetsPerSecond !== pps || plan.traffic.bytesPerSecond !== pps * frameBytes) return false;
      if (plan.traffic.bytesPerDay !== pps * frameBytes * 86400) return false;
      // The options to pass on are the settings.
      return plan.options.idle === idle && plan.options.interval === interval && plan.options.count === count && plan.options.userTimeout === (userTimeoutAuto ? 'auto' : userTimeout);
    }),
    settings,
  );
  t.pass(`${RUNS} plans checked`);
});

const platforms = fc.constantFrom(...PLATFORMS);

t.test(`goals alone are met as documented (${RUNS} inputs each)`, async (t) => {
  // --detect-within D alone: 3 probes, interval floor(D / 6), idle D − 3 × interval, detected in D exactly;
  // planning for this platform, each capped at its limit (then detected sooner).
  fc.assert(
    fc.property(fc.integer({ min: 6, max: MAX_SECONDS }), platforms, (d, platform) => {
      const plan = makePlan({ detectWithin: d, platform });
      const cap = (name: 'idle' | 'interval', v: number): number => (platform === supported.platform ? Math.min(v, supported.limits[name].max) : v);
      const interval = Math.floor(d / 6);
      const { settings: s } = plan;
      const exact = s.interval === interval && s.idle === d - 3 * interval && plan.detectAfter === d;
      const capped = s.interval === cap('interval', interval) && s.idle === cap('idle', d - 3 * interval) && plan.detectAfter <= d;
      return s.count === 3 && (exact || (capped && platform === supported.platform)) && plan.goals[0]!.met && !hasConflict(plan);
    }),
    settings,
  );
  // D from 4 to 5 is still met (interval 1).
  for (const d of [4, 5]) t.ok(makePlan({ detectWithin: d, platform: 'linux' }).goals[0]!.met, `detect within ${d}`);
  // --survive-outage O alone: interval ceil(O / 2), a healthy connection
  // survives O; planning for this platform, an interval above its limit is
  // capped and the outage goal then reported as not met.
  fc.assert(
    fc.property(fc.integer({ min: 1, max: MAX_SECONDS }), platforms, (o, platform) => {
      const plan = makePlan({ surviveOutage: o, platform });
      const interval = Math.max(10, Math.ceil(o / 2));
      const limit = platform === supported.platform ? supported.limits.interval.max : Infinity;
      if (interval > limit) return plan.settings.interval === limit && !plan.goals[0]!.met && hasConflict(plan);
      return plan.settings.interval === interval && plan.survivesOutage >= o && plan.goals[0]!.met;
    }),
    settings,
  );
  // --lb-idle-timeout L alone (default interval 10): idle + interval below L from L = 12 on.
  fc.assert(
    fc.property(fc.integer({ min: 12, max: MAX_SECONDS }), platforms, (l, platform) => {
      const plan = makePlan({ lbIdleTimeout: l, platform });
      return plan.settings.idle + plan.settings.interval < l && plan.goals[0]!.met && !hasConflict(plan);
    }),
    settings,
  );
  // Detection and outage reconcile when D ≥ O + 2 and O + 1 probes fit the
  // platform's count, with D ≥ 4 (the plan keeps at least 3 probes: 1 + 1 × 3).
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 126 }), fc.integer({ min: 2, max: 100_000 }), platforms, (o, extra, platform) => {
      const plan = makePlan({ detectWithin: Math.max(4, o + extra), surviveOutage: o, platform });
      return plan.goals.every((g) => g.met) && !hasConflict(plan);
    }),
    settings,
  );
  // And when D < O + 2, the outage goal cannot hold: reported, with the change.
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 100_000 }), fc.integer({ min: 0, max: 1 }), platforms, (o, less, platform) => {
      const d = Math.max(1, o + 1 - less);
      const plan = makePlan({ detectWithin: d, surviveOutage: o, platform });
      return !plan.goals.every((g) => g.met) && plan.warnings.some((w) => w.kind === 'conflict' && (w.message.includes(`at least ${o + 2}`) || w.message.includes('more than --detect-within')));
    }),
    settings,
  );
  t.pass('goal properties checked');
});

// Command-line values: numbers with and without units, fractions,
// milliseconds, negatives, huge numbers, words, control characters.
const valueText = fc.oneof(
  { arbitrary: fc.tuple(fc.integer({ min: 40, max: 5000 }), fc.constantFrom('', 's', 'm')).map(([n, unit]) => `${n}${unit}`), weight: 30 },
  { arbitrary: fc.tuple(fc.nat({ max: 3_000_000 }), fc.constantFrom('', 's', 'm', 'h')).map(([n, unit]) => `${n}${unit}`), weight: 3 },
  { arbitrary: fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String), weight: 1 },
  { arbitrary: fc.constantFrom('1.5', '500ms', '-5', 'auto', ' 60', '0x10', '1e3', 'Infinity', '', '\x1b[31m9', '60\n', '٣'), weight: 1 },
  { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
);
const OPTIONS = ['idle', 'interval', 'count', 'user-timeout', 'detect-within', 'survive-outage', 'lb-idle-timeout', 'connections', 'frame-bytes'] as const;
const argvs = fc
  .uniqueArray(fc.constantFrom(...OPTIONS), { minLength: 1, maxLength: 5 })
  .chain((names) => fc.tuple(fc.constant(names), fc.array(valueText, { minLength: names.length, maxLength: names.length }), fc.integer({ min: 0, max: 4 }).map((n) => n > 0)));

const UNIT: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600 };
/** What the documented parsing makes of one value, or null when it must be refused. */
function expected(option: string, text: string): number | 'auto' | null {
  if (option === 'user-timeout' && text === 'auto') return 'auto';
  const duration = !['count', 'connections', 'frame-bytes'].includes(option);
  const match = (duration ? /^(\d+)([smh]?)$/ : /^(\d+)()$/).exec(text.trim());
  if (!match) return null;
  const value = Number(match[1]) * UNIT[match[2]!]!;
  const min = option === 'user-timeout' ? 0 : option === 'frame-bytes' ? 40 : 1;
  const max = duration ? MAX_SECONDS : option === 'frame-bytes' ? 65535 : MAX_INTEGER;
  return value >= min && value <= max ? value : null;
}
const camel = (option: string): string => option.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

t.test(`the command line: accepted as documented or a UsageError (${RUNS} command lines)`, async (t) => {
  let accepted = 0;
  let refused = 0;
  fc.assert(
    fc.property(argvs, ([names, texts, withPreset]) => {
      const argv = [...(withPreset ? ['--preset', 'web'] : []), ...names.flatMap((name, i) => [`--${name}=${texts[i]}`])];
      const wanted = names.map((name, i) => expected(name, texts[i]!));
      let result: ReturnType<typeof planInput>;
      try {
        result = planInput(argv);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        if (/[\x00-\x1f\x7f-\x9f]/.test(error.message + (error.hint ?? ''))) return false; // echoed input is escaped
        refused++;
        // Refused: a value is out of its documented range, or the options do not make a plan.
        return wanted.some((v) => v === null) || !withPreset;
      }
      accepted++;
      if (wanted.some((v) => v === null)) return false;
      const input = result.input as Record<string, unknown>;
      if (!names.every((name, i) => input[camel(name)] === wanted[i])) return false;
      const plan = makePlan(result.input);
      return [plan.detectAfter, plan.survivesOutage, plan.traffic.bytesPerDay].every(Number.isFinite);
    }),
    settings,
  );
  t.ok(accepted > RUNS / 10 && refused > RUNS / 10, `both kinds generated: ${accepted} accepted, ${refused} refused`);
});
