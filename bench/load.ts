// Comparison 5: process start with require('tcp-keepalive') against a bare
// process and against net-keepalive, interleaved spawns.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { childEnv } from './children';
import { OUT, packageSpecifier, ROOT, type Scale } from './env';
import type { Check, Measure, Section } from './report-types';
import { differences, finiteSummary, positive, positiveSummary, rotate } from './stats';

interface StartVariant {
  label: string;
  /** What the child requires before it reports its RSS. */
  require?: string;
  /** Where the child starts (default: the repository). */
  cwd?: string;
  /** An export the child reads after the require (the package's first use). */
  read?: string;
}

// What every child prints last: its RSS and the CPU time it used since it
// started. process.stdout (a pipe: it loads node:net) is created before the
// CPU time is read, so that every variant's CPU time includes node:net, as
// every variant's elapsed time does; else a package that loads node:net
// itself is charged for it in CPU time only.
export const REPORT =
  'const o=process.stdout;const c=process.cpuUsage();o.write(JSON.stringify({rss:process.memoryUsage.rss(),cpu:c.user+c.system}))';

// An empty package with the same package.json shape as tcp-keepalive (main
// and a conditional exports map), installed where a child started in its
// folder finds it: what requiring any package by name costs Node
// (resolution through the exports map, the first user-land module).
export const EMPTY_PACKAGE = 'tcp-keepalive-bench-empty';

