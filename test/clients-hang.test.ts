// Acceptance 3, a real hang fixed: two hosts in network namespaces, a
// PostgreSQL server and an HTTP server on one, clients (pg, and Node's
// global fetch) on the other, each in a separate Node process with or
// without `--require tcp-keepalive/register`. After the connection works,
// the server's link is cut (no FIN, no RST) and one more query/request is
// sent on the same connection. Without the package it is still pending
// after the bound (Linux retransmits for ~15 minutes); with the package and
// TCP_KEEPALIVE="idle=2,interval=1,count=2,userTimeout=auto" (user timeout
// 4 s) it rejects within the bound, and TCP_KEEPALIVE_LOG=abnormal writes
// the line a user would see on stderr: the connection dropped by userTimeout.
import t from 'tap';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';

import { jsonLines } from './helpers/lines';
import { tcpInfoReadable } from './helpers/net';
import { twoHosts, netnsSupport } from './helpers/netns';
import { dbSupport, startPostgres } from './helpers/servers';
import { needs, scaled } from './helpers/tools';

const root = path.join(__dirname, '..');
const fixtures = path.join(__dirname, 'fixtures', 'dropin');
const SPEC = 'idle=2,interval=1,count=2,userTimeout=auto';
const BOUND_MS = 12_000;

interface Message {
  ready?: boolean;
  policy?: Record<string, unknown> | null;
  outcome?: 'resolved' | 'rejected';
  ms?: number;
  code?: string;
  message?: string;
  failed?: string;
}

/** The first line of the child's stderr that contains `text`, waiting up to `ms` for it (in 50 ms steps). */
async function stderrLine(run: { stderr: string }, text: string, ms: number): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const line = run.stderr.split('\n').find((l) => l.includes(text));
    if (line !== undefined || Date.now() >= deadline) return line;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('a query/request in flight to a vanished host: hangs without, rejects with the package', { timeout: scaled(90_000) }, async (t) => {
  const ns = netnsSupport();
  if (!needs(t, ns.ok, ns.reason)) return;
  const pgOk = dbSupport('postgres');
  if (!needs(t, pgOk.ok, pgOk.reason)) return;

  const kernelView = await tcpInfoReadable(t);
  const hosts = twoHosts(t);
  await startPostgres(t, { host: hosts.server.address, netns: hosts.server.ns });
  const httpServer = hosts.spawn(hosts.server, process.execPath, [path.join(fixtures, 'http-server.js'), hosts.server.address, '8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('HTTP server did not start in time')), scaled(10_000));
    httpServer.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });

  const runs: Array<{ label: string; kind: 'pg' | 'fetch'; withPackage: boolean; child?: ChildProcess; next?: (ms: number) => Promise<Message | null>; stderr: string }> = [];
  for (const kind of ['pg', 'fetch'] as const) {
    for (const withPackage of [false, true]) runs.push({ label: `${kind} ${withPackage ? 'with' : 'without'} the package`, kind, withPackage, stderr: '' });
  }
  for (const run of runs) {
    const args = [...(run.withPackage ? ['--require', 'tcp-keepalive/register'] : []), path.join(fixtures, 'hang-client.js'), run.kind, hosts.server.address, run.kind === 'pg' ? '5432' : '8080'];
    run.child = hosts.spawn(hosts.client, process.execPath, args, {
      cwd: root,
      env: { ...process.env, TCP_KEEPALIVE: SPEC, TCP_KEEPALIVE_LOG: 'abnormal' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    run.child.stderr!.on('data', (chunk: Buffer) => {
      if (run.stderr.length < 20_000) run.stderr += chunk.toString();
    });
    run.child.stdin!.on('error', () => {}); // a child that failed early
    run.next = jsonLines<Message>(run.child);
  }
  for (const run of runs) {
    // Bounds on the child processes (start-up, a connection, a first query),
    // scaled under emulation: four arm64 Node processes share the emulator.
    const ready = await run.next!(scaled(15_000));
    t.ok(ready?.ready, `${run.label}: connected and working before the cut ${ready?.failed ?? ''}`);
    if (run.withPackage) t.same(ready?.policy, { idle: 2, interval: 1, count: 2, userTimeout: 'auto' }, `${run.label}: the register installed the policy from TCP_KEEPALIVE`);
    else t.equal(ready?.policy, null, `${run.label}: no policy`);
  }

  hosts.cut('server');
  const started = Date.now();
  for (const run of runs) run.child!.stdin!.write('go\n');

  for (const run of runs.filter((r) => r.withPackage)) {
    // The child measures its own outcome time (asserted below); only the wait
    // for its report gets the emulator's slack.
    const outcome = await run.next!(BOUND_MS - (Date.now() - started) + scaled(1000) - 1000);
    t.equal(outcome?.outcome, 'rejected', `${run.label}: rejected within ${BOUND_MS} ms (after ${outcome?.ms} ms: ${outcome?.code} ${outcome?.message})`);
    t.ok(outcome?.ms !== undefined && outcome.ms < BOUND_MS, `${run.label}: took ${outcome?.ms} ms`);
    const port = run.kind === 'pg' ? 5432 : 8080;
    // The line is written when the socket ends, on stderr: its pipe can be read after the report on stdout.
    const line = await stderrLine(run, `connection to ${hosts.server.address}:${port} `, scaled(3000));
    const peer = `^tcp-keepalive: connection to ${hosts.server.address.replaceAll('.', '\\.')}:${port} `;
    // Without TCP_INFO (qemu-user) the record can only go by the error code: ETIMEDOUT reads as keepalive, and says so.
    const why = kernelView
      ? 'dropped by userTimeout 4 s: data went unacknowledged after \\d+ retransmissions?, silent [\\d.]+ s'
      : 'declared dead by keepalive: .*\\(from the error code alone: the OS reported nothing more\\)';
    t.match(line, new RegExp(`${peer}${why} \\(after [\\d.]+ s\\)$`), `${run.label}: TCP_KEEPALIVE_LOG=abnormal wrote the end on stderr: ${line ?? `none in ${JSON.stringify(run.stderr.slice(-2000))}`}`);
  }
  for (const run of runs.filter((r) => !r.withPackage)) {
    const outcome = await run.next!(Math.max(0, BOUND_MS - (Date.now() - started)));
    t.equal(outcome, null, `${run.label}: still pending after ${Date.now() - started} ms${outcome ? ` (got ${JSON.stringify(outcome)})` : ''}`);
  }
  for (const run of runs) run.child!.kill('SIGKILL');
  hosts.restore();
});
