// Where the tcp-keepalive command writes: the process's stdout and stderr,
// or, in tests, buffers. A closed pipe or a full disk ends the command the
// way Unix tools end, not with an unhandled 'error' stack.
import { writeSync } from 'node:fs';
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

export interface Io {
  /** Writes text and a newline to stdout. */
  out(text: string): void;
  /** Writes text as is to stdout (status line redraws). */
  write(text: string): void;
  /** Writes text and a newline to stderr. */
  err(text: string): void;
  /** Whether stdout is a terminal: `probe --watch` then redraws one status line. */
  readonly isTTY: boolean;
  /** Terminal width, for the status line. */
  readonly columns: number;
}

/**
 * The exit status after the reader of the output went away (EPIPE): 141,
 * 128 + SIGPIPE, the status a shell reports for coreutils or git killed by
 * SIGPIPE in `yes | head -1`. Node ignores SIGPIPE, so the command exits
 * with that status itself, printing nothing.
 */
export const EXIT_BROKEN_PIPE = 128 + (constants.signals.SIGPIPE ?? 13);

/** What the command does when writing its output failed: exit with `status`, after printing `message` to stderr if not null. */
export interface OutputFailure {
  status: number;
  message: string | null;
}

function errnoText(code: string): string {
  for (const [, [name, description]] of getSystemErrorMap()) {
    if (name === code) return `${code} (${description})`;
  }
  return code;
}

/**
 * Pure: how to end when writing to `stream` failed with `error`. EPIPE (the
 * reader closed the pipe, as `head -1` does): quietly, status 141. Anything
 * else on stdout (ENOSPC on a full disk, EIO): one line on stderr and status
 * 1. Anything else on stderr: status 1, nothing printed (there is nowhere).
 */
export function outputFailure(stream: 'stdout' | 'stderr', error: { code?: unknown; message?: unknown }): OutputFailure {
  const code = typeof error.code === 'string' ? error.code : null;
  if (code === 'EPIPE') return { status: EXIT_BROKEN_PIPE, message: null };
  if (stream === 'stderr') return { status: 1, message: null };
  const reason = code ? errnoText(code) : String(error.message ?? 'unknown error');
  return { status: 1, message: `tcp-keepalive: cannot write the output: ${reason}` };
}

interface Streams {
  stdout: NodeJS.EventEmitter;
  stderr: NodeJS.EventEmitter;
}

/** Ends the process as `outputFailure` says when stdout or stderr fails. Installed once per process. */
export function guardOutput(streams: Streams = process, exit: (status: number) => void = process.exit): void {
  for (const stream of ['stdout', 'stderr'] as const) {
    streams[stream].on('error', (error: Error & { code?: string }) => {
      const failure = outputFailure(stream, error);
      if (failure.message !== null) {
        try {
          writeSync(2, `${failure.message}\n`);
        } catch {
          // stderr is gone too: the status says it.
        }
      }
      exit(failure.status);
    });
  }
}

let guarded = false;

export function processIo(): Io {
  if (!guarded) {
    guarded = true;
    guardOutput();
  }
  return {
    out: (text) => void process.stdout.write(`${text}\n`),
    write: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(`${text}\n`),
    isTTY: process.stdout.isTTY === true,
    get columns() {
      return process.stdout.columns || 80;
    },
  };
}
