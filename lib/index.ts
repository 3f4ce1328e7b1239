// tcp-keepalive: real TCP keepalive control for Node sockets.
//
// The core (setKeepalive, getKeepalive, supported, detectAfter) loads with
// the package. The rest (the drop-in policy, presets, the environment spec,
// agents and health) loads on the first read of one of its exports: each is
// its own module, and loading them all with the package cost about as much
// start-up time as the core itself. Every export is a getter on
// module.exports, as TypeScript's own re-exports are, and is written out in
// the form Node's CommonJS export detection recognises, so
// `import { install } from 'tcp-keepalive'` still names it. What TypeScript
// users see is lib/api.ts (package.json "types"): the same names as plain
// re-exports, so editors show each export's own documentation.
import type * as PolicyModule from './policy';
import type * as PresetsModule from './presets';
import type * as EnvModule from './env';
import type * as AgentsModule from './agents';
import type * as HealthModule from './health';

export { setKeepalive, getKeepalive } from './keepalive';
export { supported } from './supported';
export { detectAfter } from './detect';
// The types, as the published API declares them (lib/api.ts).
export type * from './api';

/**
 * A stand-in for a module not loaded yet: the first property read loads it
 * (`load` also puts the module in place of the stand-in, so later reads go
 * to the module directly).
 */
function onFirstUse<M extends object>(load: () => M): M {
  return new Proxy({} as M, { get: (_target, key) => Reflect.get(load(), key) });
}

/* eslint-disable @typescript-eslint/no-require-imports */
let lazyPolicy: typeof PolicyModule = onFirstUse(() => (lazyPolicy = require('./policy') as typeof PolicyModule));
let lazyPresets: typeof PresetsModule = onFirstUse(() => (lazyPresets = require('./presets') as typeof PresetsModule));
let lazyEnv: typeof EnvModule = onFirstUse(() => (lazyEnv = require('./env') as typeof EnvModule));
let lazyAgents: typeof AgentsModule = onFirstUse(() => (lazyAgents = require('./agents') as typeof AgentsModule));
let lazyHealth: typeof HealthModule = onFirstUse(() => (lazyHealth = require('./health') as typeof HealthModule));
/* eslint-enable @typescript-eslint/no-require-imports */

// The declarations give each export its module's own type; the definitions
// below make them (same names, same order).
export declare const install: typeof PolicyModule.install;
export declare const currentPolicy: typeof PolicyModule.currentPolicy;
export declare const attachPolicy: typeof PolicyModule.attachPolicy;
export declare const resolvePolicy: typeof PolicyModule.resolvePolicy;
export declare const policyDetectAfter: typeof PolicyModule.policyDetectAfter;
export declare const presets: typeof PresetsModule.presets;
export declare const presetNames: typeof PresetsModule.presetNames;
export declare const presetSettings: typeof PresetsModule.presetSettings;
export declare const isPresetName: typeof PresetsModule.isPresetName;
export declare const defaultPresetName: typeof PresetsModule.defaultPresetName;
export declare const parsePolicySpec: typeof EnvModule.parsePolicySpec;
export declare const policyFromEnv: typeof EnvModule.policyFromEnv;
export declare const POLICY_VARIABLE: typeof EnvModule.POLICY_VARIABLE;
export declare const SIDE_VARIABLE: typeof EnvModule.SIDE_VARIABLE;
export declare const createHttpAgent: typeof AgentsModule.createHttpAgent;
export declare const createHttpsAgent: typeof AgentsModule.createHttpsAgent;
export declare const createUndiciConnector: typeof AgentsModule.createUndiciConnector;
export declare const createUndiciDispatcher: typeof AgentsModule.createUndiciDispatcher;
export declare const pgStream: typeof AgentsModule.pgStream;
export declare const mysqlStream: typeof AgentsModule.mysqlStream;
export declare const getHealth: typeof HealthModule.getHealth;
export declare const healthFields: typeof HealthModule.healthFields;
export declare const healthSource: typeof HealthModule.healthSource;

