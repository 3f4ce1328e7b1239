// Cases 1, 2, 6 and 7 of the fault suite, side by side on separate pairs of
// test hosts: a silent peer (path cut without FIN or RST) is detected within
// idle + interval × count, from either end; Node's own setKeepAlive and no
// keepalive at all as baselines; tcpdump on the detecting side's link counts
// the probes and their spacing.
import t, { type Test } from 'tap';

import {
  budgetOf,
  CASES,
  label,
  NODE_BUDGET,
  runBaselines,
  runDetection,
  runServerSide,
  Session,
  type DetectionRun,
  type Setting,
} from './helpers/faults';
import { faultsCanRun, nothingLeft } from './helpers/faults-tap';

/** The application saw ETIMEDOUT within [budget − 1, budget + 2] s of the cut, at 0.9..1.15 of the budget. */
function checkDetection(t: Test, run: DetectionRun, setting: Setting): void {
  const budget = budgetOf(setting);
  t.match(run.keepalive, { enabled: true, ...setting, detectAfter: budget }, 'settings read back from the kernel');
  t.equal(run.code, 'ETIMEDOUT', 'the application sees ETIMEDOUT');
  t.ok(
    run.detection !== null && run.detection >= budget - 1 && run.detection <= budget + 2,
    `detected ${run.detection} s after the cut, budget ${budget} s (window [${budget - 1}, ${budget + 2}])`,
  );
  const ratio = (run.detection ?? 0) / budget;
  t.ok(ratio >= 0.9 && ratio <= 1.15, `measured/budget = ${ratio.toFixed(3)} within [0.9, 1.15] (cut ${run.lagMs} ms after the last segment)`);
}

/** Case 7: the capture shows count probes, the first idle after the peer's last segment, then interval apart. */
function checkProbes(t: Test, run: DetectionRun, setting: Setting): void {
  const p = run.probes;
  if (!t.ok(p, 'capture analysed')) return;
  const near = (x: number | null, want: number): boolean => x !== null && x >= want - 0.05 && x <= want + 0.4;
  t.equal(p!.probes.length, setting.count, `tcpdump: ${p!.probes.length} unanswered probes (count ${setting.count})`);
  t.ok(near(p!.firstProbeAfter, setting.idle), `tcpdump: first probe ${p!.firstProbeAfter} s after the peer's last segment (idle ${setting.idle})`);
  t.ok(
    p!.spacings.length === setting.count - 1 && p!.spacings.every((s) => near(s, setting.interval)),
    `tcpdump: probes ${JSON.stringify(p!.spacings)} s apart (interval ${setting.interval})`,
  );
  t.ok(near(p!.resetAfter, budgetOf(setting)), `tcpdump: RST ${p!.resetAfter} s after the peer's last segment, as the connection is dropped`);
}

if (faultsCanRun(t, ['tcpdump'])) {
  t.test('silent peer: this package vs Node vs nothing', async (t) => {
    const session = new Session();
    const detection = Promise.all(runDetection(t, session));
    const serverSide = runServerSide(t, session);
    const baselines = Promise.all(runBaselines(t, session));
    const [runs, server, [node, none]] = await Promise.all([detection, serverSide, baselines]);

    CASES.detection.forEach((setting, i) => {
      t.test(`case 1: idle client ${label(setting)} detects a silent server (case 7: tcpdump)`, async (t) => {
        checkDetection(t, runs[i]!, setting);
        checkProbes(t, runs[i]!, setting);
      });
    });

    t.test(`case 2: the server ${label(CASES.serverSide)} detects a vanished client`, async (t) => {
      checkDetection(t, server, CASES.serverSide);
      checkProbes(t, server, CASES.serverSide);
    });

    t.test("case 6: Node's socket.setKeepAlive(true, 1000) baseline", async (t) => {
      const libuv = { idle: 1, interval: 1, count: 10 };
      t.match(node!.keepalive, { enabled: true, ...libuv }, 'libuv fixed interval 1 s and count 10 (read back)');
      checkProbes(t, node!, libuv);
      t.equal(node!.code, 'ETIMEDOUT');
      t.ok(
        node!.detection !== null && node!.detection >= NODE_BUDGET - 1 && node!.detection <= NODE_BUDGET + 2,
        `detected after ${node!.detection} s: 1 + 1 × 10 = ${NODE_BUDGET} s, whatever interval and count were wanted`,
      );
    });

    t.test('case 6: no keepalive baseline', async (t) => {
      t.equal(none!.keepalive, null, 'keepalive never set');
      t.equal(none!.detection, null, `nothing seen ${none!.waited} s after the cut`);
      t.ok(none!.waited >= CASES.baseline.waitS - 0.1, `waited the full ${CASES.baseline.waitS} s`);
      t.ok(none!.establishedAtEnd, 'ss: the connection is still established');
      t.ok(none!.timerAtEnd?.name !== 'keepalive', `ss: no keepalive timer on the connection (${JSON.stringify(none!.timerAtEnd)})`);
      const longest = Math.max(...runs.map((r) => r.detection ?? 0), server.detection ?? 0, node!.detection ?? 0);
      t.ok(none!.waited > longest, `still open after every other run of this file had detected the cut (${longest} s)`);
    });
  });
  nothingLeft(t);
}
