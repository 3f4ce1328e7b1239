// How a connection ended (lib/outcome.ts) and what changed between two
// health readings (lib/health-diff.ts): pure functions, table-driven.
import t from 'tap';

import { healthChanges, type DiffHealth, type HealthChange } from '../../lib/health-diff';
import { classifyEnd, type EndFacts, type Outcome } from '../../lib/outcome';

const quiet = { probes: 0, retransmits: 0, unacked: 0 };
const facts = (over: Partial<EndFacts>): EndFacts => ({
  closedBy: null,
  error: null,
  peerEnded: false,
  health: quiet,
  peakProbes: 0,
  peakRetransmits: 0,
  settings: { count: 3, userTimeout: 0 },
  ...over,
});
const err = (code: string | null, message = 'x'): EndFacts['error'] => ({ code, message });

t.test('classifyEnd: cause and detail', async (t) => {
  const cases: Array<[string, Partial<EndFacts>, Partial<Outcome>]> = [
    ['Ctrl-C or a signal', { closedBy: 'interrupted' }, { cause: 'interrupted', detail: 'stopped' }],
    ['--duration', { closedBy: 'duration' }, { cause: 'duration', detail: 'stopped' }],
    ['we closed it, even after an error', { closedBy: 'duration', error: err('ECONNRESET') }, { cause: 'duration', code: 'ECONNRESET' }],
    ['probes unanswered', { error: err('ETIMEDOUT'), health: { probes: 3, retransmits: 0, unacked: 0 }, peakProbes: 3 }, { cause: 'timeout', detail: 'probes-unanswered', probesUnanswered: 3, substituted: false }],
    ['probes unanswered, last reading missed them: the count', { error: err('ETIMEDOUT') }, { detail: 'probes-unanswered', probesUnanswered: 3 }],
    ['the peak counts when the last reading dropped', { error: err('ETIMEDOUT'), health: null, peakProbes: 2 }, { probesUnanswered: 2 }],
    ['data retransmitted', { error: err('ETIMEDOUT'), health: { probes: 0, retransmits: 4, unacked: 1 }, peakRetransmits: 5 }, { cause: 'timeout', detail: 'data-unacknowledged', retransmissions: 5 }],
    ['data unacknowledged, no retransmit seen yet', { error: err('ETIMEDOUT'), health: { probes: 0, retransmits: 0, unacked: 2 } }, { detail: 'data-unacknowledged', retransmissions: 0 }],
    ['EHOSTUNREACH in place of ETIMEDOUT', { error: err('EHOSTUNREACH') }, { cause: 'timeout', substituted: true, code: 'EHOSTUNREACH' }],
    ['ENETUNREACH', { error: err('ENETUNREACH') }, { cause: 'timeout', substituted: true }],
    ['EHOSTDOWN', { error: err('EHOSTDOWN') }, { cause: 'timeout' }],
    ['ENETDOWN', { error: err('ENETDOWN') }, { cause: 'timeout' }],
    ['reset answering a probe', { error: err('ECONNRESET'), health: { probes: 1, retransmits: 0, unacked: 0 } }, { cause: 'reset', detail: 'probe-reset' }],
    ['reset after probes seen earlier', { error: err('ECONNRESET'), peakProbes: 2 }, { cause: 'reset', detail: 'probe-reset' }],
    ['reset out of the blue', { error: err('ECONNRESET') }, { cause: 'reset', detail: 'reset' }],
    ['EPIPE is a reset', { error: err('EPIPE') }, { cause: 'reset', detail: 'reset' }],
    ['FIN', { peerEnded: true }, { cause: 'fin', detail: 'fin', code: null, message: null }],
    ['an error beats FIN', { peerEnded: true, error: err('ECONNRESET') }, { cause: 'reset' }],
    ['another error', { error: err('EACCES', 'denied') }, { cause: 'error', detail: 'failed', code: 'EACCES', message: 'denied' }],
    ['an error without a code', { error: err(null, 'odd') }, { cause: 'error', code: null, message: 'odd' }],
    ['closed, nobody said why', {}, { cause: 'error', detail: 'failed', message: null }],
  ];
  for (const [name, input, expected] of cases) t.match(classifyEnd(facts(input)), expected, name);
});

