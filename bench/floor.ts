// The C system-call floor (bench/floor.c): compiled at bench time with the
// machine's C compiler, run as a child that times batches on request.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { OUT, ROOT } from './env';
import type { Sample } from './interleave';

export type FloorCommand = 'set' | 'get' | 'node' | 'apply';

/** Compiles bench/floor.c to bench/out/floor (when the source is newer); returns the binary and compiler. */
export function compileFloor(): { binary: string; compiler: string } {
  const source = join(ROOT, 'bench', 'floor.c');
  const binary = join(OUT, 'floor');
  const cc = process.env.CC ?? 'cc';
  mkdirSync(OUT, { recursive: true });
  const compiler = execFileSync(cc, ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  let fresh = false;
  try {
    fresh = statSync(binary).mtimeMs >= statSync(source).mtimeMs;
  } catch {
    fresh = false;
  }
  if (!fresh) execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-pthread', '-o', binary, source], { stdio: 'inherit' });
  return { binary, compiler: `${cc}: ${compiler}` };
}

/** A running floor process. */
export class Floor {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;

  private constructor(binary: string, threaded: boolean) {
    this.child = spawn(binary, threaded ? ['threaded'] : [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  /**
   * Starts the floor; `threaded` gives it an idle second thread, so that the
   * kernel takes the same path as for a (always multi-threaded) Node process.
   */
  static async start(binary: string, threaded: boolean): Promise<Floor> {
    const floor = new Floor(binary, threaded);
    const first = await floor.next();
    if (first !== 'ready') throw new Error(`bench: the C floor did not start (${first})`);
    return floor;
  }

  private async next(): Promise<string> {
    const { value, done } = await this.lines.next();
    if (done) throw new Error(`bench: the C floor exited (code ${this.child.exitCode})`);
    return value;
  }

  /** Runs `n` iterations of `command` in C; returns the elapsed and CPU nanoseconds. */
  async run(command: FloorCommand, n: number): Promise<Sample> {
    this.child.stdin.write(`${command} ${n}\n`);
    const answer = (await this.next()).split(' ');
    if (answer[0] !== command || Number(answer[1]) !== n) throw new Error(`bench: the C floor answered "${answer.join(' ')}"`);
    if (!(Number(answer[4]) > 0)) throw new Error(`bench: the C floor's checksum is ${answer[4]}: no value was read`);
    return { wall: Number(answer[2]), cpu: Number(answer[3]) };
  }

  async stop(): Promise<void> {
    this.child.stdin.end('quit\n');
    if (this.child.exitCode === null) await new Promise((resolve) => this.child.once('exit', resolve));
  }
}
