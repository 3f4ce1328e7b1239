// tcp-keepalive plan: settings from a preset, from explicit values or from
// goals, and what they mean: detection time, the longest outage a healthy
// connection survives, probe traffic, and warnings when a goal cannot hold.
import { computeDetectAfter } from '../detect';
import { isPresetName, presetNames, presets, type PresetName } from '../presets';
import { supported } from '../supported';
import { closest, EXIT, integer, optionHelp, parse, seconds, UsageError, SETTING_SPECS, type OptionSpecs } from './args';
import { duration, rate, bytes, table, wrap } from './format';
import type { Io } from './io';

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
  connections?: number;
  frameBytes?: number;
  /** 'linux', 'darwin', 'freebsd' or 'win32'; default this one. */
  platform?: string;
}

export interface PlanWarning {
  /** 'conflict': a goal or limit does not hold (exit code 3); 'caution': worth knowing. */
  kind: 'conflict' | 'caution';
  message: string;
}

export interface GoalResult {
  goal: 'detect-within' | 'survive-outage' | 'lb-idle-timeout';
  target: number;
  /** detect-within: the detection time; survive-outage: the outage survived; lb-idle-timeout: the longest silence on the flow (idle + interval). */
  actual: number;
  met: boolean;
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
}

function supportsUserTimeout(platform: string): boolean {
  return platform !== 'freebsd';
}

/**
 * Chooses settings and works out what they mean. Pure: every number in the
 * result follows from the input by the rules documented in the README.
 */
