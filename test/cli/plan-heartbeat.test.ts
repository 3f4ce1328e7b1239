// plan --heartbeat (lib/cli/plan-heartbeat.ts and its wiring in plan.ts),
// table-driven: the detection arithmetic while heartbeats flow and which
// mechanism decides, the settings chosen for a heartbeat, every warning with
// and without its condition, the command line, and the command's text and
// --json output. Each row's working is in its name.
import t from 'tap';

import { MAX_SECONDS, UsageError } from '../../lib/cli/args';
import { makePlan, planInput, renderPlan, type CoreSettings, type PlanInput } from '../../lib/cli/plan';
import {
  coordinatedIdle,
  coordinatedUserTimeout,
  heartbeatDetection,
  heartbeatWarnings,
  LINUX_RETRANSMISSION_SECONDS,
  planHeartbeat,
  type HeartbeatDecider,
  type HeartbeatInput,
  type HeartbeatWarningCode,
} from '../../lib/cli/plan-heartbeat';
import { runMain } from '../helpers/main';

const s = (idle: number, interval: number, count: number): CoreSettings => ({ idle, interval, count });

t.test('the Linux retransmission limit is 924.6 s (tcp_retries2 = 15)', async (t) => {
  t.equal(LINUX_RETRANSMISSION_SECONDS, 924.6);
});

t.test('heartbeatDetection: H + the first of T, userTimeout, the retransmission limit', async (t) => {
  // heartbeat, heartbeat timeout, userTimeout, platform → seconds, decider
  const cases: Array<[string, number, number | undefined, number, string, number | null, HeartbeatDecider]> = [
    ['T alone: 30 + 20', 30, 20, 0, 'linux', 50, 'heartbeat-timeout'],
    ['T below userTimeout: 30 + 20', 30, 20, 90, 'linux', 50, 'heartbeat-timeout'],
    ['T equal to userTimeout: the heartbeat timeout (30 + 20)', 30, 20, 20, 'linux', 50, 'heartbeat-timeout'],
    ['userTimeout below T: 30 + 15', 30, 20, 15, 'linux', 45, 'user-timeout'],
    ['userTimeout alone: 15 + 90', 15, undefined, 90, 'linux', 105, 'user-timeout'],
    ['userTimeout alone elsewhere: 15 + 60', 15, undefined, 60, 'darwin', 75, 'user-timeout'],
    ['neither, Linux: 30 + 924.6', 30, undefined, 0, 'linux', 954.6, 'retransmission'],
    ['neither, FreeBSD: unknown', 30, undefined, 0, 'freebsd', null, 'retransmission'],
    ['T on FreeBSD: 60 + 30 (MQTT keepalive 60, 1.5 × 60)', 60, 30, 0, 'freebsd', 90, 'heartbeat-timeout'],
  ];
  for (const [name, h, timeout, ut, platform, seconds, decider] of cases) {
    const d = heartbeatDetection(h, timeout, ut, platform);
    t.same([d.seconds, d.decider], [seconds, decider], name);
  }
  t.equal(heartbeatDetection(30, 20, 0, 'linux').formula, '30 + heartbeat timeout 20');
  t.equal(heartbeatDetection(30, undefined, 45, 'linux').formula, '30 + userTimeout 45');
  t.match(heartbeatDetection(30, undefined, 0, 'linux').formula, /^30 \+ about 924\.6 \(Linux retransmissions, tcp_retries2 = 15\)$/);
});

t.test('coordinatedIdle: max(idle, ceil(1.5 × H))', async (t) => {
  const cases: Array<[number, number, number]> = [
    [60, 30, 60], // 1.5 × 30 = 45 < 60: kept
    [30, 30, 45], // raised to 45
    [10, 15, 23], // ceil(22.5)
    [1, 1, 2], // ceil(1.5)
    [45, 30, 45], // equal: kept
  ];
  for (const [idle, h, expected] of cases) t.equal(coordinatedIdle(idle, h), expected, `idle ${idle}, heartbeat ${h}`);
});

