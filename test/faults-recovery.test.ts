// Cases 3 and 4 of the fault suite: a short outage is survived (a single
// lost probe must not kill a connection), and a peer that lost its state
// answers the next probe with RST, so the client learns at once instead of
// waiting out the budget.
import t from 'tap';

import { CASES, runStateLoss, runTransient, Session } from './helpers/faults';
import { faultsCanRun, nothingLeft } from './helpers/faults-tap';

if (faultsCanRun(t, [])) {
  t.test('outages that end', async (t) => {
    const session = new Session();
    const [transient, lost] = await Promise.all([runTransient(t, session), runStateLoss(t, session)]);

    const { setting, outageS } = CASES.transient;
    t.test(`case 3: a ${outageS} s outage with ${JSON.stringify(setting)} is survived`, async (t) => {
      const limit = setting.interval * (setting.count - 1);
      t.ok(transient.outage < limit, `outage ${transient.outage} s < interval × (count − 1) = ${limit} s`);
      t.ok(transient.probesOutDuring !== null && transient.probesOutDuring >= 1, `ss during the outage: ${transient.probesOutDuring} unanswered probe(s)`);
      t.equal(transient.probesOutAfter, 0, 'ss after the path is back: the next probe was answered');
      t.same(transient.endings, [], 'no error, end or close on either side');
      t.ok(transient.clientToServer, 'client → server → client round trip after the outage');
      t.ok(transient.serverToClient, 'server → client → server round trip after the outage');
    });

    t.test('case 4: the server lost its state while cut: the next probe gets RST', async (t) => {
      const { interval } = CASES.stateLoss.setting;
      t.ok(lost.unreadAtServer !== null && lost.unreadAtServer > 0, `ss: the server held ${lost.unreadAtServer} unread bytes (closing it resets)`);
      t.same(lost.serverSocketsAfterKill, [], 'ss: after the kill the server host has no socket on the port');
      t.equal(lost.code, 'ECONNRESET', 'the client sees ECONNRESET');
      t.ok(
        lost.detection !== null && lost.detection > lost.restoredAfter && lost.detection <= lost.restoredAfter + interval + 1,
        `at ${lost.detection} s, after the path came back (${lost.restoredAfter} s) and within one probe interval (${interval} s)`,
      );
      t.ok(lost.detection !== null && lost.detection <= lost.budget / 2, `well before the budget of ${lost.budget} s`);
    });
  });
  nothingLeft(t);
}
