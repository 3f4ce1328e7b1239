// tcp-keepalive probe HOST:PORT --find-idle-timeout: after how much silence
// does the path to a server forget a connection? Rounds of parallel
// connections that send nothing, each with keepalive idle set to a
// different age (lib/cli/idle-finder.ts chooses the ages and reads the
// results); a connection whose first probe is answered survived its age,
// one that is reset or whose probes go unanswered did not.
import type * as net from 'node:net';
import { performance } from 'node:perf_hooks';

import { setKeepalive } from '../keepalive';
import { GAVE_UP_CODES, RESET_CODES } from '../outcome';
import { EXIT, integer, seconds, UsageError, type OptionSpecs } from './args';
import { connect, tryHealth, type Target } from './connect';
import { MIN_BEHIND_TIMEOUT } from './plan-behind';
import { firstRoundAges, nextRoundAges, stillNeeded, verdict, type Fate, type Trial, type Verdict } from './idle-finder';
import type { Io } from './io';
import type { Signals } from './probe';

/** The options `probe` takes for the finder. */
export const FINDER_SPECS: OptionSpecs = {
  'find-idle-timeout': { type: 'boolean' },
  max: { type: 'string', value: 'SECONDS' },
  connections: { type: 'string', value: 'N' },
};

/** The finder's options. */
export interface FinderInput {
  /** The longest idle age tried, seconds. */
  max: number;
  /** Connections per round. */
  connections: number;
}

export const DEFAULT_MAX = 600;
/** The longest --max: two hours, Linux's default keepalive idle (a measurement takes about twice the timeout). */
export const LONGEST_MAX = 7200;
export const DEFAULT_CONNECTIONS = 10;
export const MOST_CONNECTIONS = 64;
/** Rounds at most: the first across the range, then two refinements. */
export const MAX_ROUNDS = 3;
/** Keepalive interval and count of each trial: a forgotten flow that drops packets is given up on 2 s after its first probe. */
const INTERVAL = 1;
const COUNT = 2;

const CONFLICTS = ['watch', 'send-every', 'duration', 'preset', 'idle', 'interval', 'count', 'user-timeout'];

/** --find-idle-timeout's options from the parsed command line; null without it. UsageError on mistakes. */
export function finderInput(values: Readonly<Record<string, unknown>>): FinderInput | null {
  const str = (name: string): string | undefined => values[name] as string | undefined;
  if (values['find-idle-timeout'] !== true) {
    for (const name of ['max', 'connections']) if (str(name) !== undefined) throw new UsageError(`--${name} needs --find-idle-timeout`, 'add --find-idle-timeout');
    return null;
  }
  const clash = CONFLICTS.find((name) => values[name] !== undefined);
  if (clash) throw new UsageError(`--find-idle-timeout sets its own keepalive settings and sends nothing: --${clash} does not go with it`, `leave out --${clash}`);
  const max = str('max') === undefined ? DEFAULT_MAX : seconds('max', str('max')!, 3, LONGEST_MAX);
  const connections = str('connections') === undefined ? DEFAULT_CONNECTIONS : integer('connections', str('connections')!, 1, MOST_CONNECTIONS);
  return { max, connections };
}

/** How an error ends a trial. */
function fateOf(code: string | undefined): Fate {
  if (code && RESET_CODES.has(code)) return 'reset';
  if (code && GAVE_UP_CODES.has(code)) return 'timeout';
  return 'error';
}

/**
 * When the connection's first probe, asked for at `age` s, was answered, in
 * seconds since connect: no probe outstanding and an ACK came in after the
 * probe was due (TCP_INFO's time since the last ACK; Linux). null: not yet,
 * or the OS does not say.
 */
function probeAnsweredAt(socket: net.Socket, age: number, elapsedS: number): number | null {
  if (elapsedS < age + 0.25) return null;
  const h = tryHealth(socket);
  if (h === null || h.lastAckReceivedMs === null || (h.probes ?? 0) > 0) return null;
  const ackAt = elapsedS - h.lastAckReceivedMs / 1000;
  return ackAt > age - 0.5 ? ackAt : null;
}

/** Whether this OS reports when the last ACK came (then a survivor is only one whose probe was seen answered). */
const seesAcks = (socket: net.Socket): boolean => tryHealth(socket)?.lastAckReceivedMs != null;

/**
 * The longest a probe asked for at `age` s may be late: the kernel's timer
 * wheel fires long timers in coarse steps (Linux: 4.1 s for 32.8 s to 4.5
 * min at HZ 1000, 12.5 % beyond), plus a second.
 */
