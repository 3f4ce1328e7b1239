// One line per ended connection, for a person reading stderr
// (TCP_KEEPALIVE_LOG): what ended, who declared it dead and why, against
// the budget the settings promised. Pure: a record in, a sentence out.
import type { ConnectionEnd } from './ends';
import type { EndReason } from './outcome';

/** The reasons a connection ends that nobody asked for: logged by TCP_KEEPALIVE_LOG=abnormal. */
export const ABNORMAL_REASONS: ReadonlySet<EndReason> = new Set(['keepalive', 'user-timeout', 'retransmission', 'reset', 'unknown']);

const s = (seconds: number): string => `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function peerOf(r: ConnectionEnd): string {
  const remote = r.remote;
  const name = remote === null ? 'an unknown peer' : `${remote.host ?? (remote.address.includes(':') ? `[${remote.address}]` : remote.address)}:${remote.port}`;
  return `connection ${r.side === 'client' ? 'to' : 'from'} ${name}`;
}

const silent = (r: ConnectionEnd): string => (r.silence !== null ? `, silent ${s(r.silence)}` : '');
const budget = (r: ConnectionEnd): string => (r.detectAfter !== null ? `; budget ${s(r.detectAfter)}` : '');
const retransmitted = (r: ConnectionEnd): string => (r.retransmits !== null ? ` after ${plural(r.retransmits, 'retransmission')}` : '');
const guessed = (r: ConnectionEnd): string => (r.source === 'error-code' ? ' (from the error code alone: the OS reported nothing more)' : '');

function why(r: ConnectionEnd): string {
  const { settings: k } = r;
  switch (r.reason) {
    case 'keepalive': {
      const probes = r.probes ?? k.count;
      return `declared dead by keepalive: ${plural(probes, 'probe')} unanswered over ${s(probes * k.interval)} after ${s(k.idle)} idle${silent(r)}${budget(r)}`;
    }
    case 'user-timeout':
      return `dropped by userTimeout ${s(k.userTimeout)}: data went unacknowledged${retransmitted(r)}${silent(r)}`;
    case 'retransmission':
      return `dropped by the OS retransmission limit: data went unacknowledged${retransmitted(r)}${silent(r)}; set userTimeout to bound it`;
    case 'reset':
      return `reset (${r.code ?? 'RST'})${r.silence !== null ? ` after ${s(r.silence)} idle` : ''}${r.note !== null ? `: ${r.note}` : ' by the peer or a middlebox'}`;
    case 'peer-closed':
      return 'closed by the peer (FIN)';
    case 'local':
      return 'closed by this process';
    default:
      return `ended with ${r.code ?? 'an error'}${r.message !== null ? `: ${r.message}` : ''}`;
  }
}

/** The sentence for one record, e.g. "connection to db.internal:5432 declared dead by keepalive: ...". */
export function endLine(r: ConnectionEnd): string {
  return `${peerOf(r)} ${why(r)}${guessed(r)} (after ${s(Math.round(r.age * 10) / 10)})`;
}
