// tcp-keepalive plan: settings from a preset, from explicit values or from
// goals, and what they mean: detection time, the longest outage a healthy
// connection survives, probe traffic, and warnings when a goal cannot hold.
import { computeDetectAfter } from '../detect';
import { isPresetName, presetNames, presets, type PresetName } from '../presets';
import { supported } from '../supported';
import { closest, EXIT, integer, optionHelp, parse, presetOption, quoted, seconds, UsageError, SETTING_SPECS, type OptionSpecs } from './args';
import { duration, rate, bytes, table, wrap } from './format';
import type { Io } from './io';
import { environments } from '../environments';
import { behindLines, behindOption, behindWarning, behindWords, fitBehind, keepsFlow, type Behind } from './plan-behind';
import { coordinatedIdle, coordinatedUserTimeout, planHeartbeat, type HeartbeatPlan } from './plan-heartbeat';

/** Frame size assumed for a probe or its ACK: Ethernet 14 + IPv4 20 + TCP 20 + timestamps option 12. */
export const DEFAULT_FRAME_BYTES = 66;
export const DEFAULT_CONNECTIONS = 1000;
const PLATFORMS = ['linux', 'darwin', 'freebsd', 'win32'] as const;

export interface PlanInput {
  preset?: PresetName;
  idle?: number;
  interval?: number;
  count?: number;
  /** Seconds, 0 for none, or 'auto' (idle + interval × count). Default 'auto' where supported. */
  userTimeout?: number | 'auto';
  /** Goal: notice a silently dead peer of an idle connection within this many seconds. */
  detectWithin?: number;
  /** Goal: a healthy connection survives an outage of this many seconds. */
  surviveOutage?: number;
  /** Goal: keep a flow alive through a middlebox that drops flows idle this long. */
  lbIdleTimeout?: number;
  /**
   * Goal: keep a flow alive through this middlebox (plan-behind.ts), with a
   * margin below its timeout. Sets the lb-idle-timeout goal; lbIdleTimeout is
   * then ignored (the command line refuses both).
   */
  behind?: Behind;
  connections?: number;
  frameBytes?: number;
  /** 'linux', 'darwin', 'freebsd' or 'win32'; default this one. */
  platform?: string;
  /** Seconds between application heartbeats on the connection (plan-heartbeat.ts). */
  heartbeat?: number;
  /** The heartbeat's own timeout, seconds (needs heartbeat). */
  heartbeatTimeout?: number;
  /** The heartbeat goes through a proxy that ends TCP. */
  throughProxy?: boolean;
}

export interface PlanWarning {
  /** 'conflict': a goal or limit does not hold (exit code 3); 'caution': worth knowing. */
  kind: 'conflict' | 'caution';
  message: string;
  /** A stable name for the warning (the heartbeat warnings have one). */
  code?: string;
}

export interface GoalResult {
  goal: 'detect-within' | 'survive-outage' | 'lb-idle-timeout';
  target: number;
  /** detect-within: the detection time; survive-outage: the outage survived; lb-idle-timeout: the longest silence on the flow (idle + interval). */
  actual: number;
  met: boolean;
  /** lb-idle-timeout with --behind: seconds kept free below the target; met when actual ≤ target − margin. */
  margin?: number;
}

export interface Plan {
  platform: string;
  /** How the settings were chosen, in words. */
  basis: string;
  preset: PresetName | null;
  settings: { idle: number; interval: number; count: number; userTimeout: number; userTimeoutAuto: boolean };
  /** Probes sent before the connection is dropped (differs from count under the Linux userTimeout rule). */
  probes: number;
  /** Worst-case seconds to notice a silently dead peer of an idle connection. */
  detectAfter: number;
  /** Outages shorter than this many seconds never kill a healthy idle connection: interval × (probes − 1). */
  survivesOutage: number;
  /** Seconds unacknowledged data may wait before the connection is dropped; null: the OS retransmission limit decides. */
  dataTimeout: number | null;
  traffic: {
    connections: number;
    frameBytes: number;
    assumption: string;
    packetsPerSecond: number;
    bytesPerSecond: number;
    bytesPerDay: number;
  };
  goals: GoalResult[];
  warnings: PlanWarning[];
  /** The options to pass to setKeepalive. */
  options: { idle: number; interval: number; count: number; userTimeout: number | 'auto' };
  /** With --heartbeat only: the heartbeat and keepalive together (its warnings are in `warnings`, with their codes). */
  heartbeat?: Omit<HeartbeatPlan, 'warnings'>;
  /** With --behind only: the middlebox, its timeout, the margin kept below it and the page that documents it. */
  behind?: Behind;
}

function supportsUserTimeout(platform: string): boolean {
  return platform !== 'freebsd';
}

