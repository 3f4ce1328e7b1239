// A policy per destination: the matcher grammar and the rules of
// TCP_KEEPALIVE and install({ rules }) (tables of good and bad input), and
// on loopback: clients and accepted sockets get their rule's settings, a
// rule 'off' and an unmatched socket are left alone (so each check can
// fail), the first match wins, a later setKeepAlive keeps the rule's
// settings. Checked with getKeepalive and `ss`.
import t, { type Test } from 'tap';
import { once } from 'node:events';
import * as net from 'node:net';

import { currentPolicy, getKeepalive, install, isRulesText, parsePolicyRules, policyApplied, policyFromEnv, resolvePolicy, type PolicyRules } from '../lib/index';
import { parseMatcher, ruleIndexFor, type Matcher } from '../lib/policy-rules';
import { expectKeepalive } from './helpers/dropin';
import { listen } from './helpers/net';

const A = { idle: 41, interval: 4, count: 3 };
const B = { idle: 23, interval: 2, count: 5 };
const REST = { idle: 57, interval: 6, count: 2 };
const OFF = { enabled: false };

t.test('matchers', async (t) => {
  const table: Array<[string, ReturnType<typeof parseMatcher>]> = [
    ['*', { text: '*' }],
    [' 5432 ', { port: 5432, text: '5432' }],
    ['1', { port: 1, text: '1' }],
    ['65535', { port: 65535, text: '65535' }],
    ['DB.Internal:5432', { host: 'db.internal', port: 5432, text: 'db.internal:5432' }],
    ['db.internal:*', { host: 'db.internal', text: 'db.internal:*' }],
    ['198.18.0.2:6379', { host: '198.18.0.2', port: 6379, text: '198.18.0.2:6379' }],
    ['[::1]:5432', { host: '::1', port: 5432, text: '[::1]:5432' }],
    ['[FE80::1]:*', { host: 'fe80::1', text: '[fe80::1]:*' }],
    ['0', 'port 0 is not from 1 to 65535'],
    ['65536', 'port 65536 is not from 1 to 65535'],
    ['db:0', 'port 0 is not from 1 to 65535'],
    ['db', '"db" is not *, a port, host:port or host:*'],
    ['db:', '"db:" is not *, a port, host:port or host:*'],
    ['::1:5432', '"::1:5432" is not *, a port, host:port or host:*'],
    ['**', '"**" is not *, a port, host:port or host:*'],
    ['', '"" is not *, a port, host:port or host:*'],
    ['-1', '"-1" is not *, a port, host:port or host:*'],
    ['5432x', '"5432x" is not *, a port, host:port or host:*'],
  ];
  for (const [text, want] of table) t.same(parseMatcher(text), want, JSON.stringify(text));
});

t.test('which rule a socket matches (first match wins)', async (t) => {
  const rules = ['5432', 'db.internal:*', '198.18.0.2:6379', '[::1]:80', '*'].map((text) => ({ matchers: [parseMatcher(text) as Matcher] }));
  const socket = (fields: Record<string, unknown>): net.Socket => fields as unknown as net.Socket;
  const table: Array<[string, Record<string, unknown>, boolean, number]> = [
    ['client to port 5432', { remotePort: 5432, remoteAddress: '198.18.0.9' }, false, 0],
    ['client to db.internal, by the name given', { remotePort: 9999, remoteAddress: '198.18.0.9', _host: 'DB.internal' }, false, 1],
    ['client to 198.18.0.2:6379', { remotePort: 6379, remoteAddress: '198.18.0.2', _host: 'cache' }, false, 2],
    ['client to 198.18.0.2:6380: the catch-all', { remotePort: 6380, remoteAddress: '198.18.0.2' }, false, 4],
    ['client to [::1]:80', { remotePort: 80, remoteAddress: '::1' }, false, 3],
    ['server: by the port it accepted on, not the peer\'s', { localPort: 6379, localAddress: '198.18.0.2', remotePort: 5432, remoteAddress: '198.18.0.9' }, true, 2],
    ['server on a dual-stack listener: the IPv4-mapped address as IPv4', { localPort: 6379, localAddress: '::ffff:198.18.0.2' }, true, 2],
    ['server: the name given to connect() plays no part', { localPort: 7000, localAddress: '198.18.0.2', _host: 'db.internal' }, true, 4],
  ];
  for (const [name, fields, server, want] of table) t.equal(ruleIndexFor(rules, socket(fields), server), want, name);
  t.equal(ruleIndexFor(rules.slice(0, 4), socket({ remotePort: 1, remoteAddress: '198.18.0.9' }), false), -1, 'no rule matches: -1');
});