// First each name as a plain property, as TypeScript's re-exports do: the
// getters below then stay configurable, so tools may redefine an export
// (jest.spyOn, sinon.stub) as they can the core ones.
exports.healthSource = exports.healthFields = exports.getHealth = exports.mysqlStream = exports.pgStream = exports.createUndiciDispatcher = exports.createUndiciConnector = exports.createHttpsAgent = exports.createHttpAgent = exports.SIDE_VARIABLE = exports.POLICY_VARIABLE = exports.policyFromEnv = exports.parsePolicySpec = exports.defaultPresetName = exports.isPresetName = exports.presetSettings = exports.presetNames = exports.presets = exports.policyDetectAfter = exports.resolvePolicy = exports.attachPolicy = exports.currentPolicy = exports.install = void 0;
// One line per export, in the form cjs-module-lexer (Node's named-export
// detection for `import` of CommonJS) recognises: a getter returning
// `identifier.name`.
Object.defineProperty(exports, 'install', { enumerable: true, get: function () { return lazyPolicy.install; } });
Object.defineProperty(exports, 'currentPolicy', { enumerable: true, get: function () { return lazyPolicy.currentPolicy; } });
Object.defineProperty(exports, 'attachPolicy', { enumerable: true, get: function () { return lazyPolicy.attachPolicy; } });
Object.defineProperty(exports, 'resolvePolicy', { enumerable: true, get: function () { return lazyPolicy.resolvePolicy; } });
Object.defineProperty(exports, 'policyDetectAfter', { enumerable: true, get: function () { return lazyPolicy.policyDetectAfter; } });
Object.defineProperty(exports, 'presets', { enumerable: true, get: function () { return lazyPresets.presets; } });
Object.defineProperty(exports, 'presetNames', { enumerable: true, get: function () { return lazyPresets.presetNames; } });
Object.defineProperty(exports, 'presetSettings', { enumerable: true, get: function () { return lazyPresets.presetSettings; } });
Object.defineProperty(exports, 'isPresetName', { enumerable: true, get: function () { return lazyPresets.isPresetName; } });
Object.defineProperty(exports, 'defaultPresetName', { enumerable: true, get: function () { return lazyPresets.defaultPresetName; } });
Object.defineProperty(exports, 'parsePolicySpec', { enumerable: true, get: function () { return lazyEnv.parsePolicySpec; } });
Object.defineProperty(exports, 'policyFromEnv', { enumerable: true, get: function () { return lazyEnv.policyFromEnv; } });
Object.defineProperty(exports, 'POLICY_VARIABLE', { enumerable: true, get: function () { return lazyEnv.POLICY_VARIABLE; } });
Object.defineProperty(exports, 'SIDE_VARIABLE', { enumerable: true, get: function () { return lazyEnv.SIDE_VARIABLE; } });
Object.defineProperty(exports, 'createHttpAgent', { enumerable: true, get: function () { return lazyAgents.createHttpAgent; } });
Object.defineProperty(exports, 'createHttpsAgent', { enumerable: true, get: function () { return lazyAgents.createHttpsAgent; } });
Object.defineProperty(exports, 'createUndiciConnector', { enumerable: true, get: function () { return lazyAgents.createUndiciConnector; } });
Object.defineProperty(exports, 'createUndiciDispatcher', { enumerable: true, get: function () { return lazyAgents.createUndiciDispatcher; } });
Object.defineProperty(exports, 'pgStream', { enumerable: true, get: function () { return lazyAgents.pgStream; } });
Object.defineProperty(exports, 'mysqlStream', { enumerable: true, get: function () { return lazyAgents.mysqlStream; } });
Object.defineProperty(exports, 'getHealth', { enumerable: true, get: function () { return lazyHealth.getHealth; } });
Object.defineProperty(exports, 'healthFields', { enumerable: true, get: function () { return lazyHealth.healthFields; } });
Object.defineProperty(exports, 'healthSource', { enumerable: true, get: function () { return lazyHealth.healthSource; } });
