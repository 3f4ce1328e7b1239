// The package's API as TypeScript sees it (package.json "types" points at
// dist/api.d.ts): plain re-exports, so an editor shows each export's own
// documentation and goes to its definition. At run time dist/index.js serves
// the same names (lib/index.ts, which loads the drop-in policy, presets, env,
// agents and health modules on first use); test/exports.test.ts checks that
// the two agree, name for name and module for module.
export { setKeepalive, getKeepalive } from './keepalive';
export type { KeepaliveState, PendingKeepalive } from './keepalive';
export type { KeepaliveOptions } from './validate';
export { supported } from './supported';
export type { Supported, SettingName, NumericSettingName, Range } from './supported';
export { detectAfter } from './detect';
export type { DetectOptions } from './detect';
export type { ErrorCode, KeepaliveError, KeepaliveSystemError } from './errors';
export { install, currentPolicy, attachPolicy, resolvePolicy, policyDetectAfter } from './policy';
export type { PolicySpec, PolicySettings, PolicyHandle, InstallOptions, Side } from './policy';
export { presets, presetNames, presetSettings, isPresetName, defaultPresetName } from './presets';
export type { Preset, PresetName, PresetSettings } from './presets';
export { parsePolicySpec, policyFromEnv, POLICY_VARIABLE, SIDE_VARIABLE } from './env';
export type { EnvPolicy, EnvError } from './env';
export { createHttpAgent, createHttpsAgent, createUndiciConnector, createUndiciDispatcher, pgStream, mysqlStream } from './agents';
export type { UndiciConnector, UndiciModule, MysqlStreamOptions } from './agents';
export { getHealth, healthFields, healthSource } from './health';
export type { TcpHealth, TcpState, HealthField } from './health';
