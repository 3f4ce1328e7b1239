// `tcp-keepalive probe HOST:PORT --find-idle-timeout` against paths whose
// idle timeout is known because the test set it: a conntrack router between
// client and server namespaces (test/helpers/router.ts) that forgets idle
// flows after 8 s and 45 s (NAT: a forgotten flow is reset) and 20 s
// (firewall: silence). The router's configured timeout is the oracle; the
// three measurements run at once. On loopback: a server that closes idle
// connections itself, and the command-line errors.
import * as net from 'node:net';

import t, { type Test } from 'tap';

import { MIN_BEHIND_TIMEOUT } from '../../lib/cli/plan-behind';
import { BIN, runCli, track } from '../helpers/cli';
import { netnsSupport } from '../helpers/netns';
import { type MiddleboxMode, routedHosts, routerSupport, type RoutedHosts } from '../helpers/router';
import { needs } from '../helpers/tools';

t.setTimeout(4 * 60_000);

interface Result {
  found: boolean;
  lowerBound: number;
  upperBound: number | null;
  estimate: number | null;
  tolerance: number | null;
  how: string | null;
  serverClosesAfter: number | null;
  contradictions: number[];
  rounds: number[][];
  tookSeconds: number;
  plan: string | null;
}

const HOLD = "require('net').createServer((c) => { c.on('error', () => {}); c.resume(); })";

async function serve(t: Test, hosts: RoutedHosts, ports: number[]): Promise<void> {
  const script = `${HOLD}; const ports = ${JSON.stringify(ports)}; let n = 0; for (const p of ports) ${HOLD}.listen(p, '${hosts.serverAddress}', () => { if (++n === ports.length) console.log('listening'); });`;
  await track(t, hosts.spawn(hosts.server, process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })).waitFor(/listening/, 10_000);
}

async function find(t: Test, hosts: RoutedHosts, port: number, max: number): Promise<{ code: number | null; result: Result; stderr: string }> {
  const args = [BIN, 'probe', `${hosts.serverAddress}:${port}`, '--find-idle-timeout', '--max', String(max), '--connections', '16', '--json'];
  const done = await track(t, hosts.spawn(hosts.client, process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })).done(3 * max * 1000 + 30_000);
  return { code: done.code, result: JSON.parse(done.stdout) as Result, stderr: done.stderr };
}

const PATHS: { mode: MiddleboxMode; timeout: number; port: number; max: number; how: string }[] = [
  { mode: 'nat', timeout: 8, port: 7301, max: 60, how: 'reset' },
  { mode: 'firewall', timeout: 20, port: 7302, max: 60, how: 'silence' },
  { mode: 'nat', timeout: 45, port: 7303, max: 48, how: 'reset' },
];

