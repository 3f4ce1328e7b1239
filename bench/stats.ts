// Small statistics for interleaved rounds: medians and spreads, and the
// sanity checks that keep a broken benchmark from printing a pretty table.

/** Median and spread of one series of per-round figures. */
export interface Summary {
  median: number;
  /** 25th and 75th percentiles (the interquartile range). */
  p25: number;
  p75: number;
  min: number;
  max: number;
  /** Number of rounds. */
  n: number;
  /** The per-round figures themselves, in round order (kept in the JSON). */
  values?: number[];
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    p25: quantile(sorted, 0.25),
    p75: quantile(sorted, 0.75),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    n: sorted.length,
    values: values.map((v) => Number(v.toPrecision(6))),
  };
}

/** Element-wise a[i] / b[i]: the per-round ratio of two interleaved series. */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new Error(`ratio of series of different lengths (${a.length}, ${b.length})`);
  return a.map((x, i) => x / b[i]!);
}

/** Element-wise a[i] - b[i]. */
export function differences(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new Error(`difference of series of different lengths (${a.length}, ${b.length})`);
  return a.map((x, i) => x - b[i]!);
}

/** A figure that must be measured: finite and greater than zero. */
export function positive(label: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`bench: ${label} is not a sane measurement (${value}); the benchmark is broken`);
  }
  return value;
}

/** A figure that may be zero or negative (a difference) but must be finite. */
export function finite(label: string, value: number): number {
  if (!Number.isFinite(value)) throw new Error(`bench: ${label} is not finite (${value}); the benchmark is broken`);
  return value;
}

export function positiveSummary(label: string, values: readonly number[]): Summary {
  if (values.length === 0) throw new Error(`bench: ${label} has no rounds`);
  for (const [i, v] of values.entries()) positive(`${label} (round ${i + 1})`, v);
  return summarize(values);
}

export function finiteSummary(label: string, values: readonly number[]): Summary {
  if (values.length === 0) throw new Error(`bench: ${label} has no rounds`);
  for (const [i, v] of values.entries()) finite(`${label} (round ${i + 1})`, v);
  return summarize(values);
}

/** The order of `items` for round `round`: rotated so no variant always runs first. */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
