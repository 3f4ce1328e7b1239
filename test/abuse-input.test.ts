// Hostile and odd input (issue 11, item 6): options are read from own
// properties only (a polluted Object.prototype changes nothing, for
// setKeepalive and install alike), environment keys such as __proto__ are
// unknown keys, control characters in input never reach a message raw, a
// pending setKeepalive on a frozen socket fails with a code, detectAfter
// rejects what it cannot compute exactly, and errors start their stacks at
// the caller. Checked against the kernel with getKeepalive where a socket
// is involved.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

import { detectAfter, getKeepalive, install, parsePolicySpec, policyFromEnv, setKeepalive } from '../lib/index';
import { tcpPair } from './helpers/net';

type Polluted = Record<string, unknown>;

/** Runs `fn` with Object.prototype[key] = value, removed again before anything else runs. */
function withPollution<R>(key: string, value: unknown, fn: () => R): R {
  (Object.prototype as Polluted)[key] = value;
  try {
    return fn();
  } finally {
    delete (Object.prototype as Polluted)[key];
  }
}

t.test('an inherited option is no option: setKeepalive and install agree', async (t) => {
  const { client } = await tcpPair(t);
  setKeepalive(client, { enable: true, idle: 50, interval: 5, count: 5 });
  const state = withPollution('enable', false, () => setKeepalive(client, { idle: 61 }));
  t.match(state, { enabled: true, idle: 61, interval: 5, count: 5 }, 'Object.prototype.enable = false is ignored');
  t.match(getKeepalive(client), { enabled: true, idle: 61 }, 'the kernel holds keepalive on');
  const idle = withPollution('idle', 9999, () => setKeepalive(client, { count: 6 }));
  t.match(idle, { idle: 61, count: 6 }, 'Object.prototype.idle is ignored');
  const handle = withPollution('enable', false, () => install({ idle: 61, interval: 5, count: 5 }));
  t.teardown(() => handle.uninstall());
  t.same(handle.settings, { idle: 61, interval: 5, count: 5 }, 'install accepts the same input');
  const sides = withPollution('clients', false, () => install({ idle: 61, interval: 5, count: 5 }));
  t.equal(sides.clients, true, 'an inherited install option is ignored too');
  sides.uninstall();
  t.equal(withPollution('userTimeout', 10 ** 9, () => detectAfter({ idle: 10, interval: 2, count: 3 }, 'darwin')), 16, 'detectAfter too');
});

t.test('environment keys that name Object.prototype members are unknown keys', async (t) => {
  for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    t.throws(() => parsePolicySpec(`general,${key}=1`), {
      code: 'ERR_TCP_KEEPALIVE_ENV',
      part: `${key}=1`,
      message: new RegExp(`"${key}" is not a setting \\(use idle, interval, count, userTimeout\\)`),
    }, key);
  }
  const inherited = Object.create({ TCP_KEEPALIVE: 'off' }) as NodeJS.ProcessEnv;
  t.match(policyFromEnv(inherited), { off: false, description: 'general (default) on clients and servers' }, 'an inherited variable is not set');
});

// Every C0 control, DEL, a C1 control, a line separator, a bidi override.
const CONTROLS = [...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)), '\x7f', '\x9b', '\u2028', '\u202e'];
const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

