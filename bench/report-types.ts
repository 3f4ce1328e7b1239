// The shape of a bench run's results (written as JSON, rendered as Markdown).
import type { Machine } from './env';
import type { Summary } from './stats';

/** One measured variant: its per-round figures summarized. */
export interface Measure {
  label: string;
  /** 'ns/op', 'conn/s', 'req/s', 'ms', 'MiB', 'B/socket', ... */
  unit: string;
  summary: Summary;
}

/** A comparison of two interleaved variants, per round, with its target. */
export interface Check {
  label: string;
  /** '×' for a ratio, '%' for an overhead, 'ms', 'B/socket', ... */
  unit: string;
  summary: Summary;
  /** The goal in words (for example '≤ 1.25×'), and whether the median meets it. */
  target?: string;
  met?: boolean;
  /** Shown in the summary table although it has no target (the floors, the reference points). */
  key?: boolean;
}

export interface Section {
  id: number;
  title: string;
  /** What exactly was run, for the reader. */
  notes: string[];
  measures: Measure[];
  checks: Check[];
  /** Set when the section could not run here, with the reason. */
  skipped?: string;
}

export interface Results {
  machine: Machine;
  quick: boolean;
  command: string;
  floorCompiler: string;
  sections: Section[];
}
