// plan --behind NAME|SECONDS (lib/cli/plan-behind.ts and its wiring in
// plan.ts), table-driven over every environment: the margin arithmetic, the
// settings chosen for every preset (they keep the flow), the warnings when
// the values you give do not, the command line and its errors, and the text
// and --json output. The timeouts come from the facts file, not from the
// module under test; each row's working is in its name.
import t from 'tap';

import { UsageError } from '../../lib/cli/args';
import { makePlan, PLAN_HELP, planInput, renderPlan, type CoreSettings } from '../../lib/cli/plan';
import { behindEnvironment, behindMargin, behindMeasured, behindOption, fitBehind } from '../../lib/cli/plan-behind';
import { environmentNames, type EnvironmentName } from '../../lib/environments';
import { presetNames, presets } from '../../lib/presets';
import { runMain } from '../helpers/main';

// KEEPALIVE-FACTS.md, "Middleboxes: idle timeouts users hit", in seconds.
const timeouts: Record<EnvironmentName, number> = {
  'aws-nat-gateway': 350,
  'aws-nlb': 350,
  'azure-lb': 240,
  'gcp-lb': 600,
  'gcp-cloud-nat': 1200,
  'docker-swarm': 900,
  'kubernetes-conntrack': 86400,
  'linux-conntrack': 432000,
};
/** The stated rule: idle + interval ≤ T − max(5 s, 10 % of T). */
const budget = (timeout: number): number => timeout - Math.max(5, Math.ceil(timeout * 0.1));
const none = { idle: false, interval: false, count: false };
const s = (idle: number, interval: number, count: number): CoreSettings => ({ idle, interval, count });

t.test('the margin: max(5 s, 10 % of the timeout, rounded up)', async (t) => {
  const cases: Array<[number, number]> = [
    [7, 5],
    [50, 5],
    [51, 6],
    [240, 24],
    [350, 35],
    [1200, 120],
    [432000, 43200],
  ];
  for (const [timeout, margin] of cases) t.equal(behindMargin(timeout), margin, `${timeout} s: margin ${margin} s`);
  for (const name of environmentNames) {
    const b = behindEnvironment(name);
    t.equal(b.idleTimeout, timeouts[name], `${name}: the facts' ${timeouts[name]} s`);
    t.equal(b.limit, budget(timeouts[name]), `${name}: idle + interval at most ${budget(timeouts[name])}`);
  }
});

t.test('fitBehind', async (t) => {
  const cases: Array<[string, CoreSettings, number, typeof none, CoreSettings]> = [
    ['already within: 60 + 10 ≤ 315', s(60, 10, 3), 315, none, s(60, 10, 3)],
    ['exactly at the limit is kept: 305 + 10 = 315', s(305, 10, 3), 315, none, s(305, 10, 3)],
    ['idle lowered: 315 − 120 = 195', s(600, 120, 3), 315, none, s(195, 120, 3)],
    ['idle would fall below interval (216 − 120 = 96): both floor(216 / 2) = 108', s(600, 120, 3), 216, none, s(108, 108, 3)],
    ['interval fixed: idle 216 − 120 = 96 below it, kept', s(600, 120, 3), 216, { ...none, interval: true }, s(96, 120, 3)],
    ['idle fixed: interval lowered to 315 − 300 = 15', s(300, 60, 3), 315, { ...none, idle: true }, s(300, 15, 3)],
    ['idle and interval fixed: kept (a warning says so)', s(300, 60, 3), 315, { ...none, idle: true, interval: true }, s(300, 60, 3)],
    ['idle fixed at the limit: kept', s(400, 10, 3), 315, { ...none, idle: true }, s(400, 10, 3)],
    ['the smallest limit, 2: idle 1, interval 1', s(60, 10, 3), 2, none, s(1, 1, 3)],
    ['interval fixed above the limit: idle at least 1', s(60, 10, 3), 5, { ...none, interval: true }, s(1, 10, 3)],
  ];
  for (const [name, settings, limit, fixed, expected] of cases) t.same(fitBehind(settings, limit, fixed), expected, name);
});

