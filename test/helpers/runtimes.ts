// Bun and Deno, fetched from npm at pinned versions (scripts/fetch-node.sh,
// cached like the Node builds), and the scenario script
// (test/fixtures/runtimes/scenarios.cjs) run inside them, step by step:
// each step's connections are read through `ss` by the host while the
// runtime holds them open. Used by test/runtimes.test.ts.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { jsonLines } from './lines';
import { fetchNode, root, spawnGroup, type RuntimePackage } from './platforms';

export interface RuntimeSpec {
  readonly name: 'bun' | 'deno';
  readonly title: string;
  readonly pkg: RuntimePackage;
  readonly version: string;
  /** The executable, inside the unpacked package. */
  readonly binary: string;
  /** Arguments that run `script` with the preload given on the command line. */
  preloadArgs(register: string, script: string): string[];
  /** Arguments that run `script`; the preload, if any, comes from `preloadEnv`. */
  plainArgs(script: string): string[];
  /** The environment variable that carries the preload in this runtime. */
  preloadEnv(register: string): NodeJS.ProcessEnv;
}

// Deno: the package needs --allow-read (its files), --allow-env (its
// variables) and --allow-ffi (the addon); the scenarios also open sockets,
// write temporary files and run `ss`, so the tests give -A.
export const RUNTIMES: readonly RuntimeSpec[] = [
  {
    name: 'bun',
    title: 'Bun',
    pkg: '@oven/bun-linux-x64',
    version: process.env.BUN_VERSION ?? '1.4.5',
    binary: path.join('bin', 'bun'),
    preloadArgs: (register, script) => ['--preload', register, script],
    plainArgs: (script) => [script],
    preloadEnv: (register) => ({ BUN_OPTIONS: `--preload ${register}` }),
  },
  {
    name: 'deno',
    title: 'Deno',
    pkg: '@deno/linux-x64-glibc',
    version: process.env.DENO_VERSION ?? '2.9.6',
    binary: 'deno',
    preloadArgs: (register, script) => ['run', '-A', '--require', register, script],
    plainArgs: (script) => ['run', '-A', script],
    preloadEnv: (register) => ({ NODE_OPTIONS: `--require ${register}` }),
  },
];

/** The runtime's executable, fetched once into the platform cache. */
export async function fetchRuntime(spec: RuntimeSpec): Promise<string> {
  const binary = path.join(await fetchNode(spec.pkg, spec.version), spec.binary);
  fs.chmodSync(binary, 0o755); // npm pack keeps the mode; set it anyway for older caches
  return binary;
}

export const SCENARIOS = path.join(root, 'test', 'fixtures', 'runtimes', 'scenarios.cjs');
export const REGISTER = path.join(root, 'dist', 'register.js');
export const PACKAGE = path.join(root, 'dist', 'index.js');

/** A connection a step asks the host to read: its ports, and the idle `ss` should show (0: no keepalive). */
export interface StepSocket {
  label: string;
  localPort: number;
  remotePort: number;
  idle: number;
}

export interface StepMessage {
  step: string;
  sockets: StepSocket[];
  facts: Record<string, unknown>;
  failed?: string;
}

/** One run of the scenario script in a runtime, driven a step at a time. */
export interface ScenarioRun {
  readonly child: ChildProcess;
  /** The next step (null after `ms` without one); a non-JSON line or the exit (with stderr) comes as { failed }. */
  next(ms: number): Promise<StepMessage | null>;
  /** Lets the script go on past the step it printed. */
  proceed(): void;
}

/** `env` is the whole environment (from cleanEnv): a NODE_OPTIONS in it is the preload under test (Deno). */
export function startScenario(command: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): ScenarioRun {
  const child = spawnGroup(command, args, timeoutMs, { env, stdio: ['pipe', 'pipe', 'pipe'] }, true);
  return { child, next: jsonLines<StepMessage>(child), proceed: () => child.stdin!.write('go\n') };
}
