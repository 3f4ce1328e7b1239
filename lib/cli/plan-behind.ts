// plan --behind NAME|SECONDS: keepalive for a flow through a middlebox that
// forgets it after an idle timeout, a named environment's (lib/environments.ts)
// or one you measured. The rule, stated in the help and docs/cli.md:
//
//   idle + interval ≤ timeout − margin,  margin = max(5 s, 10 % of the timeout)
//
// so that when one probe is lost the next one, interval later, still reaches
// the middlebox before it forgets the flow, with time to spare for clocks
// and queues. Pure: no I/O.
import { environmentByName, environmentNames, isEnvironmentName, lateResponseText, type EnvironmentName, type LateResponse } from '../environments';
import { closest, quoted, seconds, UsageError } from './args';
import { wrap } from './format';

/** The shortest timeout --behind takes: 7 − max(5, 1) = 2 s leaves idle 1 and interval 1. */
export const MIN_BEHIND_TIMEOUT = 7;

/** The middlebox a plan is for: a named environment or a measured timeout. */
export interface Behind {
  /** The environment's name; null for a timeout you measured. */
  name: EnvironmentName | null;
  /** Its name in words. */
  label: string;
  /** Seconds the middlebox keeps an idle flow. */
  idleTimeout: number;
  /** Seconds kept free below the timeout: max(5, ceil(10 % of it)). */
  margin: number;
  /** The longest idle + interval the plan allows: idleTimeout − margin. */
  limit: number;
  /** What a late packet gets; null when measured (unknown). */
  late: LateResponse | null;
  /** How the timeout can be changed; null when fixed or measured. */
  configurable: string | null;
  /** The page that documents the timeout; null when measured. */
  source: string | null;
}

/** The margin below a timeout: max(5 s, 10 % of it, rounded up). */
export function behindMargin(idleTimeout: number): number {
  return Math.max(5, Math.ceil(idleTimeout / 10));
}

/** The Behind for a named environment. */
export function behindEnvironment(name: EnvironmentName): Behind {
  const e = environmentByName(name);
  const margin = behindMargin(e.idleTimeout);
  return { name, label: e.label, idleTimeout: e.idleTimeout, margin, limit: e.idleTimeout - margin, late: e.late, configurable: e.configurable, source: e.source };
}

/** The Behind for a timeout you measured (for example with probe). */
export function behindMeasured(idleTimeout: number): Behind {
  const margin = behindMargin(idleTimeout);
  return { name: null, label: 'a middlebox (measured)', idleTimeout, margin, limit: idleTimeout - margin, late: null, configurable: null, source: null };
}

/** --behind's value: an environment name or whole seconds; UsageError otherwise. */
export function behindOption(text: string): Behind {
  if (isEnvironmentName(text)) return behindEnvironment(text);
  if (/^\s*\d/.test(text)) return behindMeasured(seconds('behind', text, MIN_BEHIND_TIMEOUT));
  const prefixed = environmentNames.filter((name) => name.startsWith(text.toLowerCase()));
  const guess = closest(text, environmentNames) ?? (text && prefixed.length === 1 ? prefixed[0] : undefined);
  throw new UsageError(
    `unknown environment ${quoted(text)}`,
    `${guess ? `did you mean --behind ${guess}? ` : ''}environments: ${environmentNames.join(', ')}; or the idle timeout you measured, in seconds (--behind 300)`,
  );
}

/** Idle, interval and count (as in plan.ts). */
interface Settings {
  idle: number;
  interval: number;
  count: number;
}

/**
 * Moves the settings under the limit (idle + interval ≤ limit): values you
 * gave are kept, the others lowered. With idle fixed, the interval takes
 * what is left. Otherwise idle becomes limit − interval; when that would be
 * below interval (on Linux an answered connection's probes then come every
 * interval, not every idle), interval becomes floor(limit / 2) and idle the
 * rest, so idle ≥ interval. Count is never changed.
 */
export function fitBehind(s: Settings, limit: number, fixed: Readonly<Record<keyof Settings, boolean>>): Settings {
  if (s.idle + s.interval <= limit) return s;
  if (fixed.idle) return fixed.interval || s.idle >= limit ? s : { ...s, interval: limit - s.idle };
  const interval = !fixed.interval && limit - s.interval < s.interval ? Math.max(1, Math.floor(limit / 2)) : s.interval;
  return { ...s, interval, idle: Math.max(1, limit - interval) };
}

/** Whether the settings keep the flow: idle + interval within the limit. */
export function keepsFlow(s: Settings, behind: Behind): boolean {
  return s.idle + s.interval <= behind.limit;
}

/** The environment as the plan names it: "AWS NAT gateway (idle timeout 350 s, answers late packets with RST)". */
export function behindWords(behind: Behind): string {
  if (behind.name === null) return `a middlebox with a measured idle timeout of ${behind.idleTimeout} s`;
  const late = behind.late ? `, ${lateResponseText(behind.late)}` : '';
  return `${behind.label} (idle timeout ${behind.idleTimeout} s${late})`;
}

/** The warning when the settings do not keep the flow; null when they do. */
export function behindWarning(behind: Behind, s: Settings): { kind: 'conflict' | 'caution'; message: string } | null {
  if (keepsFlow(s, behind)) return null;
  const who = behind.name ? `${behind.label} (--behind ${behind.name})` : `the measured idle timeout`;
  const use = `use --idle ${Math.max(1, behind.limit - s.interval)} or less` + (behind.limit - s.interval < 1 ? ' and a shorter --interval' : '');
  const forgets = behind.late === 'rst' ? 'it answers the next packet with RST' : 'the connection hangs at the next write';
  if (s.idle >= behind.idleTimeout) {
    return {
      kind: 'conflict',
      message: `idle ${s.idle} s is not below the ${behind.idleTimeout} s idle timeout of ${who}: it forgets the idle flow before the first probe and ${forgets}; ${use}`,
    };
  }
  return {
    kind: 'caution',
    message:
      `idle + interval = ${s.idle + s.interval} s is above ${behind.limit} s = ${behind.idleTimeout} − ${behind.margin} (the margin) for ${who}: ` +
      `if one probe is lost the flow may be forgotten and ${forgets}; ${use}`,
  };
}

/** The plan's section for the middlebox: a heading and items, wrapped to 78 columns (the source's address is not broken). */
export function behindLines(behind: Behind, s: Settings): string[] {
  const item = (text: string): string => wrap(`- ${text}`, 78, '  ', '    ');
  const lines = [wrap(`behind ${behindWords(behind)}:`, 78, '', '  ')];
  const sum = s.idle + s.interval;
  lines.push(item(
    `idle + interval = ${s.idle} + ${s.interval} = ${sum} s ${sum <= behind.limit ? '≤' : '>'} ${behind.limit} s = ${behind.idleTimeout} − max(5, 10 % of ${behind.idleTimeout}): ` +
      (sum <= behind.limit ? 'a probe refreshes the flow in time even when one is lost' : 'NOT kept if a probe is lost'),
  ));
  if (behind.configurable) lines.push(item(`the timeout is configurable: ${behind.configurable}`));
  lines.push(behind.source ? `  - source: ${behind.source}` : '  - source: your measurement');
  return lines;
}