/** Idle, interval and count: the three settings the goals move. */
export interface CoreSettings {
  idle: number;
  interval: number;
  count: number;
}

/** Which of the settings the user gave (those are kept as given). */
type Fixed = Readonly<Record<keyof CoreSettings, boolean>>;

const fixedOf = (input: PlanInput): Fixed => ({ idle: input.idle !== undefined, interval: input.interval !== undefined, count: input.count !== undefined });

/** The most probes the platform takes. */
const maxCountOf = (platform: string): number => (platform === 'linux' ? 127 : 255);

/** Detection time with userTimeout auto (idle + interval × count, which changes nothing). */
const detectionOf = (s: CoreSettings, platform: string): number => computeDetectAfter(s.idle, s.interval, s.count, 0, platform);

/**
 * A starting point: explicit values, else the preset's, else derived from
 * the detection goal (half the budget idle, half probing, 3 probes).
 */
export function startingSettings(input: PlanInput): CoreSettings {
  const preset = input.preset ? presets[input.preset] : undefined;
  const detectWithin = input.detectWithin;
  const count = input.count ?? preset?.count ?? 3;
  const interval = input.interval ?? preset?.interval ?? (detectWithin !== undefined ? Math.max(1, Math.floor(detectWithin / (2 * count))) : 10);
  const idle = input.idle ?? preset?.idle ?? (detectWithin !== undefined ? Math.max(1, detectWithin - interval * count) : 60);
  return { idle, interval, count };
}

/** Outage goal: probes must keep going for longer than the outage (interval × (count − 1) ≥ outage). */
export function meetOutage(s: CoreSettings, outage: number, fixed: Fixed, platform: string): CoreSettings {
  let { interval, count } = s;
  if (count < 2 && !fixed.count) count = 2;
  if (interval * (count - 1) < outage) {
    if (!fixed.interval && count >= 2) interval = Math.ceil(outage / (count - 1));
    else if (!fixed.count) count = Math.min(maxCountOf(platform), Math.ceil(outage / interval) + 1);
  }
  return { idle: s.idle, interval, count };
}

/** With the outage goal too: the fewest probes, each as far apart as the outage needs, that fit the detection time. */
function probesForBoth(s: CoreSettings, detectWithin: number, outage: number, fixed: Fixed, platform: string, idleFor: (interval: number, count: number) => number): CoreSettings | null {
  const lastCount = fixed.count ? s.count : maxCountOf(platform);
  for (let count = Math.max(s.count, 2); count <= lastCount; count++) {
    const interval = Math.max(1, Math.ceil(outage / (count - 1)));
    if (detectionOf({ idle: idleFor(interval, count), interval, count }, platform) <= detectWithin) return { idle: s.idle, interval, count };
  }
  return null;
}

/** Else the detection goal wins: the longest interval that fits (at least 1). */
function longestIntervalThatFits(s: CoreSettings, detectWithin: number, platform: string, idleFor: (interval: number, count: number) => number): number {
  for (let interval = Math.max(1, Math.floor((detectWithin - 1) / s.count)); interval > 1; interval--) {
    if (detectionOf({ idle: idleFor(interval, s.count), interval, count: s.count }, platform) <= detectWithin) return interval;
  }
  return 1;
}

/**
 * Detection goal: shorten idle first, then the probing, keeping the outage
 * goal if possible. Detection is the library's arithmetic (detectAfter).
 */
export function meetDetection(s: CoreSettings, detectWithin: number, outage: number | undefined, fixed: Fixed, platform: string): CoreSettings {
  if (detectionOf(s, platform) <= detectWithin) return s;
  const idleFor = (interval: number, count: number): number => (fixed.idle ? s.idle : Math.max(1, detectWithin - interval * count));
  const shorter = fixed.idle ? s : { ...s, idle: idleFor(s.interval, s.count) };
  if (detectionOf(shorter, platform) <= detectWithin || fixed.interval) return shorter;
  const both = outage !== undefined ? probesForBoth(shorter, detectWithin, outage, fixed, platform, idleFor) : null;
  const { interval, count } = both ?? { interval: longestIntervalThatFits(shorter, detectWithin, platform, idleFor), count: shorter.count };
  return { idle: idleFor(interval, count), interval, count };
}

/** Load balancer: the flow must see a probe before its idle timeout, even when one probe is lost: idle + interval below it. */
export function fitBalancer(s: CoreSettings, balancerTimeout: number, fixed: Fixed): CoreSettings {
  if (s.idle + s.interval < balancerTimeout || fixed.idle) return s;
  return { ...s, idle: Math.max(1, balancerTimeout - s.interval - 1) };
}

