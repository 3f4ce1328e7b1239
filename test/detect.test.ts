// detectAfter: the arithmetic, checked against hand-computed cases.
import t from 'tap';

import { detectAfter } from '../lib/index';

t.test('idle + interval × count', async (t) => {
  t.equal(detectAfter({ idle: 7200, interval: 75, count: 9 }), 7875, 'the Linux defaults it replaces');
  t.equal(detectAfter({ idle: 60, interval: 10, count: 3 }), 90);
  t.equal(detectAfter({ idle: 1, interval: 1, count: 1 }), 2);
  t.equal(detectAfter({ idle: 3, interval: 1, count: 1 }), 4);
  t.equal(detectAfter({ idle: 1, interval: 2, count: 2 }, 'darwin'), 5);
  t.equal(detectAfter({ idle: 60, interval: 10, count: 3, userTimeout: 0 }), 90, 'userTimeout 0 = none');
});

t.test('Linux: the first probe can come max(idle, interval) after the last segment', async (t) => {
  // measured in the fault suite: {1,4,1} died after 7.65 s, not 5 s
  t.equal(detectAfter({ idle: 1, interval: 4, count: 1 }, 'linux'), 8);
  t.equal(detectAfter({ idle: 1, interval: 2, count: 2 }, 'linux'), 6);
  t.equal(detectAfter({ idle: 60, interval: 10, count: 3 }, 'linux'), 90, 'no change when idle >= interval');
  t.equal(detectAfter({ idle: 1, interval: 4, count: 1 }, 'freebsd'), 5, 'BSD stacks re-arm on every segment');
});

t.test('Linux: a user timeout replaces the count', async (t) => {
  // first probe time idle + k × interval (k >= 1) at or after userTimeout
  t.equal(detectAfter({ idle: 60, interval: 10, count: 3, userTimeout: 90 }, 'linux'), 90);
  t.equal(detectAfter({ idle: 60, interval: 10, count: 3, userTimeout: 45 }, 'linux'), 70);
  t.equal(detectAfter({ idle: 60, interval: 10, count: 3, userTimeout: 71 }, 'linux'), 80);
  t.equal(detectAfter({ idle: 60, interval: 10, count: 3, userTimeout: 200 }, 'linux'), 200, 'beyond the count');
  t.equal(detectAfter({ idle: 10, interval: 10, count: 9, userTimeout: 35 }, 'linux'), 40);
  t.equal(detectAfter({ idle: 60, interval: 10, count: 3, userTimeout: 45 }, 'darwin'), 90, 'other systems keep the count rule');
  t.equal(detectAfter({ idle: 60, interval: 10, count: 3, userTimeout: 45 }, 'win32'), 90);
});

t.test('bad input', async (t) => {
  t.throws(() => detectAfter(null as never), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => detectAfter({ idle: 1, interval: 1 } as never), { code: 'ERR_INVALID_ARG_TYPE', message: /options\.count/ });
  t.throws(() => detectAfter({ idle: 0, interval: 1, count: 1 }), { code: 'ERR_OUT_OF_RANGE', message: /options\.idle/ });
  t.throws(() => detectAfter({ idle: 1, interval: 1.5, count: 1 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => detectAfter({ idle: 1, interval: 1, count: 1, userTimeout: -1 }), { code: 'ERR_OUT_OF_RANGE' });
});
