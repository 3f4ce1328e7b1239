// The plan arithmetic against cases worked out by hand (the working is in
// each test's comment), and the command line that feeds it.
import t from 'tap';

import { UsageError } from '../../lib/cli/args';
import { makePlan, planInput, renderPlan } from '../../lib/cli/plan';

t.test('preset database on Linux', async (t) => {
  // 60 + 20 × 3 = 120; outage 20 × (3 − 1) = 40; 1000 conns × 2 packets / 60 s
  // = 33.33 packets/s × 66 B = 2200 B/s, × 86400 = 190,080,000 B/day.
  const plan = makePlan({ preset: 'database', platform: 'linux' });
  t.same(plan.settings, { idle: 60, interval: 20, count: 3, userTimeout: 120, userTimeoutAuto: true });
  t.equal(plan.detectAfter, 120);
  t.equal(plan.probes, 3);
  t.equal(plan.survivesOutage, 40);
  t.equal(plan.dataTimeout, 120);
  t.equal(plan.traffic.connections, 1000);
  t.equal(plan.traffic.frameBytes, 66);
  t.equal(plan.traffic.packetsPerSecond.toFixed(4), '33.3333');
  t.equal(Math.round(plan.traffic.bytesPerSecond), 2200);
  t.equal(Math.round(plan.traffic.bytesPerDay), 190_080_000);
  t.same(plan.warnings, []);
  t.same(plan.options, { idle: 60, interval: 20, count: 3, userTimeout: 'auto' });
});

t.test('--detect-within 60 --lb-idle-timeout 350', async (t) => {
  // count 3; interval = floor(60 / (2 × 3)) = 10; idle = 60 − 10 × 3 = 30;
  // 30 + 10 = 40 < 350 keeps the balancer's flow. Outage 10 × 2 = 20.
  const plan = makePlan({ detectWithin: 60, lbIdleTimeout: 350, platform: 'linux' });
  t.same(plan.settings, { idle: 30, interval: 10, count: 3, userTimeout: 60, userTimeoutAuto: true });
  t.equal(plan.detectAfter, 60);
  t.equal(plan.survivesOutage, 20);
  t.same(plan.goals, [
    { goal: 'detect-within', target: 60, actual: 60, met: true },
    { goal: 'lb-idle-timeout', target: 350, actual: 40, met: true },
  ]);
  t.same(plan.warnings, []);
});

t.test('--detect-within 90 --survive-outage 40', async (t) => {
  // interval starts at floor(90 / 6) = 15, idle 90 − 45 = 45; the outage needs
  // interval × 2 ≥ 40, so interval 20; then 45 + 60 > 90 shrinks idle to 30.
  const plan = makePlan({ detectWithin: 90, surviveOutage: 40, platform: 'linux' });
  t.same([plan.settings.idle, plan.settings.interval, plan.settings.count], [30, 20, 3]);
  t.equal(plan.detectAfter, 90);
  t.equal(plan.survivesOutage, 40);
  t.ok(plan.goals.every((g) => g.met));
});

t.test('goals that contradict: detect within 30 s, survive 40 s', async (t) => {
  // Surviving 40 s of silence needs more than 40 s of probing, but all of
  // the detection budget is 30 s: no count helps (40 + 2 = 42 > 30). The
  // plan keeps the detection goal with the longest interval that fits: 9
  // would leave idle 30 − 27 = 3, and Linux counts the first probe from
  // max(idle, interval) = 9, so 9 + 27 = 36 > 30; 8 gives max(6, 8) + 24 = 32;
  // 7 gives idle 9: 9 + 21 = 30. It survives only 7 × 2 = 14 s.
  const plan = makePlan({ detectWithin: 30, surviveOutage: 40, platform: 'linux' });
  t.same([plan.settings.idle, plan.settings.interval, plan.settings.count], [9, 7, 3]);
  t.equal(plan.detectAfter, 30);
  t.equal(plan.survivesOutage, 14);
  t.same(plan.goals.map((g) => g.met), [true, false]);
  const conflicts = plan.warnings.filter((w) => w.kind === 'conflict');
  t.equal(conflicts.length, 1);
  t.match(conflicts[0]!.message, /at least 42/);
  // Elsewhere the first probe comes at idle: interval floor(29 / 3) = 9 fits.
  const darwin = makePlan({ detectWithin: 30, surviveOutage: 40, platform: 'darwin' });
  t.same([darwin.settings.idle, darwin.settings.interval, darwin.detectAfter, darwin.survivesOutage], [3, 9, 30, 18]);
  // And 42 s reconciles them, with 41 probes 1 s apart: 1 + 1 × 41 = 42.
  const reconciled = makePlan({ detectWithin: 42, surviveOutage: 40, platform: 'linux' });
  t.same([reconciled.settings.idle, reconciled.settings.interval, reconciled.settings.count], [1, 1, 41]);
  t.ok(reconciled.goals.every((g) => g.met));
});