const lateBy = (age: number): number => Math.max(4.2, age / 8) + 1;

interface Running {
  age: number;
  done: Promise<Trial | null>;
  cancel(): void;
}

/** One connection of a round: idle `age`, nothing sent; resolves with its fate, or null when cancelled. */
function startTrial(target: Target, age: number, connectTimeout: number): Running {
  let socket: net.Socket | null = null;
  let cancelled = false;
  let finish: (t: Trial | null) => void = () => {};
  const done = new Promise<Trial | null>((resolve) => (finish = resolve));
  const started = performance.now();
  const after = (): number => Math.round((performance.now() - started) / 100) / 10;
  connect(target, connectTimeout).then(
    ({ socket: s }) => {
      socket = s;
      if (cancelled) return void s.destroy();
      let settled = false;
      const end = (fate: Fate, probedAfter: number | null, code?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(answered);
        s.destroy();
        finish({ age, fate, endedAfter: after(), probedAfter: probedAfter === null ? null : Math.round(probedAfter * 10) / 10, ...(code ? { code } : {}) });
      };
      // Survived: its probe was seen answered (TCP_INFO). Where the OS does
      // not say when the last ACK came, still open once the probe and its
      // retries would have run out, late timers included.
      const answered = setInterval(() => {
        const at = probeAnsweredAt(s, age, (performance.now() - started) / 1000);
        if (at !== null) end('survived', at);
      }, 250);
      const timer = setTimeout(() => (seesAcks(s) ? end('error', null, 'no probe seen') : end('survived', null)), (age + lateBy(age) + INTERVAL * COUNT + 1) * 1000);
      s.on('error', (e: NodeJS.ErrnoException) => {
        const fate = fateOf(e.code);
        // A reset comes when the probe does (or earlier: a path or server
        // resetting idle flows itself); a timeout count × interval after it.
        end(fate, fate === 'reset' ? after() : fate === 'timeout' ? after() - INTERVAL * COUNT : null, e.code);
      });
      s.on('end', () => end('fin', null));
      s.on('close', () => end('error', null, 'closed'));
      s.resume(); // whatever the server sends is read and dropped
      try {
        setKeepalive(s, { idle: age, interval: INTERVAL, count: COUNT });
      } catch (e) {
        end('error', null, (e as NodeJS.ErrnoException).code);
      }
    },
    (e: NodeJS.ErrnoException) => finish(cancelled ? null : { age, fate: 'error', endedAfter: after(), probedAfter: null, code: e.code ?? 'connect' }),
  );
  return {
    age,
    done,
    cancel: () => {
      cancelled = true;
      socket?.destroy();
      finish(null);
    },
  };
}

/** One round: every age at once; trials that can no longer change the bounds are cancelled as soon as a failure shows it. */
async function runRound(target: Target, ages: number[], connectTimeout: number, all: Trial[], onTrial: () => void, stop: Promise<void>): Promise<void> {
  const running = ages.map((age) => startTrial(target, age, connectTimeout));
  let stopped = false;
  void stop.then(() => {
    stopped = true;
    for (const r of running) r.cancel();
  });
  await Promise.all(
    running.map(async (r) => {
      const trial = await r.done;
      if (trial === null || stopped) return;
      all.push(trial);
      onTrial();
      for (const other of running) if (!stillNeeded(other.age, all)) other.cancel();
    }),
  );
}