t.test('every environment, every preset: the plan keeps the flow', async (t) => {
  const changed: string[] = [];
  for (const name of environmentNames) {
    const limit = budget(timeouts[name]);
    for (const platform of ['linux', 'darwin', 'win32', 'freebsd']) {
      for (const preset of [...presetNames, undefined]) {
        const plan = makePlan({ ...(preset ? { preset } : {}), behind: behindEnvironment(name), platform });
        const { idle, interval, count } = plan.settings;
        const row = `${name}, ${preset ?? 'no preset'}, ${platform}: idle ${idle} + interval ${interval}`;
        t.ok(idle + interval <= limit, `${row} ≤ ${limit}`);
        t.ok(idle >= interval, `${row}: idle not below interval`);
        t.same(plan.goals, [{ goal: 'lb-idle-timeout', target: timeouts[name], actual: idle + interval, met: true, margin: timeouts[name] - limit }], `${row}: goal met`);
        t.notOk(
          plan.warnings.some((w) => w.message.includes('--behind')),
          `${row}: no warning about the middlebox`,
        );
        const start = preset ? presets[preset] : { idle: 60, interval: 10, count: 3 };
        t.equal(count, start.count, `${row}: count kept`);
        if (start.idle + start.interval <= limit) t.same([idle, interval], [start.idle, start.interval], `${row}: already within, unchanged`);
        else if (platform === 'linux') changed.push(`${preset} ${name}`);
      }
    }
  }
  // As docs/middleboxes.md says: only iot (600 + 120) behind the four shortest timeouts.
  t.same(changed, ['iot aws-nat-gateway', 'iot aws-nlb', 'iot azure-lb', 'iot gcp-lb'], 'the pairs that needed a change');
});

t.test('every measured timeout from 7 to 3000 s, every preset: the flow is kept', async (t) => {
  const failures: string[] = [];
  let plans = 0;
  for (let timeout = 7; timeout <= 3000; timeout++) {
    for (const preset of [...presetNames, undefined]) {
      const plan = makePlan({ ...(preset ? { preset } : {}), behind: behindMeasured(timeout), platform: 'linux' });
      const { idle, interval } = plan.settings;
      plans++;
      const ok = idle + interval <= budget(timeout) && idle >= interval && interval >= 1 && plan.goals[0]!.met && !plan.warnings.some((w) => w.message.includes('measured'));
      if (!ok) failures.push(`${timeout} s, ${preset ?? 'no preset'}: idle ${idle}, interval ${interval}`);
    }
  }
  t.same(failures, [], `${plans} plans: idle + interval ≤ the budget, idle ≥ interval, no warning`);
});

t.test('with a detection goal too: both hold', async (t) => {
  for (const name of environmentNames) {
    const plan = makePlan({ detectWithin: 90, behind: behindEnvironment(name), platform: 'linux' });
    t.ok(plan.goals.every((g) => g.met), `${name}: detect within 90 and keep the flow`);
    t.ok(plan.settings.idle + plan.settings.interval <= budget(timeouts[name]));
  }
});

t.test('warnings when the values you give do not keep the flow', async (t) => {
  // darwin: no limits of this platform, no Linux idle/interval caution in the way.
  for (const name of environmentNames) {
    const timeout = timeouts[name];
    const limit = budget(timeout);
    const interval = 10;
    const cases: Array<[string, number, 'conflict' | 'caution' | null]> = [
      [`idle ${timeout}: at the timeout, a conflict`, timeout, 'conflict'],
      [`idle ${timeout + 100}: above it, a conflict`, timeout + 100, 'conflict'],
      [`idle ${timeout - 1}: one lost probe too many, a caution`, timeout - 1, 'caution'],
      [`idle ${limit - interval + 1}: 1 s into the margin, a caution`, limit - interval + 1, 'caution'],
      [`idle ${limit - interval}: at the limit, none`, limit - interval, null],
    ];
    for (const [row, idle, kind] of cases) {
      const plan = makePlan({ idle, interval, count: 3, behind: behindEnvironment(name), platform: 'darwin' });
      const ours = plan.warnings.filter((w) => w.message.includes(`--behind ${name}`));
      t.same(plan.settings.idle, idle, `${name}, ${row}: your idle is kept`);
      if (kind === null) {
        t.same(ours, [], `${name}, ${row}`);
        continue;
      }
      t.equal(ours.length, 1, `${name}, ${row}: one warning`);
      t.equal(ours[0]?.kind, kind, `${name}, ${row}: ${kind}`);
      t.ok(ours[0]?.message.includes(behindEnvironment(name).label), `${name}, ${row}: names the environment`);
      t.ok(ours[0]?.message.endsWith(`use --idle ${limit - interval} or less`), `${name}, ${row}: says what to use`);
      t.equal(plan.goals[0]?.met, false, `${name}, ${row}: goal not met`);
    }
  }
  const rst = makePlan({ idle: 400, interval: 10, count: 3, behind: behindEnvironment('aws-nat-gateway'), platform: 'linux' });
  t.match(rst.warnings[0]?.message, /forgets the idle flow before the first probe and it answers the next packet with RST/);
  const drop = makePlan({ idle: 230, interval: 10, count: 3, behind: behindEnvironment('azure-lb'), platform: 'linux' });
  t.match(drop.warnings[0]?.message, /idle \+ interval = 240 s is above 216 s = 240 − 24 \(the margin\).*the connection hangs at the next write; use --idle 206 or less/);
  const measured = makePlan({ idle: 300, interval: 10, count: 3, behind: behindMeasured(300), platform: 'linux' });
  t.match(measured.warnings[0], { kind: 'conflict', message: /not below the 300 s idle timeout of the measured idle timeout/ });
});

