// Lifecycle tier: workers terminated while they call the package in a tight
// loop, 100 rounds, each 0-19 ms after it started calling
// setKeepalive/getKeepalive. A child process (test/fixtures/lifecycle/
// terminate-workers.js) that must exit 0, unsignalled, after every round.
import t from 'tap';

import { runRounds } from './fixtures/lifecycle/rounds';

t.test('100 workers terminated while calling setKeepalive/getKeepalive', { timeout: 60_000 }, async (t) => {
  runRounds(t, 'use', 100);
});
