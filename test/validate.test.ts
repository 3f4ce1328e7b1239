// Every bad input gets Node's error code, before any system call.
import t from 'tap';
import * as net from 'node:net';
import { Duplex } from 'node:stream';

import { setKeepalive, getKeepalive, supported } from '../lib/index';
import { tcpPair } from './helpers/net';

t.test('not a socket: ERR_INVALID_ARG_TYPE', async (t) => {
  const server = net.createServer();
  for (const value of [undefined, null, 5, 'sock', {}, { _handle: { fd: 1 } }, new Duplex(), server]) {
    t.throws(() => setKeepalive(value as net.Socket, { idle: 5 }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    t.throws(() => getKeepalive(value as net.Socket), { code: 'ERR_INVALID_ARG_TYPE' });
  }
  t.match(
    (() => { try { setKeepalive(5 as unknown as net.Socket); } catch (e) { return (e as Error).message; } return ''; })(),
    /The "socket" argument must be an instance of net\.Socket or tls\.TLSSocket\. Received type number \(5\)/,
  );
});

t.test('bad option values: ERR_OUT_OF_RANGE / ERR_INVALID_ARG_TYPE, socket untouched', async (t) => {
  const { client } = await tcpPair(t);
  const before = setKeepalive(client, { idle: 77, interval: 7, count: 4, userTimeout: 33 });
  const { limits } = supported;
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [];
  for (const name of ['idle', 'interval', 'count'] as const) {
    const { min, max } = limits[name];
    for (const bad of [0, -1, min - 1, max + 1, 1.5, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER + 2]) {
      cases.push([{ [name]: bad }, 'ERR_OUT_OF_RANGE', new RegExp(`"options\\.${name}" is out of range`)]);
    }
    for (const bad of ['5', true, null, {}, [], 5n]) {
      cases.push([{ [name]: bad }, 'ERR_INVALID_ARG_TYPE', new RegExp(`"options\\.${name}" property must be of type number`)]);
    }
  }
  for (const bad of [-1, 1.5, NaN, Infinity, limits.userTimeout.max + 1]) {
    cases.push([{ userTimeout: bad }, 'ERR_OUT_OF_RANGE', /"options\.userTimeout" is out of range/]);
  }
  for (const bad of ['AUTO', 'never', null, true]) {
    cases.push([{ userTimeout: bad }, 'ERR_INVALID_ARG_TYPE', /"options\.userTimeout" property must be of type number or 'auto'/]);
  }
  for (const bad of [1, 'yes', null]) {
    cases.push([{ enable: bad }, 'ERR_INVALID_ARG_TYPE', /"options\.enable" property must be of type boolean/]);
  }
  cases.push([{ idel: 5 }, 'ERR_INVALID_ARG_VALUE', /'options\.idel' is not a keepalive option/]);
  // a valid field next to a bad one must not be applied either
  cases.push([{ idle: 9, count: 0 }, 'ERR_OUT_OF_RANGE', /"options\.count"/]);
  for (const [options, code, message] of cases) {
    t.throws(() => setKeepalive(client, options), { code, message }, JSON.stringify(options, (_k, v) => (typeof v === 'bigint' ? `${v}n` : Number.isNaN(v) || !Number.isFinite(v) ? String(v) : v)));
  }
  for (const bad of [5, 'x', null, [1]]) {
    t.throws(() => setKeepalive(client, bad as never), { code: 'ERR_INVALID_ARG_TYPE', message: /"options" argument must be of type object/ });
  }
  t.same(getKeepalive(client), before, 'nothing was changed by the rejected calls');
});

t.test('range messages name the limits', async (t) => {
  const { client } = await tcpPair(t);
  const { max } = supported.limits.idle;
  t.throws(() => setKeepalive(client, { idle: max + 1 }), {
    message: `The value of "options.idle" is out of range. It must be >= 1 && <= ${max}. Received ${max + 1}`,
  });
  t.throws(() => setKeepalive(client, { interval: 2.5 }), {
    message: 'The value of "options.interval" is out of range. It must be an integer. Received 2.5',
  });
  t.match(String((() => { try { setKeepalive(client, { count: 0 }); } catch (e) { return (e as Error).stack; } })()), /^RangeError \[ERR_OUT_OF_RANGE\]: /);
});

t.test("userTimeout 'auto' beyond the platform limit is a RangeError before any change", async (t) => {
  const { client } = await tcpPair(t);
  const { idle, interval, count, userTimeout } = supported.limits;
  const before = setKeepalive(client, { idle: 10 });
  // the largest settings give an 'auto' far beyond the user timeout's range
  const big = idle.max + interval.max * count.max;
  t.ok(big > userTimeout.max, 'the case exists on this platform');
  t.throws(
    () => setKeepalive(client, { idle: idle.max, interval: interval.max, count: count.max, userTimeout: 'auto' }),
    { code: 'ERR_OUT_OF_RANGE', message: new RegExp(`auto: ${idle.max} \\+ ${interval.max} × ${count.max} = ${big}`) },
  );
  t.same(getKeepalive(client), before);
});

t.test('options the platform lacks give ERR_KEEPALIVE_UNSUPPORTED only when asked for', async (t) => {
  const missing = (['count', 'userTimeout'] as const).find((name) => !supported.set[name]);
  if (!missing) {
    // Linux and macOS can set every option; the native capability table must say so.
    t.ok(['linux', 'darwin'].includes(supported.platform), `every option is settable on ${supported.platform}`);
    return;
  }
  const { client } = await tcpPair(t);
  t.throws(() => setKeepalive(client, { [missing]: 5 }), { code: 'ERR_KEEPALIVE_UNSUPPORTED', message: new RegExp(missing) });
  t.ok(setKeepalive(client, { idle: 5 }), 'fine when left out');
});
