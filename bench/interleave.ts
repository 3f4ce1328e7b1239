// Interleaved timing: every variant runs once per round, in a rotating
// order, so slow phases of a noisy machine hit all of them alike.
import { positive, rotate } from './stats';

/** Elapsed (wall-clock) and CPU nanoseconds of one sample. */
export interface Sample {
  wall: number;
  cpu: number;
}

/**
 * Which clock the comparisons use. 'cpu' (the default): CPU time of the
 * measuring process, user + system (getrusage in Node, CLOCK_PROCESS_CPUTIME_ID
 * in C), which time slices lost to other processes on a busy machine do not
 * inflate. 'wall': elapsed time.
 */
export type ClockName = keyof Sample;

export interface Variant {
  label: string;
  /** Runs `n` operations; returns the elapsed and CPU nanoseconds. */
  sample(n: number): Promise<Sample> | Sample;
  /** Throws if the operations did not take effect (called after each sample). */
  verify?(): void;
}

export interface Stopwatch {
  wall: bigint;
  cpu: NodeJS.CpuUsage;
}

export function startWatch(): Stopwatch {
  return { cpu: process.cpuUsage(), wall: process.hrtime.bigint() };
}

export function stopWatch(start: Stopwatch): Sample {
  const wall = Number(process.hrtime.bigint() - start.wall);
  const cpu = process.cpuUsage(start.cpu);
  return { wall, cpu: (cpu.user + cpu.system) * 1000 };
}

/** Finds an operation count whose sample lasts about `sampleMs`, warming up on the way. */
async function calibrate(variant: Variant, sampleMs: number): Promise<number> {
  const goal = sampleMs * 1e6;
  let n = 8;
  for (;;) {
    const { wall } = await variant.sample(n);
    variant.verify?.();
    if (wall >= goal / 4 || n >= 1 << 24) return Math.max(1, Math.round((n * goal) / Math.max(wall, 1)));
    n *= 4;
  }
}

/** Nanoseconds per operation of each variant on each clock, one figure per round. */
export async function interleave(
  variants: readonly Variant[],
  rounds: number,
  sampleMs: number,
): Promise<Record<ClockName, Map<string, number[]>>> {
  const counts = new Map<Variant, number>();
  for (const v of variants) counts.set(v, await calibrate(v, sampleMs));
  // A second pass, now that everything has been compiled once.
  for (const v of variants) counts.set(v, await calibrate(v, sampleMs));
  const wall = new Map<string, number[]>(variants.map((v) => [v.label, []]));
  const cpu = new Map<string, number[]>(variants.map((v) => [v.label, []]));
  for (let round = 0; round < rounds; round++) {
    for (const v of rotate(variants, round)) {
      const n = counts.get(v)!;
      const sample = await v.sample(n);
      v.verify?.();
      wall.get(v.label)!.push(positive(`${v.label} ns/op (wall)`, sample.wall / n));
      cpu.get(v.label)!.push(positive(`${v.label} ns/op (CPU)`, sample.cpu / n));
    }
  }
  return { wall, cpu };
}
