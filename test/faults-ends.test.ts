// Why a connection ended (lib/ends.ts), proved with real faults on the
// two-host network: each reason made to happen for real, on the client end
// and on the server end, and the record each peer's onConnectionEnd
// listener received checked against the wire (tcpdump's count of keepalive
// probes) and the kernel (ss). Every run also asks what the classifier
// would have said from the error code alone: for the data-in-flight
// reasons it says something else, so these tests fail if the record stops
// reading the kernel.
import t, { type Test } from 'tap';

import { METRIC_NAMES, type ConnectionEnd, type EndReason } from '../lib/index';
import { classifyEnd } from '../lib/outcome';
import { analyseProbes } from './helpers/capture';
import { connectedPair, Session, setUp, syncAndCut, type KeepaliveMode, type MetricPoint, type Pair, type Peer } from './helpers/faults';
import { faultsCanRun, nothingLeft } from './helpers/faults-tap';
import { scaled } from './helpers/tools';

type Scenario = Exclude<EndReason, 'unknown'>;
type Side = 'client' | 'server';

/** Budget {2,1,2}: 4 s; userTimeout 3 s for the user-timeout runs. */
const IDLE = 2;
const INTERVAL = 1;
const COUNT = 2;
const BUDGET = IDLE + INTERVAL * COUNT;
const USER_TIMEOUT = 3;
/** tcp_retries2 in the measured host's namespace for the retransmission runs: gives up after ~6 s instead of ~15 min. */
const RETRIES2 = 3;

interface EndRun {
  scenario: Scenario;
  side: Side;
  record: ConnectionEnd;
  /** What the measured end's OpenTelemetry SDK exported after the record. */
  metrics: MetricPoint[];
  /** The far end's record, for the clean ends (both ends know how). */
  far: ConnectionEnd | null;
  /** Keepalive probes the measured end sent after the peer's last segment (an RST from it excluded), from tcpdump. */
  probesOnWire: number;
  /** The reset the far host sent, seen on the wire. */
  resetOnWire: boolean;
  pair: Pair;
}

const other = (side: Side): Side => (side === 'client' ? 'server' : 'client');

async function endRun(owner: Test, session: Session, scenario: Scenario, side: Side): Promise<EndRun> {
  const mode: KeepaliveMode = {
    kind: 'ours',
    options: { idle: IDLE, interval: INTERVAL, count: COUNT, userTimeout: scenario === 'user-timeout' ? USER_TIMEOUT : 0 },
  };
  const ticket = session.join();
  const pair = await setUp(ticket, () => connectedPair(owner, { server: mode, client: mode }, { captureOn: side, metrics: true }));
  const measured: Peer = pair[side];
  const far: Peer = pair[other(side)];
  if (scenario === 'retransmission') pair.hosts.exec(measured.host, 'sysctl', ['-qw', `net.ipv4.tcp_retries2=${RETRIES2}`]);
  const from = measured.events.length;
  const farFrom = far.events.length;
  if (scenario === 'peer-closed') far.command('end');
  else if (scenario === 'local') measured.command('destroy');
  else {
    await syncAndCut(session, pair, side);
    if (scenario === 'user-timeout' || scenario === 'retransmission') measured.command('write 1000');
    if (scenario === 'reset') {
      // The far host forgets the connection (its RST is dropped), then the path comes back.
      pair.hosts.exec(far.host, 'ss', ['-tnK', 'dst', measured.host.address]);
      pair.hosts.restore();
    }
  }
  const ended = await measured.expect('ended', scaled(30_000), `the ${scenario} record`, from);
  const metrics = await measured.expect('metrics', 10_000, 'the OpenTelemetry export after the record', from);
  const farEnded = scenario === 'peer-closed' || scenario === 'local' ? await far.expect('ended', 10_000, 'the far end’s record', farFrom) : null;
  await new Promise((resolve) => setTimeout(resolve, 200)); // the last segments reach the capture
  const segments = await pair.capture!.stop();
  const connected = side === 'client' ? pair.clientConnected : pair.serverConnected;
  const local = { address: measured.host.address, port: connected.localPort };
  const remote = { address: far.host.address, port: connected.remotePort };
  const fromFar = (s: { src: string; sport: number }): boolean => s.src === remote.address && s.sport === remote.port;
  const probes = analyseProbes(
    segments.filter((s) => !(s.rst && fromFar(s))),
    local,
    remote,
  );
  return {
    scenario,
    side,
    record: ended.record,
    far: farEnded?.record ?? null,
    metrics: metrics.points,
    probesOnWire: probes.probes.length,
    resetOnWire: segments.some((s) => s.rst && fromFar(s)),
    pair,
  };
}

/** What the classifier says from the error code and the settings alone (no kernel view). */
function fromCodeAlone(record: ConnectionEnd): EndReason {
  return classifyEnd({
    closedBy: record.code === null && record.reason === 'local' ? 'local' : null,
    error: record.code !== null ? { code: record.code, message: record.message ?? '' } : null,
    peerEnded: record.reason === 'peer-closed',
    health: null,
    peakProbes: 0,
    peakRetransmits: 0,
    settings: { count: record.settings.count, userTimeout: record.settings.userTimeout },
  }).reason;
}

