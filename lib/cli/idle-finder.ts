// The arithmetic of `probe --find-idle-timeout`: which idle ages to try, and
// what the connections' fates say about the path. Pure: no sockets, no
// clocks.
//
// Each connection sets keepalive idle to its age and sends nothing, so its
// first keepalive probe goes out after exactly that much silence. A path
// that forgets idle flows after T seconds answers a probe sent at an age
// below T as usual (the peer's ACK comes back), and one sent at an age above
// T with a reset (a NAT or load balancer that rejects unknown flows) or not
// at all (a firewall that drops them: the probes then go unanswered and the
// kernel gives up with ETIMEDOUT). So T lies above the largest silence that
// survived and at or below the smallest that failed; the next round tries
// ages between the two.
//
// The silence is what was measured, not the age asked for: the kernel's
// timer wheel fires a long timer late (Linux: up to about 4 s for one of 32 s
// or more), so a probe asked for at 44 s may go out at 47 s. A survivor's
// silence is when the ACK of its probe came (TCP_INFO), a reset's when the
// reset came, a timeout's when its first unanswered probe went out.

/** How one connection of the measurement ended, or that it survived its probe. */
export type Fate =
  /** Its first probe, at its age, was answered: the path kept the flow that long. */
  | 'survived'
  /** ECONNRESET: a reset, in answer to the probe (or sent by the path or server on its own). */
  | 'reset'
  /** ETIMEDOUT: the probes went unanswered. */
  | 'timeout'
  /** FIN: the server closed the connection (it closes idle connections itself). */
  | 'fin'
  /** Any other error (the message says which). */
  | 'error';

/** One connection's result. */
export interface Trial {
  /** Its keepalive idle: the silence before its first probe, seconds. */
  age: number;
  fate: Fate;
  /** Seconds from its connect to its end (or to the moment it was known to have survived). */
  endedAfter: number;
  /**
   * Seconds of silence when its first probe went out (measured, see above);
   * null when not known (survived by the fallback timer on an OS that does
   * not report when the last ACK came; errors).
   */
  probedAfter: number | null;
  /** The error code, when it ended with one. */
  code?: string;
}

/** What the trials say. */
export interface Verdict {
  /** Whether the path forgot a flow within the ages tried. */
  found: boolean;
  /** The longest silence that survived, seconds (0 when none did): the path keeps an idle flow at least this long. */
  lowerBound: number;
  /** The shortest silence that failed, seconds, or null when none did: the path forgets an idle flow by then. */
  upperBound: number | null;
  /** The middle of the bounds, when found. */
  estimate: number | null;
  /** Half the distance between the bounds, when found. */
  tolerance: number | null;
  /** How the path treats a forgotten flow: 'reset' (RST), 'silence' (drops), both when trials disagree, null when none failed. */
  how: 'reset' | 'silence' | 'both' | null;
  /** The earliest FIN, seconds after connect: the server closes idle connections itself. */
  serverClosesAfter: number | null;
  /** Ages that survived above an age that failed: the path is not consistent (a load balancer with several back ends, a lost probe). */
  contradictions: number[];
  /** Trials by fate. */
  counts: Record<Fate, number>;
}

/** The smallest age tried: a probe needs a second of silence at least. */
export const MIN_AGE = 2;

/** Whole-second ages from `low` to `high`, spread geometrically, at most `n`, ascending, no repeats. */
export function spreadAges(low: number, high: number, n: number): number[] {
  if (high < low || n < 1) return [];
  if (n === 1 || high === low) return [high];
  const ages = new Set<number>();
  for (let i = 0; i < n; i++) ages.add(Math.round(low * (high / low) ** (i / (n - 1))));
  return [...ages].sort((a, b) => a - b);
}

/** The first round: ages across [MIN_AGE, max]. */
export function firstRoundAges(max: number, n: number): number[] {
  return spreadAges(MIN_AGE, Math.max(MIN_AGE, max), n);
}

/** Bounds this close need no further round: 2 s, or 5 % of the timeout (a round takes as long as the timeout). */
export const closeEnough = (lower: number, upper: number): boolean => upper - lower <= Math.max(2, upper / 20);

/**
 * The next round: at most `n` whole-second ages strictly between the longest
 * silence that survived and the shortest that failed, evenly spaced; []
 * when there is none, or the bounds are close enough already.
 */
export function nextRoundAges(lower: number, upper: number, n: number): number[] {
  const low = Math.floor(lower);
  const high = Math.ceil(upper);
  const inside = high - low - 1;
  if (closeEnough(lower, upper) || inside < 1 || n < 1) return [];
  const ages = new Set<number>();
  if (inside <= n) for (let a = low + 1; a < high; a++) ages.add(a);
  else for (let i = 1; i <= n; i++) ages.add(low + Math.round((i * (high - low)) / (n + 1)));
  return [...ages].filter((a) => a > lower && a < upper).sort((a, b) => a - b);
}

const isFailure = (t: Trial): boolean => t.fate === 'reset' || t.fate === 'timeout';

/** The silence a trial saw before its probe: measured, or the age asked for when not known. */
export const silenceOf = (t: Trial): number => t.probedAfter ?? t.age;

/** Whether a pending trial of age `age` can still change the bounds: only one below the shortest failure. */
export function stillNeeded(age: number, trials: readonly Trial[]): boolean {
  const failures = trials.filter(isFailure).map(silenceOf);
  return failures.length === 0 || age < Math.min(...failures);
}

const tenth = (x: number): number => Math.round(x * 10) / 10;

/** Reads the bounds, how the path failed, and the server's own closing, from all trials so far. */
export function verdict(trials: readonly Trial[]): Verdict {
  const counts: Record<Fate, number> = { survived: 0, reset: 0, timeout: 0, fin: 0, error: 0 };
  for (const t of trials) counts[t.fate]++;
  const failures = trials.filter(isFailure);
  const upperBound = failures.length ? tenth(Math.min(...failures.map(silenceOf))) : null;
  const survived = trials.filter((t) => t.fate === 'survived').map(silenceOf);
  const below = upperBound === null ? survived : survived.filter((a) => a < upperBound);
  const lowerBound = below.length ? tenth(Math.max(...below)) : 0;
  const contradictions = upperBound === null ? [] : survived.filter((a) => a >= upperBound).map(tenth).sort((a, b) => a - b);
  const fins = trials.filter((t) => t.fate === 'fin').map((t) => t.endedAfter);
  const found = upperBound !== null;
  const how = !found ? null : counts.reset && counts.timeout ? 'both' : counts.reset ? 'reset' : 'silence';
  return {
    found,
    lowerBound,
    upperBound,
    estimate: found ? tenth((lowerBound + upperBound) / 2) : null,
    tolerance: found ? tenth((upperBound - lowerBound) / 2) : null,
    how,
    serverClosesAfter: fins.length ? Math.min(...fins) : null,
    contradictions,
    counts,
  };
}