/**
 * Planning for this platform, the values the plan chose (not those given)
 * stay within what the OS accepts: a long detection goal on Linux gives
 * idle 32767 s, not a value setKeepalive would refuse. Lowering a value only
 * shortens detection; an outage goal it breaks is reported.
 */
export function withinLimits(s: CoreSettings, fixed: Fixed, platform: string): CoreSettings {
  if (platform !== supported.platform) return s;
  const cap = (name: keyof CoreSettings): number => (fixed[name] || !supported.set[name] ? s[name] : Math.min(s[name], supported.limits[name].max));
  return { idle: cap('idle'), interval: cap('interval'), count: cap('count') };
}

/** Idle, interval and count for the input: the starting point moved to meet each goal in turn. */
export function solveSettings(input: PlanInput, platform: string): CoreSettings {
  const fixed = fixedOf(input);
  let settings = startingSettings(input);
  if (input.surviveOutage !== undefined) settings = meetOutage(settings, input.surviveOutage, fixed, platform);
  // Above the heartbeat period unless you fixed idle; the goals after it may lower it again (then a warning says so).
  if (input.heartbeat !== undefined && !fixed.idle) settings = { ...settings, idle: coordinatedIdle(settings.idle, input.heartbeat) };
  if (input.detectWithin !== undefined) settings = meetDetection(settings, input.detectWithin, input.surviveOutage, fixed, platform);
  if (input.behind !== undefined) settings = fitBehind(settings, input.behind.limit, fixed);
  else if (input.lbIdleTimeout !== undefined) settings = fitBalancer(settings, input.lbIdleTimeout, fixed);
  return withinLimits(settings, fixed, platform);
}

/** What settings mean for a silent peer. */
export interface Detection {
  userTimeout: number;
  userTimeoutAuto: boolean;
  detectAfter: number;
  /** Seconds of silence before the first probe: max(idle, interval) on Linux, idle elsewhere. */
  firstProbeAfter: number;
  probes: number;
  survivesOutage: number;
}

export function detection(s: CoreSettings, userTimeoutInput: number | 'auto' | undefined, platform: string): Detection {
  const userTimeoutAuto = userTimeoutInput === undefined ? supportsUserTimeout(platform) : userTimeoutInput === 'auto';
  const userTimeout = userTimeoutAuto ? s.idle + s.interval * s.count : typeof userTimeoutInput === 'number' ? userTimeoutInput : 0;
  const detectAfter = computeDetectAfter(s.idle, s.interval, s.count, userTimeout, platform);
  // Linux counts the first probe from max(idle, interval) (see detectAfter).
  const firstProbeAfter = platform === 'linux' ? Math.max(s.idle, s.interval) : s.idle;
  const probes = Math.round((detectAfter - firstProbeAfter) / s.interval);
  return { userTimeout, userTimeoutAuto, detectAfter, firstProbeAfter, probes, survivesOutage: s.interval * (probes - 1) };
}

/** Whether each goal holds. */
export function goalResults(input: PlanInput, s: CoreSettings, d: Detection): GoalResult[] {
  const goals: GoalResult[] = [];
  if (input.detectWithin !== undefined) goals.push({ goal: 'detect-within', target: input.detectWithin, actual: d.detectAfter, met: d.detectAfter <= input.detectWithin });
  if (input.surviveOutage !== undefined) goals.push({ goal: 'survive-outage', target: input.surviveOutage, actual: d.survivesOutage, met: d.survivesOutage >= input.surviveOutage });
  const { behind } = input;
  if (behind !== undefined) {
    goals.push({ goal: 'lb-idle-timeout', target: behind.idleTimeout, actual: s.idle + s.interval, met: keepsFlow(s, behind), margin: behind.margin });
  } else if (input.lbIdleTimeout !== undefined) {
    goals.push({ goal: 'lb-idle-timeout', target: input.lbIdleTimeout, actual: s.idle + s.interval, met: s.idle + s.interval < input.lbIdleTimeout });
  }
  return goals;
}

/** The goals that do not hold, as conflicts with the change that fixes them. */
function goalConflicts(input: PlanInput, d: Detection): string[] {
  const fixed = fixedOf(input);
  const { detectWithin, surviveOutage } = input;
  const messages: string[] = [];
  if (detectWithin !== undefined && d.detectAfter > detectWithin) {
    messages.push(
      `detection takes ${duration(d.detectAfter)}, more than --detect-within ${detectWithin}` +
        (fixed.idle || fixed.interval || fixed.count ? ': lower the values you fixed (--idle/--interval/--count)' : ''),
    );
  }
  if (surviveOutage !== undefined && d.survivesOutage < surviveOutage) {
    const hint =
      detectWithin !== undefined && detectWithin < surviveOutage + 2
        ? `detecting a silent peer within ${detectWithin} s means declaring it dead during any outage longer than that: ` +
          `raise --detect-within to at least ${surviveOutage + 2} (survive-outage + 2), or accept a shorter outage`
        : `raise --interval or --count so that interval × (count − 1) reaches ${surviveOutage}`;
    messages.push(`a healthy idle connection survives outages up to ${d.survivesOutage} s only, not ${surviveOutage} s: ${hint}`);
  }
  return messages;
}

