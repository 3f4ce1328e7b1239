// The kernel's own view of a TCP connection, from iproute2's `ss -tnoi`,
// which does not go through this package's code.
import { execFileSync } from 'node:child_process';

export interface SsTimer {
  /** 'keepalive', 'on' (retransmit), 'persist', ... */
  name: string;
  /** Seconds left until the timer fires. */
  seconds: number;
  /** Retransmissions / unanswered probes so far. */
  backoff: number;
}

function toSeconds(text: string): number {
  // ss prints e.g. "59sec", "1min59sec", "9h6min", "200ms"
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|sec|min|h|d)/g)) {
    const k = { ms: 0.001, sec: 1, min: 60, h: 3600, d: 86400 }[unit as 'ms' | 'sec' | 'min' | 'h' | 'd'];
    total += Number(n) * k;
  }
  return total;
}

/**
 * Which connection: its local port alone, or its local and remote ports. On
 * loopback give both: Linux lets a connection to another destination use the
 * same local port, and another test file's connection may be the one shown.
 */
export type SsPorts = number | { localPort?: number; remotePort?: number };

function filterFor(ports: SsPorts): string {
  if (typeof ports === 'number') return `( sport = :${ports} )`;
  if (ports.localPort === undefined || ports.remotePort === undefined) throw new Error('ssTimer: the socket has no local or remote port');
  return `( sport = :${ports.localPort} and dport = :${ports.remotePort} )`;
}

/** The timer of the established TCP connection on `ports`, or null. */
export function ssTimer(ports: SsPorts, netns?: string): SsTimer | null {
  const args = ['-tnoi', 'state', 'established', filterFor(ports)];
  const output = netns
    ? execFileSync('ip', ['netns', 'exec', netns, 'ss', ...args], { encoding: 'utf8' })
    : execFileSync('ss', args, { encoding: 'utf8' });
  const match = /timer:\((\w+),([^,]+),(\d+)\)/.exec(output);
  if (!match) return null;
  return { name: match[1]!, seconds: toSeconds(match[2]!), backoff: Number(match[3]) };
}

/**
 * The keepalive timer of that connection, waiting up to `waitMs` while
 * another timer (retransmission of data just sent) is shown instead.
 */
export async function keepaliveTimer(ports: SsPorts, waitMs = 2000, netns?: string): Promise<SsTimer | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const timer = ssTimer(ports, netns);
    if (timer?.name === 'keepalive' || Date.now() >= deadline) return timer;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Whether `timer` is the keepalive timer of a connection with `idle`: at
 * most idle and, for idle ≥ 10, more than idle − 5 s (so a 1 s value from a
 * library cannot pass for it); with the reading, for an assertion's name.
 */
export function keepaliveWithin(timer: SsTimer | null, idle: number): { ok: boolean; text: string } {
  const low = idle >= 10 ? idle - 5 : 0;
  const ok = timer !== null && timer.name === 'keepalive' && timer.seconds <= idle && timer.seconds > low;
  return { ok, text: `ss keepalive timer ${timer ? `${timer.name},${timer.seconds}s` : 'none'} within (${low}, ${idle}]` };
}
