// The stderr line of TCP_KEEPALIVE_LOG (lib/ends-text.ts), the middlebox
// note of a reset (lib/ends.ts noteFor) and TCP_KEEPALIVE_LOG itself
// (lib/env.ts logFromEnv): pure functions, table-driven.
import t from 'tap';

import { noteFor, type ConnectionEnd } from '../lib/ends';
import { ABNORMAL_REASONS, endLine } from '../lib/ends-text';
import { logFromEnv } from '../lib/env';
import { END_REASONS } from '../lib/outcome';

const settings = { enabled: true, idle: 60, interval: 10, count: 3, userTimeout: 0 };
const record = (over: Partial<ConnectionEnd>): ConnectionEnd => ({
  reason: 'keepalive',
  code: 'ETIMEDOUT',
  message: 'read ETIMEDOUT',
  side: 'client',
  local: { address: '198.18.0.2', port: 40000 },
  remote: { address: '198.18.0.1', port: 5432, host: 'db.internal' },
  settings,
  detectAfter: 90,
  silence: 90.4,
  probes: 3,
  retransmits: 0,
  unacked: 0,
  age: 3600.04,
  source: 'tcp-info',
  note: null,
  at: 0,
  ...over,
});

t.test('endLine: one sentence per reason', async (t) => {
  const cases: Array<[string, Partial<ConnectionEnd>, string]> = [
    ['keepalive', {}, 'connection to db.internal:5432 declared dead by keepalive: 3 probes unanswered over 30 s after 60 s idle, silent 90.4 s; budget 90 s (after 3600 s)'],
    ['keepalive, server end, no host name', { side: 'server', remote: { address: '198.18.0.2', port: 40000 } }, 'connection from 198.18.0.2:40000 declared dead by keepalive: 3 probes unanswered over 30 s after 60 s idle, silent 90.4 s; budget 90 s (after 3600 s)'],
    ['keepalive, IPv6 peer', { remote: { address: 'fd00::1', port: 5432 } }, 'connection to [fd00::1]:5432 declared dead by keepalive: 3 probes unanswered over 30 s after 60 s idle, silent 90.4 s; budget 90 s (after 3600 s)'],
    ['keepalive, from the error code alone', { source: 'error-code', probes: null, silence: null }, 'connection to db.internal:5432 declared dead by keepalive: 3 probes unanswered over 30 s after 60 s idle; budget 90 s (from the error code alone: the OS reported nothing more) (after 3600 s)'],
    ['user-timeout', { reason: 'user-timeout', settings: { ...settings, userTimeout: 30 }, probes: 0, retransmits: 7, silence: 30.2 }, 'connection to db.internal:5432 dropped by userTimeout 30 s: data went unacknowledged after 7 retransmissions, silent 30.2 s (after 3600 s)'],
    ['retransmission', { reason: 'retransmission', probes: 0, retransmits: 15, silence: 924.6 }, 'connection to db.internal:5432 dropped by the OS retransmission limit: data went unacknowledged after 15 retransmissions, silent 924.6 s; set userTimeout to bound it (after 3600 s)'],
    ['reset after a long idle', { reason: 'reset', code: 'ECONNRESET', probes: 1, silence: 350.2, note: 'N' }, 'connection to db.internal:5432 reset (ECONNRESET) after 350.2 s idle: N (after 3600 s)'],
    ['reset, no note', { reason: 'reset', code: 'ECONNRESET', probes: 0, silence: 0.1 }, 'connection to db.internal:5432 reset (ECONNRESET) after 0.1 s idle by the peer or a middlebox (after 3600 s)'],
    ['peer-closed', { reason: 'peer-closed', code: null, source: 'socket' }, 'connection to db.internal:5432 closed by the peer (FIN) (after 3600 s)'],
    ['local', { reason: 'local', code: null, source: 'socket' }, 'connection to db.internal:5432 closed by this process (after 3600 s)'],
    ['unknown', { reason: 'unknown', code: 'EPROTO', message: 'bad record' }, 'connection to db.internal:5432 ended with EPROTO: bad record (after 3600 s)'],
    ['unknown peer', { reason: 'unknown', code: null, message: null, remote: null }, 'connection to an unknown peer ended with an error (after 3600 s)'],
  ];
  for (const [name, over, line] of cases) t.equal(endLine(record(over)), line, name);
});

t.test('ABNORMAL_REASONS: every reason but the clean ends', async (t) => {
  t.same(END_REASONS.filter((r) => !ABNORMAL_REASONS.has(r)), ['peer-closed', 'local']);
});

t.test('noteFor: a reset that looks like a middlebox forgetting the flow', async (t) => {
  const cases: Array<[string, Parameters<typeof noteFor>, RegExp | null]> = [
    ['answering a probe', ['reset', { probes: 1 }, 350.2, settings], /^reset answering a keepalive probe after 350\.2 s idle: the signature of a NAT or load balancer/],
    ['idle about as long as keepalive waits', ['reset', { probes: 0 }, 55, settings], /^reset after 55\.0 s idle: the signature/],
    ['soon after data', ['reset', { probes: 0 }, 2, settings], null],
    ['idle long, keepalive off', ['reset', { probes: 0 }, 500, { ...settings, enabled: false }], null],
    ['no kernel view', ['reset', null, null, settings], null],
    ['not a reset', ['keepalive', { probes: 3 }, 90, settings], null],
  ];
  for (const [name, args, expected] of cases) {
    const note = noteFor(...args);
    if (expected === null) t.equal(note, null, name);
    else t.match(note, expected, name);
  }
});

t.test('logFromEnv: TCP_KEEPALIVE_LOG', async (t) => {
  const cases: Array<[string | undefined, string]> = [
    [undefined, 'off'],
    ['', 'off'],
    ['off', 'off'],
    [' OFF ', 'off'],
    ['abnormal', 'abnormal'],
    ['Abnormal', 'abnormal'],
    ['all', 'all'],
  ];
  for (const [value, expected] of cases) t.equal(logFromEnv(value === undefined ? {} : { TCP_KEEPALIVE_LOG: value }), expected, JSON.stringify(value));
  t.throws(() => logFromEnv({ TCP_KEEPALIVE_LOG: 'yes' }), {
    code: 'ERR_TCP_KEEPALIVE_ENV',
    variable: 'TCP_KEEPALIVE_LOG',
    part: 'yes',
    message: 'TCP_KEEPALIVE_LOG="yes" is invalid: "yes" is not a log level. Allowed: off (the default), abnormal or all.',
  });
  t.equal(logFromEnv(Object.create({ TCP_KEEPALIVE_LOG: 'all' }) as NodeJS.ProcessEnv), 'off', 'an inherited property is not the variable');
});
