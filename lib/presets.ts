// Named keepalive presets for common scenarios, from the scenario table in
// the project's facts (idle / interval / count ranges per scenario). Each
// preset picks one point in its range and bounds data in flight with the
// same time (userTimeout 'auto' = idle + interval × count).
//
// Self-contained on purpose (no imports): the command-line tool and other
// modules read the table without loading the native addon.

/** The names of the presets, as accepted by `install()` and `TCP_KEEPALIVE`. */
export type PresetName =
  | 'general'
  | 'trading'
  | 'web'
  | 'database'
  | 'realtime'
  | 'iot'
  | 'nat'
  | 'loadbalancer';

/** One named policy: its settings, its worst-case detection time and what it is for. */
export interface Preset {
  /** The preset's name. */
  readonly name: PresetName;
  /** Seconds of silence before the first probe. */
  readonly idle: number;
  /** Seconds between unanswered probes. */
  readonly interval: number;
  /** Unanswered probes before the connection is declared dead. */
  readonly count: number;
  /** Unacknowledged data may wait idle + interval × count seconds. */
  readonly userTimeout: 'auto';
  /** Worst-case seconds to detect a silently dead peer: idle + interval × count. */
  readonly detectAfter: number;
  /** The scenario it is meant for. */
  readonly scenario: string;
}

/** The settings of a preset, in the shape `setKeepalive` takes. */
export interface PresetSettings {
  idle: number;
  interval: number;
  count: number;
  userTimeout: 'auto';
}

function preset(name: PresetName, idle: number, interval: number, count: number, scenario: string): Preset {
  return Object.freeze({ name, idle, interval, count, userTimeout: 'auto', detectAfter: idle + interval * count, scenario });
}

/**
 * The presets, by name. Seconds; detectAfter = idle + interval × count.
 *
 * | name | idle | interval | count | detectAfter | scenario |
 * |---|---|---|---|---|---|
 * | general | 60 | 10 | 3 | 90 | general modern service (the default of `tcp-keepalive/register`) |
 * | trading | 15 | 5 | 5 | 40 | high reliability: detect fast |
 * | web | 60 | 20 | 3 | 120 | busy web server: balance detection and cost |
 * | database | 60 | 20 | 3 | 120 | database connection pools |
 * | realtime | 30 | 10 | 3 | 60 | IM, games (add an application heartbeat every ~15 s) |
 * | iot | 600 | 120 | 3 | 960 | long-lived device links: save bandwidth and battery |
 * | nat | 60 | 30 | 3 | 150 | through NAT / P2P: keep the mapping alive |
 * | loadbalancer | 45 | 15 | 3 | 90 | behind a cloud load balancer whose idle timeout is 60 s or more |
 */
export const presets: Readonly<Record<PresetName, Preset>> = Object.freeze({
  general: preset('general', 60, 10, 3, 'general modern service'),
  trading: preset('trading', 15, 5, 5, 'high reliability (trading): detect fast'),
  web: preset('web', 60, 20, 3, 'busy web server: balance detection and cost'),
  database: preset('database', 60, 20, 3, 'database connection pools'),
  realtime: preset('realtime', 30, 10, 3, 'real-time (IM, games); add an application heartbeat every ~15 s'),
  iot: preset('iot', 600, 120, 3, 'IoT and long-lived device links: save bandwidth and battery'),
  nat: preset('nat', 60, 30, 3, 'through NAT / P2P: keep the NAT mapping alive'),
  loadbalancer: preset('loadbalancer', 45, 15, 3, 'behind a cloud load balancer (idle below its 60-90 s idle timeout)'),
});

/** The preset names, in table order. */
export const presetNames: readonly PresetName[] = Object.freeze(Object.keys(presets) as PresetName[]);

/** The policy used when none is named: `general`. */
export const defaultPresetName: PresetName = 'general';

/** Whether `name` is one of the preset names (case-sensitive). */
export function isPresetName(name: unknown): name is PresetName {
  return typeof name === 'string' && Object.hasOwn(presets, name);
}

/** A preset's settings as `setKeepalive` options (a fresh object). */
export function presetSettings(name: PresetName): PresetSettings {
  const { idle, interval, count, userTimeout } = presets[name];
  return { idle, interval, count, userTimeout };
}
