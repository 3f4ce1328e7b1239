// The words of `tcp-keepalive probe`: the settings read back, the health,
// the events of --watch, its status line and how the connection ended.
// Pure: every function turns plain values into text.
import type { TcpHealth } from '../health';
import type { HealthChange } from '../health-diff';
import type { KeepaliveOptions } from '../validate';
import type { KeepaliveState } from '../keepalive';
import type { Outcome } from '../outcome';
import type { Supported } from '../supported';
import { duration, millis, table } from './format';

export function describeOptions(o: KeepaliveOptions): string {
  const parts = (['idle', 'interval', 'count', 'userTimeout'] as const).filter((k) => o[k] !== undefined).map((k) => `${k} ${o[k]}`);
  return parts.join(', ');
}

export function stateLines(state: KeepaliveState, s: Supported): string {
  const rows: string[][] = [
    ['enabled', state.enabled ? 'yes' : 'no', s.options.enable],
    ['idle', `${state.idle} s`, s.options.idle],
    ['interval', `${state.interval} s`, s.options.interval],
    ['count', `${state.count}`, s.options.count],
    ['userTimeout', state.userTimeout > 0 ? `${state.userTimeout} s` : '0 (none)', s.options.userTimeout],
  ];
  return table(rows);
}

export function healthLine(h: TcpHealth): string {
  const parts: string[] = [h.state];
  if (h.rttMs !== null) parts.push(`rtt ${millis(h.rttMs)}`);
  if (h.probes !== null) parts.push(`${h.probes} probes unanswered`);
  if (h.retransmits !== null) parts.push(`${h.retransmits} retransmissions pending`);
  if (h.lastReceivedMs !== null) parts.push(`last segment received ${millis(h.lastReceivedMs)} ago`);
  return `health (${h.source}): ${parts.join(', ')}`;
}

/** detectAfter's arithmetic, spelled out: Linux starts counting probes at max(idle, interval) and stops them at the user timeout. */
export function budgetText(state: KeepaliveState, platform: string): string {
  const budget = state.detectAfter;
  if (budget === null) return 'none (keepalive off)';
  const first = platform === 'linux' ? Math.max(state.idle, state.interval) : state.idle;
  const probesSent = Math.round((budget - first) / state.interval);
  return (
    `${duration(budget)} (${first === state.idle ? `idle ${state.idle}` : `interval ${first}, above idle ${state.idle},`} + ` +
    `${state.interval} × ${probesSent}${state.userTimeout > 0 ? `, userTimeout ${state.userTimeout}` : ''})`
  );
}

export function watchingLine(sendEvery: number | null, budget: string): string {
  const activity = sendEvery ? `the connection, sending a 1-byte heartbeat every ${sendEvery} s` : 'the idle connection';
  return `watching ${activity}; a silent peer is dropped within ${budget}. Ctrl-C to stop.`;
}

/** One event of --watch: its JSON name, its line of text, its JSON fields. */
export interface WatchEvent {
  name: string;
  text: string;
  extra: Record<string, unknown>;
}

const silentFor = (silentMs: number | null): string => (silentMs !== null ? ` (peer silent for ${millis(silentMs)})` : '');

/** The event for one health change; `answered` counts answered probes including this one. */
export function changeEvent(change: HealthChange, count: number, answered: number, silentMs: number | null): WatchEvent {
  switch (change.kind) {
    case 'state':
      return { name: 'state', text: `state ${change.from} -> ${change.to}`, extra: { from: change.from, to: change.to } };
    case 'probe-unanswered':
      return { name: 'probe-unanswered', text: `probe ${change.probes}/${count} unanswered${silentFor(silentMs)}`, extra: { probes: change.probes, count } };
    case 'peer-back':
      return { name: 'probe-answered', text: `probe answered after ${change.after} unanswered: the peer is back`, extra: { answered } };
    case 'retransmit':
      return { name: 'retransmit', text: `retransmission ${change.retransmits} of unacknowledged data${silentFor(silentMs)}`, extra: { retransmits: change.retransmits } };
    case 'probe-answered':
      return { name: 'probe-answered', text: 'keepalive probe answered: the peer is alive', extra: { answered } };
  }
}

/** What the status line shows. */
export interface StatusFacts {
  elapsedS: number;
  health: TcpHealth | null;
  silentMs: number | null;
  count: number;
  answered: number;
  heartbeats: number;
  userTimeout: number;
  budget: number | null;
  columns: number;
}

