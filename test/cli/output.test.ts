// The command's output going nowhere: a reader that closed the pipe
// (`tcp-keepalive info | true`, `probe --watch | head -1`) ends it quietly
// with status 141 (128 + SIGPIPE, what a shell reports for `yes | head -1`);
// a full disk (/dev/full) gives one line on stderr and status 1. Never an
// unhandled 'error' stack.
import t from 'tap';
import { closeSync, openSync } from 'node:fs';
import * as net from 'node:net';

import { EXIT_BROKEN_PIPE, guardOutput, outputFailure } from '../../lib/cli/io';
import { runCli, runCliClosedStdout, startCli } from '../helpers/cli';
import { listen } from '../helpers/net';
import { hasCommand, needs } from '../helpers/tools';

t.test('outputFailure: what each failure ends with', async (t) => {
  const cases: Array<[string, 'stdout' | 'stderr', { code?: unknown; message?: unknown }, number, RegExp | null]> = [
    ['reader gone from stdout', 'stdout', { code: 'EPIPE' }, 141, null],
    ['reader gone from stderr', 'stderr', { code: 'EPIPE' }, 141, null],
    ['full disk', 'stdout', { code: 'ENOSPC' }, 1, /^tcp-keepalive: cannot write the output: ENOSPC \(no space left on device\)$/],
    ['I/O error', 'stdout', { code: 'EIO' }, 1, /^tcp-keepalive: cannot write the output: EIO \(i\/o error\)$/],
    ['unknown code', 'stdout', { code: 'EWHATEVER' }, 1, /: EWHATEVER$/],
    ['no code', 'stdout', { message: 'gone' }, 1, /: gone$/],
    ['stderr full: nowhere to say it', 'stderr', { code: 'ENOSPC' }, 1, null],
  ];
  for (const [name, stream, error, status, message] of cases) {
    const failure = outputFailure(stream, error);
    t.equal(failure.status, status, `${name}: status ${status}`);
    if (message) t.match(failure.message, message, `${name}: the message`);
    else t.equal(failure.message, null, `${name}: nothing printed`);
  }
  t.equal(EXIT_BROKEN_PIPE, 141);
});

t.test('guardOutput exits with the status for the stream that failed', async (t) => {
  const { EventEmitter } = await import('node:events');
  const streams = { stdout: new EventEmitter(), stderr: new EventEmitter() };
  const exits: number[] = [];
  guardOutput(streams, (status) => exits.push(status));
  streams.stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  streams.stderr.emit('error', Object.assign(new Error('write EIO'), { code: 'EIO' }));
  t.same(exits, [141, 1]);
});

t.test('a closed pipe: every subcommand exits 141 with nothing on stderr', { buffered: true }, async (t) => {
  if (!needs(t, hasCommand('python3'), 'python3 is not installed')) return;
  const server = net.createServer((c) => c.on('error', () => {}));
  const port = await listen(t, server);
  const argvs = [['info'], ['info', '--json'], ['plan', '--preset', 'web'], ['--help'], ['probe', `127.0.0.1:${port}`], ['plan']];
  for (const argv of argvs) {
    const { code, stderr } = await runCliClosedStdout(t, argv);
    if (argv[0] === 'plan' && argv.length === 1) {
      // A usage error writes to stderr only: stdout's state does not matter.
      t.equal(code, 2, 'plan without arguments: still the usage error');
      continue;
    }
    t.equal(code, 141, `${argv.join(' ')}: status 141`);
    t.equal(stderr, '', `${argv.join(' ')}: no stack, nothing on stderr`);
  }
});

t.test('probe --watch | head -1: the reader leaves after one line, the watch ends at once', { buffered: true }, async (t) => {
  const server = net.createServer((c) => c.on('error', () => {}));
  const port = await listen(t, server);
  const run = startCli(t, ['probe', `127.0.0.1:${port}`, '--watch', '--idle', '1', '--interval', '1', '--count', '3']);
  await run.waitFor(/Ctrl-C to stop/, 10_000);
  run.child.stdout!.destroy();
  const done = await run.done(5000);
  t.equal(done.code, 141, 'status 141 once the next line finds no reader');
  t.equal(done.stderr, '', 'no stack');
});

t.test('/dev/full: one line on stderr, status 1', { buffered: true }, async (t) => {
  const fd = openSync('/dev/full', 'w');
  t.teardown(() => closeSync(fd));
  for (const argv of [['info'], ['plan', '--preset', 'database', '--json']]) {
    const done = await runCli(t, argv, 20_000, { stdio: ['ignore', fd, 'pipe'] });
    t.equal(done.code, 1, `${argv.join(' ')}: status 1`);
    t.equal(done.stderr, 'tcp-keepalive: cannot write the output: ENOSPC (no space left on device)\n', `${argv.join(' ')}: one line, no stack`);
  }
});