function checkCommon(t: Test, run: EndRun): void {
  const { record, pair, side } = run;
  const connected = side === 'client' ? pair.clientConnected : pair.serverConnected;
  t.equal(record.reason, run.scenario, `reason ${record.reason} (${record.code ?? 'no error'}; ${JSON.stringify(record)})`);
  t.equal(record.side, side, `side ${record.side}`);
  t.same(record.local, { address: pair.hosts[side].address, port: connected.localPort }, 'local address and port');
  t.same(record.remote, { address: pair.hosts[other(side)].address, port: connected.remotePort }, 'remote address and port');
  t.match(record.settings, { enabled: true, idle: IDLE, interval: INTERVAL, count: COUNT }, 'the settings in force');
  t.ok(record.age > 0 && record.age < 60, `age ${record.age} s`);
  const attributes = { 'tcp_keepalive.reason': record.reason, 'tcp_keepalive.side': side };
  t.same(
    run.metrics.filter((p) => p.name === METRIC_NAMES.ended && p.attributes['tcp_keepalive.side'] === side),
    [{ name: METRIC_NAMES.ended, attributes, value: 1 }],
    'OpenTelemetry: the counter holds this one end, by reason and side',
  );
  const detection = run.metrics.filter((p) => p.name === METRIC_NAMES.detection);
  if (['keepalive', 'user-timeout', 'retransmission'].includes(record.reason)) {
    t.same(detection, [{ name: METRIC_NAMES.detection, attributes, count: 1, sum: record.silence }], `OpenTelemetry: detection time ${record.silence} s recorded`);
  } else t.same(detection, [], 'OpenTelemetry: no detection time for this end');
}

const SCENARIOS: Scenario[] = ['keepalive', 'user-timeout', 'retransmission', 'reset', 'peer-closed', 'local'];

if (faultsCanRun(t, ['tcpdump', 'sysctl'])) {
  t.test('every reason, on the client end and the server end', async (t) => {
    const session = new Session();
    const runs = await Promise.all(SCENARIOS.flatMap((scenario) => (['client', 'server'] as const).map((side) => endRun(t, session, scenario, side))));
    for (const run of runs) {
      t.test(`${run.scenario}, ${run.side} end`, async (t) => {
        checkCommon(t, run);
        const { record } = run;
        switch (run.scenario) {
          case 'keepalive':
            t.equal(record.code, 'ETIMEDOUT', 'ETIMEDOUT');
            t.equal(record.source, 'tcp-info', 'decided from TCP_INFO');
            t.equal(record.probes, run.probesOnWire, `probes unanswered ${record.probes}, tcpdump counted ${run.probesOnWire}`);
            t.equal(run.probesOnWire, COUNT, `tcpdump: ${COUNT} probes`);
            t.equal(record.retransmits, 0, 'no retransmission');
            t.equal(record.detectAfter, BUDGET, `budget ${BUDGET} s`);
            t.ok(record.silence !== null && record.silence >= BUDGET - 0.5 && record.silence <= BUDGET + 1.5, `silence ${record.silence} s within [${BUDGET - 0.5}, ${BUDGET + 1.5}]`);
            break;
          case 'user-timeout':
          case 'retransmission':
            t.equal(record.code, 'ETIMEDOUT', 'ETIMEDOUT');
            t.equal(record.source, 'tcp-info', 'decided from TCP_INFO');
            t.ok((record.retransmits ?? 0) > 0, `${record.retransmits} retransmissions of the unacknowledged data`);
            t.equal(record.probes, 0, 'no keepalive probe unanswered');
            t.equal(run.probesOnWire, 0, 'tcpdump: no keepalive probe (the data was in flight)');
            t.equal(record.settings.userTimeout, run.scenario === 'user-timeout' ? USER_TIMEOUT : 0, `userTimeout ${record.settings.userTimeout}`);
            t.not(fromCodeAlone(record), record.reason, `from the error code alone it would be ${fromCodeAlone(record)}`);
            break;
          case 'reset':
            t.equal(record.code, 'ECONNRESET', 'ECONNRESET');
            t.ok(run.resetOnWire, 'tcpdump: the far host answered with RST');
            t.equal(record.probes, run.probesOnWire, `probes before the reset ${record.probes}, tcpdump counted ${run.probesOnWire}`);
            t.ok(run.probesOnWire >= 1, 'the reset answered a keepalive probe');
            t.ok(record.silence !== null && record.silence >= IDLE - 0.5, `idle ${record.silence} s before the reset`);
            t.match(record.note, /NAT or load balancer/, `note: ${record.note}`);
            break;
          case 'peer-closed':
            t.equal(record.code, null, 'no error');
            t.equal(record.source, 'socket', 'a clean end: no kernel read');
            t.equal(run.far?.reason, 'local', 'the end that closed it records local');
            break;
          case 'local':
            t.equal(record.code, null, 'no error');
            t.equal(record.source, 'socket', 'a clean end: no kernel read');
            t.equal(run.far?.reason, 'peer-closed', 'the far end records peer-closed');
            break;
        }
      });
    }
  });
  nothingLeft(t);
}
