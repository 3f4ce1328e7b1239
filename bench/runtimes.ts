// Comparison 6: the policy's connection overhead and the package's start-up
// in Bun and Deno, fetched from npm at the versions the tests pin
// (test/helpers/runtimes.ts), with the same children, rounds and targets
// as comparisons 3 and 5 in Node.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { ChildRuntime } from './children';
import { floorShare, interleaved, measuresOf, overFloor, overhead, type Setting } from './connections';
import { OUT, ROOT, type Scale } from './env';
import type { Floor } from './floor';
import { emptyPackageFolder, REPORT, startEnv } from './load';
import type { Check, Measure, Section } from './report-types';
import { differences, finiteSummary, positive, rotate } from './stats';
import { fetchRuntime, RUNTIMES } from '../test/helpers/runtimes';

const SETTINGS: readonly Setting[] = ['without policy', 'with policy'];
// Outside Node the policy reaches sockets one by one (lib/policy-handles.ts:
// HANDLES_HAVE_FDS is Node's only), so both ends of a loopback connection
// apply it: two applications per connection.
const APPLICATIONS = 2;

/** Bun and Deno as bench children run them (Deno: -A, and the script as .cjs). */
export async function benchRuntimes(): Promise<ChildRuntime[]> {
  const found: ChildRuntime[] = [];
  for (const spec of RUNTIMES) {
    const command = await fetchRuntime(spec);
    found.push({ title: `${spec.title} ${spec.version}`, command, args: spec.name === 'deno' ? ['run', '-A'] : [], cjs: spec.name === 'deno' });
  }
  return found;
}

// The start-up child: requires its first argument (when given), reads the
// export named by the second, then reports as comparison 5's children do.
const START = join(OUT, 'runtime-start.cjs');
const START_SOURCE = `'use strict';
const [spec, read] = process.argv.slice(2);
if (spec) { const m = require(spec); if (read) void m[read]; }
${REPORT};
`;

interface StartVariant {
  label: string;
  args: string[];
}

function startOnce(runtime: ChildRuntime, variant: StartVariant): { ms: number; cpu: number } {
  const began = process.hrtime.bigint();
  const result = spawnSync(runtime.command, [...runtime.args, START, ...variant.args], { cwd: ROOT, env: startEnv(), encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - began) / 1e6;
  if (result.status !== 0) throw new Error(`bench: ${runtime.title} starting with ${variant.label} failed: ${result.stderr}`);
  const report = JSON.parse(result.stdout) as { cpu: number };
  return { ms: positive(`${runtime.title} ${variant.label} ms`, ms), cpu: positive(`${runtime.title} ${variant.label} CPU`, report.cpu / 1000) };
}

function startChecks(runtime: ChildRuntime, scale: Scale): Check[] {
  writeFileSync(START, START_SOURCE);
  const empty: StartVariant = { label: 'an empty package', args: [join(emptyPackageFolder(), 'node_modules', 'tcp-keepalive-bench-empty')] };
  const ours: StartVariant = { label: "require('tcp-keepalive')", args: [ROOT] };
  const register: StartVariant = { label: "require('tcp-keepalive/register')", args: [join(ROOT, 'dist', 'register.js')] };
  const variants = [empty, ours, register];
  const ms = new Map<string, number[]>(variants.map((v) => [v.label, []]));
  const cpu = new Map<string, number[]>(variants.map((v) => [v.label, []]));
  for (const v of variants) startOnce(runtime, v); // warm the file cache
  for (let round = 0; round < scale.loadRounds; round++) {
    for (const v of rotate(variants, round)) {
      const r = startOnce(runtime, v);
      ms.get(v.label)!.push(r.ms);
      cpu.get(v.label)!.push(r.cpu);
    }
  }
  const checks: Check[] = [];
  for (const v of [ours, register]) {
    for (const [clock, times] of [['start', ms], ['CPU time', cpu]] as const) {
      const label = `${runtime.title}: ${v.label}: ${clock} over the empty package`;
      const over = finiteSummary(label, differences(times.get(v.label)!, times.get(empty.label)!));
      checks.push({ label, unit: 'ms', summary: over, key: true, target: '≤ 1 ms', met: over.median <= 1 });
    }
  }
  return checks;
}

export async function runtimesSection(scale: Scale, floor: Floor, runtimes: readonly ChildRuntime[]): Promise<Section> {
  const cyclesPerRound = Math.round(scale.connectCycles / scale.connectRounds);
  const requestsPerRound = Math.round(scale.httpRequests / scale.httpRounds);
  const measures: Measure[] = [];
  const checks: Check[] = [];
  for (const runtime of runtimes) {
    const connect = await interleaved('connect', floor, scale.connectRounds, cyclesPerRound, SETTINGS, runtime);
    const close = await interleaved('close', floor, scale.httpRounds, requestsPerRound, SETTINGS, runtime);
    const keepalive = await interleaved('keepalive', floor, scale.httpRounds, requestsPerRound, SETTINGS, runtime);
    measures.push(...measuresOf(`${runtime.title}: connect + accept`, 'cycles/s', connect));
    measures.push(...measuresOf(`${runtime.title}: HTTP new connection per request`, 'req/s', close));
    measures.push(...measuresOf(`${runtime.title}: HTTP keep-alive agent`, 'req/s', keepalive));
    for (const [name, rounds] of [['connect + accept', connect], ['HTTP new connection per request', close]] as const) {
      checks.push(overhead(`${runtime.title}: ${name}: policy overhead (CPU per operation)`, rounds.cpu, 'cost'));
      checks.push(floorShare(`${runtime.title}: ${name}: system-call floor of the overhead (${APPLICATIONS} × 11 calls)`, rounds, APPLICATIONS));
      checks.push(overFloor(`${runtime.title}: ${name}: overhead ÷ floor (CPU)`, rounds, APPLICATIONS, 1.3));
    }
    checks.push(overhead(`${runtime.title}: HTTP keep-alive agent: policy overhead (throughput)`, keepalive.rate, 'rate', 3));
    checks.push(overhead(`${runtime.title}: HTTP keep-alive agent: policy overhead (CPU per request)`, keepalive.cpu, 'cost', 3));
    checks.push(...startChecks(runtime, scale));
  }
  return {
    id: 6,
    title: 'Bun and Deno',
    notes: [
      `${runtimes.map((r) => r.title).join(' and ')}, fetched from npm (test/helpers/runtimes.ts), run comparison 3's children (bench/traffic-child.js; Deno with -A, through a .cjs that requires it) without and with the policy: connect + accept, ${cyclesPerRound} cycles a round, and HTTP requests, ${requestsPerRound} a round, ${scale.connectRounds} and ${scale.httpRounds} interleaved rounds. Outside Node the policy is applied to each socket (${APPLICATIONS} applications per connection: the client and the accepted end); the floor is the same C floor (bench/floor.c "apply", 11 calls) measured each round, and the targets are comparison 3's.`,
      `Start-up: each runtime runs bench/out/runtime-start.cjs, which requires the empty package of comparison 5, the package or its preload by path (the directory, or dist/register.js), ${scale.loadRounds} interleaved rounds; the difference to the empty package per round, judged as in comparison 5 (within 1 ms).`,
    ],
    measures,
    checks,
  };
}
