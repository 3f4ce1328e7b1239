// Comparisons 1 and 2: the cost of one set and one read, against the C
// floor making the same system calls, net-keepalive, and Node itself.
import type { Socket } from 'node:net';

import type { loadPackage, NetKeepalive, Scale } from './env';
import type { Floor, FloorCommand } from './floor';
import { interleave, startWatch, stopWatch, type ClockName, type Variant } from './interleave';
import { loopbackPair } from './net-pair';
import type { Check, Measure, Section } from './report-types';
import { positiveSummary, ratios } from './stats';

type Package = ReturnType<typeof loadPackage>;

const idleOf = (i: number): number => 60 + (i & 1023);
const intervalOf = (i: number): number => 10 + (i & 511);
const countOf = (i: number): number => 3 + (i & 63);

function expect(label: string, actual: Record<string, unknown>, wanted: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(wanted)) {
    if (actual[key] !== value) {
      throw new Error(`bench: after ${label}, ${key} reads ${String(actual[key])}, expected ${String(value)}: the loop did not take effect`);
    }
  }
}

function floorVariant(label: string, floor: Floor, command: FloorCommand): Variant {
  return { label, sample: (n) => floor.run(command, n) };
}

/** setKeepalive with values changing every call. */
function setKeepaliveVariant(pkg: Package, socket: Socket): Variant {
  const { setKeepalive, getKeepalive } = pkg;
  let base = 0;
  return {
    label: 'setKeepalive',
    sample(n) {
      const end = base + n;
      const watch = startWatch();
      for (let i = base; i < end; i++) {
        setKeepalive(socket, { idle: 60 + (i & 1023), interval: 10 + (i & 511), count: 3 + (i & 63) });
      }
      const sample = stopWatch(watch);
      base = end;
      return sample;
    },
    verify() {
      const last = base - 1;
      expect('setKeepalive', { ...getKeepalive(socket) }, { enabled: true, idle: idleOf(last), interval: intervalOf(last), count: countOf(last) });
    },
  };
}

/** The same settings with net-keepalive: Node sets idle (there is no other way), net-keepalive interval and count. */
function netKeepaliveSetVariant(pkg: Package, nk: NetKeepalive, socket: Socket): Variant {
  let base = 0;
  return {
    label: 'net-keepalive',
    sample(n) {
      const end = base + n;
      const watch = startWatch();
      for (let i = base; i < end; i++) {
        socket.setKeepAlive(true, (60 + (i & 1023)) * 1000);
        nk.setKeepAliveInterval(socket, (10 + (i & 511)) * 1000);
        nk.setKeepAliveProbes(socket, 3 + (i & 63));
      }
      const sample = stopWatch(watch);
      base = end;
      return sample;
    },
    verify() {
      const last = base - 1;
      expect('net-keepalive', { ...pkg.getKeepalive(socket) }, { enabled: true, idle: idleOf(last), interval: intervalOf(last), count: countOf(last) });
    },
  };
}

/** Node's own socket.setKeepAlive(true, ms): idle only (libuv also forces interval 1 s, count 10). */
function nodeSetVariant(pkg: Package, socket: Socket): Variant {
  let base = 0;
  return {
    label: 'Node setKeepAlive',
    sample(n) {
      const end = base + n;
      const watch = startWatch();
      for (let i = base; i < end; i++) socket.setKeepAlive(true, (60 + (i & 1023)) * 1000);
      const sample = stopWatch(watch);
      base = end;
      return sample;
    },
    verify() {
      expect('Node setKeepAlive', { ...pkg.getKeepalive(socket) }, { enabled: true, idle: idleOf(base - 1) });
    },
  };
}

function getKeepaliveVariant(pkg: Package, socket: Socket): Variant {
  const { getKeepalive } = pkg;
  let sink = 0;
  return {
    label: 'getKeepalive',
    sample(n) {
      sink = 0;
      const watch = startWatch();
      for (let i = 0; i < n; i++) sink += getKeepalive(socket).idle;
      return stopWatch(watch);
    },
    verify() {
      if (!(sink > 0)) throw new Error('bench: getKeepalive read nothing');
    },
  };
}

