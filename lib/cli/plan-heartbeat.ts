// tcp-keepalive plan --heartbeat: an application heartbeat and TCP keepalive
// on one connection. Pure (no I/O): what notices a dead peer while heartbeats
// flow, what keepalive still does, the settings that fit the heartbeat, and
// warnings where the periods fight. The rules are in docs/heartbeats.md.
import { computeDetectAfter } from '../detect';
import { duration } from './format';
import { linuxRetriesTimeout } from './osdefaults';
import type { CoreSettings, PlanWarning } from './plan';

/** Linux's default tcp_retries2. */
export const LINUX_RETRIES = 15;

/** Seconds Linux retransmits unacknowledged data with its defaults before ETIMEDOUT: 924.6 s. */
export const LINUX_RETRANSMISSION_SECONDS = linuxRetriesTimeout(LINUX_RETRIES);

/** What ends a heartbeat written to a dead peer first. */
export type HeartbeatDecider = 'heartbeat-timeout' | 'user-timeout' | 'retransmission';

/** The stable codes of the heartbeat warnings. */
export type HeartbeatWarningCode = 'idle-below-heartbeat' | 'heartbeat-without-user-timeout' | 'heartbeat-timeout-over-budget' | 'proxy-ends-tcp';

export interface HeartbeatInput {
  /** Seconds between heartbeats (H). */
  heartbeat: number;
  /** The heartbeat's own timeout (T): the connection is closed when no answer came within it. */
  heartbeatTimeout?: number;
  /** The keepalive settings chosen. */
  settings: CoreSettings;
  /** Seconds, 0 for none. */
  userTimeout: number;
  /** A proxy between the ends terminates TCP (an L7 load balancer, a TLS-terminating proxy). */
  throughProxy?: boolean;
  platform: string;
  /** Which settings the heartbeat chose (the user gave neither): they are explained in `chosen`. */
  chose?: { idle?: boolean; userTimeout?: boolean };
}

export interface HeartbeatDetection {
  /** Worst-case seconds from the peer's death to the connection's end while heartbeats flow; null when the OS limit is unknown. */
  seconds: number | null;
  decider: HeartbeatDecider;
  /** The arithmetic, in words: "30 + heartbeat timeout 20". */
  formula: string;
}

export interface HeartbeatPlan {
  heartbeat: number;
  heartbeatTimeout: number | null;
  throughProxy: boolean;
  /** What notices that the other end of this TCP connection died while heartbeats flow. */
  detection: HeartbeatDetection;
  /** Through a proxy that ends TCP: what notices a dead backend (only a heartbeat timeout does; null seconds: nothing). */
  backend: { seconds: number | null; decider: 'heartbeat-timeout' | null } | null;
  /** Seconds keepalive takes to notice a dead peer once the connection is idle (heartbeats stopped): the plan's detectAfter. */
  keepaliveBudget: number;
  /** What keepalive does next to the heartbeat, in words. */
  keepaliveRole: string[];
  /** The settings the heartbeat chose, with the rule. */
  chosen: Array<{ setting: 'idle' | 'userTimeout'; value: number; rule: string }>;
  warnings: Array<PlanWarning & { code: HeartbeatWarningCode }>;
}

/**
 * Idle for a heartbeat every H s: at least ceil(1.5 × H). A healthy
 * connection then never stays idle that long (data at most every H, with half
 * a period to spare for a late heartbeat or a slow answer), so no probe is
 * sent while heartbeats flow and keepalive starts only when they stop.
 */
export function coordinatedIdle(idle: number, heartbeat: number): number {
  return Math.max(idle, Math.ceil(1.5 * heartbeat));
}

/**
 * userTimeout for a heartbeat: the heartbeat's own budget, its timeout T
 * (what gRPC does, A18) or the period H without one, so that a heartbeat
 * written to a dead peer fails in the kernel no later than the heartbeat's
 * timeout would end it (without one: before the next heartbeat is due).
 *
 * On Linux the keepalive budget idle + interval × count instead: there a
 * userTimeout replaces count, so one shorter than idle (T and H are, with
 * idle ≥ 1.5 × H) leaves keepalive a single probe once heartbeats stop, and
 * one longer than the budget stretches keepalive's detection to it. The
 * heartbeat timeout still decides while heartbeats flow when T ≤ the budget;
 * when T is longer, a warning says so and the budget ends the heartbeat first.
 */
