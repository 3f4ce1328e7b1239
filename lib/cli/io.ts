// Where the tcp-keepalive command writes: the process's stdout and stderr,
// or, in tests, buffers.

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

export function processIo(): Io {
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