function netKeepaliveGetVariant(nk: NetKeepalive, socket: Socket): Variant {
  let sink = 0;
  return {
    label: 'net-keepalive getters',
    sample(n) {
      sink = 0;
      const watch = startWatch();
      for (let i = 0; i < n; i++) sink += nk.getKeepAliveInterval(socket) + nk.getKeepAliveProbes(socket);
      return stopWatch(watch);
    },
    verify() {
      if (!(sink > 0)) throw new Error('bench: net-keepalive getters read nothing');
    },
  };
}

const CLOCK_TEXT: Record<ClockName, string> = {
  cpu: 'CPU time of the measuring process (user + system)',
  wall: 'elapsed (wall-clock) time',
};

function measures(perOp: Map<string, number[]>): Measure[] {
  return [...perOp].map(([label, values]) => ({ label, unit: 'ns/op', summary: positiveSummary(`${label} ns/op`, values) }));
}

interface Target {
  max?: number;
  min?: number;
}

function check(perOp: Map<string, number[]>, label: string, a: string, b: string, target?: Target): Check {
  const summary = positiveSummary(label, ratios(perOp.get(a)!, perOp.get(b)!));
  const result: Check = { label, unit: '×', summary };
  if (target?.max !== undefined) {
    result.target = `≤ ${target.max}×`;
    result.met = summary.median <= target.max;
  } else if (target?.min !== undefined) {
    result.target = `≥ ${target.min}×`;
    result.met = summary.median >= target.min;
  }
  return result;
}

type Comparison = [label: string, a: string, b: string, target?: Target, key?: boolean];

/** The comparisons on the chosen clock (with targets), then the targeted ones again on the other clock, for reference. */
function checks(perOp: Record<ClockName, Map<string, number[]>>, clock: ClockName, comparisons: readonly Comparison[]): Check[] {
  const other: ClockName = clock === 'cpu' ? 'wall' : 'cpu';
  const main = comparisons.map(([label, a, b, target, key]) => {
    const result = check(perOp[clock], label, a, b, target);
    if (key) result.key = true;
    return result;
  });
  const cross = comparisons
    .filter(([, , , target]) => target !== undefined)
    .map(([label, a, b]) => check(perOp[other], `${label} (${other === 'wall' ? 'wall clock' : 'CPU time'})`, a, b));
  return [...main, ...cross];
}

