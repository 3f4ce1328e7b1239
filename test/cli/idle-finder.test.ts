// The finder's arithmetic (lib/cli/idle-finder.ts): which ages each round
// tries, and what a set of trials says about the path. Table-driven; no
// sockets.
import t from 'tap';

import { firstRoundAges, MIN_AGE, nextRoundAges, spreadAges, stillNeeded, verdict, type Trial } from '../../lib/cli/idle-finder';

t.test('spreadAges: whole seconds, ascending, unique, within the range, at most n', async (t) => {
  const cases: [number, number, number, number[]][] = [
    [2, 60, 10, [2, 3, 4, 6, 9, 13, 19, 28, 41, 60]],
    [2, 12, 10, [2, 3, 4, 5, 7, 8, 10, 12]],
    [2, 2, 5, [2]],
    [5, 4, 3, []],
    [2, 600, 1, [600]],
  ];
  for (const [low, high, n, want] of cases) t.same(spreadAges(low, high, n), want, `${low}..${high}, ${n}`);
  for (const max of [3, 7, 60, 350, 600, 7200]) {
    for (const n of [1, 2, 10, 64]) {
      const ages = firstRoundAges(max, n);
      const ok = ages.length >= 1 && ages.length <= n && ages.at(-1) === max && ages[0]! >= MIN_AGE && ages.every((a, i) => Number.isInteger(a) && (i === 0 || a > ages[i - 1]!));
      t.ok(ok, `firstRoundAges(${max}, ${n}) = ${ages.join(',')}: ends at max, starts at ${MIN_AGE} or more, strictly ascending`);
    }
  }
});

t.test('nextRoundAges: strictly between the bounds, every second when they fit', async (t) => {
  const cases: [number, number, number, number[]][] = [
    [5, 9, 10, [6, 7, 8]],
    [6, 9, 10, [7, 8]],
    [6, 8, 10, []],
    [300, 320, 10, [302, 304, 305, 307, 309, 311, 313, 315, 316, 318]],
    [300, 315, 10, []],
    [19, 28, 10, [20, 21, 22, 23, 24, 25, 26, 27]],
    [41, 60, 10, [43, 44, 46, 48, 50, 51, 53, 55, 57, 58]],
    [44, 45, 10, []],
    [0, 3, 10, [1, 2]],
    [10, 20, 0, []],
    [43.2, 47.9, 10, [44, 45, 46, 47]],
    [43.2, 45.3, 10, []],
    [43.2, 44.1, 10, []],
  ];
  for (const [lower, upper, n, want] of cases) t.same(nextRoundAges(lower, upper, n), want, `(${lower}, ${upper}), ${n}`);
});

/** A trial whose probe went out when asked (or at `probedAfter`, measured). */
const trial = (age: number, fate: Trial['fate'], endedAfter = age + 0.3, probedAfter: number | null = fate === 'fin' || fate === 'error' ? null : Math.min(age, endedAfter)): Trial => ({
  age,
  fate,
  endedAfter,
  probedAfter,
});

t.test('verdict: the bounds, how the path fails, the server closing, contradictions', async (t) => {
  const cases: { name: string; trials: Trial[]; want: Partial<ReturnType<typeof verdict>> }[] = [
    {
      name: 'a NAT forgetting after 8 s',
      trials: [trial(2, 'survived'), trial(6, 'survived'), trial(9, 'reset'), trial(7, 'survived'), trial(8, 'reset')],
      want: { found: true, lowerBound: 7, upperBound: 8, estimate: 7.5, tolerance: 0.5, how: 'reset', serverClosesAfter: null, contradictions: [] },
    },
    {
      name: 'a firewall that drops: timeouts',
      trials: [trial(19, 'survived'), trial(28, 'timeout', 30), trial(21, 'timeout', 23)],
      want: { found: true, lowerBound: 19, upperBound: 21, how: 'silence' },
    },
    { name: 'nothing forgotten up to max', trials: [trial(2, 'survived'), trial(60, 'survived')], want: { found: false, lowerBound: 60, upperBound: null, estimate: null, how: null } },
    {
      name: 'the server closes idle connections after 5 s',
      trials: [trial(2, 'survived'), trial(4, 'survived'), trial(5, 'fin', 5), trial(12, 'fin', 5.1)],
      want: { found: false, lowerBound: 4, serverClosesAfter: 5 },
    },
    {
      name: 'a reset before its probe (a balancer resetting idle flows at 30 s) bounds at its time',
      trials: [trial(20, 'survived'), trial(60, 'reset', 30.2)],
      want: { found: true, lowerBound: 20, upperBound: 30.2, how: 'reset' },
    },
    {
      name: 'a survivor above a failure is reported',
      trials: [trial(10, 'reset'), trial(12, 'survived'), trial(8, 'survived')],
      want: { found: true, lowerBound: 8, upperBound: 10, contradictions: [12] },
    },
    {
      name: 'late probes (the timer wheel): the bounds are the silences measured, not the ages asked for',
      trials: [trial(40, 'survived', 41, 40.1), trial(44, 'survived', 48, 47.1), trial(46, 'reset', 48.3, 48.3)],
      want: { found: true, lowerBound: 47.1, upperBound: 48.3, estimate: 47.7, tolerance: 0.6 },
    },
    {
      name: 'a survivor of unknown silence counts at its age',
      trials: [trial(10, 'survived', 13, null), trial(20, 'timeout', 22.4, 20.4)],
      want: { found: true, lowerBound: 10, upperBound: 20.4, how: 'silence' },
    },
    { name: 'both kinds of failure', trials: [trial(5, 'survived'), trial(9, 'reset'), trial(10, 'timeout')], want: { how: 'both' } },
    { name: 'connect errors only', trials: [trial(2, 'error', 0)], want: { found: false, lowerBound: 0, counts: { survived: 0, reset: 0, timeout: 0, fin: 0, error: 1 } } },
  ];
  for (const { name, trials, want } of cases) t.match(verdict(trials), want, name);
});

t.test('stillNeeded: trials at or above the smallest failure cannot change the bounds', async (t) => {
  const trials = [trial(2, 'survived'), trial(13, 'reset')];
  t.same([2, 9, 12, 13, 19].map((a) => stillNeeded(a, trials)), [true, true, true, false, false]);
  t.ok(stillNeeded(600, [trial(2, 'survived')]), 'no failure yet: every age is needed');
});