/** The balancer goal: a conflict when idle alone reaches its timeout, a caution when idle + interval does. */
function balancerWarning(balancerTimeout: number | undefined, s: CoreSettings): PlanWarning | null {
  if (balancerTimeout === undefined) return null;
  const use = `use --idle ${Math.max(1, balancerTimeout - s.interval - 1)} or less`;
  if (s.idle >= balancerTimeout) {
    return {
      kind: 'conflict',
      message: `idle ${s.idle} s is not below the load balancer's idle timeout ${balancerTimeout} s: it drops the idle flow before the first probe; ${use}`,
    };
  }
  if (s.idle + s.interval < balancerTimeout) return null;
  return {
    kind: 'caution',
    message: `idle + interval = ${s.idle + s.interval} s reaches the load balancer's idle timeout ${balancerTimeout} s: if one probe is lost the balancer drops the flow; ${use}`,
  };
}

/** Settings above this platform's limits (only when planning for this platform). */
function limitConflicts(s: CoreSettings, d: Detection, platform: string): string[] {
  if (platform !== supported.platform) return [];
  const values = [['idle', s.idle], ['interval', s.interval], ['count', s.count], ['userTimeout', d.userTimeout]] as const;
  return values
    .filter(([name, value]) => supported.set[name] && value > supported.limits[name].max)
    .map(([name, value]) => `${name} ${value} is above this platform's limit of ${supported.limits[name].max}`);
}

/** Worth knowing: the settings work, with a catch. */
function cautions(s: CoreSettings, d: Detection, platform: string, heartbeat: boolean): string[] {
  const { idle, interval, count } = s;
  const { probes, userTimeout } = d;
  const messages: string[] = [];
  if (platform === 'linux' && idle < interval) {
    messages.push(
      `idle ${idle} s is below interval ${interval} s: once a probe was answered, Linux sends the next one ` +
        `${interval} s later whatever arrived meanwhile, so detection takes ${interval} + ${interval} × ${probes} = ${duration(d.detectAfter)}; ` +
        `use --idle ${interval} or more`,
    );
  }
  if (probes <= 1) {
    messages.push(
      `only one probe is sent before the connection is dropped: a single lost probe kills a healthy connection ` +
        `(RFC 1122 says it must not); use --count 3 or more` + (userTimeout > 0 && platform === 'linux' ? ' and a longer --user-timeout' : ''),
    );
  }
  if (platform === 'linux' && userTimeout > 0 && probes !== count) {
    messages.push(
      `on Linux userTimeout ${userTimeout} s replaces count ${count}: the connection is dropped at the first probe ` +
        `at or past ${userTimeout} s of silence, after ${probes} probe${probes === 1 ? '' : 's'}`,
    );
  }
  // With a heartbeat, its own warning (heartbeat-without-user-timeout) says this for the heartbeat.
  if (userTimeout === 0 && !heartbeat) {
    messages.push(
      supportsUserTimeout(platform)
        ? `no userTimeout: keepalive does nothing while data is unacknowledged, so a write to a dead peer hangs until ` +
            `the OS gives up (about 15 min on Linux); add --user-timeout auto`
        : `${platform} has no per-socket bound for unacknowledged data: a write to a dead peer hangs until the OS gives up`,
    );
  }
  if (platform === 'win32') {
    messages.push(
      `Windows before 10 version 1703 ignores count and always sends 10 probes: detection there takes ` +
        `${idle} + ${interval} × 10 = ${duration(idle + interval * 10)}`,
    );
  }
  return messages;
}

/**
 * The warnings, in the order they are printed: goal conflicts (detection,
 * outage), the balancer's, limit conflicts, then cautions.
 */
export function planWarnings(input: PlanInput, s: CoreSettings, d: Detection, platform: string): PlanWarning[] {
  const balancer = input.behind !== undefined ? behindWarning(input.behind, s) : balancerWarning(input.lbIdleTimeout, s);
  return [
    ...goalConflicts(input, d).map((message): PlanWarning => ({ kind: 'conflict', message })),
    ...(balancer ? [balancer] : []),
    ...limitConflicts(s, d, platform).map((message): PlanWarning => ({ kind: 'conflict', message })),
    ...cautions(s, d, platform, input.heartbeat !== undefined).map((message): PlanWarning => ({ kind: 'caution', message })),
  ];
}

