// Numbers on the command line stay within what they feed (Node's timers wait
// at most 2^31 − 1 ms: a longer setTimeout fires at once), messages that
// echo what was typed escape control characters, and SIGTERM or SIGHUP stop
// `probe --watch` with the same summary as Ctrl-C.
import t from 'tap';
import * as net from 'node:net';

import { escapeControl, integer, MAX_INTEGER, MAX_SECONDS, quoted, seconds, UsageError } from '../../lib/cli/args';
import { planInput } from '../../lib/cli/plan';
import { probeInput } from '../../lib/cli/probe';
import { main } from '../../lib/cli';
import type { Io } from '../../lib/cli/io';
import { runCli, startCli } from '../helpers/cli';
import { listen } from '../helpers/net';

function usage(run: () => unknown): UsageError {
  try {
    run();
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error('no UsageError');
}

t.test('seconds and integer: the bounds', async (t) => {
  t.equal(MAX_SECONDS, 2147483, 'floor((2^31 − 1) ms / 1000)');
  const accepted: Array<[string, number]> = [['2147483', 2147483], ['35791m', 2147460], ['596h', 2145600], ['1', 1]];
  for (const [text, value] of accepted) t.equal(seconds('duration', text), value, `${text} accepted`);
  const refused: Array<[string, RegExp]> = [
    ['2147484', /--duration must be at most 2147483 s, got "2147484"/],
    ['99999999999', /at most 2147483 s/],
    ['35792m', /at most 2147483 s, got "35792m"/],
    ['597h', /at most/],
    ['9'.repeat(400), /at most/],
    ['0', /at least 1/],
  ];
  for (const [text, message] of refused) t.match(usage(() => seconds('duration', text)).message, message, `${text.slice(0, 20)} refused`);
  t.match(usage(() => seconds('duration', '2147484')).hint, /longest timer Node can wait/);
  t.equal(integer('count', String(MAX_INTEGER)), MAX_INTEGER);
  t.match(usage(() => integer('count', String(MAX_INTEGER + 1))).message, /--count must be at most 2147483647/);
  t.match(usage(() => integer('count', '9'.repeat(400))).message, /at most/);
});

t.test('probe: timer options beyond the limit are usage errors, before connecting', async (t) => {
  const target = '127.0.0.1:9';
  const cases: Array<[string[], RegExp]> = [
    [['--connect-timeout', '99999999999'], /--connect-timeout must be at most 2147483 s/],
    [['--watch', '--duration', '2147484'], /--duration must be at most 2147483 s/],
    [['--watch', '--send-every', '2147484'], /--send-every must be at most 2147483 s/],
  ];
  for (const [argv, message] of cases) t.match(usage(() => probeInput([target, ...argv])).message, message, argv.join(' '));
  const largest = probeInput([target, '--watch', '--duration', '2147483', '--connect-timeout', '2147483']);
  t.match(largest, { duration: 2147483, connectTimeout: 2147483 }, 'the largest accepted');
  const cli = await runCli(t, ['probe', target, '--connect-timeout', '99999999999']);
  t.equal(cli.code, 2, 'the command: exit 2');
  t.match(cli.stderr, /^tcp-keepalive: --connect-timeout must be at most 2147483 s, got "99999999999"\n  2147483 s \(24\.8 days\) is the longest timer Node can wait\n$/);
});

t.test('plan: durations and counts are bounded too', async (t) => {
  t.match(usage(() => planInput(['--detect-within', '2147484'])).message, /--detect-within must be at most 2147483 s/);
  t.match(usage(() => planInput(['--preset', 'web', '--connections', '99999999999'])).message, /--connections must be at most 2147483647/);
  t.match(usage(() => planInput(['--preset', 'web', '--frame-bytes', '65536'])).message, /--frame-bytes must be at most 65535/);
});

t.test('escapeControl: control characters shown escaped, the rest as typed', async (t) => {
  const cases: Array<[string, string]> = [
    ['web', 'web'],
    ['datab\u00e4se ✓', 'datab\u00e4se ✓'],
    ['\x1b[31mred', '\\x1b[31mred'],
    ['a\nFAKE LOG LINE', 'a\\nFAKE LOG LINE'],
    ['\r\t\x00\x7f', '\\r\\t\\x00\\x7f'],
    ['\u009b2J', '\\x9b2J'],
    ['\u202egnp.exe', '\\u202egnp.exe'],
    ['\u2028', '\\u2028'],
  ];
  for (const [text, shown] of cases) t.equal(escapeControl(text), shown, `shown as ${shown}`);
  t.equal(quoted('\x1b]0;pwned\x07'), '"\\x1b]0;pwned\\x07"');
});

t.test('probe: a value typed with a line break is echoed escaped in the basis', async (t) => {
  const input = probeInput(['127.0.0.1:1', '--preset', 'web', '--idle', '5\n']);
  if (input === 'help') throw new Error('help');
  t.equal(input.options.idle, 5, 'the value is read (surrounding white space ignored)');
  t.equal(input.basis, 'preset web, with --idle 5\\n', 'the line break shown escaped');
});

t.test('every message that echoes input escapes it', async (t) => {
  const evil = '\x1b[2J\x1b]0;owned\x07\nforged';
  const run = async (argv: string[]): Promise<string> => {
    let err = '';
    const io: Io = { out: () => {}, write: () => {}, err: (text) => (err += text), isTTY: false, columns: 80 };
    await main(argv, io, { once: () => {}, removeListener: () => {} });
    return err;
  };
  const argvs = [
    [evil],
    ['pln', evil],
    ['plan', `--${evil}`],
    ['plan', '--preset', evil],
    ['plan', evil],
    ['plan', '--preset', 'web', '--platform', evil],
    ['plan', '--idle', evil],
    ['plan', '--preset', 'web', '--count', evil],
    ['probe', evil],
    ['probe', `${evil}:1:2`],
    ['probe', '127.0.0.1:1', evil],
    ['probe', '127.0.0.1:1', '--preset', evil],
    ['info', evil],
  ];
  for (const argv of argvs) {
    const err = await run(argv);
    t.ok(err.length > 0, `${JSON.stringify(argv)}: an error`);
    t.notMatch(err, /[\x00-\x09\x0b-\x1f\x7f]/, `${JSON.stringify(argv)}: no control character but the line breaks of the message`);
    t.notMatch(err, /\nforged/, `${JSON.stringify(argv)}: no forged line`);
    t.match(err, /\\x1b\[2J/, `${JSON.stringify(argv)}: the input shown escaped`);
  }
});

for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
  t.test(`probe --watch: ${signal} stops it with the summary Ctrl-C prints`, { buffered: true }, async (t) => {
    const server = net.createServer((c) => c.on('error', () => {}));
    const port = await listen(t, server);
    const run = startCli(t, ['probe', `127.0.0.1:${port}`, '--watch', '--idle', '1', '--interval', '1', '--count', '3']);
    await run.waitFor(/keepalive probe answered/, 10_000);
    run.child.kill(signal);
    const done = await run.done(5000);
    t.equal(done.signal, null, 'not killed by the signal');
    t.equal(done.code, 0, 'exit 0, as for Ctrl-C: the connection was alive');
    t.match(done.stdout, new RegExp(`stopped by ${signal} after \\d+\\.\\d s; the connection was established\\n  probes answered [1-9]\\d*, most unanswered at once 0`));
  });
}