t.test('TCP_KEEPALIVE with rules', async (t) => {
  const rules: Array<[string, boolean]> = [
    ['5432=database', true],
    ['5432,3306=database;*=general', true],
    ['db:5432=web', true],
    ['*=off', true],
    ['70000=database', true],
    ['database', false],
    ['idle=60,interval=10,count=3', false],
    ['database,userTimeout=0', false],
    ['', false],
    ['general;5432=database', true],
    ['idle=1;x,interval=1,count=1', false],
  ];
  for (const [value, want] of rules) t.equal(isRulesText(value), want, `${JSON.stringify(value)} ${want ? 'holds rules' : 'is one policy'}`);

  const parsed = parsePolicyRules('5432, 3306 = database ; DB.x:6379=realtime,userTimeout=0; [::1]:*=off ;*=idle=57,interval=6,count=2');
  t.same(parsed.rules, [
    { match: ['5432', '3306'], policy: { idle: 60, interval: 20, count: 3, userTimeout: 'auto' } },
    { match: ['db.x:6379'], policy: { idle: 30, interval: 10, count: 3, userTimeout: 0 } },
    { match: ['[::1]:*'], policy: 'off' },
    { match: ['*'], policy: REST },
  ]);
  const env = policyFromEnv({ TCP_KEEPALIVE: '5432=database;*=web', TCP_KEEPALIVE_SIDE: 'clients' });
  t.match(env, { off: false, clients: true, servers: false, description: '5432=database;*=web on clients' });
  t.same(!env.off && env.settings, resolvePolicy('web'), "settings: the rule for '*'");
  t.match(policyFromEnv({ TCP_KEEPALIVE: '5432=database' }), { off: false, settings: {} }, 'no rule for *: settings {}');

  const bad: Array<[string, string, RegExp]> = [
    ['5432=database;;*=general', '', /rule 2 \(""\): an empty rule/],
    ['5432=database;', '', /rule 2 \(""\): an empty rule/],
    ['5432=datab;*=general', '5432=datab', /rule 1 \("5432=datab"\): "datab" is not a preset name/],
    ['70000=database', '70000=database', /rule 1 .*port 70000 is not from 1 to 65535/],
    ['5432=idle=1', '5432=idle=1', /rule 1 .*interval, count missing/],
    ['*=general;5432=database', '5432=database', /rule 2 \("5432=database"\) comes after a rule for \*/],
    ['5432=database;3306,5432=web', '3306,5432=web', /rule 2 .*matches 5432, as rule 1 does first/],
    ['5432=database;nothing', 'nothing', /rule 2 \("nothing"\): not MATCHERS=POLICY/],
    ['general;5432=database', 'general', /rule 1 \("general"\): not MATCHERS=POLICY/],
    ['5432=database;db=web', 'db=web', /rule 2 .*"db" is not \*, a port/],
    ['5432=idle=70000,interval=1,count=1', '5432=idle=70000,interval=1,count=1', /rule 1 .*idle must be from 1 to/],
  ];
  for (const [value, part, message] of bad) {
    t.throws(() => policyFromEnv({ TCP_KEEPALIVE: value }), { code: 'ERR_TCP_KEEPALIVE_ENV', variable: 'TCP_KEEPALIVE', part, message }, value);
  }
  t.throws(() => policyFromEnv({ TCP_KEEPALIVE: '5432=database;\u001b[2J=web' }), { message: /\\x1b\[2J/ }, 'control characters escaped in the message');
});

t.test('install({ rules }): bad rules are refused and change nothing', async (t) => {
  const proto = net.Socket.prototype;
  const before = { connect: proto.connect, setKeepAlive: proto.setKeepAlive };
  const bad: Array<[unknown, string, RegExp]> = [
    [{ rules: [] }, 'ERR_INVALID_ARG_VALUE', /policy\.rules.*at least one rule/],
    [{ rules: 'x' }, 'ERR_INVALID_ARG_TYPE', /policy\.rules/],
    [{ rules: [null] }, 'ERR_INVALID_ARG_TYPE', /policy\.rules\[0\]/],
    [{ rules: [{ match: 5432 }] }, 'ERR_INVALID_ARG_TYPE', /policy\.rules\[0\]\.policy/],
    [{ rules: [{ match: 5432, policy: 'datab' }] }, 'ERR_INVALID_ARG_VALUE', /policy\.rules\[0\]\.policy/],
    [{ rules: [{ match: 5432, policy: { idle: 1 } }] }, 'ERR_INVALID_ARG_VALUE', /must set interval, count/],
    [{ rules: [{ match: 0, policy: 'web' }] }, 'ERR_INVALID_ARG_VALUE', /policy\.rules\[0\]\.match.*port from 1 to 65535/],
    [{ rules: [{ match: 5432.5, policy: 'web' }] }, 'ERR_INVALID_ARG_VALUE', /port from 1 to 65535/],
    [{ rules: [{ match: [], policy: 'web' }] }, 'ERR_INVALID_ARG_VALUE', /at least one matcher/],
    [{ rules: [{ match: ['5432', true], policy: 'web' }] }, 'ERR_INVALID_ARG_TYPE', /policy\.rules\[0\]\.match\[1\]/],
    [{ rules: [{ match: 'db', policy: 'web' }] }, 'ERR_INVALID_ARG_VALUE', /is not a matcher/],
    [{ rules: [{ match: '*', policy: 'web' }, { match: 5432, policy: 'database' }] }, 'ERR_INVALID_ARG_VALUE', /policy\.rules\[1\].*never applies/],
    [{ rules: [{ match: 5432, policy: 'web', extra: 1 }] }, 'ERR_INVALID_ARG_VALUE', /policy\.rules\[0\]\.extra.*not a rule option/],
    [{ rules: [{ match: 5432, policy: 'web' }], more: 1 }, 'ERR_INVALID_ARG_VALUE', /policy\.more.*not a rules option/],
  ];
  for (const [spec, code, message] of bad) {
    t.throws(() => install(spec as PolicyRules), { code, message }, JSON.stringify(spec));
    t.equal(currentPolicy(), null, 'nothing installed');
  }
  t.equal(proto.connect, before.connect, 'connect not wrapped');
  t.equal(proto.setKeepAlive, before.setKeepAlive, 'setKeepAlive not wrapped');
});

/** A listening server whose accepted sockets are kept (and destroyed at teardown). */
async function server(t: Test): Promise<{ port: number; accepted: net.Socket[] }> {
  const accepted: net.Socket[] = [];
  const s = net.createServer((socket) => accepted.push(socket));
  const port = await listen(t, s);
  t.teardown(() => {
    for (const socket of accepted) socket.destroy();
  });
  return { port, accepted };
}

async function connect(t: Test, port: number, host = '127.0.0.1'): Promise<net.Socket> {
  const socket = net.connect(port, host);
  t.teardown(() => socket.destroy());
  await once(socket, 'connect');
  return socket;
}

t.test('on loopback: each client and each accepted socket gets its rule', async (t) => {
  const [a, b, off, other] = [await server(t), await server(t), await server(t), await server(t)];
  const handle = install({
    rules: [
      { match: a.port, policy: A },
      { match: [`localhost:${b.port}`], policy: B },
      { match: `127.0.0.1:${off.port}`, policy: 'off' },
      { match: `127.0.0.1:${b.port}`, policy: REST },
    ],
  });
  t.teardown(() => handle.uninstall());
  t.same(handle.settings, {}, 'no rule for every socket: settings {}');
  t.same(handle.rules?.map((r) => r.match), [[String(a.port)], [`localhost:${b.port}`], [`127.0.0.1:${off.port}`], [`127.0.0.1:${b.port}`]]);
  t.equal(handle.detectAfter, Math.max(41 + 4 * 3, 23 + 2 * 5, 57 + 6 * 2), 'detectAfter: the largest of the rules');

  const toA = await connect(t, a.port);
  await expectKeepalive(t, toA, { enabled: true, ...A }, 'client to A (by port)');
  t.same(policyApplied(toA)?.rule?.match, [String(a.port)], 'policyApplied names the rule');
  const toBByName = await connect(t, b.port, 'localhost');
  if (toBByName.remoteAddress === '127.0.0.1') {
    await expectKeepalive(t, toBByName, { enabled: true, ...B }, 'client to localhost:B (by the host name given)');
  } else {
    t.comment(`localhost resolved to ${toBByName.remoteAddress}, not 127.0.0.1: the by-name case is not this server's`);
  }
  const toBByAddress = await connect(t, b.port);
  await expectKeepalive(t, toBByAddress, { enabled: true, ...REST }, 'client to 127.0.0.1:B (the later rule, by address)');
  const toOff = await connect(t, off.port);
  await expectKeepalive(t, toOff, OFF, "client matched by a rule 'off': left alone");
  t.equal(policyApplied(toOff), null);
  const toOther = await connect(t, other.port);
  await expectKeepalive(t, toOther, OFF, 'client no rule matches: left alone');

  toA.setKeepAlive(true, 1000);
  await expectKeepalive(t, toA, { enabled: true, ...A }, "after a library's setKeepAlive(true, 1000), the rule's settings again");
  toOther.setKeepAlive(true, 1000);
  t.match(getKeepalive(toOther), { enabled: true, idle: 1, count: 10 }, "unmatched: the library's own call stands");

  // Accepted sockets match by the port they were accepted on.
  await expectKeepalive(t, a.accepted[0]!, { enabled: true, ...A }, 'accepted on A');
  t.equal(b.accepted.length, toBByName.remoteAddress === '127.0.0.1' ? 2 : 1);
  for (const socket of b.accepted) await expectKeepalive(t, socket, { enabled: true, ...REST }, 'accepted on B (by its local address 127.0.0.1)');
  await expectKeepalive(t, off.accepted[0]!, OFF, "accepted on a port whose rule is 'off'");
  t.match(getKeepalive(other.accepted[0]!), OFF, 'accepted where no rule matches: left alone');
});

t.test('rules with the side and a filter', async (t) => {
  const a = await server(t);
  const handle = install({ rules: [{ match: '*', policy: A }] }, { servers: false, filter: (socket) => socket.remotePort === a.port });
  t.teardown(() => handle.uninstall());
  t.same(handle.settings, A, "settings: the rule for '*'");
  const client = await connect(t, a.port);
  await expectKeepalive(t, client, { enabled: true, ...A }, 'client passed by the filter');
  await expectKeepalive(t, a.accepted[0]!, OFF, 'servers: false: accepted socket left alone');
  const other = await server(t);
  const refused = await connect(t, other.port);
  await expectKeepalive(t, refused, OFF, 'client refused by the filter');
});

t.test('a rules policy replaced by a plain one: policyApplied follows the one in force', async (t) => {
  const a = await server(t);
  const first = install({ rules: [{ match: a.port, policy: A }] });
  const client = await connect(t, a.port);
  t.same(policyApplied(client)?.settings, A);
  const second = install(B);
  t.teardown(() => second.uninstall());
  t.equal(first.active, false);
  t.equal(policyApplied(client), null, 'the earlier policy applied it: not the one in force');
  client.setKeepAlive(true, 1000);
  t.same(policyApplied(client), { settings: B, rule: null }, 'the plain policy, on the next setKeepAlive');
  await expectKeepalive(t, client, { enabled: true, ...B }, 'kernel holds the plain policy');
});
