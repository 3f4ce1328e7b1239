// The difference between two health readings of one connection: what
// happened on it between them (a probe unanswered or answered, a
// retransmission, a state change). Pure: the readings are plain data.
import type { TcpHealth, TcpState } from './health';

export type HealthChange =
  /** The TCP state changed. */
  | { kind: 'state'; from: TcpState; to: TcpState }
  /** One more keepalive probe is unanswered: `probes` now. */
  | { kind: 'probe-unanswered'; probes: number }
  /** The unanswered probes fell back: the peer answered after `after` of them. */
  | { kind: 'peer-back'; after: number }
  /** Unacknowledged data was retransmitted once more: `retransmits` now. */
  | { kind: 'retransmit'; retransmits: number }
  /** An acknowledgement with nothing of ours to acknowledge: a keepalive probe of an idle connection was answered. */
  | { kind: 'probe-answered' };

/** The health fields compared. */
export type DiffHealth = Pick<TcpHealth, 'state' | 'probes' | 'retransmits' | 'lastAckReceivedMs' | 'bytesReceived'>;

/** What this side did between the two readings. */
export interface Activity {
  /** Data was sent. */
  sent: boolean;
  /** Data was received. */
  received: boolean;
}

function probeChanges(previous: DiffHealth, current: DiffHealth): HealthChange[] {
  if (current.probes === null || previous.probes === null) return [];
  if (current.probes > previous.probes) return [{ kind: 'probe-unanswered', probes: current.probes }];
  if (current.probes < previous.probes) return [{ kind: 'peer-back', after: previous.probes }];
  return [];
}

function idleProbeAnswered(previous: DiffHealth, current: DiffHealth, activity: Activity): boolean {
  return (
    current.lastAckReceivedMs !== null &&
    previous.lastAckReceivedMs !== null &&
    current.lastAckReceivedMs < previous.lastAckReceivedMs &&
    !activity.sent &&
    !activity.received &&
    current.bytesReceived === previous.bytesReceived &&
    (current.probes ?? 0) === 0 &&
    (previous.probes ?? 0) === 0
  );
}

/**
 * What happened between `previous` and `current`, in this order: a state
 * change, probes unanswered or answered, a retransmission, an idle probe
 * answered. A field either reading lacks (null) shows no change.
 */
export function healthChanges(previous: DiffHealth, current: DiffHealth, activity: Activity): HealthChange[] {
  const changes: HealthChange[] = [];
  if (current.state !== previous.state) changes.push({ kind: 'state', from: previous.state, to: current.state });
  changes.push(...probeChanges(previous, current));
  if (current.retransmits !== null && previous.retransmits !== null && current.retransmits > previous.retransmits) {
    changes.push({ kind: 'retransmit', retransmits: current.retransmits });
  }
  if (idleProbeAnswered(previous, current, activity)) changes.push({ kind: 'probe-answered' });
  return changes;
}
