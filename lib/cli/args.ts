// Command-line parsing for the tcp-keepalive command: options declared per
// subcommand, values checked with messages that say what to type instead.
import { parseArgs } from 'node:util';

import { escapeControl } from '../errors';
import { isPresetName, presetNames, type PresetName } from '../presets';

/** Exit codes of the tcp-keepalive command. */
export const EXIT = {
  /** Done; or `probe --watch` stopped by Ctrl-C or --duration while the connection was alive. */
  ok: 0,
  /** The OS refused something, or an unexpected failure. */
  failure: 1,
  /** The command line is wrong; the message says what to type. */
  usage: 2,
  /** `plan`: at least one goal cannot hold with the settings printed. */
  goalConflict: 3,
  /** `probe`: could not connect. */
  connectFailed: 4,
  /** `probe --watch`: the connection timed out (ETIMEDOUT). */
  timedOut: 5,
  /** `probe --watch`: the connection was reset (RST, ECONNRESET). */
  reset: 6,
  /** `probe --watch`: the peer closed the connection (FIN). */
  closed: 7,
} as const;

/**
 * The longest duration, in seconds, the command accepts anywhere: Node's
 * timers wait at most 2^31 − 1 ms (a longer setTimeout fires at once), and
 * TCP_USER_TIMEOUT holds at most as many milliseconds.
 */
export const MAX_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** The largest count the command accepts (a C int, what setsockopt takes). */
export const MAX_INTEGER = 2 ** 31 - 1;

export { escapeControl };

/** `text` in double quotes, control characters escaped. */
export function quoted(text: string): string {
  return `"${escapeControl(text)}"`;
}

/** A mistake on the command line; `hint` says what to type instead. */
export class UsageError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'UsageError';
    this.hint = hint;
  }
}

/** How one option is given: a flag, or an option taking a value. */
export interface OptionSpec {
  type: 'boolean' | 'string';
  /** Placeholder for the value in help, e.g. 'SECONDS'. */
  value?: string;
  short?: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The keepalive settings, as `plan` and `probe` both take them. */
export const SETTING_SPECS: OptionSpecs = {
  preset: { type: 'string', value: 'NAME' },
  idle: { type: 'string', value: 'SECONDS' },
  interval: { type: 'string', value: 'SECONDS' },
  count: { type: 'string', value: 'N' },
  'user-timeout': { type: 'string', value: 'SECONDS|auto' },
};

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = saved;
    }
  }
  return row[b.length]!;
}

/** The closest of `candidates` to `word`, when it is close enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor((best?.length ?? 0) / 3));
  return bestDistance <= limit ? best : undefined;
}

/**
 * Parses `argv` for one subcommand. Unknown options, options missing their
 * value and flags given a value are UsageErrors naming the fix.
 */
export function parse(command: string, argv: readonly string[], specs: OptionSpecs): Parsed {
  const options: Record<string, { type: 'boolean' | 'string'; short?: string }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  }
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  const names = Object.keys(specs);
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue;
    const spec = specs[token.name];
    if (!spec) {
      const guess = closest(token.name, names);
      throw new UsageError(
        `${command}: unknown option ${escapeControl(token.rawName)}`,
        guess ? `did you mean --${guess}? (see tcp-keepalive ${command} --help)` : `see tcp-keepalive ${command} --help`,
      );
    }
    if (spec.type === 'string') {
      if (token.value === undefined || token.value === '') {
        throw new UsageError(`${command}: --${token.name} needs a value`, `type it as --${token.name} ${spec.value ?? 'VALUE'}`);
      }
      values[token.name] = token.value;
    } else {
      if (token.inlineValue) {
        throw new UsageError(`${command}: --${token.name} takes no value`, `type just --${token.name}`);
      }
      values[token.name] = true;
    }
  }
  return { values, positionals };
}

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600 };

/**
 * Whole seconds from "90", "90s", "2m" or "1h", from `min` to `max`.
 * Anything else (fractions, milliseconds, negative numbers, more than Node's
 * timers can wait) is a UsageError with an example.
 */
export function seconds(option: string, text: string, min = 1, max = MAX_SECONDS): number {
  const match = /^(\d+)([smh]?)$/.exec(text.trim());
  if (!match) {
    const hint = /^\d*\.\d+/.test(text)
      ? `durations are whole seconds: --${option} ${Math.max(min, Math.ceil(Number.parseFloat(text)))}`
      : /ms$/.test(text)
        ? `durations are whole seconds, not milliseconds: --${option} ${Math.max(min, Math.ceil(Number.parseFloat(text) / 1000) || min)}`
        : `for example --${option} 60, --${option} 2m or --${option} 1h`;
    throw new UsageError(`--${option} takes whole seconds, got ${quoted(text)}`, hint);
  }
  const value = Number(match[1]) * UNITS[match[2] || 's']!;
  if (value < min) throw new UsageError(`--${option} must be at least ${min}, got ${quoted(text)}`, `for example --${option} ${Math.max(min, 60)}`);
  if (value > max) {
    throw new UsageError(
      `--${option} must be at most ${max} s, got ${quoted(text)}`,
      max === MAX_SECONDS ? `${MAX_SECONDS} s (24.8 days) is the longest timer Node can wait` : `for example --${option} ${max}`,
    );
  }
  return value;
}

/** A whole number (a count), from `min` to `max`. */
export function integer(option: string, text: string, min = 1, max = MAX_INTEGER): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!(value >= min)) {
    throw new UsageError(`--${option} takes a whole number of at least ${min}, got ${quoted(text)}`, `for example --${option} ${Math.max(min, 3)}`);
  }
  if (value > max) throw new UsageError(`--${option} must be at most ${max}, got ${quoted(text)}`, `for example --${option} ${Math.max(min, 3)}`);
  return value;
}

/** The preset --preset names; a UsageError suggesting the closest name otherwise. */
export function presetOption(text: string): PresetName {
  if (isPresetName(text)) return text;
  const guess = closest(text, presetNames);
  throw new UsageError(`unknown preset ${quoted(text)}`, `${guess ? `did you mean --preset ${guess}? ` : ''}presets: ${presetNames.join(', ')}`);
}

/**
 * Runs a library validator (lib/validate.ts) over values built from the
 * command line; its coded error becomes a UsageError naming the option
 * (options.userTimeout → --user-timeout). The one place where the command
 * meets the library's checks.
 */
export function checkedByLibrary(validate: () => void, hint: string): void {
  try {
    validate();
  } catch (error) {
    const e = error as Error & { code?: string };
    throw new UsageError(`${e.message.replace(/options\.userTimeout/, '--user-timeout').replace(/options\./, '--')}`, hint);
  }
}

/** Help text for the options of one subcommand. */
export function optionHelp(specs: OptionSpecs, descriptions: Readonly<Record<string, string>>): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const left = `  ${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
    return [left, descriptions[name] ?? ''] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, text]) => `${left.padEnd(width)}${text}`).join('\n');
}