t.test('coordinatedUserTimeout: T or H; on Linux idle + interval × count', async (t) => {
  const cases: Array<[string, number, number | undefined, CoreSettings, string, number]> = [
    ['Linux, T 20 < 45 + 30: the budget', 30, 20, s(45, 10, 3), 'linux', 75],
    ['Linux, no T, 30 < 90: the budget', 30, undefined, s(60, 10, 3), 'linux', 90],
    ['Linux, T 200 > 90: still the budget', 30, 200, s(60, 10, 3), 'linux', 90],
    ['Linux, H 60 above the budget 20 + 5 × 3: the budget', 60, undefined, s(20, 5, 3), 'linux', 35],
    ['darwin, T 20', 30, 20, s(45, 10, 3), 'darwin', 20],
    ['win32, no T: H 30', 30, undefined, s(45, 10, 3), 'win32', 30],
  ];
  for (const [name, h, timeout, settings, platform, expected] of cases) t.equal(coordinatedUserTimeout(h, timeout, settings, platform), expected, name);
});

t.test('heartbeatWarnings: each warning with its condition, none without', async (t) => {
  const base: HeartbeatInput = { heartbeat: 30, heartbeatTimeout: 20, settings: s(45, 10, 3), userTimeout: 75, platform: 'linux' };
  // The budget is the row's detectAfter on Linux: idle + interval × count, or with a
  // userTimeout the first probe time at or past it (userTimeout replaces count).
  type Row = [string, Partial<HeartbeatInput>, number, HeartbeatWarningCode[]];
  const cases: Row[] = [
    ['coordinated: none', {}, 75, []],
    ['idle 31 above H 30: none', { settings: s(31, 10, 3), userTimeout: 61 }, 61, []],
    ['idle 30 equal to H 30', { settings: s(30, 10, 3), userTimeout: 60 }, 60, ['idle-below-heartbeat']],
    ['idle 20 below H 30', { settings: s(20, 10, 3), userTimeout: 50 }, 50, ['idle-below-heartbeat']],
    ['userTimeout 0', { userTimeout: 0 }, 75, ['heartbeat-without-user-timeout']],
    ['userTimeout 1: none (Linux: 45 + 10 × 1)', { userTimeout: 1 }, 55, []],
    ['T 75 equal to the budget: none', { heartbeatTimeout: 75 }, 75, []],
    ['T 76 over the budget 75', { heartbeatTimeout: 76 }, 75, ['heartbeat-timeout-over-budget']],
    ['no T: no budget warning', { heartbeatTimeout: undefined }, 75, []],
    ['through a proxy', { throughProxy: true }, 75, ['proxy-ends-tcp']],
    ['not through a proxy: none', { throughProxy: false }, 75, []],
    ['all four, in order', { settings: s(20, 5, 3), userTimeout: 0, heartbeatTimeout: 120, throughProxy: true }, 35, [
      'idle-below-heartbeat',
      'heartbeat-without-user-timeout',
      'heartbeat-timeout-over-budget',
      'proxy-ends-tcp',
    ]],
  ];
  for (const [name, change, budget, codes] of cases) {
    const input: HeartbeatInput = { ...base, ...change };
    if ('heartbeatTimeout' in change && change.heartbeatTimeout === undefined) delete input.heartbeatTimeout;
    const warnings = heartbeatWarnings(input, budget);
    t.same(warnings.map((w) => w.code), codes, name);
    t.ok(warnings.every((w) => w.kind === 'caution'), `${name}: cautions`);
    t.equal(planHeartbeat(input).keepaliveBudget, budget, `${name}: the budget`);
  }
});