export async function setAndReadSections(
  scale: Scale,
  clock: ClockName,
  pkg: Package,
  floors: { threaded: Floor; single: Floor },
  nk: { module: NetKeepalive } | { error: string },
): Promise<Section[]> {
  const floor = floors.threaded;
  const pair = await loopbackPair();
  const socket = pair.client;
  try {
    const nkModule = 'module' in nk ? nk.module : undefined;
    const nkMissing = 'error' in nk ? `net-keepalive not measured: ${nk.error}` : undefined;
    const timing = `${scale.syscallRounds} interleaved rounds (rotating order) of about ${scale.sampleMs} ms per variant; figures are ${CLOCK_TEXT[clock]} per operation, ratios per round.`;

    const setVariants: Variant[] = [
      floorVariant('C floor (set)', floor, 'set'),
      floorVariant('C floor (set), single-threaded', floors.single, 'set'),
      setKeepaliveVariant(pkg, socket),
      nodeSetVariant(pkg, socket),
      floorVariant('C floor (Node setKeepAlive calls)', floor, 'node'),
    ];
    if (nkModule) setVariants.push(netKeepaliveSetVariant(pkg, nkModule, socket));
    const setPerOp = await interleave(setVariants, scale.syscallRounds, scale.sampleMs);
    const setComparisons: Comparison[] = [
      ['setKeepalive ÷ C floor', 'setKeepalive', 'C floor (set)', { max: 1.25 }],
      ['setKeepalive ÷ single-threaded C floor', 'setKeepalive', 'C floor (set), single-threaded'],
      ['Node setKeepAlive ÷ its C floor', 'Node setKeepAlive', 'C floor (Node setKeepAlive calls)'],
      ['Node setKeepAlive (idle only) ÷ setKeepalive', 'Node setKeepAlive', 'setKeepalive', undefined, true],
    ];
    if (nkModule) {
      setComparisons.push(
        // No target: net-keepalive's six calls are below the floor of our fourteen (the floor target above is ours).
        ['net-keepalive ÷ setKeepalive', 'net-keepalive', 'setKeepalive', undefined, true],
        ['net-keepalive ÷ C floor (the most any package making these 14 calls could reach)', 'net-keepalive', 'C floor (set)', undefined, true],
      );
    }
    const setSection: Section = {
      id: 1,
      title: 'Set cost',
      notes: [
        'setKeepalive(socket, {idle, interval, count}) on a connected loopback socket, values changing every call, in one native call: the TCP check (getsockopt SO_PROTOCOL), 4 × (getsockopt of the old value, kept to undo a part-way failure, + setsockopt), 5 getsockopt (read-back): 14 system calls.',
        'C floor (set): the same 14 system calls in the same order from C on a loopback socket (bench/floor.c), in a process with one idle extra thread, as every Node process has several: with a shared descriptor table the kernel takes and drops a reference on the file at each call (fdget/fput), which a single-threaded program skips. The single-threaded floor is shown too.',
        'net-keepalive: socket.setKeepAlive(true, idle ms) (net-keepalive cannot set idle) + setKeepAliveInterval + setKeepAliveProbes; no read-back.',
        "Node setKeepAlive: socket.setKeepAlive(true, ms) alone (idle only; libuv makes 4 setsockopt: SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL=1, TCP_KEEPCNT=10); its C floor makes those 4 calls.",
        timing,
        ...(nkMissing ? [nkMissing] : []),
      ],
      measures: measures(setPerOp[clock]),
      checks: checks(setPerOp, clock, setComparisons),
    };

    const readVariants: Variant[] = [
      floorVariant('C floor (read)', floor, 'get'),
      floorVariant('C floor (read), single-threaded', floors.single, 'get'),
      getKeepaliveVariant(pkg, socket),
    ];
    if (nkModule) readVariants.push(netKeepaliveGetVariant(nkModule, socket));
    const readPerOp = await interleave(readVariants, scale.syscallRounds, scale.sampleMs);
    const readComparisons: Comparison[] = [
      ['getKeepalive ÷ C floor', 'getKeepalive', 'C floor (read)', { max: 1.25 }],
      ['getKeepalive ÷ single-threaded C floor', 'getKeepalive', 'C floor (read), single-threaded'],
    ];
    if (nkModule) {
      readComparisons.push(
        ['net-keepalive getters ÷ getKeepalive', 'net-keepalive getters', 'getKeepalive', { min: 10 }],
        ['net-keepalive getters ÷ C floor', 'net-keepalive getters', 'C floor (read)', undefined, true],
      );
    }
    const readSection: Section = {
      id: 2,
      title: 'Read cost',
      notes: [
        'getKeepalive(socket): 5 getsockopt (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT) in one native call, returning the state object.',
        'C floor (read): the same 5 getsockopt from C (threaded as above; single-threaded shown too).',
        'net-keepalive getters: getKeepAliveInterval + getKeepAliveProbes (it has no getter for enable or idle; 2 of the 5 values).',
        timing,
        ...(nkMissing ? [nkMissing] : []),
      ],
      measures: measures(readPerOp[clock]),
      checks: checks(readPerOp, clock, readComparisons),
    };
    return [setSection, readSection];
  } finally {
    await pair.close();
  }
}
