// The words of `probe --watch` (lib/cli/probe-render.ts), table-driven:
// each event, the status line and each way a connection ends.
import t from 'tap';

import type { TcpHealth } from '../../lib/health';
import type { KeepaliveState } from '../../lib/keepalive';
import type { Outcome } from '../../lib/outcome';
import { budgetText, changeEvent, endText, statusLine, summaryText, type EndContext } from '../../lib/cli/probe-render';

const state = (over: Partial<KeepaliveState>): KeepaliveState =>
  ({ enabled: true, idle: 1, interval: 1, count: 3, userTimeout: 0, detectAfter: 4, source: 'kernel', ...over }) as KeepaliveState;

t.test('budgetText', async (t) => {
  const cases: Array<[Partial<KeepaliveState>, string, string]> = [
    [{}, 'linux', '4 s (idle 1 + 1 × 3)'],
    [{ idle: 3, interval: 9, count: 3, detectAfter: 36 }, 'linux', '36 s (interval 9, above idle 3, + 9 × 3)'],
    [{ idle: 3, interval: 9, count: 3, detectAfter: 30 }, 'darwin', '30 s (idle 3 + 9 × 3)'],
    [{ idle: 60, interval: 10, count: 3, userTimeout: 45, detectAfter: 70 }, 'linux', '70 s (idle 60 + 10 × 1, userTimeout 45)'],
    [{ detectAfter: null }, 'linux', 'none (keepalive off)'],
  ];
  for (const [over, platform, text] of cases) t.equal(budgetText(state(over), platform), text);
});

t.test('changeEvent', async (t) => {
  t.same(changeEvent({ kind: 'probe-unanswered', probes: 2 }, 3, 0, 2200), { name: 'probe-unanswered', text: 'probe 2/3 unanswered (peer silent for 2.2 s)', extra: { probes: 2, count: 3 } });
  t.same(changeEvent({ kind: 'probe-unanswered', probes: 1 }, 3, 0, null).text, 'probe 1/3 unanswered');
  t.same(changeEvent({ kind: 'peer-back', after: 2 }, 3, 4, null), { name: 'probe-answered', text: 'probe answered after 2 unanswered: the peer is back', extra: { answered: 4 } });
  t.same(changeEvent({ kind: 'probe-answered' }, 3, 1, 900), { name: 'probe-answered', text: 'keepalive probe answered: the peer is alive', extra: { answered: 1 } });
  t.same(changeEvent({ kind: 'retransmit', retransmits: 2 }, 3, 0, 1500).text, 'retransmission 2 of unacknowledged data (peer silent for 1.5 s)');
  t.same(changeEvent({ kind: 'state', from: 'established', to: 'close-wait' }, 3, 0, null), { name: 'state', text: 'state established -> close-wait', extra: { from: 'established', to: 'close-wait' } });
});

t.test('statusLine', async (t) => {
  const h = { state: 'established', probes: 1, retransmits: 0, rttMs: 0.05, lastReceivedMs: 1500 } as TcpHealth;
  const base = { elapsedS: 3.25, health: h, silentMs: 1500, count: 3, answered: 2, heartbeats: 0, userTimeout: 0, budget: 4, columns: 200 };
  t.equal(statusLine(base), '3.3s | established | silent 1.5s | unanswered 1/3 | answered 2 | retrans 0 | drop in 2.5s | rtt 0.05 ms');
  t.equal(statusLine({ ...base, health: { ...h, probes: 0, retransmits: 2 } as TcpHealth, userTimeout: 4, heartbeats: 3 }), '3.3s | established | silent 1.5s | unanswered 0/3 | answered 2 | retrans 2 | drop in 2.5s | rtt 0.05 ms | heartbeats 3');
  t.equal(statusLine({ ...base, health: null }), '3.3s');
  t.equal(statusLine({ ...base, columns: 10 }).length, 20, 'never shorter than 20 columns');
});