t.test('a measured timeout', async (t) => {
  const cases: Array<[string, number, number]> = [
    ['300', 300, 270],
    ['5m', 300, 270],
    ['7', 7, 2],
    ['8', 8, 3],
    ['1h', 3600, 3240],
  ];
  for (const [text, timeout, limit] of cases) {
    const b = behindOption(text);
    t.same(b, { name: null, label: 'a middlebox (measured)', idleTimeout: timeout, margin: timeout - limit, limit, late: null, configurable: null, source: null }, text);
    const plan = makePlan({ behind: b, platform: 'linux' });
    t.ok(plan.settings.idle + plan.settings.interval <= limit && plan.goals[0]!.met, `--behind ${text}: the default settings fit ${limit}`);
  }
});

t.test('the command line', async (t) => {
  t.same(planInput(['--behind', 'aws-nlb']).input, { behind: behindEnvironment('aws-nlb') }, '--behind alone is a goal');
  t.same(planInput(['--preset', 'iot', '--behind', '350']).input, { preset: 'iot', behind: behindMeasured(350) });
  const usage = (argv: string[], message: RegExp, hint: RegExp): void => {
    try {
      planInput(argv);
      t.fail(`${argv.join(' ')}: no error`);
    } catch (e) {
      t.ok(e instanceof UsageError, `${argv.join(' ')}: a usage error`);
      t.match((e as UsageError).message, message, argv.join(' '));
      t.match((e as UsageError).hint, hint, `${argv.join(' ')}: hint`);
    }
  };
  const list = new RegExp(`environments: ${environmentNames.join(', ')}; or the idle timeout you measured`);
  usage(['--behind', 'aws-nat-gw'], /unknown environment "aws-nat-gw"/, /^did you mean --behind aws-nat-gateway\? environments: /);
  usage(['--behind', 'azure-lbb'], /unknown environment/, /did you mean --behind azure-lb\?/);
  usage(['--behind', 'Docker-Swarm'], /unknown environment/, /did you mean --behind docker-swarm\?/);
  usage(['--behind', 'azure'], /unknown environment "azure"/, /^did you mean --behind azure-lb\?/);
  usage(['--behind', 'kubernetes'], /unknown environment/, /^did you mean --behind kubernetes-conntrack\?/);
  usage(['--behind', 'aws'], /unknown environment "aws"/, /^environments: /);
  usage(['--behind', 'heroku'], /unknown environment "heroku"/, list);
  usage(['--behind', 'heroku'], /unknown/, /^environments: /);
  usage(['--behind', '6'], /--behind must be at least 7, got "6"/, /--behind 60/);
  usage(['--behind', '1.5'], /--behind takes whole seconds/, /--behind 7$/);
  usage(['--behind', '350ms'], /--behind takes whole seconds/, /not milliseconds/);
  usage(['--behind'], /--behind needs a value/, /--behind NAME\|SECONDS/);
  usage(['--behind', 'aws-nlb', '--lb-idle-timeout', '350'], /--behind and --lb-idle-timeout both set/, /use one: --behind aws-nlb, or --lb-idle-timeout 350/);
  usage(['--behinf', 'aws-nlb'], /unknown option --behinf/, /did you mean --behind\?/);
});

