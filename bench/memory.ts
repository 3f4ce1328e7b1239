// Comparison 4: memory retained after many sockets went through the
// installed policy, against a baseline run without it (child processes,
// interleaved, heap after forced GC).
import { join } from 'node:path';

import { runChild } from './children';
import type { Scale } from './env';
import type { Check, Measure, Section } from './report-types';
import { finite, finiteSummary, positive, rotate } from './stats';

interface ChildResult {
  sockets: number;
  heapBefore: number;
  heapAfter: number;
  rssBefore: number;
  rssAfter: number;
  externalBefore: number;
  externalAfter: number;
}

type Mode = 'plain' | 'policy';
const MODES: readonly Mode[] = ['plain', 'policy'];
const LABEL: Record<Mode, string> = { plain: 'without policy', policy: 'with policy' };

export async function memorySection(scale: Scale, policyError: string | undefined): Promise<Section> {
  const section: Section = { id: 4, title: 'Memory', notes: [], measures: [], checks: [] };
  if (policyError) {
    section.skipped = `not measured: ${policyError}`;
    return section;
  }
  const script = join(__dirname, 'memory-child.js');
  const heap = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  const rss = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  const external = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  let sockets = 0;
  for (let round = 0; round < scale.memoryRounds; round++) {
    for (const mode of rotate(MODES, round)) {
      const r = await runChild<ChildResult>(script, [mode, String(scale.memoryConnections)], ['--expose-gc']);
      sockets = positive('sockets', r.sockets);
      for (const [k, v] of Object.entries(r)) positive(`memory ${mode} ${k}`, v as number);
      heap.get(mode)!.push(finite('heap per socket', (r.heapAfter - r.heapBefore) / r.sockets));
      rss.get(mode)!.push(finite('RSS per socket', (r.rssAfter - r.rssBefore) / r.sockets));
      external.get(mode)!.push(finite('external per socket', (r.externalAfter - r.externalBefore) / r.sockets));
    }
  }
  section.notes.push(
    `A child process (node --expose-gc) per run: ${scale.memoryConnections} loopback connections (${sockets} sockets: each client and its accepted socket) opened and closed, 16 in flight, after a 2000-connection warm-up; heap (heapUsed), external memory and RSS after forced GC, before and after; divided by the number of sockets.`,
    `With policy: install('general') for clients and servers. ${scale.memoryRounds} interleaved runs of each.`,
    'Noise: the largest spread (max − min) of either series, at least 1 B/socket; the target is met when the difference of the medians is within it.',
  );
  const measures: Measure[] = [];
  for (const mode of MODES) {
    measures.push({ label: `heap retained, ${LABEL[mode]}`, unit: 'B/socket', summary: finiteSummary(`heap ${mode}`, heap.get(mode)!) });
  }
  for (const mode of MODES) {
    measures.push({ label: `external retained, ${LABEL[mode]}`, unit: 'B/socket', summary: finiteSummary(`external ${mode}`, external.get(mode)!) });
  }
  for (const mode of MODES) {
    measures.push({ label: `RSS growth, ${LABEL[mode]}`, unit: 'B/socket', summary: finiteSummary(`rss ${mode}`, rss.get(mode)!) });
  }
  section.measures = measures;
  const plain = finiteSummary('heap plain', heap.get('plain')!);
  const policy = finiteSummary('heap policy', heap.get('policy')!);
  const noise = Math.max(1, plain.max - plain.min, policy.max - policy.min);
  const diff = policy.median - plain.median;
  const retained: Check = {
    label: 'heap retained by the policy (with − without)',
    unit: 'B/socket',
    summary: { median: diff, p25: policy.p25 - plain.p75, p75: policy.p75 - plain.p25, min: policy.min - plain.max, max: policy.max - plain.min, n: plain.n },
    target: `0 within noise (±${noise.toFixed(2)})`,
    met: Math.abs(diff) <= noise,
  };
  const rssPlain = finiteSummary('rss plain', rss.get('plain')!);
  const rssPolicy = finiteSummary('rss policy', rss.get('policy')!);
  const rssCheck: Check = {
    label: 'RSS growth with the policy (with − without)',
    unit: 'B/socket',
    summary: {
      median: rssPolicy.median - rssPlain.median,
      p25: rssPolicy.p25 - rssPlain.p75,
      p75: rssPolicy.p75 - rssPlain.p25,
      min: rssPolicy.min - rssPlain.max,
      max: rssPolicy.max - rssPlain.min,
      n: rssPlain.n,
    },
  };
  section.checks = [retained, rssCheck];
  return section;
}
