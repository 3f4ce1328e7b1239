// The tcp-keepalive command end to end, run as users run it (bin/ over
// dist/): every subcommand, text and --json, exit codes, usage errors that
// say what to type, and `probe` against loopback servers with and without a
// terminal (util-linux `script` gives it a pseudo-terminal). Kernel state is
// checked with `ss`, not with this package's code. The two-host network
// cases of `probe --watch` are in test/cli/probe.test.ts.
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import { supported } from '../lib/supported';
import { BIN, ROOT, runCli, startCli, startCliInPty, track } from './helpers/cli';
import { listen } from './helpers/net';
import { netnsSupport, twoHosts } from './helpers/netns';
import { keepaliveTimer } from './helpers/ss';
import { ssInfo } from './helpers/ssinfo';
import { hasCommand, needs } from './helpers/tools';

// Subtests run 3 at a time: most of their time is waiting on the network.
t.jobs = 3;

const linux = process.platform === 'linux';
const proc = (name: string): number => Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8'));

/** A loopback server; `onConnection` decides what happens to each connection. */
async function server(t: Test, onConnection: (s: net.Socket) => void = () => {}): Promise<{ port: number; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const srv = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    onConnection(s);
  });
  const port = await listen(t, srv);
  return { port, sockets };
}

t.test('help for the command and every subcommand', { buffered: true }, async (t) => {
  const top = await runCli(t, ['--help']);
  t.equal(top.code, 0);
  t.match(top.stdout, /Usage: tcp-keepalive <command>/);
  t.match(top.stdout, /info[\s\S]*plan[\s\S]*probe HOST:PORT/);
  const argvs = ['info', 'plan', 'probe'].flatMap((command) => [[command, '--help'], [command, '-h'], ['help', command]]);
  const results = await Promise.all(argvs.map((argv) => runCli(t, argv)));
  argvs.forEach((argv, i) => {
    const command = argv[0] === 'help' ? argv[1]! : argv[0]!;
    t.equal(results[i]!.code, 0, argv.join(' '));
    t.match(results[i]!.stdout, new RegExp(`^Usage: tcp-keepalive ${command}`), `${argv.join(' ')} prints ${command}'s help`);
    t.match(results[i]!.stdout, /Exit codes:/);
  });
  const none = await runCli(t, []);
  t.equal(none.code, 2, 'no command: usage, exit 2');
  t.match(none.stdout, /Usage: tcp-keepalive <command>/);
  const version = await runCli(t, ['--version']);
  t.equal(version.stdout.trim(), (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
});

t.test('mistakes: exit 2 and what to type instead', { buffered: true }, async (t) => {
  const typo = await runCli(t, ['pln', '--preset', 'web']);
  t.equal(typo.code, 2);
  t.match(typo.stderr, /unknown command "pln"\n  did you mean: tcp-keepalive plan --preset web/);
  const option = await runCli(t, ['plan', '--preset', 'web', '--detect-whitin', '60']);
  t.equal(option.code, 2);
  t.match(option.stderr, /unknown option --detect-whitin\n  did you mean --detect-within\?/);
  const json = await runCli(t, ['plan', '--json']);
  t.equal(json.code, 2);
  t.same(JSON.parse(json.stdout), {
    error: {
      kind: 'usage',
      message: 'plan needs a preset, settings or a goal',
      hint: 'for example: tcp-keepalive plan --preset general, or --idle 60 --interval 10 --count 3, or --detect-within 90',
    },
  });
  const probe = await runCli(t, ['probe', '::1:80']);
  t.equal(probe.code, 2);
  t.match(probe.stderr, /write IPv6 addresses in brackets, as in \[::1\]:PORT/);
  const noTarget = await runCli(t, ['probe']);
  t.match(noTarget.stderr, /probe needs HOST:PORT\n  for example: tcp-keepalive probe 127\.0\.0\.1:5432/);
  const watchOnly = await runCli(t, ['probe', '127.0.0.1:1', '--duration', '3']);
  t.match(watchOnly.stderr, /--duration needs --watch\n  add --watch/);
  const range = await runCli(t, ['probe', '127.0.0.1:1', '--count', '100000']);
  t.equal(range.code, 2, 'out of this platform\'s range: a usage error before connecting');
  t.match(range.stderr, /--count.*out of range/);
});

t.test('info: the OS defaults, read live', { buffered: true, skip: !linux && 'Linux /proc values' }, async (t) => {
  const [idle, interval, count, retries] = ['tcp_keepalive_time', 'tcp_keepalive_intvl', 'tcp_keepalive_probes', 'tcp_retries2'].map(proc) as [number, number, number, number];
  const text = await runCli(t, ['info']);
  t.equal(text.code, 0);
  t.match(text.stdout, new RegExp(`idle\\s+${idle} s\\s+/proc/sys/net/ipv4/tcp_keepalive_time`));
  t.match(text.stdout, new RegExp(`count\\s+${count} probes`));
  t.match(text.stdout, new RegExp(`${idle} \\+ ${interval} × ${count} = ${idle + interval * count} s`));
  t.match(text.stdout, /TCP_KEEPIDLE\s+yes\s+yes\s+1\.\.32767 s/);
  t.match(text.stdout, /health \(getHealth, probe --watch\): TCP_INFO: state, probes/);

  const json = await runCli(t, ['info', '--json']);
  t.equal(json.code, 0);
  const report = JSON.parse(json.stdout) as {
    defaults: { idle: { value: number }; interval: { value: number }; count: { value: number }; retries: { value: number } };
    implications: { detectAfter: number; writeTimeout: number };
    supported: unknown;
    health: { source: string; fields: string[] };
  };
  t.same(
    [report.defaults.idle.value, report.defaults.interval.value, report.defaults.count.value, report.defaults.retries.value],
    [idle, interval, count, retries],
  );
  t.equal(report.implications.detectAfter, idle + interval * count);
  t.same(report.supported, JSON.parse(JSON.stringify(supported)), 'the same table as the library\'s `supported`');
  t.equal(report.health.source, 'TCP_INFO');
});

t.test('info in a namespace with its own sysctls: the values are live', { buffered: true }, async (t) => {
  const support = netnsSupport();
  if (!needs(t, support.ok, support.reason)) return;
  const hosts = twoHosts(t);
  hosts.exec(hosts.client, 'sysctl', ['-q', '-w', 'net.ipv4.tcp_keepalive_time=600', 'net.ipv4.tcp_keepalive_intvl=30', 'net.ipv4.tcp_keepalive_probes=5', 'net.ipv4.tcp_retries2=8']);
  const run = track(t, hosts.spawn(hosts.client, process.execPath, [BIN, 'info', '--json']));
  const { code, stdout: out } = await run.done(10_000);
  t.equal(code, 0);
  const report = JSON.parse(out) as { defaults: { idle: { value: number }; interval: { value: number }; count: { value: number } }; implications: { detectAfter: number; writeTimeout: number } };
  t.same([report.defaults.idle.value, report.defaults.interval.value, report.defaults.count.value], [600, 30, 5]);
  t.equal(report.implications.detectAfter, 750, '600 + 30 × 5');
  t.equal(report.implications.writeTimeout, 102.2, 'tcp_retries2 = 8: (2^9 − 1) × 0.2 s');
});

t.test('plan: text and --json, exit codes', { buffered: true }, async (t) => {
  const text = await runCli(t, ['plan', '--preset', 'database']);
  t.equal(text.code, 0);
  t.match(text.stdout, /settings\s+idle 60 s, interval 20 s, count 3, userTimeout 120 s/);
  t.match(text.stdout, /noticed within 120 s \(2 min\) = 60 \+ 20 × 3/);
  t.match(text.stdout, /survives any outage shorter than 40 s/);
  t.match(text.stdout, /1000 idle connections: 33\.3 packets\/s, 2\.2 KB\/s/);
  t.match(text.stdout, /setKeepalive\(socket, \{ idle: 60, interval: 20, count: 3, userTimeout: 'auto' \}\)/);

  const goals = await runCli(t, ['plan', '--detect-within', '60', '--lb-idle-timeout', '350', '--json']);
  t.equal(goals.code, 0);
  const plan = JSON.parse(goals.stdout) as { settings: { idle: number; interval: number; count: number }; detectAfter: number; goals: Array<{ met: boolean }> };
  t.same([plan.settings.idle, plan.settings.interval, plan.settings.count, plan.detectAfter], [30, 10, 3, 60]);
  t.ok(plan.goals.every((g) => g.met));

  const conflict = await runCli(t, ['plan', '--detect-within', '30', '--survive-outage', '40']);
  t.equal(conflict.code, 3, 'a goal that cannot hold: exit 3');
  t.match(conflict.stdout, /survive outage 40 s\s+survives 14 s\s+NOT MET/);
  t.match(conflict.stdout, /CONFLICT: [\s\S]*at\s+least\s+42/);
});

t.test('probe: connects, applies, reads back (text and --json)', { buffered: true }, async (t) => {
  const { port } = await server(t);
  const text = await runCli(t, ['probe', `127.0.0.1:${port}`, '--idle', '7', '--interval', '3', '--count', '4']);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, new RegExp(`connected to 127\\.0\\.0\\.1:${port} from 127\\.0\\.0\\.1:\\d+`));
  t.match(text.stdout, /idle\s+7 s\s+TCP_KEEPIDLE/);
  t.match(text.stdout, /interval\s+3 s\s+TCP_KEEPINTVL/);
  t.match(text.stdout, /count\s+4\s+TCP_KEEPCNT/);
  t.match(text.stdout, /noticed within 19 s/);
  t.match(text.stdout, /health \(TCP_INFO\): established/);

  const json = await runCli(t, ['probe', `127.0.0.1:${port}`, '--preset', 'trading', '--json']);
  t.equal(json.code, 0);
  const report = JSON.parse(json.stdout) as { event: string; state: Record<string, unknown>; health: { state: string } };
  t.equal(report.event, 'connected');
  t.match(report.state, { enabled: true, idle: 15, interval: 5, count: 5, userTimeout: 40, detectAfter: 40, source: 'kernel' });
  t.equal(report.health.state, 'established');
});

t.test('probe --watch: the kernel holds the settings (ss), probes are answered', { buffered: true, skip: !linux && 'ss oracle' }, async (t) => {
  const { port, sockets } = await server(t);
  const run = startCli(t, ['probe', `127.0.0.1:${port}`, '--idle', '1', '--interval', '1', '--count', '3', '--watch', '--duration', '4']);
  const local = Number((await run.waitFor(/from 127\.0\.0\.1:(\d+)/, 10_000))[1]);
  await run.waitFor(/Ctrl-C to stop/, 5000);
  const timer = await keepaliveTimer({ localPort: local, remotePort: port });
  t.equal(timer?.name, 'keepalive', 'ss: the keepalive timer runs on the command\'s socket');
  t.ok(timer!.seconds <= 1, `ss: it fires within the 1 s idle (${timer!.seconds} s)`);
  t.equal(sockets[0]!.remotePort, local, 'the server sees the command\'s connection');
  // The server's kernel counts every segment it receives: the probes.
  const segsBefore = ssInfo(port)!.values.segs_in!;
  await run.waitFor(/(keepalive probe answered[\s\S]*){2}/, 5000);
  const segsAfter = ssInfo(port)!.values.segs_in!;
  t.ok(segsAfter - segsBefore >= 2, `2 answered probes reported; the server received ${segsAfter - segsBefore} segments meanwhile (ss)`);
  const done = await run.done(15_000);
  t.equal(done.code, 0, 'stopped by --duration with the connection alive: exit 0');
  const answered = done.stdout.match(/^\[\s*\d+\.\d+s\] keepalive probe answered: the peer is alive$/gm) ?? [];
  t.ok(answered.length >= 3, `${answered.length} answered probes reported, one per line with a timestamp`);
  t.notMatch(done.stdout, /\r|\x1b\[/, 'no terminal control characters without a terminal');
  t.match(done.stdout, /stopped after --duration 4 after \d+\.\d s; the connection was established\n  probes answered \d+/);
});

t.test('probe --watch --send-every: the heartbeat reaches the server', { buffered: true }, async (t) => {
  let received = '';
  const { port } = await server(t, (s) => s.on('data', (d: Buffer) => (received += String(d))));
  const done = await runCli(t, ['probe', `127.0.0.1:${port}`, '--watch', '--send-every', '1', '--duration', '3']);
  t.equal(done.code, 0);
  const lines = done.stdout.match(/heartbeat \d+ sent \(1 byte\)/g) ?? [];
  t.ok(lines.length >= 2, `${lines.length} heartbeats reported`);
  t.equal(received, '\n'.repeat(lines.length), 'the server got one byte per heartbeat reported');
  t.match(done.stdout, /sending a 1-byte heartbeat every 1 s/);
});

t.test('probe --watch: how the connection ended (FIN, RST) and exit codes', { buffered: true }, async (t) => {
  const fin = await server(t, (s) => setTimeout(() => s.end(), 800));
  const closed = await runCli(t, ['probe', `127.0.0.1:${fin.port}`, '--watch']);
  t.equal(closed.code, 7, 'FIN: exit 7');
  t.match(closed.stdout, /the peer closed the connection \(FIN\) after [01]\.\d s\n/, 'FIN within the 0.8 s the server waits (counted from when watching began)');

  const rst = await server(t, (s) => setTimeout(() => s.resetAndDestroy(), 800));
  const reset = await runCli(t, ['probe', `127.0.0.1:${rst.port}`, '--watch', '--json']);
  t.equal(reset.code, 6, 'RST: exit 6');
  const end = JSON.parse(reset.stdout.trim().split('\n').at(-1)!) as { event: string; cause: string; code: string };
  t.match(end, { event: 'end', cause: 'reset', reason: 'reset', code: 'ECONNRESET' });

  const refused = await runCli(t, ['probe', `127.0.0.1:${await closedPort(t)}`]);
  t.equal(refused.code, 4, 'nothing listening: exit 4');
  t.match(refused.stderr, /could not connect to 127\.0\.0\.1:\d+: ECONNREFUSED.*\n  nothing listens there; check the port/);
});

async function closedPort(t: Test): Promise<number> {
  const { port } = await server(t);
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const free = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return free === port ? free + 1 : free;
}

t.test('probe --watch: Ctrl-C (SIGINT) stops it cleanly with a summary', { buffered: true }, async (t) => {
  const { port } = await server(t);
  const run = startCli(t, ['probe', `127.0.0.1:${port}`, '--watch', '--idle', '1', '--interval', '1', '--count', '3']);
  await run.waitFor(/Ctrl-C to stop/, 10_000);
  await new Promise((r) => setTimeout(r, 1300));
  run.child.kill('SIGINT');
  const done = await run.done(5000);
  t.equal(done.code, 0);
  t.match(done.stdout, /stopped by Ctrl-C after \d+\.\d s; the connection was established\n  probes answered [1-9]/);
});

t.test('probe --watch --json: one JSON object per event', { buffered: true }, async (t) => {
  const { port } = await server(t);
  const done = await runCli(t, ['probe', `127.0.0.1:${port}`, '--watch', '--json', '--idle', '1', '--interval', '1', '--count', '2', '--duration', '3']);
  t.equal(done.code, 0);
  const events = done.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; t?: number; health?: { state: string } });
  t.same(events.slice(0, 2).map((e) => e.event), ['connected', 'watching']);
  t.ok(events.filter((e) => e.event === 'probe-answered').length >= 1, 'probe-answered events');
  t.match(events.at(-1), { event: 'end', cause: 'duration', reason: 'local', code: null, budget: 3, health: { state: 'established' } });
});

