// What this platform can set and read, derived once from the native layer's
// capability table, so callers and docs never guess.
import { binding, Field } from './binding';

/** The settings of a socket's keepalive, by their public names. */
export type SettingName = 'enable' | 'idle' | 'interval' | 'count' | 'userTimeout';
/** The numeric settings (durations in seconds, count in probes). */
export type NumericSettingName = Exclude<SettingName, 'enable'>;

export const SETTING_FIELDS: ReadonlyArray<readonly [SettingName, Field]> = [
  ['enable', Field.Enable],
  ['idle', Field.Idle],
  ['interval', Field.Interval],
  ['count', Field.Count],
  ['userTimeout', Field.UserTimeout],
];

export interface Range {
  readonly min: number;
  readonly max: number;
}

export interface Supported {
  /** `process.platform` of the native code in use: 'linux', 'darwin', 'freebsd' or 'win32'. */
  readonly platform: string;
  /** Which settings `setKeepalive` can change here. */
  readonly set: Readonly<Record<SettingName, boolean>>;
  /** Which settings `getKeepalive` reads back from the kernel here. */
  readonly read: Readonly<Record<SettingName, boolean>>;
  /** Allowed values, in seconds (count: probes). userTimeout 0 = system default. */
  readonly limits: Readonly<Record<NumericSettingName, Range>>;
  /**
   * The value the OS uses for a setting it cannot report (for example the
   * fixed probe count 10 on Windows before 1709); only for settings whose
   * `read` is false.
   */
  readonly defaults: Readonly<Partial<Record<SettingName, number>>>;
  /** The OS option behind each setting, for example 'TCP_KEEPIDLE'. */
  readonly options: Readonly<Record<SettingName, string>>;
}

function build(): Supported {
  const caps = binding.capabilities;
  const set = {} as Record<SettingName, boolean>;
  const read = {} as Record<SettingName, boolean>;
  const limits = {} as Record<NumericSettingName, Range>;
  const defaults: Partial<Record<SettingName, number>> = {};
  const options = {} as Record<SettingName, string>;
  for (const [name, field] of SETTING_FIELDS) {
    set[name] = (caps.setMask & (1 << field)) !== 0;
    read[name] = (caps.readMask & (1 << field)) !== 0;
    options[name] = binding.optionNames[caps.option[field]!]!;
    if (!read[name]) defaults[name] = caps.fallback[field]!;
    if (name !== 'enable') limits[name] = Object.freeze({ min: caps.min[field]!, max: caps.max[field]! });
  }
  return Object.freeze({
    platform: caps.platform,
    set: Object.freeze(set),
    read: Object.freeze(read),
    limits: Object.freeze(limits),
    defaults: Object.freeze(defaults),
    options: Object.freeze(options),
  });
}

/** What this platform can set and read back. */
export const supported: Supported = build();
