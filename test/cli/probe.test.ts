// `tcp-keepalive probe --watch` between two hosts (network namespaces joined
// by a veth pair, test/helpers/netns.ts): the path is cut and the command
// must report unanswered probes climbing and the ETIMEDOUT within the budget
// (with and without a terminal); a reset answering a probe must be reported
// as a reset; a heartbeat instead of idle shows retransmissions instead of
// probes. `ss` inside the client namespace is the independent oracle.
import t, { type Test } from 'tap';

import { BIN, ptyCommand, track, type Running } from '../helpers/cli';
import { netnsSupport, twoHosts, type TwoHosts } from '../helpers/netns';
import { ssInfo } from '../helpers/ssinfo';
import { hasCommand, needs } from '../helpers/tools';

// Subtests run 2 at a time: most of their time is waiting on the network.
t.jobs = 2;

const PORT = 7000;

function setup(t: Test): TwoHosts | null {
  const support = netnsSupport();
  if (!needs(t, support.ok, support.reason)) return null;
  return twoHosts(t);
}

async function serve(t: Test, hosts: TwoHosts): Promise<void> {
  const script = `require('net').createServer((c) => { c.resume(); c.on('error', () => {}); }).listen(${PORT}, '${hosts.server.address}', () => console.log('listening'))`;
  const server = track(t, hosts.spawn(hosts.server, process.execPath, ['-e', script]));
  await server.waitFor(/listening/, 10_000);
}

function watch(t: Test, hosts: TwoHosts, args: string[], pty = false): Running {
  const argv = ['probe', `${hosts.server.address}:${PORT}`, '--watch', ...args];
  if (!pty) return track(t, hosts.spawn(hosts.client, process.execPath, [BIN, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] }));
  const [command, scriptArgs] = ptyCommand(argv);
  return track(t, hosts.spawn(hosts.client, command, scriptArgs, { stdio: ['pipe', 'pipe', 'pipe'] }));
}

const lines = (out: string): string[] => out.split(/\r?\n/);

t.test('path cut, no terminal: probes climb one line each, then ETIMEDOUT within the budget', { buffered: true, timeout: 30_000 }, async (t) => {
  const hosts = setup(t);
  if (!hosts) return;
  await serve(t, hosts);
  const run = watch(t, hosts, ['--idle', '1', '--interval', '1', '--count', '3']);
  const local = Number((await run.waitFor(/from 198\.18\.0\.2:(\d+)/, 10_000))[1]);
  await run.waitFor(/keepalive probe answered/, 5000);
  hosts.cut();
  await run.waitFor(/probe 2\/3 unanswered/, 6000);
  const ss = ssInfo(local, hosts.client.ns);
  t.equal(ss?.timer?.name, 'keepalive', 'ss: the keepalive timer is running');
  t.ok(ss!.timer!.backoff >= 2 && ss!.timer!.backoff <= 3, `ss: ${ss!.timer!.backoff} unanswered probes (reported 2)`);
  const done = await run.done(10_000);
  t.equal(done.code, 5, 'ETIMEDOUT: exit 5');
  const events = lines(done.stdout).filter((l) => /^\[\s*\d+\.\ds\] /.test(l));
  const unanswered = events.filter((l) => /probe \d\/3 unanswered/.test(l)).map((l) => /probe (\d)\/3 unanswered \(peer silent for (\d+\.\d) s\)/.exec(l));
  t.same(unanswered.map((m) => m?.[1]), ['1', '2', '3'], 'probe 1/3, 2/3, 3/3: one line each, in order');
  const silences = unanswered.map((m) => Number(m?.[2]));
  // Seen at the next 200 ms sample, so each value is a little late; the
  // spacing is the interval.
  t.ok(silences[0]! >= 1 && silences[0]! < 2.5, `the first probe after idle 1 s: silent ${silences[0]} s when reported`);
  t.ok(silences.slice(1).every((s, i) => Math.abs(s - silences[i]! - 1) <= 0.5), `each probe one interval after the last: silent ${silences.join(', ')} s`);
  const end = /ETIMEDOUT: 3 keepalive probes went unanswered; the kernel dropped the connection (\d+\.\d) s after the peer went silent \(budget 4 s\)/.exec(done.stdout);
  t.ok(end, 'the end says how: unanswered probes, ETIMEDOUT');
  const silent = Number(end?.[1]);
  // idle 1 + 1 × 3 = 4 s; kernel timers fire a little late.
  t.ok(silent >= 3.8 && silent <= 5, `dropped ${silent} s after the peer went silent (budget 4 s)`);
  t.match(done.stdout, /probes answered [1-9]\d*, most unanswered at once 3, retransmissions 0/);
});

