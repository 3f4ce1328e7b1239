// The kernel's TCP_INFO for one connection as iproute2's `ss -tnoi` prints
// it (through inet_diag, not through this package's code): an oracle for
// getHealth. Fields are ss's names: rtt (ms), rto (ms), bytes_sent,
// bytes_received, lastsnd/lastrcv/lastack (ms ago), unacked, ...
import { execFileSync } from 'node:child_process';

export interface SsInfo {
  /** Every "name:value" token with a numeric value, e.g. bytes_sent, lastrcv, rto. */
  values: Record<string, number>;
  /** rtt:SMOOTHED/VAR, in ms. */
  rtt: number | null;
  /** timer:(keepalive,...,N): N is the unanswered probe count. */
  timer: { name: string; backoff: number } | null;
}

/** The `ss -tnoi` details of the established connection whose local port is `port`, or null. */
export function ssInfo(port: number, netns?: string): SsInfo | null {
  const args = ['-tnoi', 'state', 'established', `( sport = :${port} )`];
  const output = netns
    ? execFileSync('ip', ['netns', 'exec', netns, 'ss', ...args], { encoding: 'utf8' })
    : execFileSync('ss', args, { encoding: 'utf8' });
  const lines = output.split('\n').slice(1).join(' ');
  if (!lines.trim()) return null;
  const values: Record<string, number> = {};
  for (const [, name, value] of lines.matchAll(/(?:^|\s)([a-z_]+):(\d+(?:\.\d+)?)(?=\s|$)/g)) values[name!] = Number(value);
  const rtt = /\brtt:(\d+(?:\.\d+)?)\//.exec(lines);
  const timer = /timer:\((\w+),[^,]+,(\d+)\)/.exec(lines);
  return {
    values,
    rtt: rtt ? Number(rtt[1]) : null,
    timer: timer ? { name: timer[1]!, backoff: Number(timer[2]) } : null,
  };
}