export function coordinatedUserTimeout(heartbeat: number, heartbeatTimeout: number | undefined, settings: CoreSettings, platform: string): number {
  return platform === 'linux' ? settings.idle + settings.interval * settings.count : Math.ceil(heartbeatTimeout ?? heartbeat);
}

/** The bound on unacknowledged data without userTimeout: Linux's retransmissions; unknown elsewhere. */
function retransmissionSeconds(platform: string): number | null {
  return platform === 'linux' ? LINUX_RETRANSMISSION_SECONDS : null;
}

/**
 * Worst case while heartbeats flow: the next heartbeat leaves at most H after
 * the peer died and is never acknowledged; the first of its timeout T, the
 * userTimeout and the OS retransmission limit ends the connection.
 */
export function heartbeatDetection(heartbeat: number, heartbeatTimeout: number | undefined, userTimeout: number, platform: string): HeartbeatDetection {
  if (heartbeatTimeout !== undefined && (userTimeout <= 0 || heartbeatTimeout <= userTimeout)) {
    return { seconds: heartbeat + heartbeatTimeout, decider: 'heartbeat-timeout', formula: `${heartbeat} + heartbeat timeout ${heartbeatTimeout}` };
  }
  if (userTimeout > 0) return { seconds: heartbeat + userTimeout, decider: 'user-timeout', formula: `${heartbeat} + userTimeout ${userTimeout}` };
  const limit = retransmissionSeconds(platform);
  return limit === null
    ? { seconds: null, decider: 'retransmission', formula: `${heartbeat} + the OS retransmission limit (minutes)` }
    : { seconds: heartbeat + limit, decider: 'retransmission', formula: `${heartbeat} + about ${limit} (Linux retransmissions, tcp_retries2 = ${LINUX_RETRIES})` };
}

function idleWarning(idle: number, heartbeat: number): string | null {
  if (idle > heartbeat) return null;
  const fix = `use --idle ${coordinatedIdle(1, heartbeat)} (1.5 × the heartbeat period) so that probes start only when heartbeats stop`;
  return idle < heartbeat
    ? `idle ${idle} s is below the heartbeat period ${heartbeat} s: keepalive probes the connection between heartbeats, ` +
        `traffic that tells nothing the heartbeat does not; ${fix}`
    : `idle ${idle} s equals the heartbeat period ${heartbeat} s: a heartbeat or its answer a little late lets a probe fire, ` +
        `so probes come and go with the heartbeat's jitter; ${fix}`;
}

function userTimeoutWarning(heartbeat: number, heartbeatTimeout: number | undefined, userTimeout: number, settings: CoreSettings, platform: string): string | null {
  if (userTimeout > 0) return null;
  const fix = coordinatedUserTimeout(heartbeat, heartbeatTimeout, settings, platform);
  const limit = retransmissionSeconds(platform);
  const waits = limit === null ? 'until the OS retransmission limit gives up (minutes)' : `for about ${duration(limit)} before ETIMEDOUT`;
  const start =
    (platform === 'freebsd' ? 'freebsd has no userTimeout: ' : 'a heartbeat without userTimeout: ') +
    `a heartbeat written to a dead peer is unacknowledged data, which keepalive does not probe, and it is retransmitted ${waits}`;
  const then =
    heartbeatTimeout !== undefined
      ? `; only the heartbeat's own ${heartbeatTimeout} s timeout notices the dead peer (your code must close the connection when it fires)`
      : `, so a dead peer is noticed only after ${heartbeat} s + that`;
  return start + then + (platform === 'freebsd' ? '' : `; use --user-timeout ${fix}`);
}

function budgetWarning(heartbeat: number, heartbeatTimeout: number | undefined, userTimeout: number, budget: number): string | null {
  if (heartbeatTimeout === undefined || heartbeatTimeout <= budget) return null;
  return (
    `heartbeat timeout ${heartbeatTimeout} s is longer than the keepalive budget ${budget} s: heartbeats keep keepalive from probing, ` +
    `so with them a dead peer is noticed after ${heartbeat} + ${heartbeatTimeout} = ${duration(heartbeat + heartbeatTimeout)}, later than ` +
    `keepalive alone would notice it on an idle connection` +
    (userTimeout > 0 && userTimeout < heartbeatTimeout ? ` (here userTimeout ${userTimeout} s ends the heartbeat write first, so that timeout never fires)` : '') +
    `; use a heartbeat timeout of ${budget} s or less`
  );
}

