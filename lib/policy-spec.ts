// Resolving a policy spec (a preset name, a preset object or keepalive
// options) into the settings a policy applies, validated once, and their
// worst-case detection time.
import { computeDetectAfter } from './detect';
import { hideOwnFrames, invalidArgType, invalidArgValue, outOfRange } from './errors';
import { isPresetName, presetNames, presets, presetSettings, type Preset, type PresetName } from './presets';
import { supported } from './supported';
import { ownValue, validateOptions, type KeepaliveOptions } from './validate';

/** A policy: a preset name, a preset object, or keepalive options with idle, interval and count. */
export type PolicySpec = PresetName | Preset | KeepaliveOptions;

/** The settings a policy applies (whole seconds). */
export interface PolicySettings {
  readonly idle?: number;
  readonly interval?: number;
  readonly count?: number;
  readonly userTimeout?: number | 'auto';
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const NUMERIC = ['idle', 'interval', 'count'] as const;

/** The settings a policy spec stands for, validated once. */
export function resolvePolicy(spec: PolicySpec, name = 'policy'): PolicySettings {
  try {
    return resolve(spec, name);
  } catch (error) {
    throw hideOwnFrames(error, resolvePolicy);
  }
}

function resolve(spec: PolicySpec, name: string): PolicySettings {
  if (typeof spec === 'string') {
    if (!isPresetName(spec)) {
      throw invalidArgValue(name, spec, `is not a preset name (use ${presetNames.join(', ')}) or an options object`);
    }
    return settingsOfPreset(spec);
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw invalidArgType(name, 'a preset name or an object', spec);
  }
  const presetName = ownValue(spec, 'name');
  if (isPresetName(presetName) && presets[presetName] === spec) return settingsOfPreset(presetName);
  const valid = validateOptions(spec);
  if (!valid.enable) {
    throw invalidArgValue(`${name}.enable`, false, 'must be true: a policy turns keepalive on (to leave sockets alone, install none)');
  }
  const missing = NUMERIC.filter((field) => supported.set[field] && valid[field] === undefined);
  if (missing.length > 0) {
    throw invalidArgValue(
      name,
      spec,
      `must set ${missing.join(', ')}: a library's setKeepAlive(true) resets interval to 1 s and count to 10, so a policy names all three`,
    );
  }
  const settings: Mutable<PolicySettings> = {};
  for (const field of NUMERIC) if (valid[field] !== undefined) settings[field] = valid[field];
  if (valid.userTimeout !== undefined) settings.userTimeout = valid.userTimeout;
  checkAuto(settings);
  return Object.freeze(settings);
}

function settingsOfPreset(name: PresetName): PolicySettings {
  const all = presetSettings(name);
  const settings: Mutable<PolicySettings> = {};
  // Where a setting cannot be set (count on old Windows), a preset leaves it out.
  for (const field of NUMERIC) if (supported.set[field]) settings[field] = all[field];
  if (supported.set.userTimeout) settings.userTimeout = all.userTimeout;
  checkAuto(settings);
  return Object.freeze(settings);
}

function checkAuto(settings: PolicySettings): void {
  if (settings.userTimeout !== 'auto') return;
  const { idle = 0, interval = 0, count = 0 } = settings;
  const seconds = idle + interval * count;
  const { max } = supported.limits.userTimeout;
  if (seconds > max) {
    throw outOfRange('policy.userTimeout', `>= 0 && <= ${max} (auto: ${idle} + ${interval} × ${count} = ${seconds})`, 'auto');
  }
}

/** Worst-case detection time of the settings on this platform (s). */
export function policyDetectAfter(settings: PolicySettings): number {
  const own = (key: keyof PolicySettings): PolicySettings[typeof key] => ownValue(settings, key) as PolicySettings[typeof key];
  const idle = (own('idle') as number | undefined) ?? 0;
  const interval = (own('interval') as number | undefined) ?? 0;
  const count = (own('count') as number | undefined) ?? supported.defaults.count ?? 0;
  const userTimeout = own('userTimeout') === 'auto' ? idle + interval * count : (own('userTimeout') as number | undefined) ?? 0;
  return computeDetectAfter(idle, interval, count, userTimeout, supported.platform);
}
