// The package entry (dist/index.js, written by scripts/bundle.mjs): the
// names of lib/index.ts as getters that load dist/bundle.js (lib/ bundled by
// esbuild) at the first read. What it exports, what it loads and when, what
// `import` sees, what the types declare, and that the preload shares its
// policy, are checked here.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const dist = path.join(__dirname, '..', 'dist');
const entry = path.join(dist, 'index.js');
// Every value export, in the order of module.exports, and the module that defines it.
const EXPORTS: ReadonlyArray<readonly [string, string]> = [
  ['setKeepalive', 'keepalive'],
  ['getKeepalive', 'keepalive'],
  ['supported', 'supported'],
  ['detectAfter', 'detect'],
  ['install', 'policy'],
  ['currentPolicy', 'policy'],
  ['policyApplied', 'policy'],
  ['attachPolicy', 'policy'],
  ['resolvePolicy', 'policy'],
  ['policyDetectAfter', 'policy'],
  ['presets', 'presets'],
  ['presetNames', 'presets'],
  ['presetSettings', 'presets'],
  ['isPresetName', 'presets'],
  ['defaultPresetName', 'presets'],
  ['parsePolicySpec', 'env'],
  ['parsePolicyRules', 'env'],
  ['isRulesText', 'env'],
  ['policyFromEnv', 'env'],
  ['logFromEnv', 'env'],
  ['POLICY_VARIABLE', 'env'],
  ['SIDE_VARIABLE', 'env'],
  ['LOG_VARIABLE', 'env'],
  ['createHttpAgent', 'agents'],
  ['createHttpsAgent', 'agents'],
  ['createUndiciConnector', 'agents'],
  ['createUndiciDispatcher', 'agents'],
  ['pgStream', 'agents'],
  ['mysqlStream', 'agents'],
  ['getHealth', 'health'],
  ['healthFields', 'health'],
  ['healthSource', 'health'],
  ['onConnectionEnd', 'ends'],
  ['connectionCounters', 'ends'],
  ['CONNECTION_END_CHANNEL', 'ends'],
  ['END_REASONS', 'outcome'],
  ['endLine', 'ends-text'],
  ['ABNORMAL_REASONS', 'ends-text'],
  ['enableMetrics', 'ends-metrics'],
  ['METRIC_NAMES', 'ends-metrics'],
];