t.test('three paths with known idle timeouts, measured at once', async (t) => {
  const support = netnsSupport();
  if (!needs(t, support.ok, support.reason) || !needs(t, routerSupport().ok, routerSupport().reason)) return;
  const routers: Record<MiddleboxMode, RoutedHosts> = {
    nat: routedHosts(t, { mode: 'nat', established: 8, portTimeouts: { 7303: 45 } }),
    firewall: routedHosts(t, { mode: 'firewall', established: 20 }),
  };
  await serve(t, routers.nat, [7301, 7303]);
  await serve(t, routers.firewall, [7302]);
  const runs = await Promise.all(PATHS.map((p) => find(t, routers[p.mode], p.port, p.max)));
  for (const [i, p] of PATHS.entries()) {
    const { code, result: r, stderr } = runs[i]!;
    t.test(`${p.mode} forgetting after ${p.timeout} s`, async (t) => {
      t.equal(code, 0, 'exit 0', { stderr });
      t.ok(r.found, 'a timeout found');
      // The silences are measured at the client: its probe's ACK, or the reset,
      // arrives a round trip and a 250 ms sample after the router saw it.
      const slack = 0.5;
      t.ok(
        r.lowerBound - slack <= p.timeout && p.timeout <= r.upperBound! + slack,
        `the router's ${p.timeout} s is within the bounds found, ${r.lowerBound}..${r.upperBound} s (± ${slack} s of measuring)`,
      );
      t.ok(Math.abs(r.estimate! - p.timeout) <= r.tolerance! + slack, `estimate ${r.estimate} s within its stated tolerance ±${r.tolerance} s (± ${slack} s)`);
      t.ok(r.tolerance! <= 2.5, `to within a few seconds (±${r.tolerance} s)`);
      t.equal(r.how, p.how, `a forgotten flow gets ${p.how}`);
      t.same(r.contradictions, [], 'no survivor above a failure');
      t.ok(r.rounds.length <= 3 && r.tookSeconds <= r.rounds.length * (p.timeout + 8) + 10, `took ${r.tookSeconds} s: ${r.rounds.length} rounds, each about as long as the timeout`);
      // plan --behind takes 7 s or more; below that the text says what to keep idle + interval under.
      const behind = Math.floor(r.lowerBound);
      t.equal(r.plan, behind >= MIN_BEHIND_TIMEOUT ? `tcp-keepalive plan --behind ${behind}` : null, `suggests ${r.plan}`);
    });
  }
});

t.test('a server that closes idle connections itself is named, not the path', async (t) => {
  const server = net.createServer((c) => {
    c.on('error', () => {});
    setTimeout(() => c.end(), 5000);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const json = await runCli(t, ['probe', `127.0.0.1:${port}`, '--find-idle-timeout', '--max', '12', '--json'], 30_000);
  const r = JSON.parse(json.stdout) as Result;
  t.equal(json.code, 7, 'exit 7, as for a FIN in probe --watch');
  t.notOk(r.found, 'no path timeout claimed');
  t.ok(r.serverClosesAfter !== null && r.serverClosesAfter >= 4.5 && r.serverClosesAfter <= 6.5, `the server closes idle connections after ${r.serverClosesAfter} s (it does after 5 s)`);
  t.ok(r.lowerBound >= 2 && r.lowerBound < 5, `the path kept connections idle at least ${r.lowerBound} s`);
  const text = await runCli(t, ['probe', `127.0.0.1:${port}`, '--find-idle-timeout', '--max', '12'], 30_000);
  t.match(text.stdout, /closes idle connections itself \(FIN\) after about 5 s: that is the server's own idle timeout, not the path's/);
});

t.test('bad input: usage errors (exit 2), an unreachable port (exit 4)', async (t) => {
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const cases: [string[], number, RegExp][] = [
    [['probe', '127.0.0.1', '--find-idle-timeout'], 2, /"127\.0\.0\.1" is not HOST:PORT/],
    [['probe', '127.0.0.1:1', '--find-idle-timeout', '--max', '0'], 2, /--max must be at least 3, got "0"/],
    [['probe', '127.0.0.1:1', '--find-idle-timeout', '--max', '100000'], 2, /--max must be at most 7200 s/],
    [['probe', '127.0.0.1:1', '--find-idle-timeout', '--connections', '65'], 2, /--connections must be at most 64/],
    [['probe', '127.0.0.1:1', '--find-idle-timeout', '--watch'], 2, /--watch does not go with it/],
    [['probe', '127.0.0.1:1', '--find-idle-timeout', '--idle', '5'], 2, /--idle does not go with it/],
    [['probe', '127.0.0.1:1', '--max', '5'], 2, /--max needs --find-idle-timeout/],
    [['probe', `127.0.0.1:${port}`, '--find-idle-timeout'], 4, /could not connect to 127\.0\.0\.1:\d+: ECONNREFUSED\n {2}nothing listens there/],
  ];
  for (const [args, code, message] of cases) {
    const done = await runCli(t, args);
    t.equal(done.code, code, `${args.slice(1).join(' ')}: exit ${code}`);
    t.match(done.stderr, message);
  }
});