export function emptyPackageFolder(): string {
  const folder = join(OUT, 'load-floor');
  const dir = join(folder, 'node_modules', EMPTY_PACKAGE);
  mkdirSync(dir, { recursive: true });
  const manifest = {
    name: EMPTY_PACKAGE,
    version: '1.0.0',
    main: './index.js',
    types: './index.d.ts',
    exports: { '.': { types: './index.d.ts', default: './index.js' }, './package.json': './package.json' },
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  writeFileSync(join(dir, 'index.js'), "'use strict';\n");
  return folder;
}

interface StartResult {
  ms: number;
  cpuMs: number;
  rssMiB: number;
}

// The children's environment: NODE_EXTRA_CA_CERTS makes every Node process
// read and parse a certificate file as it starts (about 45 ms, varying by
// several ms, on the machine of docs/performance.md), the same for every
// variant: it is left out so that it does not bury a difference of 1 ms.
export function startEnv(): NodeJS.ProcessEnv {
  const env = childEnv();
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

function start(variant: StartVariant): StartResult {
  const code = variant.require ? `require(${JSON.stringify(variant.require)})${variant.read ? `.${variant.read}` : ''};${REPORT}` : REPORT;
  const began = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['-e', code], { cwd: variant.cwd ?? ROOT, env: startEnv(), encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - began) / 1e6;
  if (result.status !== 0) throw new Error(`bench: starting node with ${variant.label} failed: ${result.stderr}`);
  const report = JSON.parse(result.stdout) as { rss: number; cpu: number };
  return {
    ms: positive(`${variant.label} start ms`, ms),
    cpuMs: positive(`${variant.label} start CPU`, report.cpu / 1000),
    rssMiB: positive(`${variant.label} RSS`, report.rss / 2 ** 20),
  };
}

const REGISTER = "require('tcp-keepalive/register')";

export interface LoadOptions {
  /** net-keepalive is there to require (else its reason). */
  netKeepalive: true | string;
  /** The drop-in entry point (`tcp-keepalive/register`), when the package has one. */
  register: boolean;
}

export function loadSection(scale: Scale, options: LoadOptions): Section {
  const variants: StartVariant[] = [
    { label: 'bare node' },
    { label: "require('node:net')", require: 'node:net' },
    { label: "require('tcp-keepalive')", require: packageSpecifier() },
    { label: 'require of an empty package', require: EMPTY_PACKAGE, cwd: emptyPackageFolder() },
    { label: "require('tcp-keepalive').supported (the first use)", require: packageSpecifier(), read: 'supported' },
  ];
  if (options.register) variants.push({ label: REGISTER, require: packageSpecifier('/register') });
  if (options.netKeepalive === true) variants.push({ label: "require('net-keepalive')", require: 'net-keepalive' });
  const ms = new Map<string, number[]>(variants.map((v) => [v.label, []]));
  const cpu = new Map<string, number[]>(variants.map((v) => [v.label, []]));
  const rss = new Map<string, number[]>(variants.map((v) => [v.label, []]));
  for (const v of variants) start(v); // warm the file cache
  for (let round = 0; round < scale.loadRounds; round++) {
    for (const v of rotate(variants, round)) {
      const r = start(v);
      ms.get(v.label)!.push(r.ms);
      cpu.get(v.label)!.push(r.cpuMs);
      rss.get(v.label)!.push(r.rssMiB);
    }
  }
  const measures: Measure[] = [];
  for (const v of variants) {
    measures.push({ label: `${v.label}: start`, unit: 'ms', summary: positiveSummary(`${v.label} ms`, ms.get(v.label)!) });
  }
  for (const v of variants) {
    measures.push({ label: `${v.label}: CPU time of the process`, unit: 'ms', summary: positiveSummary(`${v.label} CPU ms`, cpu.get(v.label)!) });
  }
  for (const v of variants) {
    measures.push({ label: `${v.label}: RSS at exit`, unit: 'MiB', summary: positiveSummary(`${v.label} MiB`, rss.get(v.label)!) });
  }
  const bare = variants[0]!.label;
  const net = variants[1]!.label;
  const ours = variants[2]!.label;
  const empty = variants[3]!.label;
  const checks: Check[] = [];
  for (const v of variants.slice(1)) {
    const added = finiteSummary(`${v.label} added ms`, differences(ms.get(v.label)!, ms.get(bare)!));
    checks.push({ label: `${v.label} adds to start`, unit: 'ms', summary: added, key: v.require === 'net-keepalive' || v.label === empty || v.read !== undefined });
  }
  // The targets: within 1 ms of requiring an empty package, per round (the floor no package can go under).
  for (const v of variants.filter((x) => x.label === ours || x.label === REGISTER)) {
    for (const [clock, times] of [['start', ms], ['CPU time', cpu]] as const) {
      const over = finiteSummary(`${v.label} over empty ${clock}`, differences(times.get(v.label)!, times.get(empty)!));
      checks.push({ label: `${v.label}: ${clock} over the empty package`, unit: 'ms', summary: over, key: true, target: '≤ 1 ms', met: over.median <= 1 });
    }
  }
  // Any program with sockets has loaded node:net already; this is what the package adds beyond it.
  checks.push({
    label: `${ours} adds to start, over a process that loaded node:net`,
    unit: 'ms',
    summary: finiteSummary('over net ms', differences(ms.get(ours)!, ms.get(net)!)),
    key: true,
  });
  for (const v of variants.slice(1)) {
    const added = finiteSummary(`${v.label} added CPU ms`, differences(cpu.get(v.label)!, cpu.get(bare)!));
    checks.push({ label: `${v.label} adds CPU time`, unit: 'ms', summary: added, key: v.require === 'net-keepalive' || v.label === empty || v.read !== undefined });
  }
  for (const v of variants.slice(1)) {
    checks.push({
      key: v.label === ours || v.require === 'net-keepalive',
      label: `${v.label} adds to RSS`,
      unit: 'MiB',
      summary: finiteSummary(`${v.label} added MiB`, differences(rss.get(v.label)!, rss.get(bare)!)),
    });
  }
  return {
    id: 5,
    title: 'Load',
    notes: [
      `node -e "require(X); <print RSS and CPU time>" started with spawnSync from the repository, ${scale.loadRounds} interleaved rounds (rotating order); wall time of each start, the CPU time the child used (start-up is single-threaded work, so on an idle machine the two agree; CPU time stays steady when other processes compete for the cores) and its RSS, each as the difference to the bare start of the same round. The targets (within 1 ms of the empty package, for the package and its preload) are judged on both, on the median of the per-round differences. Every child creates process.stdout (a pipe, which loads node:net) before reading its CPU time, so node:net counts alike in every variant's CPU time and elapsed time. NODE_EXTRA_CA_CERTS is left out of the children's environment (it adds the same certificate parsing, and its variance, to every start).`,
      "require('tcp-keepalive') reads the entry only (dist/index.js); the first read of an export loads the bundle and the addon, measured as require('tcp-keepalive').supported (no target: what a program that uses the package pays once).",
      `The empty package (${EMPTY_PACKAGE}: an empty index.js, and a package.json with main and a conditional exports map as tcp-keepalive's) is required by name from a folder whose node_modules holds it: what Node spends on requiring any package (resolving the name through the exports map, loading the first user-land module), the part of the figure no package can remove.`,
      ...(options.netKeepalive === true ? [] : [`net-keepalive not measured: ${options.netKeepalive}`]),
      ...(options.register ? [] : ["tcp-keepalive/register not measured: the package has no './register' export yet"]),
    ],
    measures,
    checks,
  };
}
