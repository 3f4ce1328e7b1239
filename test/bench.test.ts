// The bench suite must not rot: it runs here in quick mode (tiny counts)
// and must produce a well-formed table and JSON with every figure sane.
// No timing is asserted: benchmarks are not tests.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { Results } from '../bench/report-types';
import { finite, positive, positiveSummary, ratios, rotate, summarize } from '../bench/stats';
import { dbSupport } from './helpers/servers';
import { needs } from './helpers/tools';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const RUN_JS = 'bench/out/bench/run.js';

t.test('stats: medians, spreads and the sanity checks', async (t) => {
  t.match(summarize([5, 1, 3, 2, 4]), { median: 3, p25: 2, p75: 4, min: 1, max: 5, n: 5 });
  t.equal(summarize([1, 2, 3, 4]).median, 2.5);
  t.same(ratios([2, 9], [1, 3]), [2, 3]);
  t.same(rotate(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
  t.equal(positive('x', 1.5), 1.5);
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => positive('x', bad), /not a sane measurement/, `positive rejects ${bad}`);
  }
  t.throws(() => finite('x', Number.NaN), /not finite/);
  t.equal(finite('x', -2), -2, 'a difference may be negative');
  t.throws(() => positiveSummary('x', []), /no rounds/);
  t.throws(() => positiveSummary('x', [1, 0]), /round 2/);
});

t.test('npm run bench -- --quick produces every comparison, sanely', async (t) => {
  t.setTimeout(300_000);
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  // npm test has just built dist/; the bench script also does, which this
  // test skips so as not to rewrite dist/ under the tests running beside it.
  t.match(manifest.scripts.bench, `tsc -p bench/tsconfig.json && node ${RUN_JS}`, 'npm run bench runs the suite');
  const out = mkdtempSync(join(tmpdir(), 'tcp-keepalive-bench-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'bench/tsconfig.json'], { cwd: ROOT });
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_V8_COVERAGE;
  const { stdout } = await run(process.execPath, [RUN_JS, '--quick', '--out', out], {
    cwd: ROOT,
    env,
    maxBuffer: 16 * 2 ** 20,
  });

  const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Results;
  t.equal(results.quick, true);
  t.equal(results.command, 'npm run bench -- --quick');
  t.equal(results.machine.node, process.version);
  t.ok(Date.parse(results.machine.date) > 0, 'dated');
  t.same(
    results.sections.map((s) => s.id),
    [1, 2, 3, 4, 5, 6],
    'all six comparisons',
  );
  for (const section of results.sections) {
    t.notOk(section.skipped, `${section.id}. ${section.title} was measured${section.skipped ? `: ${section.skipped}` : ''}`);
    t.ok(section.measures.length > 0 && section.checks.length > 0, `${section.title} has figures`);
    for (const m of section.measures) {
      for (const value of [m.summary.median, m.summary.p25, m.summary.p75, m.summary.min, m.summary.max]) {
        t.ok(Number.isFinite(value), `${m.label}: finite`);
      }
      t.ok(m.summary.n >= 1, `${m.label}: rounds`);
      if (!m.unit.startsWith('B/')) t.ok(m.summary.min > 0, `${m.label}: greater than zero`);
    }
    for (const c of section.checks) {
      t.ok(Number.isFinite(c.summary.median), `${c.label}: finite`);
      if (c.target !== undefined) t.type(c.met, 'boolean', `${c.label}: judged against ${c.target}`);
    }
  }
  const labels = results.sections.flatMap((s) => s.checks.map((c) => c.label));
  for (const wanted of [
    'setKeepalive ÷ C floor',
    'net-keepalive ÷ setKeepalive',
    'getKeepalive ÷ C floor',
    'net-keepalive getters ÷ getKeepalive',
    'connect + accept: policy overhead (throughput)',
    'HTTP keep-alive agent: policy overhead (throughput)',
    'HTTP new connection per request: policy overhead (throughput)',
    'heap retained by the policy (with − without)',
    "require('tcp-keepalive') adds to start",
    'connect + accept: overhead ÷ floor (CPU)',
    'connect + accept: overhead of the per-socket path (CPU per cycle)',
    'HTTP new connection per request: overhead ÷ floor (CPU)',
    'connect + accept: records received, over the policy alone (CPU per cycle)',
    'HTTP new connection per request: records received, over the policy alone (CPU per request)',
  ]) {
    t.ok(labels.includes(wanted), `compares: ${wanted}`);
  }
  // The pg patterns need a PostgreSQL from Debian (CI installs it).
  const pg = dbSupport('postgres');
  if (needs(t, pg.ok, `the bench's pg patterns: ${pg.reason}`)) {
    for (const wanted of ['pg pool query: policy overhead (throughput)', 'pg new client per query: policy overhead (CPU per client)', 'pg new client per query: system-call floor of the overhead (11 calls)']) {
      t.ok(labels.includes(wanted), `compares: ${wanted}`);
    }
  }

  const markdown = readFileSync(join(out, 'latest.md'), 'utf8');
  t.equal(stdout, markdown, 'prints the table it writes');
  t.match(markdown, /\| # \| comparison \| median \| spread \(p25 – p75\) \| target \| \|/);
  for (const section of results.sections) t.match(markdown, `### ${section.id}. ${section.title}`);
  t.notMatch(markdown, /NaN|Infinity|undefined/, 'no broken figure in the table');
});
