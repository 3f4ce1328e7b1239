// tcp-keepalive: real TCP keepalive control for Node sockets.
//
// The package's API, as plain re-exports, so editors show each export's own
// documentation and go to its definition. The build (scripts/bundle.mjs,
// npm run build:ts) bundles this file and its modules into one scope with
// esbuild (dist/bundle.js, the source map pointing at lib/), and writes the
// published entry dist/index.js: the names exported here, each a
// configurable getter (spies, stubs) that loads dist/bundle.js at the first
// read. Requiring the package therefore reads one small file; the code, the
// addon and the checks of the platform load when the package is first used
// (docs/performance.md). dist/register.js loads the package through the same
// entry, so the preload and the application share one policy;
// test/exports.test.ts checks both.
export { setKeepalive, getKeepalive } from './keepalive';
export type { KeepaliveState, PendingKeepalive } from './keepalive';
export type { KeepaliveOptions } from './validate';
export { supported } from './supported';
export type { Supported, SettingName, NumericSettingName, Range } from './supported';
export { detectAfter } from './detect';
export type { DetectOptions } from './detect';
export type { ErrorCode, KeepaliveError, KeepaliveSystemError } from './errors';
export { install, currentPolicy, policyApplied, attachPolicy, resolvePolicy, policyDetectAfter } from './policy';
export type { PolicySpec, PolicySettings, PolicyHandle, InstallOptions, Side, AppliedPolicy, PolicyMatch, PolicyRule, PolicyRules, ResolvedRule } from './policy';
export { presets, presetNames, presetSettings, isPresetName, defaultPresetName } from './presets';
export type { Preset, PresetName, PresetSettings } from './presets';
export { parsePolicySpec, parsePolicyRules, isRulesText, policyFromEnv, logFromEnv, POLICY_VARIABLE, SIDE_VARIABLE, LOG_VARIABLE } from './env';
export type { EnvPolicy, EnvError, EnvRules, EnvLog } from './env';
export { createHttpAgent, createHttpsAgent, createUndiciConnector, createUndiciDispatcher, pgStream, mysqlStream } from './agents';
export type { UndiciConnector, UndiciModule, MysqlStreamOptions } from './agents';
export { getHealth, healthFields, healthSource } from './health';
export type { TcpHealth, TcpState, HealthField } from './health';
export { onConnectionEnd, connectionCounters, CONNECTION_END_CHANNEL } from './ends';
export type { ConnectionEnd, ConnectionCounters, EndAddress, EndSettings, EndReason } from './ends';
export { END_REASONS } from './outcome';
export { endLine, ABNORMAL_REASONS } from './ends-text';
export { enableMetrics, METRIC_NAMES } from './ends-metrics';
export type { MetricsOptions, MetricsMeter, MetricsMeterProvider } from './ends-metrics';
