// Lifecycle tier: 150 workers terminated 0-99 µs after they start loading
// the addon (the worker wakes this thread with Atomics just before it
// requires the .node file), so the termination lands inside the addon's
// initialisation. Before the fix (issue 11 item 1) the process aborted
// (FATAL ERROR Error::ThrowAsJavaScriptException napi_throw, exit 134)
// within the first few rounds, every run. See test/lifecycle-load.test.ts
// for the millisecond-delay rounds.
import t from 'tap';

import { runRounds } from './fixtures/lifecycle/rounds';

t.test('150 workers terminated inside the addon initialisation: the process survives', async (t) => {
  runRounds(t, 'init', 150);
});