t.test('the warnings say what to do', async (t) => {
  const w = (change: Partial<HeartbeatInput>, budget = 75): string[] =>
    heartbeatWarnings({ heartbeat: 30, settings: s(45, 10, 3), userTimeout: 75, platform: 'linux', ...change }, budget).map((x) => x.message);
  t.match(w({ settings: s(20, 10, 3) }), [/idle 20 s is below the heartbeat period 30 s: keepalive probes the connection between heartbeats.*--idle 45/]);
  t.match(w({ settings: s(30, 10, 3) }), [/idle 30 s equals the heartbeat period 30 s.*jitter.*--idle 45/]);
  t.match(w({ userTimeout: 0 }), [/without userTimeout.*about 924\.6 s \(15 min 25 s\) before ETIMEDOUT, so a dead peer is noticed only after 30 s \+ that; use --user-timeout 75$/]);
  t.match(w({ userTimeout: 0, heartbeatTimeout: 20 }), [/only the heartbeat's own 20 s timeout notices the dead peer.*--user-timeout 75$/]);
  t.match(w({ userTimeout: 0, platform: 'darwin' }), [/until the OS retransmission limit gives up.*--user-timeout 30$/]);
  t.match(w({ userTimeout: 0, platform: 'freebsd' }), [/^freebsd has no userTimeout:/]);
  t.notMatch(w({ userTimeout: 0, platform: 'freebsd' })[0]!, /--user-timeout/);
  t.match(w({ heartbeatTimeout: 100 }), [/heartbeat timeout 100 s is longer than the keepalive budget 75 s.*30 \+ 100 = 130 s.*userTimeout 75 s ends the heartbeat write first.*of 75 s or less$/]);
  t.notMatch(w({ heartbeatTimeout: 100, userTimeout: 200 })[0]!, /ends the heartbeat write first/);
  t.match(w({ throughProxy: true, heartbeatTimeout: 20 }), [/keepalive probes and userTimeout check only the hop to the proxy.*within 30 \+ 20 = 50 s$/]);
  t.match(w({ throughProxy: true }), [/nothing notices a dead backend/]);
});

t.test('planHeartbeat: the keepalive role, the backend, the chosen settings', async (t) => {
  const part = planHeartbeat({ heartbeat: 30, heartbeatTimeout: 20, settings: s(45, 10, 3), userTimeout: 75, platform: 'linux', chose: { idle: true, userTimeout: true } });
  t.same(part.detection, { seconds: 50, decider: 'heartbeat-timeout', formula: '30 + heartbeat timeout 20' });
  t.equal(part.backend, null, 'no proxy: no backend part');
  t.match(part.keepaliveRole, [/no probes; the connection is never idle for 45 s with data every 30 s/, /heartbeats stop.*within 75 s/, /only answers heartbeats.*75 s/]);
  t.same(part.chosen.map((c) => [c.setting, c.value]), [['idle', 45], ['userTimeout', 75]]);
  t.match(part.chosen[1]!.rule, /^idle \+ interval × count = 75, not the heartbeat timeout 20: on Linux userTimeout replaces count/);
  const darwin = planHeartbeat({ heartbeat: 30, settings: s(45, 10, 3), userTimeout: 30, platform: 'darwin', chose: { userTimeout: true } });
  t.match(darwin.chosen, [{ setting: 'userTimeout', value: 30, rule: /^the heartbeat period 30: .*the next heartbeat is due$/ }]);
  const proxied = planHeartbeat({ heartbeat: 30, settings: s(20, 10, 3), userTimeout: 0, throughProxy: true, platform: 'linux' });
  t.same(proxied.backend, { seconds: null, decider: null }, 'no heartbeat timeout: nothing notices a dead backend');
  t.match(proxied.keepaliveRole, [/probes between heartbeats/, /./, /./, /only for the hop to the proxy/]);
  t.same(proxied.chosen, [], 'nothing chosen');
  t.same(planHeartbeat({ heartbeat: 30, heartbeatTimeout: 20, settings: s(45, 10, 3), userTimeout: 75, throughProxy: true, platform: 'linux' }).backend, {
    seconds: 50,
    decider: 'heartbeat-timeout',
  });
});

t.test('makePlan with a heartbeat: coordinated settings', async (t) => {
  type Row = [string, PlanInput, [number, number, number, number], number | null, HeartbeatDecider, string[], HeartbeatWarningCode[]];
  const cases: Row[] = [
    // settings [idle, interval, count, userTimeout], detection while heartbeats flow, decider, chosen, warning codes
    ['realtime (30/10/3), H 30, T 20: idle 45, userTimeout 45 + 30 = 75; 30 + 20', { preset: 'realtime', heartbeat: 30, heartbeatTimeout: 20 }, [45, 10, 3, 75], 50, 'heartbeat-timeout', ['idle', 'userTimeout'], []],
    ['general (60/10/3), H 30: idle kept (45 < 60), userTimeout 90; 30 + 90', { preset: 'general', heartbeat: 30 }, [60, 10, 3, 90], 120, 'user-timeout', ['userTimeout'], []],
    ['H alone: defaults 60/10/3, H 60 → idle 90, userTimeout 120; 60 + 30', { heartbeat: 60, heartbeatTimeout: 30 }, [90, 10, 3, 120], 90, 'heartbeat-timeout', ['idle', 'userTimeout'], []],
    ['darwin: userTimeout = T 20', { preset: 'realtime', heartbeat: 30, heartbeatTimeout: 20, platform: 'darwin' }, [45, 10, 3, 20], 50, 'heartbeat-timeout', ['idle', 'userTimeout'], []],
    ['win32 without T: userTimeout = H 30; 30 + 30', { preset: 'realtime', heartbeat: 30, platform: 'win32' }, [45, 10, 3, 30], 60, 'user-timeout', ['idle', 'userTimeout'], []],
    ['your values are kept: idle 20, userTimeout 0', { idle: 20, interval: 5, count: 3, userTimeout: 0, heartbeat: 30 }, [20, 5, 3, 0], 30 + 924.6, 'retransmission', [], ['idle-below-heartbeat', 'heartbeat-without-user-timeout']],
    ['your userTimeout 40 is kept; idle chosen ceil(1.5 × 50) = 75; 50 + 40', { interval: 10, count: 3, userTimeout: 40, heartbeat: 50 }, [75, 10, 3, 40], 90, 'user-timeout', ['idle'], []],
    ['FreeBSD: no userTimeout to choose', { preset: 'realtime', heartbeat: 30, platform: 'freebsd' }, [45, 10, 3, 0], null, 'retransmission', ['idle'], ['heartbeat-without-user-timeout']],
    // detect 40: interval floor(40 / 6) = 6, idle 22, raised to 45, then lowered to 40 − 18 = 22 ≤ 30; userTimeout 40.
    ['a detection goal lowers idle again: 22 ≤ 30', { detectWithin: 40, heartbeat: 30 }, [22, 6, 3, 40], 70, 'user-timeout', ['userTimeout'], ['idle-below-heartbeat']],
    // userTimeout 20 + 5 × 3 = 35 ends the heartbeat write before T 120: 30 + 35.
    ['T over the budget through a proxy', { idle: 20, interval: 5, count: 3, heartbeat: 30, heartbeatTimeout: 120, throughProxy: true }, [20, 5, 3, 35], 65, 'user-timeout', ['userTimeout'], ['idle-below-heartbeat', 'heartbeat-timeout-over-budget', 'proxy-ends-tcp']],
  ];
  for (const [name, input, [idle, interval, count, userTimeout], seconds, decider, chosen, codes] of cases) {
    const plan = makePlan({ platform: 'linux', ...input });
    t.same([plan.settings.idle, plan.settings.interval, plan.settings.count, plan.settings.userTimeout], [idle, interval, count, userTimeout], `${name}: settings`);
    t.same([plan.heartbeat?.detection.seconds, plan.heartbeat?.detection.decider], [seconds, decider], `${name}: detection`);
    t.same(plan.heartbeat?.chosen.map((c) => c.setting), chosen, `${name}: chosen`);
    t.same(plan.warnings.filter((w) => w.code !== undefined).map((w) => w.code), codes, `${name}: heartbeat warnings`);
    t.equal(plan.heartbeat?.keepaliveBudget, plan.detectAfter, `${name}: the budget is the plan's detectAfter`);
  }
  // The coordinated plans raise none of the plan's own cautions (a userTimeout below idle would: one probe on Linux).
  t.same(makePlan({ preset: 'realtime', heartbeat: 30, heartbeatTimeout: 20, platform: 'linux' }).warnings, []);
  t.same(makePlan({ preset: 'general', heartbeat: 30, platform: 'linux' }).warnings, []);
  // With a heartbeat the plan's own "no userTimeout" caution gives way to the heartbeat's.
  const none = makePlan({ preset: 'general', userTimeout: 0, heartbeat: 30, platform: 'linux' });
  t.same(none.warnings.map((w) => w.code ?? w.message), ['heartbeat-without-user-timeout']);
});

t.test('without --heartbeat nothing changes', async (t) => {
  const inputs: PlanInput[] = [{ preset: 'database' }, { detectWithin: 30, surviveOutage: 40 }, { preset: 'general', userTimeout: 0 }, { idle: 3, interval: 9, count: 3 }];
  for (const input of inputs) {
    const plan = makePlan({ platform: 'linux', ...input });
    t.notOk('heartbeat' in plan, `${JSON.stringify(input)}: no heartbeat key`);
    t.ok(plan.warnings.every((w) => !('code' in w)), `${JSON.stringify(input)}: no codes`);
    t.notMatch(renderPlan(plan), /heartbeat/, `${JSON.stringify(input)}: no heartbeat text`);
  }
  t.match(makePlan({ preset: 'general', userTimeout: 0, platform: 'linux' }).warnings, [{ kind: 'caution', message: /--user-timeout auto/ }]);
});

t.test('the command line', async (t) => {
  t.same(planInput(['--preset', 'realtime', '--heartbeat', '30', '--heartbeat-timeout', '20s', '--through-proxy']).input, {
    preset: 'realtime',
    heartbeat: 30,
    heartbeatTimeout: 20,
    throughProxy: true,
  });
  t.same(planInput(['--heartbeat', '2m']).input, { heartbeat: 120 }, '--heartbeat alone is enough');
  t.same(planInput(['--heartbeat', String(MAX_SECONDS)]).input, { heartbeat: MAX_SECONDS });
  const usage = (argv: string[], message: RegExp, hint: RegExp): void => {
    try {
      planInput(argv);
      t.fail(`${argv.join(' ')}: no error`);
    } catch (e) {
      t.type(e, UsageError, argv.join(' '));
      t.match((e as UsageError).message, message, argv.join(' '));
      t.match((e as UsageError).hint, hint, `${argv.join(' ')}: hint`);
    }
  };
  usage(['--preset', 'web', '--heartbeat-timeout', '20'], /^--heartbeat-timeout needs --heartbeat$/, /--heartbeat 30 --heartbeat-timeout 20/);
  usage(['--preset', 'web', '--through-proxy'], /^--through-proxy needs --heartbeat$/, /--heartbeat 30 --through-proxy/);
  usage(['--heartbeat', '1.5'], /--heartbeat takes whole seconds, got "1.5"/, /--heartbeat 2$/);
  usage(['--heartbeat', '500ms'], /whole seconds/, /not milliseconds: --heartbeat 1$/);
  usage(['--heartbeat', '0'], /--heartbeat must be at least 1/, /--heartbeat 60/);
  usage(['--heartbeat', String(MAX_SECONDS + 1)], /--heartbeat must be at most 2147483 s/, /longest timer Node can wait/);
  usage(['--heartbeat', '30', '--heartbeat-timeout', '-5'], /--heartbeat-timeout takes whole seconds/, /for example/);
  usage(['--heartbeat', '30', '--heartbeat-timeout'], /--heartbeat-timeout needs a value/, /--heartbeat-timeout SECONDS/);
  usage(['--heartbeat', '30', '--through-proxy=yes'], /--through-proxy takes no value/, /just --through-proxy/);
  usage(['--heartbaet', '30'], /unknown option --heartbaet/, /did you mean --heartbeat\?/);
});

/** Runs `tcp-keepalive plan ARGV` in this process. */
const run = (argv: string[]): ReturnType<typeof runMain> => runMain(['plan', ...argv]);

t.test('end to end: text', async (t) => {
  const { code, out, err } = await run(['--preset', 'realtime', '--heartbeat', '30', '--heartbeat-timeout', '20', '--platform', 'linux']);
  t.equal(code, 0);
  t.equal(err, '');
  t.match(out, /^Plan for linux, from preset realtime \(.*\); a heartbeat every 30 s \(timeout 20 s\)\n/);
  t.match(out, /\nsettings   idle 45 s, interval 10 s, count 3, userTimeout 75 s\n/);
  t.match(out, /\nheartbeat every 30 s, its own timeout 20 s:\n  - while heartbeats flow a dead peer is noticed within 50 s = 30 \+ heartbeat\n    timeout 20 \(the heartbeat timeout decides\)\n/);
  t.match(out, /\nkeepalive:\n  - while heartbeats flow: no probes/);
  t.match(out, /\nchosen for the heartbeat:\n  - idle 45 s: ceil\(1\.5 × 30\)/);
  t.match(out, /\nwarnings: none\n/);
  t.match(out, /setKeepalive\(socket, \{ idle: 45, interval: 10, count: 3, userTimeout: 75 \}\)/);
  const fights = await run(['--idle', '20', '--interval', '5', '--count', '3', '--user-timeout', '0', '--heartbeat', '30', '--heartbeat-timeout', '120', '--through-proxy', '--platform', 'linux']);
  t.equal(fights.code, 0, 'cautions only: exit 0');
  t.match(fights.out, /a dead backend behind the proxy: noticed by the heartbeat timeout alone,\n    within 150 s \(2 min 30 s\)/);
  const bullets = fights.out.split('\nwarnings:\n')[1]!.split('\n\nuse it:')[0]!.split('\n  - ');
  t.equal(bullets.length, 4, 'four warnings');
  t.match(bullets, [/^ *- idle 20 s is below/, /^a heartbeat without userTimeout/, /^heartbeat timeout 120 s is longer/, /^through a proxy that ends TCP/]);
});

t.test('end to end: --json', async (t) => {
  const { code, out } = await run(['--preset', 'general', '--heartbeat', '30', '--user-timeout', '0', '--platform', 'linux', '--json']);
  t.equal(code, 0);
  const plan = JSON.parse(out);
  t.same(plan.settings, { idle: 60, interval: 10, count: 3, userTimeout: 0, userTimeoutAuto: false });
  t.same(plan.heartbeat.detection, { seconds: 954.6, decider: 'retransmission', formula: '30 + about 924.6 (Linux retransmissions, tcp_retries2 = 15)' });
  t.same(Object.keys(plan.heartbeat), ['heartbeat', 'heartbeatTimeout', 'throughProxy', 'detection', 'backend', 'keepaliveBudget', 'keepaliveRole', 'chosen']);
  t.equal(plan.heartbeat.heartbeatTimeout, null);
  t.equal(plan.heartbeat.keepaliveBudget, 90);
  t.same(plan.warnings.map((w: { code: string; kind: string }) => [w.kind, w.code]), [['caution', 'heartbeat-without-user-timeout']]);
  const plain = JSON.parse((await run(['--preset', 'general', '--platform', 'linux', '--json'])).out);
  t.notOk('heartbeat' in plain, 'no heartbeat section without --heartbeat');
  const usage = await run(['--preset', 'web', '--heartbeat-timeout', '20', '--json']);
  t.equal(usage.code, 2, 'a usage error: exit 2');
  t.same(JSON.parse(usage.out), { error: { kind: 'usage', message: '--heartbeat-timeout needs --heartbeat', hint: 'add --heartbeat SECONDS, the period of the heartbeat, for example --heartbeat 30 --heartbeat-timeout 20' } });
  t.equal(usage.err, 'tcp-keepalive: --heartbeat-timeout needs --heartbeat\n  add --heartbeat SECONDS, the period of the heartbeat, for example --heartbeat 30 --heartbeat-timeout 20\n');
});