const outcome = (over: Partial<Outcome>): Outcome => ({ reason: 'keepalive', source: 'tcp-info', cause: 'timeout', detail: 'probes-unanswered', code: 'ETIMEDOUT', message: 'x', substituted: false, probesUnanswered: 3, retransmissions: 0, ...over });
const context = (over: Partial<EndContext> = {}): EndContext => ({ watchedS: 6.04, silentMs: 4100, unackedForS: null, userTimeout: 0, budget: 4, durationLimit: null, signal: null, lastState: 'established', ...over });

t.test('endText: each way a connection ends', async (t) => {
  const cases: Array<[string, Partial<Outcome>, Partial<EndContext>, string]> = [
    ['probes', {}, {}, 'ETIMEDOUT: 3 keepalive probes went unanswered; the kernel dropped the connection 4.1 s after the peer went silent (budget 4 s)'],
    ['probes, no silence known', {}, { silentMs: null, budget: null }, 'ETIMEDOUT: 3 keepalive probes went unanswered; the kernel dropped the connection after 6.0 s'],
    ['probes, another code', { code: 'EHOSTUNREACH', substituted: true }, {}, 'EHOSTUNREACH: 3 keepalive probes went unanswered; the kernel dropped the connection 4.1 s after the peer went silent (budget 4 s); EHOSTUNREACH is the last network error the kernel saw, reported instead of ETIMEDOUT'],
    ['data, user timeout', { detail: 'data-unacknowledged', retransmissions: 5 }, { unackedForS: 4.12, userTimeout: 4 }, 'ETIMEDOUT: unacknowledged data was retransmitted 5 times without an answer; the kernel dropped the connection 4.1 s after the oldest of it was sent (userTimeout 4 s)'],
    ['data, OS limit', { detail: 'data-unacknowledged', retransmissions: 15 }, {}, 'ETIMEDOUT: unacknowledged data was retransmitted 15 times without an answer; the kernel dropped the connection 4.1 s after the peer went silent (the OS retransmission limit)'],
    ['reset answering a probe', { cause: 'reset', detail: 'probe-reset', code: 'ECONNRESET' }, {}, 'ECONNRESET: the connection was reset (RST) 4.1 s after the peer went silent: a keepalive probe was answered with a reset: the peer no longer knows this connection (it restarted, or a middlebox dropped the flow)'],
    ['reset', { cause: 'reset', detail: 'reset', code: null }, { silentMs: null }, 'ECONNRESET: the connection was reset (RST) after 6.0 s: the peer or a middlebox reset it'],
    ['FIN', { cause: 'fin', detail: 'fin' }, {}, 'the peer closed the connection (FIN) after 6.0 s'],
    ['failed', { cause: 'error', detail: 'failed', code: 'EACCES', message: 'denied' }, {}, 'the connection failed: EACCES denied after 6.0 s'],
    ['closed unexplained', { cause: 'error', detail: 'failed', code: null, message: null }, {}, 'the connection failed: closed after 6.0 s'],
    ['Ctrl-C', { cause: 'interrupted', detail: 'stopped' }, { signal: 'SIGINT' }, 'stopped by Ctrl-C after 6.0 s; the connection was established'],
    ['SIGTERM', { cause: 'interrupted', detail: 'stopped' }, { signal: 'SIGTERM' }, 'stopped by SIGTERM after 6.0 s; the connection was established'],
    ['--duration, no reading', { cause: 'duration', detail: 'stopped' }, { durationLimit: 3, lastState: null }, 'stopped after --duration 3 after 6.0 s; the connection was open'],
  ];
  for (const [name, o, c, text] of cases) t.equal(endText(outcome(o), context(c)), text, name);
});

t.test('summaryText', async (t) => {
  const tally = { answered: 2, maxProbes: 3, maxRetransmits: 0, heartbeats: 0, received: 0 };
  t.equal(summaryText(tally, 9), 'probes answered 2, most unanswered at once 3, retransmissions 0, heartbeats sent 0, bytes received 0');
  t.equal(summaryText({ ...tally, received: 4 }, 1.25), 'probes answered 2, most unanswered at once 3, retransmissions 0, heartbeats sent 0, bytes received 4, last data 1.3 s ago');
});
