// `npm run bench`: the six comparisons of the performance issue, written
// as Markdown and JSON (machine, Node version, date) to bench/results/.
//
//   npm run bench                       the full suite (a few minutes)
//   npm run bench -- --quick            tiny counts: checks the bench works, figures meaningless
//   npm run bench -- --only 1,2         some comparisons only
//   npm run bench -- --out DIR          write the results elsewhere
//   npm run bench -- --clock wall       time comparisons 1 and 2 by elapsed time, not CPU time
//   npm run bench -- --package DIR      measure another build of the package (a scratch copy with a proposed change)
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { connectionSection } from './connections';
import { loadInstall, loadNetKeepalive, loadPackage, machine, ROOT, scale } from './env';
import { compileFloor, Floor } from './floor';
import { loadSection } from './load';
import { memorySection } from './memory';
import { markdown, summaryMarkdown } from './report';
import type { Results, Section } from './report-types';
import { benchRuntimes, runtimesSection } from './runtimes';
import { setAndReadSections } from './syscalls';

/** The command as a reader would retype it (without --out, which only moves the files). */
function commandLine(args: readonly string[]): string {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out') i++;
    else if (!args[i]!.startsWith('--out=')) kept.push(args[i]!);
  }
  return kept.length > 0 ? `npm run bench -- ${kept.join(' ')}` : 'npm run bench';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      clock: { type: 'string', default: 'cpu' },
      package: { type: 'string' },
    },
  });
  if (values.package) process.env.TCP_KEEPALIVE_BENCH_PACKAGE = resolve(values.package);
  const quick = values.quick === true;
  const clock = values.clock;
  if (clock !== 'cpu' && clock !== 'wall') throw new Error(`--clock takes cpu or wall, not ${clock}`);
  const only = new Set((values.only ?? '1,2,3,4,5,6').split(',').map((x) => Number(x.trim())));
  for (const id of only) if (!(id >= 1 && id <= 6)) throw new Error(`--only takes comparison numbers 1 to 6, not ${id}`);
  const outDir = values.out ?? join(ROOT, 'bench', 'results');
  const sizes = scale(quick);

  const nk = loadNetKeepalive();
  const installed = loadInstall();
  const pkg = loadPackage();
  const results: Results = {
    machine: machine('version' in nk ? nk.version : `not installed (${nk.error})`),
    quick,
    command: commandLine(process.argv.slice(2)),
    floorCompiler: '',
    sections: [],
  };
  const log = (text: string): void => void process.stderr.write(`bench: ${text}\n`);
  log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${quick ? 'quick mode' : 'full run'}`);

  const sections: Section[] = [];
  if (only.has(1) || only.has(2) || only.has(3) || only.has(6)) {
    const floorBuild = compileFloor();
    results.floorCompiler = floorBuild.compiler;
    const floors = { threaded: await Floor.start(floorBuild.binary, true), single: await Floor.start(floorBuild.binary, false) };
    try {
      if (only.has(1) || only.has(2)) {
        log('1, 2: set and read cost');
        const [set, read] = await setAndReadSections(sizes, clock, pkg, floors, nk);
        if (only.has(1)) sections.push(set!);
        if (only.has(2)) sections.push(read!);
      }
      if (only.has(3)) {
        log('3: connection rate with and without the policy');
        sections.push(await connectionSection(sizes, 'error' in installed ? installed : undefined, floors.threaded));
      }
      if (only.has(6)) {
        log('6: Bun and Deno');
        sections.push(await runtimesSection(sizes, floors.threaded, await benchRuntimes()));
      }
    } finally {
      await floors.threaded.stop();
      await floors.single.stop();
    }
  }
  if (only.has(4)) {
    log('4: memory through the policy');
    sections.push(await memorySection(sizes, 'error' in installed ? installed.error : undefined));
  }
  if (only.has(5)) {
    log('5: process start');
    sections.push(loadSection(sizes, { netKeepalive: 'module' in nk ? true : nk.error, register: 'install' in installed }));
  }
  results.sections = sections.sort((a, b) => a.id - b.id);
  results.machine.loadEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);

  const text = markdown(results);
  mkdirSync(outDir, { recursive: true });
  const stamp = results.machine.date.replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const name = `bench-${stamp}${quick ? '-quick' : ''}`;
  writeFileSync(join(outDir, `${name}.json`), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(outDir, `${name}.md`), text);
  writeFileSync(join(outDir, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(outDir, 'latest.md'), text);
  writeFileSync(join(outDir, 'latest-summary.md'), summaryMarkdown(results));
  process.stdout.write(text);
  log(`written to ${join(outDir, name)}.{md,json}, latest.{md,json} and latest-summary.md (the README's table)`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