t.test('probe --watch on a terminal: one status line, redrawn', { buffered: true }, async (t) => {
  if (!needs(t, hasCommand('script'), 'script (util-linux) is not installed')) return;
  const { port } = await server(t);
  const run = startCliInPty(t, ['probe', `127.0.0.1:${port}`, '--watch', '--idle', '1', '--interval', '1', '--count', '3', '--duration', '3']);
  const done = await run.done(15_000);
  t.equal(done.code, 0, done.stdout);
  const out = done.stdout;
  t.match(out, /watching the idle connection; a silent peer is dropped within 4 s/);
  const redraws = out.split('\r\x1b[2K').length - 1;
  t.ok(redraws >= 5, `the status line was redrawn ${redraws} times in 3 s`);
  t.match(out, /\r\x1b\[2K\d+\.\ds \| established \| silent \d+\.\ds \| unanswered 0\/3 \| answered \d+/);
  t.notMatch(out, /^\[\s*\d+\.\ds\]/m, 'no timestamped event lines on a terminal');
  const statusLines = out.split('\r\n').filter((l) => l.includes('\x1b[2K'));
  t.equal(statusLines.length, 1, 'all redraws happen on one line');
  t.match(out, /\r\x1b\[2Kstopped after --duration 3 after \d\.\d s; the connection was established\r\n/);
});

t.test('probe --watch on a terminal: Ctrl-C typed at the keyboard', { buffered: true }, async (t) => {
  if (!needs(t, hasCommand('script'), 'script (util-linux) is not installed')) return;
  const { port } = await server(t);
  const run = startCliInPty(t, ['probe', `127.0.0.1:${port}`, '--watch']);
  await run.waitFor(/\| established \|/, 10_000);
  run.child.stdin!.write('\x03'); // the terminal turns it into SIGINT
  const done = await run.done(5000);
  t.equal(done.code, 0);
  t.match(done.stdout, /stopped by Ctrl-C after \d+\.\d s; the connection was established/);
});