/** Probe traffic of idle connections while the peer answers: one probe and its ACK per connection per first-probe period. */
export function trafficEstimate(connections: number, frameBytes: number, firstProbeAfter: number): Plan['traffic'] {
  const packetsPerSecond = (connections * 2) / firstProbeAfter;
  const bytesPerSecond = packetsPerSecond * frameBytes;
  return {
    connections,
    frameBytes,
    assumption:
      `${frameBytes}-byte frames` +
      (frameBytes === DEFAULT_FRAME_BYTES ? ' (Ethernet 14 + IPv4 20 + TCP 20 + timestamps option 12)' : '') +
      ', one probe and its ACK per connection per idle period while the peer answers',
    packetsPerSecond,
    bytesPerSecond,
    bytesPerDay: bytesPerSecond * 86400,
  };
}

/** How the settings were chosen, in words. */
export function basisText(input: PlanInput): string {
  const goalWords: string[] = [];
  if (input.detectWithin !== undefined) goalWords.push(`detect within ${input.detectWithin} s`);
  if (input.surviveOutage !== undefined) goalWords.push(`survive a ${input.surviveOutage} s outage`);
  if (input.behind !== undefined) goalWords.push(`behind ${behindWords(input.behind)}`);
  else if (input.lbIdleTimeout !== undefined) goalWords.push(`load balancer idle timeout ${input.lbIdleTimeout} s`);
  const explicit = (['idle', 'interval', 'count'] as const).filter((k) => input[k] !== undefined).map((k) => `${k} ${input[k]}`);
  const parts: string[] = [];
  if (input.preset) parts.push(`preset ${input.preset} (${presets[input.preset].scenario})`);
  if (explicit.length) parts.push(`your values (${explicit.join(', ')})`);
  if (goalWords.length) parts.push(`goals: ${goalWords.join(', ')}`);
  if (input.heartbeat !== undefined) {
    const timeout = input.heartbeatTimeout !== undefined ? ` (timeout ${input.heartbeatTimeout} s)` : '';
    parts.push(`a heartbeat every ${input.heartbeat} s${timeout}${input.throughProxy ? ' through a proxy' : ''}`);
  }
  return parts.join('; ');
}

/**
 * Chooses settings and works out what they mean. Pure: every number in the
 * result follows from the input by the rules documented in the README.
 */