t.test('control characters in input are escaped in every message that quotes it', async (t) => {
  const { client } = await tcpPair(t);
  const before = getKeepalive(client);
  for (const char of CONTROLS) {
    const label = `U+${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
    const messages = [
      () => parsePolicySpec(`idle=6${char}0,interval=1,count=1`),
      () => parsePolicySpec(`x${char}y=1`),
      () => parsePolicySpec(`gen${char}eral`),
      () => policyFromEnv({ TCP_KEEPALIVE_SIDE: `a${char}b` }),
      () => setKeepalive(client, { [`bad${char}key`]: 1 } as never),
      () => install(`pre${char}set` as never),
    ].map((fn) => {
      try {
        fn();
        return 'no error';
      } catch (error) {
        return `${(error as { code?: string }).code} ${(error as Error).message}`;
      }
    });
    t.notOk(messages.some((m) => RAW.test(m)), `${label}: no raw control character in ${messages.length} messages`);
    t.ok(messages.every((m) => m.startsWith('ERR_')), `${label}: every one coded`);
  }
  t.same(getKeepalive(client), before, 'the rejected calls changed nothing');
});

t.test('the register preload prints the escaped message', async (t) => {
  const register = path.join(__dirname, '..', 'dist', 'register.js');
  let stderr = '';
  try {
    execFileSync(process.execPath, ['--require', register, '-e', '0'], {
      env: { ...process.env, NODE_OPTIONS: '', TCP_KEEPALIVE: 'idle=1\x1b]0;owned\x07,interval=1,count=1' },
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
  } catch (error) {
    stderr = (error as { stderr: string }).stderr;
  }
  t.match(stderr, /idle must be a whole number/, 'the process stopped with the message');
  t.notOk(RAW.test(stderr.replace(/\n$/, '')), 'no raw control character on stderr');
  t.match(stderr, /\\x1b\]0;owned\\x07/, 'the characters shown escaped');
});

t.test('a pending setKeepalive on a frozen socket is a coded error and changes nothing', async (t) => {
  const socket = Object.freeze(new net.Socket());
  const error = t.throws(() => setKeepalive(socket, { idle: 30 })) as Error & { code?: string };
  t.equal(error.code, 'ERR_INVALID_ARG_VALUE');
  t.match(error.message, /frozen/);
  t.equal(socket.listenerCount('connect'), 0, 'no listener left behind');
  t.equal(socket.listenerCount('close'), 0);
});

t.test('detectAfter: results it cannot state exactly are ERR_OUT_OF_RANGE, never Infinity', async (t) => {
  const huge = [1e308, Number.MAX_VALUE, Infinity, 2 ** 53];
  for (const value of huge) {
    for (const field of ['idle', 'interval', 'count', 'userTimeout'] as const) {
      const options = { idle: 10, interval: 2, count: 3, [field]: value };
      t.throws(() => detectAfter(options, 'linux'), { code: 'ERR_OUT_OF_RANGE' }, `${field} ${value}`);
    }
  }
  const max = Number.MAX_SAFE_INTEGER;
  t.throws(() => detectAfter({ idle: max, interval: max, count: max }), { code: 'ERR_OUT_OF_RANGE', message: /detectAfter\(options\)/ }, 'a product past 2^53');
  t.throws(() => detectAfter({ idle: 2 ** 52, interval: 2 ** 52, count: 1 }, 'darwin'), { code: 'ERR_OUT_OF_RANGE' }, 'a sum past 2^53');
  t.equal(detectAfter({ idle: 2 ** 52, interval: 1, count: 1 }, 'darwin'), 2 ** 52 + 1, 'the largest sums still exact');
  t.throws(() => detectAfter([10, 2, 3] as never), { code: 'ERR_INVALID_ARG_TYPE', message: /must be of type object\. Received an instance of Array/ }, 'arrays rejected');
});

// This file as stack frames name it: abuse-input.test.ts under tap's loader,
// abuse-input.test.js where the suite is compiled first (the arm64 run).
const thisFile = new RegExp(`[/\\\\]${path.basename(__filename).replace(/\./g, '\\.')}:`);

t.test("errors start their stacks at the caller, not in the package's own frames", async (t) => {
  const { client } = await tcpPair(t);
  const calls: Array<[string, () => unknown]> = [
    ['setKeepalive', () => setKeepalive(client, { idle: 0 })],
    ['getKeepalive', () => getKeepalive(new net.Socket())],
    ['detectAfter', () => detectAfter({ idle: 0, interval: 1, count: 1 })],
    ['install', () => install({ idle: 1, interval: 1 })],
  ];
  for (const [name, call] of calls) {
    let stack = '';
    try {
      call();
    } catch (error) {
      stack = (error as Error).stack ?? '';
    }
    const frames = stack.split('\n').filter((line) => line.trimStart().startsWith('at '));
    t.match(stack, /^\w*Error \[ERR_[A-Z_]+\]: /, `${name}: Node's "Name [CODE]: message" header`);
    t.match(frames[0], thisFile, `${name}: the first frame is the caller's`);
    t.notOk(frames.some((line) => /[/\\](lib|dist)[/\\]/.test(line)), `${name}: no frame of the package's own`);
  }
});