/** The finder's result, as --json prints it. */
export interface FinderResult extends Verdict {
  target: Target;
  rounds: number[][];
  trials: Trial[];
  tookSeconds: number;
  max: number;
  stopped: boolean;
  /** The plan command for the bound found, or null. */
  plan: string | null;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

function howText(how: Verdict['how']): string {
  if (how === 'reset') return 'a reset (RST): a NAT or load balancer that rejects flows it forgot; the application sees ECONNRESET';
  if (how === 'silence') return 'silence: a firewall or load balancer that drops packets of flows it forgot; writes hang until userTimeout (probes: ETIMEDOUT)';
  return 'resets on some connections, silence on others';
}

function countsText(r: FinderResult): string {
  const c = r.counts;
  const parts = [`${c.survived} survived their probe`, `${c.reset} reset`, `${c.timeout} unanswered`, `${c.fin} closed by the server`];
  if (c.error) parts.push(`${c.error} failed otherwise`);
  const early = r.rounds.flat().length - r.trials.length;
  const closed = early > 0 ? ` (${early} more closed early: they could no longer change the bounds)` : '';
  return `${r.trials.length} connections in ${r.rounds.length} round${r.rounds.length === 1 ? '' : 's'}: ${parts.join(', ')}${closed}`;
}

/** The result in words. */
export function finderText(r: FinderResult, where: string): string {
  const lines: string[] = [];
  if (r.found) {
    lines.push(
      `path to ${where}: forgets an idle connection after more than ${r.lowerBound} s and at most ${r.upperBound} s of silence (estimate ${r.estimate} s ± ${r.tolerance} s)`,
      `  a forgotten connection gets ${howText(r.how)}`,
    );
  } else if (r.serverClosesAfter !== null) {
    lines.push(
      `the server at ${where} closes idle connections itself (FIN) after about ${r.serverClosesAfter} s: that is the server's own idle timeout, not the path's`,
      `  the path kept idle connections at least ${r.lowerBound} s; keepalive probes do not count as activity for the server: send application data (or a heartbeat) more often than that`,
    );
  } else {
    lines.push(`path to ${where}: kept every idle connection up to ${r.lowerBound} s: no idle timeout found up to --max ${r.max} s`);
  }
  if (r.contradictions.length) lines.push(`  inconsistent: ages ${r.contradictions.join(', ')} s survived above a failure (several back ends, or a lost probe); measure again`);
  if (r.stopped) lines.push('  stopped before the end: the bounds are those found so far');
  lines.push(`  ${countsText(r)}`, `  took ${r.tookSeconds} s`);
  if (r.plan) lines.push(`  settings that keep it alive: ${r.plan}`);
  else if (r.found) lines.push(`  keep idle + interval below ${r.lowerBound} s`);
  return lines.join('\n');
}

function progressText(roundIndex: number, ages: number[], trials: readonly Trial[], elapsed: number): string {
  const v = verdict(trials);
  const bounds = v.found ? `between ${v.lowerBound} and ${v.upperBound} s` : `at least ${v.lowerBound} s`;
  return `round ${roundIndex}/${MAX_ROUNDS}: ages ${ages[0]}..${ages.at(-1)} s, ${trials.length} results, path keeps idle connections ${bounds} (${round1(elapsed)} s)`;
}

/** Measures the path's idle timeout from rounds of trials; prints progress and the result. */
export async function findIdleTimeout(first: net.Socket, target: Target, connectTimeout: number, input: FinderInput, json: boolean, io: Io, signals: Signals): Promise<number> {
  first.destroy(); // it showed the server answers; the trials open their own
  const started = performance.now();
  const trials: Trial[] = [];
  const rounds: number[][] = [];
  let stopped = false;
  let signalled: () => void = () => {};
  const stop = new Promise<void>((resolve) => (signalled = resolve));
  const onSignal = (): void => {
    stopped = true;
    signalled();
  };
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) signals.once(name, onSignal);
  const where = `${target.host}:${target.port}`;
  const elapsed = (): number => (performance.now() - started) / 1000;
  try {
    let ages = firstRoundAges(input.max, input.connections);
    while (ages.length && rounds.length < MAX_ROUNDS && !stopped) {
      rounds.push(ages);
      const current = ages;
      const progress = (): void => {
        const text = progressText(rounds.length, current, trials, elapsed());
        if (io.isTTY && !json) io.write(`\r\x1b[2K${text.slice(0, Math.max(20, io.columns - 1))}`);
      };
      if (!json && !io.isTTY) io.out(`round ${rounds.length}: ${current.length} connections, idle ${current.join(', ')} s`);
      progress();
      await runRound(target, current, connectTimeout, trials, progress, stop);
      const v = verdict(trials);
      if (!v.found || v.serverClosesAfter !== null) break;
      ages = nextRoundAges(v.lowerBound, v.upperBound!, input.connections);
    }
  } finally {
    for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) signals.removeListener(name, onSignal);
  }
  const v = verdict(trials);
  const result: FinderResult = {
    ...v,
    target,
    rounds,
    trials,
    tookSeconds: round1(elapsed()),
    max: input.max,
    stopped,
    plan: v.found && Math.floor(v.lowerBound) >= MIN_BEHIND_TIMEOUT ? `tcp-keepalive plan --behind ${Math.floor(v.lowerBound)}` : null,
  };
  if (io.isTTY && !json) io.write('\r\x1b[2K');
  if (json) io.out(JSON.stringify(result));
  else io.out(finderText(result, where));
  if (trials.length > 0 && trials.every((t) => t.fate === 'error')) return EXIT.failure;
  if (!v.found && v.serverClosesAfter !== null) return EXIT.closed;
  return EXIT.ok;
}
