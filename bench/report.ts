// Markdown rendering of a bench run.
import type { Check, Results, Section } from './report-types';
import type { Summary } from './stats';

function digits(value: number): number {
  const size = Math.abs(value);
  return size >= 100 ? 0 : size >= 10 ? 1 : 2;
}

/** A number in its unit: 2 270 ns/op, 1.52×, -0.4 %, 3.1 ms. */
export function format(value: number, unit: string, withUnit = true): string {
  const text = value.toFixed(digits(value)).replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f');
  if (!withUnit) return text;
  if (unit === '×') return `${text}×`;
  return `${text} ${unit}`;
}

function spread(s: Summary, unit: string): string {
  return `${format(s.p25, unit, false)} – ${format(s.p75, unit)}`;
}

function verdict(check: Check): string {
  if (check.met === undefined) return '';
  return check.met ? 'met' : '**missed**';
}

function summaryRows(sections: readonly Section[]): string[] {
  const rows = ['| # | comparison | median | spread (p25 – p75) | target | |', '|---|---|---|---|---|---|'];
  for (const section of sections) {
    if (section.skipped) {
      rows.push(`| ${section.id} | ${section.title} | ${section.skipped} | | | |`);
      continue;
    }
    for (const check of section.checks.filter((c) => c.target !== undefined || c.key === true)) {
      rows.push(`| ${section.id} | ${check.label} | ${format(check.summary.median, check.unit)} | ${spread(check.summary, check.unit)} | ${check.target ?? ''} | ${verdict(check)} |`);
    }
  }
  return rows;
}

function sectionLines(section: Section): string[] {
  const lines = [`### ${section.id}. ${section.title}`, ''];
  if (section.skipped) return [...lines, section.skipped, ''];
  for (const note of section.notes) lines.push(`- ${note}`);
  lines.push('', '| measured | median | spread (p25 – p75) | min – max | rounds |', '|---|---|---|---|---|');
  for (const m of section.measures) {
    const s = m.summary;
    lines.push(`| ${m.label} | ${format(s.median, m.unit)} | ${spread(s, m.unit)} | ${format(s.min, m.unit, false)} – ${format(s.max, m.unit)} | ${s.n} |`);
  }
  lines.push('', '| compared | median | spread (p25 – p75) | min – max | target | |', '|---|---|---|---|---|---|');
  for (const c of section.checks) {
    const s = c.summary;
    lines.push(
      `| ${c.label} | ${format(s.median, c.unit)} | ${spread(s, c.unit)} | ${format(s.min, c.unit, false)} – ${format(s.max, c.unit)} | ${c.target ?? ''} | ${verdict(c)} |`,
    );
  }
  lines.push('');
  return lines;
}

export function machineLine(results: Results): string {
  const m = results.machine;
  const load = `load average ${m.loadStart.join(' / ')} at start${m.loadEnd ? `, ${m.loadEnd.join(' / ')} at end` : ''} (1 / 5 / 15 min)`;
  return (
    `${m.cpu}, ${m.cpus} CPUs, ${m.memoryGiB} GiB; ${m.platform} ${m.kernel} ${m.arch}; Node ${m.node} (V8 ${m.v8}, libuv ${m.uv}); ` +
    `tcp-keepalive ${m.packageVersion}${m.packageDir ? ` (from ${m.packageDir})` : ''}, net-keepalive ${m.netKeepalive}; C floor built with ${results.floorCompiler}; ${m.date}; ${load}`
  );
}

/** The command, the machine and the summary table (what the README shows). */
export function summaryMarkdown(results: Results): string {
  return [`\`${results.command}\` — ${machineLine(results)}`, '', ...summaryRows(results.sections), ''].join('\n');
}

export function markdown(results: Results): string {
  const lines = [
    `## tcp-keepalive benchmarks${results.quick ? ' (quick mode: tiny counts, figures are not meaningful)' : ''}`,
    '',
    `\`${results.command}\` — ${machineLine(results)}`,
    '',
    'Each comparison runs its variants interleaved in the same run (rotating order), several rounds; the figures are the median and spread of the per-round ratios or differences. The summary shows the targets and the reference points; every figure is in the sections below.',
    '',
    ...summaryRows(results.sections),
    '',
  ];
  for (const section of results.sections) lines.push(...sectionLines(section));
  return lines.join('\n');
}
