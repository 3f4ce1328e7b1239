// Builds the package's JavaScript entry points in dist/ (npm run build:ts,
// after tsc has written the per-module files and the declarations):
//
// - dist/bundle.js: lib/index.ts and every module it imports, bundled by
//   esbuild into one scope (no per-module wrappers or exports objects), with
//   a source map pointing at lib/.
// - dist/index.js: the package's entry, which loads dist/bundle.js at the
//   first read of any export. Its export names are the bundle's, as esbuild
//   reports them (the metafile), so lib/index.ts stays the one list of the
//   API; each is an enumerable, configurable getter (spies, stubs), and
//   the `exports.name = void 0` line lets Node's import name them.
//
// A process that requires the package but never uses it (a CLI that has it
// as a dependency, a preload that only checks its environment) then pays for
// one small file; docs/performance.md has the figures.
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';

await build({
  entryPoints: ['lib/index.ts'],
  outfile: 'dist/bundle.js',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['node-gyp-build', '@opentelemetry/api'],
  sourcemap: true,
  logLevel: 'warning',
});
// The names lib/index.ts exports as values, as esbuild reads them (its
// metafile lists exports for ESM output only, hence this second pass).
const listed = await build({ entryPoints: ['lib/index.ts'], format: 'esm', write: false, metafile: true, outfile: 'index.mjs', logLevel: 'warning' });
const names = Object.values(listed.metafile.outputs)[0].exports;
if (names.length === 0) throw new Error('scripts/bundle.mjs: esbuild found no exports in lib/index.ts');

const entry = `"use strict";
// The entry of tcp-keepalive, written by scripts/bundle.mjs: the API of
// lib/index.ts, loaded from ./bundle.js at the first read of an export.
let bundle;
const load = () => (bundle ??= require("./bundle.js"));
Object.defineProperty(exports, "__esModule", { value: true });
${names.map((name) => `exports.${name}`).join(' = ')} = void 0;
for (const name of ${JSON.stringify(names)}) {
  Object.defineProperty(exports, name, { enumerable: true, configurable: true, get: () => load()[name] });
}
`;
writeFileSync('dist/index.js', entry);
