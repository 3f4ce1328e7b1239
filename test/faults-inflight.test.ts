// Case 5 of the fault suite: data written after the path is cut is never
// acknowledged, and the keepalive timer does nothing while data is in
// flight. Without userTimeout the socket hangs past the keepalive budget
// (the kernel keeps retransmitting for ~15 minutes); userTimeout 'auto' or an
// explicit value bounds it.
import t, { type Test } from 'tap';

import { budgetOf, CASES, runInFlight, Session, type InFlightRun } from './helpers/faults';
import { faultsCanRun, nothingLeft } from './helpers/faults-tap';

const { setting, explicitUserTimeout } = CASES.inFlight;
const budget = budgetOf(setting);

/** The write is retransmitted (ss timer 'on'), so the data really is in flight. */
function inFlight(t: Test, run: InFlightRun): void {
  t.equal(run.timerAfterWrite?.name, 'on', `ss 1 s after the write: retransmission timer (${JSON.stringify(run.timerAfterWrite)})`);
}

function bounded(t: Test, run: InFlightRun, userTimeout: number): void {
  t.equal(run.effectiveUserTimeout, userTimeout, `userTimeout read back from the kernel: ${run.effectiveUserTimeout} s`);
  inFlight(t, run);
  t.equal(run.code, 'ETIMEDOUT', 'the application sees ETIMEDOUT');
  t.ok(
    run.detection !== null && run.detection >= userTimeout - 0.5 && run.detection <= userTimeout + 2,
    `failed ${run.detection} s after the write, userTimeout ${userTimeout} s (window [${userTimeout - 0.5}, ${userTimeout + 2}])`,
  );
}

if (faultsCanRun(t, [])) {
  t.test('data in flight to a silent peer', async (t) => {
    const [none, auto, explicit] = await Promise.all(runInFlight(t, new Session()));

    t.test('case 5: without userTimeout the write hangs past the keepalive budget', async (t) => {
      t.equal(none!.effectiveUserTimeout, 0, 'no userTimeout (system default)');
      inFlight(t, none!);
      t.equal(none!.code, null, `no error ${none!.waited} s after the write (keepalive budget ${budget} s)`);
      t.ok(none!.waited >= budget + 5 - 0.1, `waited budget + 5 = ${budget + 5} s`);
      t.equal(none!.timerAtEnd?.name, 'on', `ss: still retransmitting at the end, ${none!.timerAtEnd?.backoff} retransmissions`);
    });

    t.test(`case 5: userTimeout 'auto' (= idle + interval × count = ${budget} s) bounds it`, async (t) => {
      bounded(t, auto!, budget);
    });

    t.test(`case 5: userTimeout ${explicitUserTimeout} bounds it`, async (t) => {
      bounded(t, explicit!, explicitUserTimeout);
      t.ok(explicit!.detection! < auto!.detection!, 'the explicit, shorter value ends sooner than auto');
    });
  });
  nothingLeft(t);
}