function proxyWarning(heartbeat: number, heartbeatTimeout: number | undefined, throughProxy: boolean): string | null {
  if (!throughProxy) return null;
  return (
    `through a proxy that ends TCP (an L7 load balancer, a TLS-terminating proxy) keepalive probes and userTimeout check only the hop ` +
    `to the proxy, which answers probes and acknowledges data itself: keepalive never reaches the backend, only the heartbeat does` +
    (heartbeatTimeout !== undefined
      ? `; a dead backend is noticed by the heartbeat timeout alone, within ${heartbeat} + ${heartbeatTimeout} = ${duration(heartbeat + heartbeatTimeout)}`
      : `; without --heartbeat-timeout nothing notices a dead backend: close the connection when a heartbeat goes unanswered`)
  );
}

/** The four heartbeat warnings, each when its condition holds, in this order. */
export function heartbeatWarnings(input: HeartbeatInput, budget: number): HeartbeatPlan['warnings'] {
  const { heartbeat: h, heartbeatTimeout: t, userTimeout, platform } = input;
  const found: Array<[HeartbeatWarningCode, string | null]> = [
    ['idle-below-heartbeat', idleWarning(input.settings.idle, h)],
    ['heartbeat-without-user-timeout', userTimeoutWarning(h, t, userTimeout, input.settings, platform)],
    ['heartbeat-timeout-over-budget', budgetWarning(h, t, userTimeout, budget)],
    ['proxy-ends-tcp', proxyWarning(h, t, input.throughProxy === true)],
  ];
  return found.flatMap(([code, message]) => (message === null ? [] : [{ kind: 'caution' as const, code, message }]));
}

function keepaliveRole(input: HeartbeatInput, budget: number): string[] {
  const { heartbeat: h, settings: s } = input;
  return [
    s.idle > h
      ? `while heartbeats flow: no probes; the connection is never idle for ${s.idle} s with data every ${h} s`
      : `while heartbeats flow: probes between heartbeats (idle ${s.idle} s is not above ${h} s)`,
    `if heartbeats stop (the application stalls): the connection goes idle and keepalive notices a dead peer within ` +
      `${duration(budget)} (idle + interval × count), and its probes keep NAT and load balancer mappings alive`,
    `on a side that only answers heartbeats: nothing is in flight when the peer dies, so keepalive notices it, within ${duration(budget)}`,
    ...(input.throughProxy ? ['through a proxy that ends TCP: all of the above only for the hop to the proxy'] : []),
  ];
}

function chosenSettings(input: HeartbeatInput): HeartbeatPlan['chosen'] {
  const { heartbeat: h, heartbeatTimeout: t } = input;
  const chosen: HeartbeatPlan['chosen'] = [];
  if (input.chose?.idle) {
    chosen.push({ setting: 'idle', value: input.settings.idle, rule: `ceil(1.5 × ${h}): above the heartbeat period, so probes start only when heartbeats stop` });
  }
  if (input.chose?.userTimeout) {
    const own = t !== undefined ? `the heartbeat timeout ${t}` : `the heartbeat period ${h}`;
    const { idle, interval, count } = input.settings;
    chosen.push({
      setting: 'userTimeout',
      value: input.userTimeout,
      rule:
        input.platform === 'linux'
          ? `idle + interval × count = ${idle + interval * count}, not ${own}: on Linux userTimeout replaces count, ` +
            'so less would leave keepalive one probe once heartbeats stop, and more would stretch its detection'
          : `${own}: a heartbeat written to a dead peer fails no later than ${t !== undefined ? 'the heartbeat timeout would end the connection' : 'the next heartbeat is due'}`,
    });
  }
  return chosen;
}

/** The heartbeat part of a plan. */
export function planHeartbeat(input: HeartbeatInput): HeartbeatPlan {
  const { heartbeat, heartbeatTimeout, settings: s, userTimeout, platform } = input;
  const budget = computeDetectAfter(s.idle, s.interval, s.count, userTimeout, platform);
  const throughProxy = input.throughProxy === true;
  return {
    heartbeat,
    heartbeatTimeout: heartbeatTimeout ?? null,
    throughProxy,
    detection: heartbeatDetection(heartbeat, heartbeatTimeout, userTimeout, platform),
    backend: throughProxy
      ? heartbeatTimeout !== undefined
        ? { seconds: heartbeat + heartbeatTimeout, decider: 'heartbeat-timeout' }
        : { seconds: null, decider: null }
      : null,
    keepaliveBudget: budget,
    keepaliveRole: keepaliveRole(input, budget),
    chosen: chosenSettings(input),
    warnings: heartbeatWarnings(input, budget),
  };
}