t.test('Linux: idle below interval delays the first probe', async (t) => {
  // max(3, 9) + 9 × 3 = 36 on Linux; 3 + 27 = 30 elsewhere. A healthy
  // connection is probed every 9 s there: 1000 × 2 / 9 = 222.2 packets/s.
  const plan = makePlan({ idle: 3, interval: 9, count: 3, platform: 'linux' });
  t.equal(plan.detectAfter, 36);
  t.equal(plan.probes, 3);
  t.equal(plan.traffic.packetsPerSecond.toFixed(1), '222.2');
  t.match(plan.warnings, [{ kind: 'caution', message: /idle 3 s is below interval 9 s.*9 \+ 9 × 3 = 36 s/ }]);
  t.match(renderPlan(plan), /noticed within 36 s = max\(3, 9\) \+ 9 × 3/);
  t.equal(makePlan({ idle: 3, interval: 9, count: 3, platform: 'darwin' }).detectAfter, 30);
});

t.test('fixed idle at or above the load balancer timeout is a conflict', async (t) => {
  const plan = makePlan({ idle: 400, interval: 10, count: 3, lbIdleTimeout: 350, platform: 'linux' });
  t.equal(plan.settings.idle, 400, 'a value you give is kept');
  t.equal(plan.detectAfter, 430);
  t.match(plan.warnings, [{ kind: 'conflict', message: /not below .* 350 s.*--idle 339 or less/ }]);
  t.same(plan.goals, [{ goal: 'lb-idle-timeout', target: 350, actual: 410, met: false }]);
});

t.test('idle + interval reaching the balancer timeout is a caution', async (t) => {
  const plan = makePlan({ idle: 340, interval: 20, count: 3, lbIdleTimeout: 350, platform: 'linux' });
  t.match(plan.warnings, [{ kind: 'caution', message: /one probe is lost/ }]);
  t.same(plan.goals.map((g) => g.met), [false]);
});

t.test('a preset moved under the balancer timeout: iot with --lb-idle-timeout 350', async (t) => {
  // iot is 600/120/3; 600 + 120 ≥ 350, so idle = 350 − 120 − 1 = 229.
  const plan = makePlan({ preset: 'iot', lbIdleTimeout: 350, platform: 'linux' });
  t.same([plan.settings.idle, plan.settings.interval, plan.settings.count], [229, 120, 3]);
  t.equal(plan.detectAfter, 229 + 360);
  t.same(plan.goals, [{ goal: 'lb-idle-timeout', target: 350, actual: 349, met: true }]);
});

t.test('--survive-outage 60 alone', async (t) => {
  // defaults idle 60, interval 10, count 3; 10 × 2 < 60 → interval 30.
  const plan = makePlan({ surviveOutage: 60, platform: 'linux' });
  t.same([plan.settings.idle, plan.settings.interval, plan.settings.count], [60, 30, 3]);
  t.equal(plan.detectAfter, 150);
  t.equal(plan.survivesOutage, 60);
});

t.test('Linux: a userTimeout shorter than the probes replaces count', async (t) => {
  // 60 + 10 × max(1, ceil((45 − 60) / 10)) = 70: one probe, then dropped.
  const plan = makePlan({ idle: 60, interval: 10, count: 3, userTimeout: 45, platform: 'linux' });
  t.equal(plan.detectAfter, 70);
  t.equal(plan.probes, 1);
  t.equal(plan.survivesOutage, 0);
  t.equal(plan.dataTimeout, 45);
  t.match(plan.warnings, [
    { kind: 'caution', message: /only one probe/ },
    { kind: 'caution', message: /replaces count 3.*after 1 probe\b/ },
  ]);
  // The same settings elsewhere follow idle + interval × count.
  t.equal(makePlan({ idle: 60, interval: 10, count: 3, userTimeout: 45, platform: 'darwin' }).detectAfter, 90);
});

