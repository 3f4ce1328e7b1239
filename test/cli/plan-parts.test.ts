// The parts of makePlan on their own (lib/cli/plan.ts), table-driven:
// solving the settings goal by goal, what they mean, the warnings, the
// traffic estimate and the words for the basis. Each row's working is in
// its name.
import t from 'tap';

import {
  basisText,
  detection,
  fitBalancer,
  goalResults,
  meetDetection,
  meetOutage,
  planWarnings,
  solveSettings,
  startingSettings,
  trafficEstimate,
  type CoreSettings,
  type PlanInput,
} from '../../lib/cli/plan';

const none = { idle: false, interval: false, count: false };
const s = (idle: number, interval: number, count: number): CoreSettings => ({ idle, interval, count });

t.test('startingSettings', async (t) => {
  const cases: Array<[string, PlanInput, CoreSettings]> = [
    ['defaults 60/10/3', {}, s(60, 10, 3)],
    ['preset database', { preset: 'database' }, s(60, 20, 3)],
    ['values beat the preset', { preset: 'database', idle: 5 }, s(5, 20, 3)],
    ['detect 60: interval floor(60/6) = 10, idle 60 − 30 = 30', { detectWithin: 60 }, s(30, 10, 3)],
    ['detect 4: interval max(1, 0) = 1, idle 4 − 3 = 1', { detectWithin: 4 }, s(1, 1, 3)],
    ['detect 2: idle at least 1', { detectWithin: 2 }, s(1, 1, 3)],
    ['detect 100 with count 5: interval 10, idle 50', { detectWithin: 100, count: 5 }, s(50, 10, 5)],
  ];
  for (const [name, input, expected] of cases) t.same(startingSettings(input), expected, name);
});

t.test('meetOutage', async (t) => {
  const cases: Array<[string, CoreSettings, number, typeof none, CoreSettings]> = [
    ['already survives: 10 × 2 ≥ 20', s(60, 10, 3), 20, none, s(60, 10, 3)],
    ['interval raised: ceil(60 / 2) = 30', s(60, 10, 3), 60, none, s(60, 30, 3)],
    ['count 1 becomes 2, interval 40', s(60, 10, 1), 40, none, s(60, 40, 2)],
    ['interval fixed: count ceil(60 / 10) + 1 = 7', s(60, 10, 3), 60, { ...none, interval: true }, s(60, 10, 7)],
    ['both fixed: unchanged', s(60, 10, 3), 60, { ...none, interval: true, count: true }, s(60, 10, 3)],
  ];
  for (const [name, start, outage, fixed, expected] of cases) t.same(meetOutage(start, outage, fixed, 'linux'), expected, name);
  t.same(meetOutage(s(60, 1, 3), 1000, { ...none, interval: true }, 'linux').count, 127, 'Linux caps count at 127');
  t.same(meetOutage(s(60, 1, 3), 1000, { ...none, interval: true }, 'darwin').count, 255, 'elsewhere at 255');
});

t.test('meetDetection', async (t) => {
  const cases: Array<[string, CoreSettings, number, number | undefined, typeof none, string, CoreSettings]> = [
    ['already within', s(30, 10, 3), 60, undefined, none, 'linux', s(30, 10, 3)],
    ['idle shrinks: 90 − 20 × 3 = 30', s(45, 20, 3), 90, 40, none, 'linux', s(30, 20, 3)],
    ['detect 30, outage 40: longest interval that fits, 7', s(15, 20, 3), 30, 40, none, 'linux', s(9, 7, 3)],
    ['the same on darwin: 9', s(15, 20, 3), 30, 40, none, 'darwin', s(3, 9, 3)],
    ['detect 42, outage 40: 41 probes 1 s apart', s(15, 20, 3), 42, 40, none, 'linux', s(1, 1, 41)],
    ['interval fixed: only idle moves', s(100, 20, 3), 90, undefined, { ...none, interval: true }, 'linux', s(30, 20, 3)],
    ['idle fixed: the interval shrinks to 10 (50 + 10 × 3 = 80)', s(50, 20, 3), 80, undefined, { ...none, idle: true }, 'linux', s(50, 10, 3)],
    ['nothing fits: interval 1', s(50, 20, 3), 5, undefined, { ...none, idle: true }, 'linux', s(50, 1, 3)],
  ];
  for (const [name, start, within, outage, fixed, platform, expected] of cases) {
    t.same(meetDetection(start, within, outage, fixed, platform), expected, name);
  }
});

t.test('fitBalancer', async (t) => {
  t.same(fitBalancer(s(600, 120, 3), 350, none), s(229, 120, 3), '350 − 120 − 1 = 229');
  t.same(fitBalancer(s(30, 10, 3), 350, none), s(30, 10, 3), 'already below');
  t.same(fitBalancer(s(400, 10, 3), 350, { ...none, idle: true }), s(400, 10, 3), 'idle fixed: kept');
  t.same(fitBalancer(s(60, 10, 3), 5, none), s(1, 10, 3), 'at least 1');
});

t.test('solveSettings: the goals in turn', async (t) => {
  t.same(solveSettings({ detectWithin: 90, surviveOutage: 40 }, 'linux'), s(30, 20, 3));
  t.same(solveSettings({ preset: 'iot', lbIdleTimeout: 350 }, 'linux'), s(229, 120, 3));
  t.same(solveSettings({ surviveOutage: 60 }, 'linux'), s(60, 30, 3));
});