/** The one status line a terminal shows, redrawn at every reading. */
export function statusLine(f: StatusFacts): string {
  const h = f.health;
  const parts = [`${f.elapsedS.toFixed(1)}s`];
  if (h) {
    parts.push(h.state);
    if (f.silentMs !== null) parts.push(`silent ${(f.silentMs / 1000).toFixed(1)}s`);
    if (h.probes !== null) parts.push(`unanswered ${h.probes}/${f.count}`);
    parts.push(`answered ${f.answered}`);
    if (h.retransmits !== null) parts.push(`retrans ${h.retransmits}`);
    // Unanswered probes: dropped at the keepalive budget; data in flight:
    // at the user timeout (without one, the OS retransmission limit).
    const limit = (h.retransmits ?? 0) > 0 ? (f.userTimeout > 0 ? f.userTimeout : null) : (h.probes ?? 0) > 0 ? f.budget : null;
    if (limit !== null && f.silentMs !== null) parts.push(`drop in ${Math.max(0, limit - f.silentMs / 1000).toFixed(1)}s`);
    if (h.rttMs !== null) parts.push(`rtt ${millis(h.rttMs)}`);
  }
  if (f.heartbeats) parts.push(`heartbeats ${f.heartbeats}`);
  return parts.join(' | ').slice(0, Math.max(20, f.columns - 1));
}

/** When and under which settings the watched connection ended. */
export interface EndContext {
  watchedS: number;
  silentMs: number | null;
  /** Seconds since the oldest unacknowledged heartbeat was sent, or null. */
  unackedForS: number | null;
  userTimeout: number;
  budget: number | null;
  /** The --duration given, or null. */
  durationLimit: number | null;
  /** The signal that stopped it, for cause 'interrupted'. */
  signal: string | null;
  /** The TCP state at the last reading, or null. */
  lastState: string | null;
}

const insteadOfTimeout = (o: Outcome): string =>
  o.substituted ? `; ${o.code} is the last network error the kernel saw, reported instead of ETIMEDOUT` : '';

function timeoutText(o: Outcome, c: EndContext, silentText: string): string {
  if (o.detail === 'data-unacknowledged') {
    return (
      `${o.code}: unacknowledged data was retransmitted ${o.retransmissions} times without an answer; ` +
      `the kernel dropped the connection ` +
      (c.unackedForS !== null ? `${c.unackedForS.toFixed(1)} s after the oldest of it was sent` : silentText) +
      (c.userTimeout > 0 ? ` (userTimeout ${c.userTimeout} s)` : ' (the OS retransmission limit)') +
      insteadOfTimeout(o)
    );
  }
  return (
    `${o.code}: ${o.probesUnanswered} keepalive probes went unanswered; ` +
    `the kernel dropped the connection ${silentText}` +
    (c.budget !== null ? ` (budget ${duration(c.budget)})` : '') +
    insteadOfTimeout(o)
  );
}

const stoppedBy = (signal: string | null): string => (signal === null || signal === 'SIGINT' ? 'Ctrl-C' : signal);

/** The sentence that says how the watched connection ended. */
export function endText(o: Outcome, c: EndContext): string {
  const watched = c.watchedS.toFixed(1);
  const silentText = c.silentMs !== null ? `${(c.silentMs / 1000).toFixed(1)} s after the peer went silent` : `after ${watched} s`;
  switch (o.cause) {
    case 'timeout':
      return timeoutText(o, c, silentText);
    case 'reset':
      return (
        `${o.code ?? 'ECONNRESET'}: the connection was reset (RST) ${silentText}: ` +
        (o.detail === 'probe-reset'
          ? 'a keepalive probe was answered with a reset: the peer no longer knows this connection (it restarted, or a middlebox dropped the flow)'
          : 'the peer or a middlebox reset it')
      );
    case 'fin':
      return `the peer closed the connection (FIN) after ${watched} s`;
    case 'error':
      return `the connection failed: ${o.message !== null ? `${o.code ?? ''} ${o.message}`.trim() : 'closed'} after ${watched} s`;
    case 'local':
      return `this process closed the connection after ${watched} s`;
    default:
      return (
        `${o.cause === 'interrupted' ? `stopped by ${stoppedBy(c.signal)}` : `stopped after --duration ${c.durationLimit}`} after ${watched} s; ` +
        `the connection was ${c.lastState ?? 'open'}`
      );
  }
}

/** The counters of a watch. */
export interface WatchTally {
  answered: number;
  maxProbes: number;
  maxRetransmits: number;
  heartbeats: number;
  received: number;
}

export function summaryText(tally: WatchTally, lastDataAgoS: number): string {
  return (
    `probes answered ${tally.answered}, most unanswered at once ${tally.maxProbes}, retransmissions ${tally.maxRetransmits}, ` +
    `heartbeats sent ${tally.heartbeats}, bytes received ${tally.received}` +
    (tally.received > 0 ? `, last data ${lastDataAgoS.toFixed(1)} s ago` : '')
  );
}