t.test('no user timeout: a caution, on FreeBSD always', async (t) => {
  const linux = makePlan({ preset: 'general', userTimeout: 0, platform: 'linux' });
  t.equal(linux.dataTimeout, null);
  t.match(linux.warnings, [{ kind: 'caution', message: /--user-timeout auto/ }]);
  const freebsd = makePlan({ preset: 'general', platform: 'freebsd' });
  t.equal(freebsd.settings.userTimeout, 0, 'FreeBSD has no per-socket user timeout');
  t.equal(freebsd.detectAfter, 90);
  t.match(freebsd.warnings, [{ kind: 'caution', message: /freebsd has no per-socket bound/ }]);
});

t.test('Windows: the fixed count of older versions', async (t) => {
  // iot on Windows before 1703: 600 + 120 × 10 = 1800 s.
  const plan = makePlan({ preset: 'iot', platform: 'win32' });
  t.equal(plan.detectAfter, 960);
  t.match(plan.warnings, [{ kind: 'caution', message: /always sends 10 probes.*600 \+ 120 × 10 = 1800 s/ }]);
});

t.test('traffic for many connections and another frame size', async (t) => {
  // 20000 × 2 / 30 = 1333.33 packets/s × 86 B = 114,666.67 B/s.
  const plan = makePlan({ idle: 30, interval: 5, count: 4, connections: 20_000, frameBytes: 86, platform: 'linux' });
  t.equal(plan.traffic.packetsPerSecond.toFixed(2), '1333.33');
  t.equal(plan.traffic.bytesPerSecond.toFixed(2), '114666.67');
  t.match(plan.traffic.assumption, /^86-byte frames, one probe/);
  t.match(renderPlan(plan), /20000 idle connections: 1333\.3 packets\/s, 114\.7 KB\/s \(9\.91 GB\/day\)/);
});

t.test('limits of this platform', { skip: process.platform !== 'linux' && 'Linux limits' }, async (t) => {
  const plan = makePlan({ idle: 40_000, interval: 10, count: 3 });
  t.match(plan.warnings, [{ kind: 'conflict', message: /idle 40000 is above this platform's limit of 32767/ }]);
});

t.test('the command line', async (t) => {
  t.same(planInput(['--preset', 'database']).input, { preset: 'database' });
  t.same(planInput(['--detect-within', '2m', '--lb-idle-timeout', '350s', '--json']), {
    input: { detectWithin: 120, lbIdleTimeout: 350 },
    json: true,
    help: false,
  });
  t.same(planInput(['--idle', '1h', '--interval', '30', '--count', '5', '--user-timeout', 'auto', '--platform', 'macos']).input, {
    idle: 3600,
    interval: 30,
    count: 5,
    userTimeout: 'auto',
    platform: 'darwin',
  });
  const usage = (argv: string[], message: RegExp, hint: RegExp): void => {
    t.throws(() => planInput(argv), UsageError);
    try {
      planInput(argv);
    } catch (e) {
      t.match((e as UsageError).message, message, argv.join(' '));
      t.match((e as UsageError).hint, hint, `${argv.join(' ')}: hint`);
    }
  };
  usage([], /needs a preset, settings or a goal/, /--preset general/);
  usage(['--idle', '60'], /needs --interval and --count too/, /--preset NAME/);
  usage(['--preset', 'databse'], /unknown preset "databse"/, /did you mean --preset database\?/);
  usage(['database'], /options only/, /tcp-keepalive plan --preset database/);
  usage(['--idel', '60'], /unknown option --idel/, /did you mean --idle\?/);
  usage(['--idle', '1.5', '--interval', '1', '--count', '1'], /whole seconds, got "1.5"/, /--idle 2$/);
  usage(['--idle', '500ms', '--interval', '1', '--count', '1'], /whole seconds/, /not milliseconds: --idle 1$/);
  usage(['--count', 'three', '--idle', '1', '--interval', '1'], /whole number/, /--count 3/);
  usage(['--detect-within'], /needs a value/, /--detect-within SECONDS/);
  usage(['--json=yes', '--preset', 'web'], /takes no value/, /just --json/);
  usage(['--platform', 'beos', '--preset', 'web'], /unknown platform/, /--platform linux/);
});