t.test('detection', async (t) => {
  const cases: Array<[string, CoreSettings, number | 'auto' | undefined, string, Record<string, unknown>]> = [
    ['auto by default: 60 + 20 × 3', s(60, 20, 3), undefined, 'linux', { userTimeout: 120, userTimeoutAuto: true, detectAfter: 120, firstProbeAfter: 60, probes: 3, survivesOutage: 40 }],
    ['FreeBSD has none', s(60, 20, 3), undefined, 'freebsd', { userTimeout: 0, userTimeoutAuto: false, detectAfter: 120 }],
    ['userTimeout 45 replaces count on Linux: one probe', s(60, 10, 3), 45, 'linux', { userTimeout: 45, detectAfter: 70, probes: 1, survivesOutage: 0 }],
    ['idle below interval on Linux: max(3, 9) + 27', s(3, 9, 3), 0, 'linux', { detectAfter: 36, firstProbeAfter: 9, probes: 3 }],
    ['elsewhere idle + interval × count', s(3, 9, 3), 0, 'darwin', { detectAfter: 30, firstProbeAfter: 3 }],
  ];
  for (const [name, settings, ut, platform, expected] of cases) t.match(detection(settings, ut, platform), expected, name);
});

t.test('goalResults and planWarnings', async (t) => {
  const settings = s(400, 10, 3);
  const d = detection(settings, undefined, 'linux');
  t.same(goalResults({ lbIdleTimeout: 350, detectWithin: 500 }, settings, d), [
    { goal: 'detect-within', target: 500, actual: 430, met: true },
    { goal: 'lb-idle-timeout', target: 350, actual: 410, met: false },
  ]);
  type Row = [string, PlanInput, CoreSettings, string, Array<[string, RegExp]>];
  const cases: Row[] = [
    ['none', {}, s(60, 20, 3), 'linux', []],
    ['idle at the balancer: a conflict', { lbIdleTimeout: 350 }, s(400, 10, 3), 'linux', [['conflict', /not below .* 350 s.*--idle 339 or less/]]],
    ['idle + interval at it: a caution', { lbIdleTimeout: 350 }, s(340, 20, 3), 'linux', [['caution', /one probe is lost the balancer drops the flow; use --idle 329/]]],
    ['detection too slow with fixed values', { detectWithin: 30, idle: 60, interval: 10, count: 3 }, s(60, 10, 3), 'linux', [['conflict', /more than --detect-within 30: lower the values you fixed/]]],
    ['outage vs detection', { detectWithin: 30, surviveOutage: 40 }, s(9, 7, 3), 'linux', [['conflict', /at least 42/]]],
    ['outage alone', { surviveOutage: 40, interval: 10, count: 3 }, s(60, 10, 3), 'linux', [['conflict', /reaches 40/]]],
    ['the order: conflicts, balancer, cautions', { detectWithin: 10, lbIdleTimeout: 15, idle: 10, interval: 9, count: 3 }, s(10, 9, 3), 'win32', [
      ['conflict', /more than --detect-within 10/],
      ['caution', /idle \+ interval = 19 s reaches/],
      ['caution', /always sends 10 probes.*10 \+ 9 × 10 = 100 s/],
    ]],
    ['idle below interval on Linux', {}, s(3, 9, 3), 'linux', [['caution', /idle 3 s is below interval 9 s/]]],
    ['one probe', {}, s(60, 10, 1), 'darwin', [['caution', /only one probe/]]],
    ['FreeBSD: no per-socket bound', {}, s(60, 10, 3), 'freebsd', [['caution', /freebsd has no per-socket bound/]]],
  ];
  for (const [name, input, settings, platform, expected] of cases) {
    const warnings = planWarnings(input, settings, detection(settings, input.userTimeout, platform), platform);
    t.equal(warnings.length, expected.length, `${name}: ${expected.length} warnings`);
    for (const [i, [kind, message]] of expected.entries()) t.match(warnings[i], { kind, message }, `${name}: warning ${i + 1}`);
  }
});

t.test('trafficEstimate', async (t) => {
  const cases: Array<[number, number, number, number, number, RegExp]> = [
    // connections, frame bytes, first probe after → packets/s, bytes/s
    [1000, 66, 60, 33.333, 2200, /\(Ethernet 14/],
    [20000, 86, 30, 1333.333, 114666.667, /^86-byte frames, one probe/],
    [1, 40, 1, 2, 80, /^40-byte frames/],
  ];
  for (const [connections, frameBytes, first, pps, bps, assumption] of cases) {
    const traffic = trafficEstimate(connections, frameBytes, first);
    t.equal(traffic.packetsPerSecond.toFixed(3), pps.toFixed(3), `${connections} × 2 / ${first}`);
    t.equal(traffic.bytesPerSecond.toFixed(3), bps.toFixed(3), `× ${frameBytes} B`);
    t.equal(traffic.bytesPerDay, traffic.bytesPerSecond * 86400);
    t.match(traffic.assumption, assumption);
  }
});

t.test('basisText', async (t) => {
  const cases: Array<[PlanInput, string]> = [
    [{ preset: 'database' }, 'preset database (database connection pools)'],
    [{ idle: 30, interval: 5, count: 4 }, 'your values (idle 30, interval 5, count 4)'],
    [{ detectWithin: 60, surviveOutage: 20, lbIdleTimeout: 350 }, 'goals: detect within 60 s, survive a 20 s outage, load balancer idle timeout 350 s'],
    [{ preset: 'web', idle: 10, detectWithin: 60 }, 'preset web (' ],
  ];
  for (const [input, text] of cases) t.ok(basisText(input).startsWith(text), text);
});