export function makePlan(input: PlanInput): Plan {
  const platform = input.platform ?? supported.platform;
  const settings = solveSettings(input, platform);
  const { heartbeat } = input;
  // With a heartbeat and no --user-timeout: the heartbeat's own budget (plan-heartbeat.ts).
  const chooseUserTimeout = heartbeat !== undefined && input.userTimeout === undefined && supportsUserTimeout(platform);
  const d = detection(settings, chooseUserTimeout ? coordinatedUserTimeout(heartbeat, input.heartbeatTimeout, settings, platform) : input.userTimeout, platform);
  const { idle, interval, count } = settings;
  const plan: Plan = {
    platform,
    basis: basisText(input),
    preset: input.preset ?? null,
    settings: { idle, interval, count, userTimeout: d.userTimeout, userTimeoutAuto: d.userTimeoutAuto },
    probes: d.probes,
    detectAfter: d.detectAfter,
    survivesOutage: d.survivesOutage,
    dataTimeout: d.userTimeout > 0 ? d.userTimeout : null,
    traffic: trafficEstimate(input.connections ?? DEFAULT_CONNECTIONS, input.frameBytes ?? DEFAULT_FRAME_BYTES, d.firstProbeAfter),
    goals: goalResults(input, settings, d),
    warnings: planWarnings(input, settings, d, platform),
    options: { idle, interval, count, userTimeout: d.userTimeoutAuto ? 'auto' : d.userTimeout },
    ...(input.behind !== undefined ? { behind: input.behind } : {}),
  };
  if (heartbeat === undefined) return plan;
  const part = planHeartbeat({
    heartbeat,
    ...(input.heartbeatTimeout !== undefined ? { heartbeatTimeout: input.heartbeatTimeout } : {}),
    settings,
    userTimeout: d.userTimeout,
    throughProxy: input.throughProxy === true,
    platform,
    chose: { idle: input.idle === undefined && idle === coordinatedIdle(1, heartbeat) && idle > startingSettings(input).idle, userTimeout: chooseUserTimeout },
  });
  const { warnings, ...rest } = part;
  return { ...plan, warnings: [...plan.warnings, ...warnings], heartbeat: rest };
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** The heartbeat section of the text output. */
function heartbeatLines(h: NonNullable<Plan['heartbeat']>): string[] {
  const timeout = h.heartbeatTimeout !== null ? `, its own timeout ${h.heartbeatTimeout} s` : ', no timeout of its own';
  const decides = { 'heartbeat-timeout': 'the heartbeat timeout', 'user-timeout': 'userTimeout', retransmission: 'the OS retransmission limit' }[h.detection.decider];
  const within = h.detection.seconds !== null ? `within ${duration(h.detection.seconds)} = ${h.detection.formula}` : `after ${h.detection.formula}`;
  const item = (text: string): string => wrap(`- ${text}`, 78, '  ', '    ');
  const lines = [`heartbeat every ${h.heartbeat} s${timeout}${h.throughProxy ? ', through a proxy that ends TCP' : ''}:`];
  lines.push(item(`while heartbeats flow a dead peer is noticed ${within} (${decides} decides)`));
  if (h.backend) {
    lines.push(
      item(
        h.backend.seconds !== null
          ? `a dead backend behind the proxy: noticed by the heartbeat timeout alone, within ${duration(h.backend.seconds)}`
          : 'a dead backend behind the proxy: nothing notices it (no heartbeat timeout)',
      ),
    );
  }
  lines.push('keepalive:', ...h.keepaliveRole.map(item));
  if (h.chosen.length) lines.push('chosen for the heartbeat:', ...h.chosen.map((c) => item(`${c.setting} ${c.value} s: ${c.rule}`)));
  return lines;
}

export function renderPlan(plan: Plan): string {
  const { idle, interval, count, userTimeout, userTimeoutAuto } = plan.settings;
  const lines: string[] = [];
  lines.push(`Plan for ${plan.platform}, from ${plan.basis}`);
  lines.push('');
  const ut = userTimeout > 0 ? `${userTimeout} s${userTimeoutAuto ? ' (auto: idle + interval × count)' : ''}` : 'none';
  const detectHow =
    (idle < interval && plan.platform === 'linux' ? `max(${idle}, ${interval})` : `${idle}`) +
    ` + ${interval} × ${plan.probes}` +
    (plan.probes === count ? '' : ', the userTimeout rule');
  const t = plan.traffic;
  lines.push(
    table(
      [
        ['settings', `idle ${idle} s, interval ${interval} s, count ${count}, userTimeout ${ut}`],
        ['detection', `a peer that vanishes silently is noticed within ${duration(plan.detectAfter)} = ${detectHow}`],
        ['outages', `a healthy idle connection survives any outage shorter than ${plan.survivesOutage} s = ${interval} × (${plan.probes} − 1)`],
        [
          'data',
          plan.dataTimeout !== null
            ? `unacknowledged data may wait ${duration(plan.dataTimeout)} before the connection is dropped`
            : 'unacknowledged data waits until the OS retransmission limit gives up',
        ],
        [
          'traffic',
          `${t.connections} idle connections: ${round(t.packetsPerSecond)} packets/s, ${rate(t.bytesPerSecond)} (${bytes(t.bytesPerDay)}/day)`,
        ],
      ],
      '',
    ),
  );
  lines.push(wrap(`assuming ${t.assumption}`, 78, '           ', '           '));
  if (plan.behind) lines.push('', ...behindLines(plan.behind, plan.settings));
  if (plan.heartbeat) lines.push('', ...heartbeatLines(plan.heartbeat));
  if (plan.goals.length) {
    lines.push('');
    lines.push('goals:');
    const label = { 'detect-within': 'detect within', 'survive-outage': 'survive outage', 'lb-idle-timeout': plan.behind ? 'behind: idle timeout' : 'load balancer idle timeout' };
    const actual = (g: GoalResult): string =>
      g.goal === 'lb-idle-timeout'
        ? `idle + interval = ${g.actual} s` + (g.margin !== undefined ? ` (at most ${g.target - g.margin} s)` : '') : g.goal === 'detect-within' ? `detected in ${g.actual} s` : `survives ${g.actual} s`;
    lines.push(table(plan.goals.map((g) => [`${label[g.goal]} ${g.target} s`, actual(g), g.met ? 'met' : 'NOT MET'])));
  }
  lines.push('');
  if (plan.warnings.length === 0) lines.push('warnings: none');
  else {
    lines.push('warnings:');
    for (const w of plan.warnings) lines.push(wrap(`- ${w.kind === 'conflict' ? 'CONFLICT: ' : ''}${w.message}`, 78, '  ', '    '));
  }
  lines.push('');
  const o = plan.options;
  const utOption = o.userTimeout === 'auto' ? "'auto'" : String(o.userTimeout);
  lines.push('use it:');
  lines.push(`  setKeepalive(socket, { idle: ${o.idle}, interval: ${o.interval}, count: ${o.count}, userTimeout: ${utOption} })`);
  lines.push(`  tcp-keepalive probe HOST:PORT --idle ${o.idle} --interval ${o.interval} --count ${o.count} --user-timeout ${o.userTimeout}`);
  return lines.join('\n');
}

const SPECS: OptionSpecs = {
  ...SETTING_SPECS,
  'detect-within': { type: 'string', value: 'SECONDS' },
  'survive-outage': { type: 'string', value: 'SECONDS' },
  'lb-idle-timeout': { type: 'string', value: 'SECONDS' },
  behind: { type: 'string', value: 'NAME|SECONDS' },
  heartbeat: { type: 'string', value: 'SECONDS' },
  'heartbeat-timeout': { type: 'string', value: 'SECONDS' },
  'through-proxy': { type: 'boolean' },
  connections: { type: 'string', value: 'N' },
  'frame-bytes': { type: 'string', value: 'BYTES' },
  platform: { type: 'string', value: 'OS' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const PLAN_HELP = `Usage: tcp-keepalive plan [--preset NAME] [--idle S --interval S --count N]
                          [--user-timeout S|auto] [--detect-within S]
                          [--survive-outage S] [--lb-idle-timeout S | --behind NAME|S]
                          [--heartbeat S [--heartbeat-timeout S] [--through-proxy]]
                          [--json]

Settings from a preset, from your values, or from goals, and what they mean:
the detection time of a silently dead peer, the longest outage a healthy
connection survives, the probe traffic of N idle connections, and warnings
when a goal cannot hold. Values you give are kept; the rest is chosen to meet
the goals. Durations are whole seconds (90, 2m or 1h also work).

${wrap(
  '--behind keeps idle + interval ≤ timeout − max(5 s, 10 % of it), so one lost probe still refreshes the flow in time. ' +
    `Its environments (idle timeout): ${environments.map((e) => `${e.name} ${e.idleTimeout} s`).join(', ')}; their sources: docs/middleboxes.md.`,
  78,
  '',
  '',
)}

Options:
${optionHelp(SPECS, {
  preset: `start from a preset: ${presetNames.join(', ')}`,
  idle: 'seconds of silence before the first probe',
  interval: 'seconds between unanswered probes',
  count: 'unanswered probes before the connection is dropped',
  'user-timeout': "bound for unacknowledged data; 0 = none; default auto = idle + interval × count",
  'detect-within': 'goal: notice a dead peer within this time',
  'survive-outage': 'goal: a healthy connection survives a network outage this long',
  'lb-idle-timeout': 'goal: keep flows alive through a NAT/firewall/load balancer with this idle timeout',
  behind: 'goal: keep flows alive behind a named middlebox (below), or one whose idle timeout you measured',
  heartbeat: 'the application sends a heartbeat this often: settings that fit it, what detects a dead peer',
  'heartbeat-timeout': "the heartbeat's own timeout (no answer within it closes the connection)",
  'through-proxy': 'the heartbeat goes through a proxy that ends TCP (L7 load balancer, TLS proxy)',
  connections: `idle connections for the traffic estimate (default ${DEFAULT_CONNECTIONS})`,
  'frame-bytes': `bytes per probe or ACK on the wire (default ${DEFAULT_FRAME_BYTES})`,
  platform: `plan for another OS: ${PLATFORMS.join(', ')} (default this one)`,
  json: 'print one JSON object instead of text',
  help: 'show this help',
})}

Examples:
  tcp-keepalive plan --preset database
  tcp-keepalive plan --detect-within 60 --lb-idle-timeout 350
  tcp-keepalive plan --preset iot --behind aws-nat-gateway
  tcp-keepalive plan --preset database --behind 300
  tcp-keepalive plan --idle 30 --interval 5 --count 4 --connections 20000
  tcp-keepalive plan --preset realtime --heartbeat 30 --heartbeat-timeout 20

Exit codes: 0 every goal holds, 3 a goal cannot hold (see the warnings),
2 wrong command line.`;

/** Turns the command line into a PlanInput; UsageError on mistakes. */
export function planInput(argv: readonly string[]): { input: PlanInput; json: boolean; help: boolean } {
  const { values, positionals } = parse('plan', argv, SPECS);
  const str = (name: string): string | undefined => values[name] as string | undefined;
  if (values.help) return { input: {}, json: false, help: true };
  if (positionals.length > 0) {
    const word = positionals[0]!;
    const guess = isPresetName(word) ? `--preset ${word}` : closest(word, presetNames) ? `--preset ${closest(word, presetNames)}` : undefined;
    throw new UsageError(`plan takes options only, got ${quoted(word)}`, guess ? `did you mean: tcp-keepalive plan ${guess}` : 'see tcp-keepalive plan --help');
  }
  const input: PlanInput = {};
  const preset = str('preset');
  if (preset !== undefined) {
    input.preset = presetOption(preset);
  }
  const secondsOf = (name: string, min = 1): number | undefined => {
    const text = str(name);
    return text === undefined ? undefined : seconds(name, text, min);
  };
  const idle = secondsOf('idle');
  const interval = secondsOf('interval');
  const detectWithin = secondsOf('detect-within');
  const surviveOutage = secondsOf('survive-outage');
  const lbIdleTimeout = secondsOf('lb-idle-timeout');
  const behindText = str('behind');
  if (behindText !== undefined && lbIdleTimeout !== undefined) {
    throw new UsageError('--behind and --lb-idle-timeout both set the middlebox idle timeout', `use one: --behind ${behindText}, or --lb-idle-timeout ${lbIdleTimeout}`);
  }
  const behind = behindText !== undefined ? behindOption(behindText) : undefined;
  const heartbeat = secondsOf('heartbeat');
  const heartbeatTimeout = secondsOf('heartbeat-timeout');
  if (heartbeat === undefined && (heartbeatTimeout !== undefined || values['through-proxy'] === true)) {
    const option = heartbeatTimeout !== undefined ? '--heartbeat-timeout' : '--through-proxy';
    throw new UsageError(`${option} needs --heartbeat`, `add --heartbeat SECONDS, the period of the heartbeat, for example --heartbeat 30 ${option}${heartbeatTimeout !== undefined ? ` ${heartbeatTimeout}` : ''}`);
  }
  if (heartbeat !== undefined) input.heartbeat = heartbeat;
  if (heartbeatTimeout !== undefined) input.heartbeatTimeout = heartbeatTimeout;
  if (values['through-proxy'] === true) input.throughProxy = true;
  if (idle !== undefined) input.idle = idle;
  if (interval !== undefined) input.interval = interval;
  if (str('count') !== undefined) input.count = integer('count', str('count')!);
  const ut = str('user-timeout');
  if (ut !== undefined) input.userTimeout = ut === 'auto' ? 'auto' : seconds('user-timeout', ut, 0);
  if (detectWithin !== undefined) input.detectWithin = detectWithin;
  if (surviveOutage !== undefined) input.surviveOutage = surviveOutage;
  if (lbIdleTimeout !== undefined) input.lbIdleTimeout = lbIdleTimeout;
  if (behind !== undefined) input.behind = behind;
  if (str('connections') !== undefined) input.connections = integer('connections', str('connections')!);
  if (str('frame-bytes') !== undefined) input.frameBytes = integer('frame-bytes', str('frame-bytes')!, 40, 65535);
  const platform = str('platform');
  if (platform !== undefined) {
    const known = PLATFORMS as readonly string[];
    const aliases: Record<string, string> = { macos: 'darwin', mac: 'darwin', windows: 'win32', win: 'win32' };
    const resolved = known.includes(platform) ? platform : aliases[platform.toLowerCase()];
    if (!resolved) throw new UsageError(`unknown platform ${quoted(platform)}`, `use --platform ${PLATFORMS.join(', --platform ')}`);
    input.platform = resolved;
  }
  const hasGoal = detectWithin !== undefined || surviveOutage !== undefined || lbIdleTimeout !== undefined || behind !== undefined || heartbeat !== undefined;
  const given = (['idle', 'interval', 'count'] as const).filter((k) => input[k] !== undefined);
  if (!input.preset && !hasGoal) {
    if (given.length === 0) {
      throw new UsageError(
        'plan needs a preset, settings or a goal',
        'for example: tcp-keepalive plan --preset general, or --idle 60 --interval 10 --count 3, or --detect-within 90',
      );
    }
    if (given.length < 3) {
      const missing = (['idle', 'interval', 'count'] as const).filter((k) => input[k] === undefined);
      throw new UsageError(
        `plan needs ${missing.map((k) => `--${k}`).join(' and ')} too`,
        `add them, or add --preset NAME to fill in the rest, or a goal such as --detect-within 90`,
      );
    }
  }
  return { input, json: values.json === true, help: false };
}

export function runPlan(argv: readonly string[], io: Io): number {
  const { input, json, help } = planInput(argv);
  if (help) {
    io.out(PLAN_HELP);
    return EXIT.ok;
  }
  const plan = makePlan(input);
  io.out(json ? JSON.stringify(plan, null, 2) : renderPlan(plan));
  return plan.warnings.some((w) => w.kind === 'conflict') ? EXIT.goalConflict : EXIT.ok;
}
