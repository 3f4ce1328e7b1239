// Running the tcp-keepalive command as users do (bin/tcp-keepalive.js over
// the compiled dist/), with or without a pseudo-terminal, and waiting for
// its output with a bound on every wait. Children are killed at teardown.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as path from 'node:path';

import type { Teardown } from './net';
import { scaled } from './tools';

export const ROOT = path.join(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'tcp-keepalive.js');

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout; rejects after `ms` (scaled: tools.ts) or when the process exits first. */
  waitFor(pattern: RegExp, ms: number): Promise<RegExpMatchArray>;
  /** Resolves when the process exits; kills it (SIGKILL) and rejects after `ms` (scaled: tools.ts). */
  done(ms: number): Promise<Finished>;
}

/** Wraps a spawned child: output collected, bounded waits, killed at teardown. */
export function track(t: Teardown, child: ChildProcess): Running {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => (out += d));
  child.stderr?.on('data', (d: string) => (err += d));
  const exited = new Promise<Finished>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
  });
  let finished = false;
  void exited.then(() => (finished = true));
  t.teardown(() => {
    if (!finished) child.kill('SIGKILL');
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor: (pattern, bound) =>
      new Promise((resolve, reject) => {
        const ms = scaled(bound);
        const deadline = Date.now() + ms;
        const check = (): void => {
          const match = out.match(pattern);
          if (match) {
            resolve(match);
            return;
          }
          if (finished) {
            reject(new Error(`exited before ${pattern} appeared:\n${out}\n${err}`));
            return;
          }
          if (Date.now() > deadline) {
            reject(new Error(`${pattern} did not appear within ${ms} ms:\n${out}\n${err}`));
            return;
          }
          setTimeout(check, 20);
        };
        check();
      }),
    done: (bound) =>
      new Promise((resolve, reject) => {
        const ms = scaled(bound);
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`did not exit within ${ms} ms:\n${out}\n${err}`));
        }, ms);
        void exited.then((result) => {
          clearTimeout(timer);
          resolve(result);
        });
      }),
  };
}

/** Starts `tcp-keepalive ARGS` without a terminal (stdout is a pipe). */
export function startCli(t: Teardown, args: string[], options: SpawnOptions = {}): Running {
  return track(t, spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...options }));
}

/** Runs `tcp-keepalive ARGS` to its end (at most `ms`). */
export function runCli(t: Teardown, args: string[], ms = 20_000, options: SpawnOptions = {}): Promise<Finished> {
  return startCli(t, args, options).done(ms);
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line that runs `tcp-keepalive ARGS` under a pseudo-terminal
 * with util-linux `script` (its stdin is passed to the terminal, so writing
 * "\x03" there is a real Ctrl-C). `cols` sets the terminal width.
 */
export function ptyCommand(args: string[], cols = 200): [string, string[]] {
  const inner = `stty cols ${cols}; exec ${[process.execPath, BIN, ...args].map(shellQuote).join(' ')}`;
  return ['script', ['-qfec', inner, '/dev/null']];
}

/** Starts `tcp-keepalive ARGS` on a pseudo-terminal. */
export function startCliInPty(t: Teardown, args: string[], options: SpawnOptions = {}): Running {
  const [command, argv] = ptyCommand(args);
  return track(t, spawn(command, argv, { stdio: ['pipe', 'pipe', 'pipe'], ...options }));
}

// Python starts the command with stdout on a pipe whose read end is already
// closed, so its first write fails with EPIPE whatever the timing.
const CLOSED_PIPE = `
import json, os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE, timeout=20)
os.close(w)
print(json.dumps({"code": p.returncode, "stderr": p.stderr.decode()}))
`;

/** Runs `tcp-keepalive ARGS` with stdout on a pipe nobody reads (closed before the command starts). */
export async function runCliClosedStdout(t: Teardown, args: string[], ms = 20_000): Promise<{ code: number; stderr: string }> {
  const done = await track(t, spawn('python3', ['-c', CLOSED_PIPE, process.execPath, BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })).done(ms);
  if (done.code !== 0) throw new Error(`python3 failed: ${done.stderr}`);
  return JSON.parse(done.stdout) as { code: number; stderr: string };
}