t.test('the help states the rule and every environment', async (t) => {
  const help = PLAN_HELP.replace(/\s+/g, ' ');
  t.match(help, /--behind keeps idle \+ interval ≤ timeout − max\(5 s, 10 % of it\), so one lost probe still refreshes the flow in time/);
  for (const name of environmentNames) t.ok(help.includes(`${name} ${timeouts[name]} s`), `${name} ${timeouts[name]} s`);
  t.match(PLAN_HELP, /\n {2}--behind NAME\|SECONDS {8}goal: /);
});

/** Runs `tcp-keepalive plan ARGV` in this process. */
const run = (argv: string[]): ReturnType<typeof runMain> => runMain(['plan', ...argv]);

t.test('end to end: text', async (t) => {
  const { code, out, err } = await run(['--preset', 'iot', '--behind', 'aws-nat-gateway', '--platform', 'linux']);
  t.equal(code, 0);
  t.equal(err, '');
  t.match(out, /^Plan for linux, from preset iot \(.*\); goals: behind AWS NAT gateway \(idle timeout 350 s, answers late packets with RST\)\n/);
  t.match(out, /\nsettings   idle 195 s, interval 120 s, count 3,/);
  t.match(out, /\nbehind AWS NAT gateway \(idle timeout 350 s, answers late packets with RST\):\n  - idle \+ interval = 195 \+ 120 = 315 s ≤ 315 s = 350 − max\(5, 10 % of 350\): a\n    probe refreshes the flow in time even when one is lost\n/);
  t.match(out, /\n  - source: https:\/\/docs\.aws\.amazon\.com\/vpc\/latest\/userguide\/nat-gateway-troubleshooting\.html\n/);
  t.match(out, /\n  behind: idle timeout 350 s  idle \+ interval = 315 s \(at most 315 s\)  met\n/);
  t.match(out, /\nwarnings: none\n/);
  const measured = await run(['--behind', '300', '--platform', 'linux']);
  t.match(measured.out, /from goals: behind a middlebox with a measured idle timeout of 300 s\n/);
  t.match(measured.out, /\n  - source: your measurement\n/);
  const conflict = await run(['--idle', '400', '--interval', '10', '--count', '3', '--behind', 'aws-nlb', '--platform', 'linux']);
  t.equal(conflict.code, 3, 'idle at or above the timeout: exit 3');
  t.match(conflict.out.replace(/\s+/g, ' '), /- CONFLICT: idle 400 s is not below the 350 s idle timeout of AWS Network Load Balancer \(--behind aws-nlb\)/);
  t.match(conflict.out, /NOT kept if a probe is lost/);
  const caution = await run(['--idle', '320', '--interval', '10', '--count', '3', '--behind', 'aws-nlb', '--platform', 'linux']);
  t.equal(caution.code, 0, 'idle + interval into the margin: a caution, exit 0');
  t.equal(renderPlan(makePlan({ preset: 'web', platform: 'linux' })).includes('behind'), false, 'without --behind: no section');
});

t.test('end to end: --json', async (t) => {
  const { code, out } = await run(['--preset', 'database', '--behind', 'azure-lb', '--json', '--platform', 'linux']);
  t.equal(code, 0);
  const plan = JSON.parse(out) as Record<string, unknown>;
  t.same(plan.behind, {
    name: 'azure-lb',
    label: 'Azure Load Balancer',
    idleTimeout: 240,
    margin: 24,
    limit: 216,
    late: 'drop',
    configurable: '4–100 min per rule; sends RST instead with "TCP reset on idle"',
    source: 'https://learn.microsoft.com/en-us/azure/load-balancer/load-balancer-tcp-reset',
  });
  t.same(plan.goals, [{ goal: 'lb-idle-timeout', target: 240, actual: 80, met: true, margin: 24 }]);
  const without = JSON.parse((await run(['--preset', 'database', '--json'])).out) as Record<string, unknown>;
  t.equal('behind' in without, false, 'without --behind: no behind key');
});