t.test('path cut, on a terminal: the status line counts the probes, then ETIMEDOUT', { buffered: true, timeout: 30_000 }, async (t) => {
  if (!needs(t, hasCommand('script'), 'script (util-linux) is not installed')) return;
  const hosts = setup(t);
  if (!hosts) return;
  await serve(t, hosts);
  const run = watch(t, hosts, ['--idle', '1', '--interval', '1', '--count', '3'], true);
  await run.waitFor(/answered [1-9]/, 10_000);
  hosts.cut();
  const done = await run.done(12_000);
  t.equal(done.code, 5, 'exit code 5 through the terminal');
  const redraws = done.stdout.split('\r\x1b[2K').slice(1).map((s) => s.split('\r\n')[0]!);
  const counts = [...new Set(redraws.map((r) => /unanswered (\d)\/3/.exec(r)?.[1]).filter(Boolean))];
  t.same(counts, ['0', '1', '2', '3'], 'the status line showed 0, 1, 2 then 3 unanswered probes');
  t.ok(redraws.some((r) => /unanswered [123]\/3 \| answered \d+ \| retrans 0 \| drop in \d\.\ds/.test(r)), 'with the time left');
  t.notMatch(done.stdout, /^\[\s*\d+\.\ds\]/m, 'no event lines on a terminal');
  t.match(done.stdout, /\r\x1b\[2KETIMEDOUT: 3 keepalive probes went unanswered/);
});

t.test('a probe answered with RST (--json): reported as a reset', { buffered: true, timeout: 30_000 }, async (t) => {
  if (!needs(t, hasCommand('iptables'), 'iptables is not installed')) return;
  const hosts = setup(t);
  if (!hosts) return;
  await serve(t, hosts);
  const run = watch(t, hosts, ['--idle', '1', '--interval', '1', '--count', '5', '--json']);
  await run.waitFor(/"event":"probe-answered"/, 10_000);
  hosts.cut();
  await run.waitFor(/"event":"probe-unanswered","t":[\d.]+,"probes":1/, 5000);
  // The server host forgets the connection (a restart, a middlebox dropping
  // the flow): anything for that port is answered with a reset.
  hosts.exec(hosts.server, 'iptables', ['-A', 'INPUT', '-p', 'tcp', '--dport', String(PORT), '-j', 'REJECT', '--reject-with', 'tcp-reset']);
  hosts.restore();
  const done = await run.done(10_000);
  t.equal(done.code, 6, 'reset: exit 6');
  const events = done.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(events.slice(0, 2).map((e) => e.event), ['connected', 'watching']);
  const end = events.at(-1)!;
  t.match(end, { event: 'end', cause: 'reset', reason: 'reset', code: 'ECONNRESET', budget: 6 });
  t.match(String(end.message), /a keepalive probe was answered with a reset/);
  t.ok((end.maxProbes as number) >= 1, `reset after ${String(end.maxProbes)} unanswered probe(s)`);
  t.ok(events.every((e) => typeof e.event === 'string'), 'every line is one JSON event');
});

t.test('--send-every instead of idle: retransmissions climb, the user timeout ends it', { buffered: true, timeout: 30_000 }, async (t) => {
  const hosts = setup(t);
  if (!hosts) return;
  await serve(t, hosts);
  // idle above the heartbeat period, as a coordinated setting has it: keepalive
  // never probes while heartbeats flow (with idle 1 = the period, a probe could
  // fire in the idle second before the first heartbeat after the cut).
  const run = watch(t, hosts, ['--idle', '5', '--interval', '1', '--count', '3', '--user-timeout', '4', '--send-every', '1']);
  await run.waitFor(/heartbeat 2 sent/, 10_000);
  // The server's side drops every packet; the client's link stays up. (With
  // the link down instead, a heartbeat the client's kernel cannot even send
  // waits unsent, and Linux runs its zero-window probe timer for it, which
  // counts in tcpi_probes like keepalive probes: the test then saw "probe
  // 1/3 unanswered" now and then.)
  hosts.cut('server', 'drop');
  const done = await run.done(12_000);
  t.equal(done.code, 5);
  t.match(done.stdout, /retransmission 1 of unacknowledged data[\s\S]*retransmission 2 of unacknowledged data/);
  t.notMatch(done.stdout, /probe \d\/3 unanswered/, 'data in flight: no keepalive probes');
  const end = /ETIMEDOUT: unacknowledged data was retransmitted \d+ times without an answer; the kernel dropped the connection (\d+\.\d) s after the oldest of it was sent \(userTimeout 4 s/.exec(done.stdout);
  t.ok(end, `the end says how: ${end?.[0]}`);
  t.ok(Number(end?.[1]) >= 3.8 && Number(end?.[1]) <= 5, `dropped ${end?.[1]} s after the first unacknowledged heartbeat (userTimeout 4 s)`);
});
