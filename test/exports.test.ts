// The package entry (dist/index.js): the core loads with it, the policy,
// presets, environment, agents and health modules on the first read of one
// of their exports; the names, their order, their values, what `import`
// sees and what the types declare stay the same for every export.
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
  ['attachPolicy', 'policy'],
  ['resolvePolicy', 'policy'],
  ['policyDetectAfter', 'policy'],
  ['presets', 'presets'],
  ['presetNames', 'presets'],
  ['presetSettings', 'presets'],
  ['isPresetName', 'presets'],
  ['defaultPresetName', 'presets'],
  ['parsePolicySpec', 'env'],
  ['policyFromEnv', 'env'],
  ['POLICY_VARIABLE', 'env'],
  ['SIDE_VARIABLE', 'env'],
  ['createHttpAgent', 'agents'],
  ['createHttpsAgent', 'agents'],
  ['createUndiciConnector', 'agents'],
  ['createUndiciDispatcher', 'agents'],
  ['pgStream', 'agents'],
  ['mysqlStream', 'agents'],
  ['getHealth', 'health'],
  ['healthFields', 'health'],
  ['healthSource', 'health'],
];
const LAZY = ['policy', 'presets', 'env', 'agents', 'health'];

function node(args: string[], code: string): unknown {
  const stdout = execFileSync(process.execPath, [...args, '-e', code], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return JSON.parse(stdout) as unknown;
}

t.test('require loads the core only; each lazy module on the first read of one of its exports', async (t) => {
  const result = node(
    [],
    `
    const path = require('node:path');
    const dist = ${JSON.stringify(dist)};
    const loaded = () => Object.keys(require.cache).filter((f) => f.startsWith(dist)).map((f) => path.basename(f, '.js')).sort();
    // A fresh load of the package: its JavaScript modules out of the cache (the addon stays).
    const fresh = () => {
      for (const f of Object.keys(require.cache)) if (f.startsWith(dist)) delete require.cache[f];
      return require(${JSON.stringify(entry)});
    };
    const exportsOf = ${JSON.stringify(EXPORTS)};
    let pkg = fresh();
    const atRequire = loaded();
    // For each lazy module, in a fresh load: read one of its exports first.
    const first = {};
    for (const file of ${JSON.stringify(LAZY)}) {
      pkg = fresh();
      const name = exportsOf.find(([, f]) => f === file)[0];
      first[file] = { name, before: loaded(), value: typeof pkg[name], after: loaded() };
    }
    const values = exportsOf.map(([name, file]) => {
      const value = pkg[name];
      return [name, value !== undefined && value === require(path.join(dist, file + '.js'))[name]];
    });
    const descriptors = Object.entries(Object.getOwnPropertyDescriptors(pkg))
      .filter(([k]) => k !== '__esModule')
      .map(([k, d]) => [k, typeof d.get, d.enumerable, d.configurable]);
    console.log(JSON.stringify({ atRequire, first, values, keys: Object.keys(pkg), descriptors, esModule: pkg.__esModule }));
    `,
  ) as {
    atRequire: string[];
    first: Record<string, { name: string; before: string[]; value: string; after: string[] }>;
    values: Array<[string, boolean]>;
    keys: string[];
    descriptors: Array<[string, string, boolean, boolean]>;
    esModule: boolean;
  };
  const core = ['binding', 'detect', 'errors', 'handle', 'index', 'keepalive', 'supported', 'validate'];
  t.same(result.atRequire, core, 'require loads the core, nothing else');
  for (const file of LAZY) {
    const { name, before, value, after } = result.first[file]!;
    t.same(before, core, `${file}: not loaded before ${name} is read`);
    t.not(value, 'undefined', `${name} has its value`);
    t.ok(after.includes(file), `${file}: loaded once ${name} was read`);
  }
  for (const [name, same] of result.values) t.ok(same, `${name} is its module's own export`);
  t.same(result.keys, EXPORTS.map(([name]) => name), 'the exports in their order');
  for (const [name, get, enumerable, configurable] of result.descriptors) {
    t.same([get, enumerable, configurable], ['function', true, true], `${name}: an enumerable getter that can be redefined (spies, stubs)`);
  }
  t.equal(result.esModule, true);
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
  return [...declarations.matchAll(/^export \{([^}]*)\} from '\.\/(\w+)';$/gm)].flatMap(([, names, file]) =>
    names!.split(',').map((n) => [n.trim(), file!] as const),
  );
}

t.test('the published types (dist/api.d.ts): the same value exports as plain re-exports, so editors show their docs', async (t) => {
  const manifest = JSON.parse(fs.readFileSync(path.join(dist, '..', 'package.json'), 'utf8')) as { types: string; exports: { '.': { types: string } } };
  t.equal(manifest.types, './dist/api.d.ts');
  t.equal(manifest.exports['.'].types, './dist/api.d.ts');
  const declarations = fs.readFileSync(path.join(dist, 'api.d.ts'), 'utf8');
  t.same(reexports(declarations), EXPORTS, 'every value export, re-exported from the module that defines it');
  t.match(fs.readFileSync(path.join(dist, 'index.d.ts'), 'utf8'), /^export type \* from '\.\/api';$/m, 'dist/index.d.ts takes its type exports from it');
});

t.test('dist/index.d.ts declares the same value exports, each typed from its module', async (t) => {
  const declarations = fs.readFileSync(path.join(dist, 'index.d.ts'), 'utf8');
  const reexported = reexports(declarations);
  const declared = [...declarations.matchAll(/^export declare const (\w+): typeof (\w+)Module\.(\w+);$/gm)].map(([, name, module, member]) => {
    t.equal(member, name, `${name} is typed as its module's own ${name}`);
    return [name!, module!.toLowerCase()] as const;
  });
  t.same([...reexported, ...declared], EXPORTS, 'every value export, from the module that defines it');
  t.notMatch(declarations, /\bany\b/, 'no any');
});
