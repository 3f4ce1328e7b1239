// Text output helpers for the tcp-keepalive command.

/** "45 s", "7875 s (2 h 11 min)", "960 s (16 min)". */
export function duration(seconds: number): string {
  const shown = Number.isInteger(seconds) ? `${seconds} s` : `${seconds.toFixed(1)} s`;
  if (seconds < 120) return shown;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts = h > 0 ? [`${h} h`, m > 0 ? `${m} min` : ''] : [`${m} min`, s > 0 ? `${s} s` : ''];
  return `${shown} (${parts.filter(Boolean).join(' ')})`;
}

/** Milliseconds as "0.05 ms", "230 ms", "4.2 s". */
export function millis(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Bytes per second as "2.2 KB/s" (decimal units). */
export function rate(bytesPerSecond: number): string {
  if (bytesPerSecond < 1000) return `${bytesPerSecond.toFixed(bytesPerSecond < 10 ? 2 : 1)} B/s`;
  if (bytesPerSecond < 1e6) return `${(bytesPerSecond / 1e3).toFixed(1)} KB/s`;
  return `${(bytesPerSecond / 1e6).toFixed(2)} MB/s`;
}

/** Bytes as "5.7 MB" (decimal units). */
export function bytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} KB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

/** Rows padded into columns, two spaces apart. */
export function table(rows: ReadonlyArray<readonly string[]>, indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  return rows
    .map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

/** Long text wrapped at `width` columns, continuation lines indented. */
export function wrap(text: string, width = 78, indent = '  ', hanging = '    '): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = indent;
  for (const word of words) {
    if (line.trim() && line.length + word.length + 1 > width) {
      lines.push(line.trimEnd());
      line = hanging;
    }
    line += (line.trim() ? ' ' : '') + word;
  }
  if (line.trim()) lines.push(line.trimEnd());
  return lines.join('\n');
}