t.test('classifyEnd: the reason a record reports, and what decided it', async (t) => {
  const kernel = (probes: number, retransmits: number): EndFacts['health'] => ({ probes, retransmits, unacked: 0 });
  const cases: Array<[string, Partial<EndFacts>, Partial<Outcome>]> = [
    ['keepalive: probes unanswered, as TCP_INFO shows it at the end', { error: err('ETIMEDOUT'), health: kernel(2, 0) }, { reason: 'keepalive', source: 'tcp-info' }],
    ['keepalive reported as the last soft error', { error: err('EHOSTUNREACH'), health: kernel(3, 0) }, { reason: 'keepalive' }],
    ['user-timeout: retransmissions with userTimeout set', { error: err('ETIMEDOUT'), health: kernel(0, 4), settings: { count: 3, userTimeout: 3 } }, { reason: 'user-timeout' }],
    ['retransmission: retransmissions without userTimeout', { error: err('ETIMEDOUT'), health: kernel(0, 4) }, { reason: 'retransmission' }],
    ['keepalive bounded by userTimeout is still keepalive (probes, no data)', { error: err('ETIMEDOUT'), health: kernel(2, 0), settings: { count: 3, userTimeout: 3 } }, { reason: 'keepalive' }],
    ['reset', { error: err('ECONNRESET'), health: kernel(1, 0) }, { reason: 'reset' }],
    ['peer-closed', { peerEnded: true, health: null }, { reason: 'peer-closed' }],
    ['local: this process closed it', { closedBy: 'local', health: null }, { reason: 'local', cause: 'local' }],
    ['local, from the CLI: a signal', { closedBy: 'interrupted' }, { reason: 'local' }],
    ['unknown: another error', { error: err('EPROTO') }, { reason: 'unknown' }],
    // From the error code alone (the OS reported nothing): every ETIMEDOUT looks like keepalive.
    ['the error code alone: ETIMEDOUT is keepalive', { error: err('ETIMEDOUT'), health: null }, { reason: 'keepalive', source: 'error-code' }],
    ['the error code alone cannot see data in flight', { error: err('ETIMEDOUT'), health: null, settings: { count: 3, userTimeout: 3 } }, { reason: 'keepalive', source: 'error-code' }],
  ];
  for (const [name, input, expected] of cases) t.match(classifyEnd(facts(input)), expected, name);
});

const reading = (over: Partial<DiffHealth> = {}): DiffHealth => ({
  state: 'established',
  probes: 0,
  retransmits: 0,
  lastAckReceivedMs: 500,
  bytesReceived: 0,
  ...over,
});
const idle = { sent: false, received: false };

t.test('healthChanges: what happened between two readings', async (t) => {
  const cases: Array<[string, DiffHealth, DiffHealth, { sent: boolean; received: boolean }, HealthChange[]]> = [
    ['nothing', reading(), reading(), idle, []],
    ['an idle probe answered: a fresh ACK, nothing sent or received', reading(), reading({ lastAckReceivedMs: 10 }), idle, [{ kind: 'probe-answered' }]],
    ['a fresh ACK for our heartbeat is no probe', reading(), reading({ lastAckReceivedMs: 10 }), { sent: true, received: false }, []],
    ['a fresh ACK with data received is no probe', reading(), reading({ lastAckReceivedMs: 10 }), { sent: false, received: true }, []],
    ['bytes arrived between the readings', reading(), reading({ lastAckReceivedMs: 10, bytesReceived: 5 }), idle, []],
    ['ACK age unknown', reading({ lastAckReceivedMs: null }), reading({ lastAckReceivedMs: 10 }), idle, []],
    ['one more probe unanswered', reading(), reading({ probes: 1, lastAckReceivedMs: 1500 }), idle, [{ kind: 'probe-unanswered', probes: 1 }]],
    ['two at once', reading({ probes: 1 }), reading({ probes: 3 }), idle, [{ kind: 'probe-unanswered', probes: 3 }]],
    ['the peer is back', reading({ probes: 2 }), reading({ probes: 0, lastAckReceivedMs: 5 }), idle, [{ kind: 'peer-back', after: 2 }]],
    ['probes unknown (not Linux)', reading({ probes: null }), reading({ probes: null }), idle, []],
    ['a retransmission', reading(), reading({ retransmits: 1 }), { sent: true, received: false }, [{ kind: 'retransmit', retransmits: 1 }]],
    ['retransmissions falling back are no event', reading({ retransmits: 2 }), reading({ retransmits: 0 }), idle, []],
    ['state change first, then the rest', reading(), reading({ state: 'close-wait', probes: 1, retransmits: 1 }), idle, [
      { kind: 'state', from: 'established', to: 'close-wait' },
      { kind: 'probe-unanswered', probes: 1 },
      { kind: 'retransmit', retransmits: 1 },
    ]],
  ];
  for (const [name, previous, current, activity, expected] of cases) t.same(healthChanges(previous, current, activity), expected, name);
});