export function makePlan(input: PlanInput): Plan {
  const platform = input.platform ?? supported.platform;
  const base = input.preset ? presets[input.preset] : undefined;
  const D = input.detectWithin;
  const O = input.surviveOutage;
  const L = input.lbIdleTimeout;
  const fixed = { idle: input.idle !== undefined, interval: input.interval !== undefined, count: input.count !== undefined };
  const maxCount = platform === 'linux' ? 127 : 255;

  // A starting point: explicit values, else the preset's, else derived from
  // the detection goal (half the budget idle, half probing, 3 probes).
  let count = input.count ?? base?.count ?? 3;
  let interval = input.interval ?? base?.interval ?? (D !== undefined ? Math.max(1, Math.floor(D / (2 * count))) : 10);
  let idle = input.idle ?? base?.idle ?? (D !== undefined ? Math.max(1, D - interval * count) : 60);

  // Outage goal: probes must keep going for longer than the outage.
  if (O !== undefined) {
    if (count < 2 && !fixed.count) count = 2;
    if (interval * (count - 1) < O) {
      if (!fixed.interval && count >= 2) interval = Math.ceil(O / (count - 1));
      else if (!fixed.count) count = Math.min(maxCount, Math.ceil(O / interval) + 1);
    }
  }

  // Detection goal: shorten idle first, then the probing, keeping the outage
  // goal if possible. Detection is the library's arithmetic (detectAfter),
  // with userTimeout auto (= idle + interval × count, which changes nothing).
  const detectOf = (i: number, n: number, c: number): number => computeDetectAfter(i, n, c, 0, platform);
  const idleFor = (n: number, c: number): number => (fixed.idle ? idle : Math.max(1, (D ?? 0) - n * c));
  if (D !== undefined && detectOf(idle, interval, count) > D) {
    if (!fixed.idle) idle = idleFor(interval, count);
    if (detectOf(idle, interval, count) > D && !fixed.interval) {
      let found = false;
      if (O !== undefined) {
        for (let c = Math.max(count, 2); c <= (fixed.count ? count : maxCount) && !found; c++) {
          const i = Math.max(1, Math.ceil(O / (c - 1)));
          if (detectOf(idleFor(i, c), i, c) <= D) {
            [count, interval, found] = [c, i, true];
          }
        }
      }
      // Else the detection goal wins: the longest interval that fits.
      for (let i = Math.max(1, Math.floor((D - 1) / count)); !found && i >= 1; i--) {
        if (detectOf(idleFor(i, count), i, count) <= D || i === 1) [interval, found] = [i, true];
      }
      idle = idleFor(interval, count);
    }
  }

  // Load balancer: the flow must see a probe before the balancer's timeout,
  // even when one probe is lost: idle + interval below it.
  if (L !== undefined && idle + interval >= L && !fixed.idle) idle = Math.max(1, L - interval - 1);

  const userTimeoutAuto = input.userTimeout === undefined ? supportsUserTimeout(platform) : input.userTimeout === 'auto';
  const userTimeout = userTimeoutAuto ? idle + interval * count : typeof input.userTimeout === 'number' ? input.userTimeout : 0;
  const detect = computeDetectAfter(idle, interval, count, userTimeout, platform);
  // Linux counts the first probe from max(idle, interval) (see detectAfter).
  const first = platform === 'linux' ? Math.max(idle, interval) : idle;
  const probes = Math.round((detect - first) / interval);
  const survives = interval * (probes - 1);

  const goals: GoalResult[] = [];
  const warnings: PlanWarning[] = [];
  const conflict = (message: string): void => void warnings.push({ kind: 'conflict', message });
  const caution = (message: string): void => void warnings.push({ kind: 'caution', message });

  if (D !== undefined) {
    goals.push({ goal: 'detect-within', target: D, actual: detect, met: detect <= D });
    if (detect > D) {
      conflict(
        `detection takes ${duration(detect)}, more than --detect-within ${D}` +
          (fixed.idle || fixed.interval || fixed.count ? ': lower the values you fixed (--idle/--interval/--count)' : ''),
      );
    }
  }
  if (O !== undefined) {
    goals.push({ goal: 'survive-outage', target: O, actual: survives, met: survives >= O });
    if (survives < O) {
      const hint =
        D !== undefined && D < O + 2
          ? `detecting a silent peer within ${D} s means declaring it dead during any outage longer than that: ` +
            `raise --detect-within to at least ${O + 2} (survive-outage + 2), or accept a shorter outage`
          : `raise --interval or --count so that interval × (count − 1) reaches ${O}`;
      conflict(`a healthy idle connection survives outages up to ${survives} s only, not ${O} s: ${hint}`);
    }
  }
  if (L !== undefined) {
    goals.push({ goal: 'lb-idle-timeout', target: L, actual: idle + interval, met: idle + interval < L });
    if (idle >= L) {
      conflict(
        `idle ${idle} s is not below the load balancer's idle timeout ${L} s: it drops the idle flow before the first probe; ` +
          `use --idle ${Math.max(1, L - interval - 1)} or less`,
      );
    } else if (idle + interval >= L) {
      caution(
        `idle + interval = ${idle + interval} s reaches the load balancer's idle timeout ${L} s: if one probe is lost the ` +
          `balancer drops the flow; use --idle ${Math.max(1, L - interval - 1)} or less`,
      );
    }
  }

  if (platform === supported.platform) {
    for (const [name, value] of [['idle', idle], ['interval', interval], ['count', count], ['userTimeout', userTimeout]] as const) {
      const { max } = supported.limits[name];
      if (supported.set[name] && value > max) conflict(`${name} ${value} is above this platform's limit of ${max}`);
    }
  }
  if (platform === 'linux' && idle < interval) {
    caution(
      `idle ${idle} s is below interval ${interval} s: once a probe was answered, Linux sends the next one ` +
        `${interval} s later whatever arrived meanwhile, so detection takes ${interval} + ${interval} × ${probes} = ${duration(detect)}; ` +
        `use --idle ${interval} or more`,
    );
  }
  if (probes <= 1) {
    caution(
      `only one probe is sent before the connection is dropped: a single lost probe kills a healthy connection ` +
        `(RFC 1122 says it must not); use --count 3 or more` + (userTimeout > 0 && platform === 'linux' ? ' and a longer --user-timeout' : ''),
    );
  }
  if (platform === 'linux' && userTimeout > 0 && probes !== count) {
    caution(
      `on Linux userTimeout ${userTimeout} s replaces count ${count}: the connection is dropped at the first probe ` +
        `at or past ${userTimeout} s of silence, after ${probes} probe${probes === 1 ? '' : 's'}`,
    );
  }
  if (userTimeout === 0) {
    caution(
      supportsUserTimeout(platform)
        ? `no userTimeout: keepalive does nothing while data is unacknowledged, so a write to a dead peer hangs until ` +
            `the OS gives up (about 15 min on Linux); add --user-timeout auto`
        : `${platform} has no per-socket bound for unacknowledged data: a write to a dead peer hangs until the OS gives up`,
    );
  }
  if (platform === 'win32') {
    caution(
      `Windows before 10 version 1703 ignores count and always sends 10 probes: detection there takes ` +
        `${idle} + ${interval} × 10 = ${duration(idle + interval * 10)}`,
    );
  }

  const connections = input.connections ?? DEFAULT_CONNECTIONS;
  const frameBytes = input.frameBytes ?? DEFAULT_FRAME_BYTES;
  // A healthy idle connection is probed every max(idle, interval) on Linux, every idle elsewhere.
  const packetsPerSecond = (connections * 2) / first;
  const bytesPerSecond = packetsPerSecond * frameBytes;

  const goalWords: string[] = [];
  if (D !== undefined) goalWords.push(`detect within ${D} s`);
  if (O !== undefined) goalWords.push(`survive a ${O} s outage`);
  if (L !== undefined) goalWords.push(`load balancer idle timeout ${L} s`);
  const explicit = (['idle', 'interval', 'count'] as const).filter((k) => fixed[k]).map((k) => `${k} ${input[k]}`);
  const basisParts: string[] = [];
  if (input.preset) basisParts.push(`preset ${input.preset} (${presets[input.preset].scenario})`);
  if (explicit.length) basisParts.push(`your values (${explicit.join(', ')})`);
  if (goalWords.length) basisParts.push(`goals: ${goalWords.join(', ')}`);

  return {
    platform,
    basis: basisParts.join('; '),
    preset: input.preset ?? null,
    settings: { idle, interval, count, userTimeout, userTimeoutAuto },
    probes,
    detectAfter: detect,
    survivesOutage: survives,
    dataTimeout: userTimeout > 0 ? userTimeout : null,
    traffic: {
      connections,
      frameBytes,
      assumption:
        `${frameBytes}-byte frames` +
        (frameBytes === DEFAULT_FRAME_BYTES ? ' (Ethernet 14 + IPv4 20 + TCP 20 + timestamps option 12)' : '') +
        ', one probe and its ACK per connection per idle period while the peer answers',
      packetsPerSecond,
      bytesPerSecond,
      bytesPerDay: bytesPerSecond * 86400,
    },
    goals,
    warnings,
    options: { idle, interval, count, userTimeout: userTimeoutAuto ? 'auto' : userTimeout },
  };
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
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
  if (plan.goals.length) {
    lines.push('');
    lines.push('goals:');
    const label = { 'detect-within': 'detect within', 'survive-outage': 'survive outage', 'lb-idle-timeout': 'load balancer idle timeout' };
    const actual = (g: GoalResult): string =>
      g.goal === 'lb-idle-timeout' ? `idle + interval = ${g.actual} s` : g.goal === 'detect-within' ? `detected in ${g.actual} s` : `survives ${g.actual} s`;
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
  connections: { type: 'string', value: 'N' },
  'frame-bytes': { type: 'string', value: 'BYTES' },
  platform: { type: 'string', value: 'OS' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const PLAN_HELP = `Usage: tcp-keepalive plan [--preset NAME] [--idle S --interval S --count N]
                          [--user-timeout S|auto] [--detect-within S]
                          [--survive-outage S] [--lb-idle-timeout S] [--json]

Settings from a preset, from your values, or from goals, and what they mean:
the detection time of a silently dead peer, the longest outage a healthy
connection survives, the probe traffic of N idle connections, and warnings
when a goal cannot hold. Values you give are kept; the rest is chosen to meet
the goals. Durations are whole seconds (90, 2m or 1h also work).

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
  connections: `idle connections for the traffic estimate (default ${DEFAULT_CONNECTIONS})`,
  'frame-bytes': `bytes per probe or ACK on the wire (default ${DEFAULT_FRAME_BYTES})`,
  platform: `plan for another OS: ${PLATFORMS.join(', ')} (default this one)`,
  json: 'print one JSON object instead of text',
  help: 'show this help',
})}

Examples:
  tcp-keepalive plan --preset database
  tcp-keepalive plan --detect-within 60 --lb-idle-timeout 350
  tcp-keepalive plan --idle 30 --interval 5 --count 4 --connections 20000

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
    throw new UsageError(`plan takes options only, got "${word}"`, guess ? `did you mean: tcp-keepalive plan ${guess}` : 'see tcp-keepalive plan --help');
  }
  const input: PlanInput = {};
  const preset = str('preset');
  if (preset !== undefined) {
    if (!isPresetName(preset)) {
      const guess = closest(preset, presetNames);
      throw new UsageError(
        `unknown preset "${preset}"`,
        `${guess ? `did you mean --preset ${guess}? ` : ''}presets: ${presetNames.join(', ')}`,
      );
    }
    input.preset = preset;
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
  if (idle !== undefined) input.idle = idle;
  if (interval !== undefined) input.interval = interval;
  if (str('count') !== undefined) input.count = integer('count', str('count')!);
  const ut = str('user-timeout');
  if (ut !== undefined) input.userTimeout = ut === 'auto' ? 'auto' : seconds('user-timeout', ut, 0);
  if (detectWithin !== undefined) input.detectWithin = detectWithin;
  if (surviveOutage !== undefined) input.surviveOutage = surviveOutage;
  if (lbIdleTimeout !== undefined) input.lbIdleTimeout = lbIdleTimeout;
  if (str('connections') !== undefined) input.connections = integer('connections', str('connections')!);
  if (str('frame-bytes') !== undefined) input.frameBytes = integer('frame-bytes', str('frame-bytes')!, 40);
  const platform = str('platform');
  if (platform !== undefined) {
    const known = PLATFORMS as readonly string[];
    const aliases: Record<string, string> = { macos: 'darwin', mac: 'darwin', windows: 'win32', win: 'win32' };
    const resolved = known.includes(platform) ? platform : aliases[platform.toLowerCase()];
    if (!resolved) throw new UsageError(`unknown platform "${platform}"`, `use --platform ${PLATFORMS.join(', --platform ')}`);
    input.platform = resolved;
  }
  const hasGoal = detectWithin !== undefined || surviveOutage !== undefined || lbIdleTimeout !== undefined;
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
