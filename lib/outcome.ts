// How a TCP connection ended, decided from plain facts: the error the socket
// reported, whether the peer sent FIN, who closed it, what the kernel knew
// (TCP_INFO read before the descriptor closed, or the CLI's last reading) and
// the settings in force. Pure: no sockets, no clocks. The one classifier of
// the package: connection-end records (ends.ts) and `probe --watch` use it.
import type { TcpHealth } from './health';

/** How a connection ended, in one word (the CLI's exit codes follow it). */
export type EndCause = 'timeout' | 'reset' | 'fin' | 'error' | 'local' | 'interrupted' | 'duration';

/**
 * Why a connection ended, as the connection-end records report it:
 * - 'keepalive': the peer stopped answering keepalive probes (nothing unacknowledged);
 * - 'user-timeout': data in flight went unacknowledged past `userTimeout`;
 * - 'retransmission': data in flight, no `userTimeout`: the OS's own retransmission limit;
 * - 'reset': an RST (from the peer, or a middlebox that forgot the flow);
 * - 'peer-closed': the peer closed it (FIN);
 * - 'local': this process closed or destroyed it;
 * - 'unknown': another error (the record says which).
 */
export type EndReason = 'keepalive' | 'user-timeout' | 'retransmission' | 'reset' | 'peer-closed' | 'local' | 'unknown';

/** Every EndReason, in the order the docs and the counters list them. */
export const END_REASONS: readonly EndReason[] = Object.freeze([
  'keepalive',
  'user-timeout',
  'retransmission',
  'reset',
  'peer-closed',
  'local',
  'unknown',
] as const);

/** How it ended, in more detail: what the kernel was doing when it gave up. */
export type EndDetail =
  /** timeout: keepalive probes went unanswered. */
  | 'probes-unanswered'
  /** timeout: data was in flight and retransmitted without an answer (the user timeout or the OS limit). */
  | 'data-unacknowledged'
  /** reset: a keepalive probe was answered with RST (the peer forgot the connection). */
  | 'probe-reset'
  /** reset: RST for another reason. */
  | 'reset'
  /** fin: the peer closed it. */
  | 'fin'
  /** error: any other failure, or a close nobody explained. */
  | 'failed'
  /** interrupted or duration: this side closed it on purpose. */
  | 'stopped';

/**
 * What a read fails with when the kernel gives up on a silent peer:
 * ETIMEDOUT, or the last network error it saw meanwhile (Linux reports a
 * pending soft error, such as a failed neighbour lookup, instead).
 */
export const GAVE_UP_CODES: ReadonlySet<string> = new Set(['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);

/** Codes of a connection reset by the peer or a middlebox. */
export const RESET_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE']);

/** The health fields the classification looks at. */
export type EndHealth = Pick<TcpHealth, 'probes' | 'retransmits' | 'unacked'>;

/** What was known when the connection closed. */
export interface EndFacts {
  /**
   * This side closed it: 'local' (the application destroyed or ended it),
   * 'interrupted' (the CLI, on a signal) or 'duration' (the CLI's time
   * limit); null when it did not.
   */
  closedBy: 'local' | 'interrupted' | 'duration' | null;
  /** The error the socket reported, or null. */
  error: { code: string | null; message: string } | null;
  /** The peer sent FIN. */
  peerEnded: boolean;
  /** What the kernel reported at the end (or the last reading before it); null when nothing was read. */
  health: EndHealth | null;
  /** The most keepalive probes seen unanswered at once, and the most retransmissions, before the end (0 when unknown). */
  peakProbes: number;
  peakRetransmits: number;
  /** Settings in force: count (keepalive probes before the kernel gives up) and userTimeout (seconds, 0 = none). */
  settings: { count: number; userTimeout: number };
}

export interface Outcome {
  reason: EndReason;
  cause: EndCause;
  detail: EndDetail;
  /** The socket error's code, or null. */
  code: string | null;
  /** The socket error's message, or null. */
  message: string | null;
  /** timeout: the code is another network error reported in ETIMEDOUT's place. */
  substituted: boolean;
  /** Keepalive probes unanswered at the end (probes-unanswered: the count when no reading showed them). */
  probesUnanswered: number;
  /** Retransmissions of unacknowledged data at the end. */
  retransmissions: number;
  /**
   * What decided it: 'tcp-info' when the kernel's view was known, 'error-code'
   * when only the error code and the settings were (keepalive and a
   * retransmission limit then look alike: both are ETIMEDOUT).
   */
  source: 'tcp-info' | 'error-code';
}

function dataInFlight(health: EndHealth | null): boolean {
  return (health?.retransmits ?? 0) > 0 || (health?.unacked ?? 0) > 0;
}

function causeOf(facts: EndFacts): EndCause {
  const code = facts.error?.code ?? null;
  if (facts.closedBy) return facts.closedBy;
  if (code !== null && GAVE_UP_CODES.has(code)) return 'timeout';
  if (code !== null && RESET_CODES.has(code)) return 'reset';
  if (facts.error) return 'error';
  return facts.peerEnded ? 'fin' : 'error';
}

function detailOf(cause: EndCause, facts: EndFacts): EndDetail {
  switch (cause) {
    case 'timeout':
      return dataInFlight(facts.health) ? 'data-unacknowledged' : 'probes-unanswered';
    case 'reset':
      return (facts.health?.probes ?? 0) > 0 || facts.peakProbes > 0 ? 'probe-reset' : 'reset';
    case 'fin':
      return 'fin';
    case 'error':
      return 'failed';
    default:
      return 'stopped';
  }
}

function reasonOf(cause: EndCause, detail: EndDetail, facts: EndFacts): EndReason {
  switch (cause) {
    case 'timeout':
      if (detail === 'probes-unanswered') return 'keepalive';
      return facts.settings.userTimeout > 0 ? 'user-timeout' : 'retransmission';
    case 'reset':
      return 'reset';
    case 'fin':
      return 'peer-closed';
    case 'error':
      return 'unknown';
    default:
      return 'local';
  }
}

/** How the connection ended, from what was known when it closed. */
export function classifyEnd(facts: EndFacts): Outcome {
  const cause = causeOf(facts);
  const detail = detailOf(cause, facts);
  const code = facts.error?.code ?? null;
  const probes = Math.max(facts.peakProbes, facts.health?.probes ?? 0);
  return {
    reason: reasonOf(cause, detail, facts),
    cause,
    detail,
    code,
    message: facts.error?.message ?? null,
    substituted: cause === 'timeout' && code !== 'ETIMEDOUT',
    probesUnanswered: detail === 'probes-unanswered' ? probes || facts.settings.count : probes,
    retransmissions: Math.max(facts.peakRetransmits, facts.health?.retransmits ?? 0),
    source: facts.health !== null || facts.peakProbes > 0 || facts.peakRetransmits > 0 ? 'tcp-info' : 'error-code',
  };
}
