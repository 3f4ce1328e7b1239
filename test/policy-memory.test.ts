// Acceptance 4: 100 000 connections opened and closed through the installed
// policy (each also gets a library-style setKeepAlive(true, 1000)), with
// connection-end records received (a listener counting them), leave no
// listeners, no reachable sockets and no heap growth beyond noise. Runs in a
// child process with --expose-gc against dist/.
import t from 'tap';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const fixture = path.join(__dirname, 'fixtures', 'dropin', 'many-connections.js');

interface Report {
  connections: number;
  accepted: number;
  checked: number;
  wrong: number;
  samples: number;
  alive: number;
  before: number;
  after: number;
  growth: number;
  listeners: { server: string[]; process: string[] };
  records: Record<string, number>;
  ms: number;
}

async function run(env: Record<string, string>): Promise<Report> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', fixture], {
    env: { ...process.env, ...env },
    timeout: 150_000,
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout) as Report;
}

t.setTimeout(180_000);

t.test('100 000 connections through the policy', { timeout: 170_000 }, async (t) => {
  const baseline = await run({ POLICY: 'none', CONNECTIONS: '2000' });
  t.equal(baseline.wrong, 0, 'without the policy the sampled sockets show the library value (idle 1 s)');
  const report = await run({ CONNECTIONS: '100000', BATCH: '200', RECORDS: '1' });
  t.comment(`100 000 connections in ${report.ms} ms; heap ${report.before} -> ${report.after} bytes (${report.growth})`);
  t.equal(report.connections, 100_000);
  t.equal(report.accepted, 105_000, 'every connection (and the 5 000 warm-up) reached the server');
  t.ok(report.checked >= 1000, `${report.checked} sockets sampled`);
  t.equal(report.wrong, 0, 'every sampled socket had the policy after a library setKeepAlive(true, 1000)');
  t.equal(report.samples, 1000);
  t.equal(report.alive, 0, 'none of 1000 sampled closed sockets is still reachable after GC');
  t.ok(report.growth < 1024 * 1024, `heap growth ${report.growth} bytes is below 1 MiB`);
  t.same(report.listeners, baseline.listeners, 'listeners on the server and process are what a run without the policy has');
  t.same(report.records, { 'client:local': 105_000, 'server:peer-closed': 105_000 }, 'a record for each end of each connection: the client closed, the server saw FIN');
});