function node(args: string[], code: string, env: NodeJS.ProcessEnv = {}): unknown {
  const stdout = execFileSync(process.execPath, [...args, '-e', code], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', ...env } });
  return JSON.parse(stdout) as unknown;
}

t.test('require reads the entry alone; the first read of an export loads the bundle and the addon; every export is there', async (t) => {
  const result = node(
    [],
    `
    const path = require('node:path');
    const dist = ${JSON.stringify(dist)};
    const root = path.dirname(dist);
    const ours = () => Object.keys(require.cache).filter((f) => f.startsWith(root + path.sep) && !f.includes(path.sep + 'node_modules' + path.sep));
    const addons = () => Object.keys(require.cache).filter((f) => f.endsWith('.node'));
    const pkg = require(${JSON.stringify(entry)});
    const atRequire = { loaded: ours().map((f) => path.relative(root, f)), addons: addons().length };
    const descriptors = Object.entries(Object.getOwnPropertyDescriptors(pkg))
      .filter(([k]) => k !== '__esModule')
      .map(([k, d]) => [k, typeof d.get, d.enumerable, d.configurable]);
    const keys = Object.keys(pkg);
    const setKeepalive = pkg.setKeepalive;
    const loaded = ours().map((f) => path.relative(root, f));
    const exportsOf = ${JSON.stringify(EXPORTS)};
    // Each export has the kind of value its own module (tsc's dist/<module>.js) exports under that name.
    const kinds = exportsOf.map(([name, file]) => [name, typeof pkg[name], typeof require(path.join(dist, file + '.js'))[name]]);
    console.log(JSON.stringify({ atRequire, loaded, addons: addons().length, kinds, keys, descriptors, same: pkg.setKeepalive === setKeepalive, esModule: pkg.__esModule }));
    `,
  ) as {
    atRequire: { loaded: string[]; addons: number };
    loaded: string[];
    addons: number;
    kinds: Array<[string, string, string]>;
    keys: string[];
    descriptors: Array<[string, string, boolean, boolean]>;
    same: boolean;
    esModule: boolean;
  };
  t.same(result.atRequire, { loaded: [path.join('dist', 'index.js')], addons: 0 }, 'require reads the entry only: no bundle, no addon');
  t.same(result.loaded.slice(0, 2), [path.join('dist', 'index.js'), path.join('dist', 'bundle.js')], 'the first read of an export loads the bundle');
  // When the addon is found by node-gyp-build (a prebuild chosen by
  // TCP_KEEPALIVE_PREBUILD, as in the other Node versions' runs), it reads
  // package.json for the variable's name: data, not code.
  const rest = result.loaded.slice(2).filter((f) => f !== 'package.json');
  t.same(
    rest.filter((f) => !f.endsWith('.node')),
    [],
    'no other JavaScript file of the package',
  );
  t.equal(result.addons, 1, 'one addon loaded (from the package or the prebuild directory chosen)');
  t.equal(result.same, true, 'every read gives the same value (one bundle)');
  for (const [name, kind, own] of result.kinds) t.same([kind, kind], [own, kind === 'undefined' ? 'a value' : kind], `${name}: a ${own}, as its module exports it`);
  t.same([...result.keys].sort(), EXPORTS.map(([name]) => name).sort(), 'every export, and no other');
  for (const [name, get, enumerable, configurable] of result.descriptors) {
    t.same([get, enumerable, configurable], ['function', true, true], `${name}: an enumerable getter that can be redefined (spies, stubs)`);
  }
  t.equal(result.esModule, true);
});

t.test('an export redefined on the entry (a spy) is what callers of the entry see', async (t) => {
  const result = node(
    [],
    `
    const pkg = require(${JSON.stringify(entry)});
    const calls = [];
    const real = pkg.getKeepalive;
    Object.defineProperty(pkg, 'getKeepalive', { configurable: true, enumerable: true, value: (...args) => { calls.push(args.length); return real(...args); } });
    let code;
    try { pkg.getKeepalive({}); } catch (error) { code = error.code; }
    console.log(JSON.stringify({ calls, code }));
    `,
  ) as { calls: number[]; code: string };
  t.same(result, { calls: [1], code: 'ERR_INVALID_ARG_TYPE' }, 'the spy ran, then the real function rejected a non-socket');
});

t.test('the preload and the package share one policy (one copy of the policy module)', async (t) => {
  const result = node(
    ['--require', path.join(dist, 'register.js')],
    `
    const pkg = require(${JSON.stringify(entry)});
    const policy = pkg.currentPolicy();
    console.log(JSON.stringify({ installed: policy !== null, settings: policy && policy.settings }));
    `,
    { TCP_KEEPALIVE: 'idle=42,interval=7,count=3' },
  ) as { installed: boolean; settings: { idle: number } | null };
  t.equal(result.installed, true, "the package's currentPolicy() sees the policy the preload installed");
  t.match(result.settings, { idle: 42 });
});

t.test('import names every export (Node detects them in dist/index.js)', async (t) => {
  const result = node(
    ['--input-type=module'],
    `
    import * as ns from ${JSON.stringify(entry)};
    import { install, presets, getHealth, POLICY_VARIABLE } from ${JSON.stringify(entry)};
    console.log(JSON.stringify({ names: Object.keys(ns), install: typeof install, presets: Object.keys(presets).length, getHealth: typeof getHealth, POLICY_VARIABLE }));
    `,
  ) as { names: string[]; install: string; presets: number; getHealth: string; POLICY_VARIABLE: string };
  // Node 23 and later also name the whole module.exports in the namespace.
  const names = result.names.filter((name) => name !== 'module.exports');
  t.same(names, [...EXPORTS.map(([name]) => name), '__esModule', 'default'].sort(), 'the module namespace');
  t.match(result, { install: 'function', getHealth: 'function', POLICY_VARIABLE: 'TCP_KEEPALIVE' });
  t.ok(result.presets > 0, 'presets is the table');
});

/** The `export { a, b } from './module'` lines of a declaration file, as [name, module]. */
function reexports(declarations: string): Array<readonly [string, string]> {
  return [...declarations.matchAll(/^export \{([^}]*)\} from '\.\/([\w-]+)';$/gm)].flatMap(([, names, file]) =>
    names!.split(',').map((n) => [n.trim(), file!] as const),
  );
}

t.test('the published types (dist/index.d.ts): every value export as a plain re-export, so editors show their docs', async (t) => {
  const manifest = JSON.parse(fs.readFileSync(path.join(dist, '..', 'package.json'), 'utf8')) as { types: string; exports: { '.': { types: string } } };
  t.equal(manifest.types, './dist/index.d.ts');
  t.equal(manifest.exports['.'].types, './dist/index.d.ts');
  const declarations = fs.readFileSync(path.join(dist, 'index.d.ts'), 'utf8');
  t.same(reexports(declarations), EXPORTS, 'every value export, re-exported from the module that defines it');
  t.notMatch(declarations, /\bany\b/, 'no any');
});
