// tcp-keepalive probe HOST:PORT: connect, apply keepalive settings, print
// what the kernel reports back; with --watch, keep the connection idle and
// show its health live until it ends, and say how it ended.
import type * as net from 'node:net';
import { performance } from 'node:perf_hooks';

import { getHealth, healthSource, type TcpHealth } from '../health';
import { healthChanges, type Activity, type HealthChange } from '../health-diff';
import { getKeepalive, setKeepalive, type KeepaliveState } from '../keepalive';
import { classifyEnd, type EndCause } from '../outcome';
import { presetNames, presetSettings, defaultPresetName } from '../presets';
import { supported } from '../supported';
import { validateOptions, type KeepaliveOptions } from '../validate';
import { checkedByLibrary, escapeControl, EXIT, integer, optionHelp, parse, presetOption, quoted, seconds, UsageError, SETTING_SPECS, type OptionSpecs } from './args';
import { connect, connectHint, tryHealth, type Target } from './connect';
import { DEFAULT_CONNECTIONS, DEFAULT_MAX, findIdleTimeout, FINDER_SPECS, finderInput, LONGEST_MAX, MOST_CONNECTIONS, type FinderInput } from './find-idle';
import { duration, millis } from './format';
import type { Io } from './io';
import {
  budgetText,
  changeEvent,
  describeOptions,
  endText,
  healthLine,
  stateLines,
  statusLine,
  summaryText,
  watchingLine,
  type WatchEvent,
  type WatchTally,
} from './probe-render';

const SPECS: OptionSpecs = {
  ...SETTING_SPECS,
  watch: { type: 'boolean', short: 'w' },
  'send-every': { type: 'string', value: 'SECONDS' },
  duration: { type: 'string', value: 'SECONDS' },
  'connect-timeout': { type: 'string', value: 'SECONDS' },
  ...FINDER_SPECS,
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const PROBE_HELP = `Usage: tcp-keepalive probe HOST:PORT [--preset NAME | --idle S --interval S --count N]
                           [--user-timeout S|auto] [--watch [--send-every S] [--duration S]]
                           [--json]
       tcp-keepalive probe HOST:PORT --find-idle-timeout [--max S] [--connections N] [--json]

Connects to HOST:PORT, applies keepalive settings (default: preset
${defaultPresetName}) and prints the values read back from the kernel and the
connection's health. With --watch it keeps the connection open and idle and
shows, live, how long the peer has been silent, the keepalive probes
answered and unanswered, and retransmissions (Linux TCP_INFO; fewer fields on
macOS and Windows). When the connection ends it says how: keepalive probes
unanswered (ETIMEDOUT), reset (RST), or closed by the peer (FIN), and after
how long. On a terminal it redraws one status line; otherwise it prints one
line per change. Ctrl-C stops it with a summary.

With --find-idle-timeout it measures after how much silence the path to
HOST:PORT (a NAT gateway, firewall or load balancer on the way) forgets a
connection, sending no application data: rounds of parallel connections,
each with keepalive idle set to a different age; one whose first probe is
answered survived that age, one reset or unanswered did not. It reports the
bounds found, how a forgotten connection ends, whether the server itself
closes idle connections (FIN), and a plan command. It takes about twice the
timeout, at most about 2 × --max.

Options:
${optionHelp(SPECS, {
  preset: `settings from a preset: ${presetNames.join(', ')}`,
  idle: 'seconds of silence before the first probe',
  interval: 'seconds between unanswered probes',
  count: 'unanswered probes before the connection is dropped',
  'user-timeout': 'bound for unacknowledged data (0 = none, auto = idle + interval × count)',
  watch: 'keep watching the connection until it ends or Ctrl-C',
  'send-every': 'with --watch: send one byte of application heartbeat every S seconds',
  duration: 'with --watch: stop after S seconds',
  'connect-timeout': 'give up connecting after S seconds (default 10)',
  'find-idle-timeout': "measure the path's idle timeout (see above)",
  max: `with --find-idle-timeout: the longest idle tried (default ${DEFAULT_MAX}, at most ${LONGEST_MAX})`,
  connections: `with --find-idle-timeout: connections per round (default ${DEFAULT_CONNECTIONS}, at most ${MOST_CONNECTIONS})`,
  json: 'print JSON: one object, or with --watch one object per line and event',
  help: 'show this help',
})}

Examples:
  tcp-keepalive probe 127.0.0.1:5432 --preset database
  tcp-keepalive probe db.internal:5432 --idle 5 --interval 2 --count 3 --watch
  tcp-keepalive probe [::1]:6379 --watch --send-every 10
  tcp-keepalive probe db.internal:5432 --find-idle-timeout --max 900

Exit codes: 0 done (or stopped by Ctrl-C/--duration with the connection
alive), 4 could not connect, 5 timed out (ETIMEDOUT), 6 reset (RST),
7 closed by the peer (FIN), 1 the OS refused a setting, 2 wrong command line.
--find-idle-timeout: 0 measured (or no timeout up to --max: it says so),
7 the server closes idle connections itself, 4 could not connect.`;

export type { Target } from './connect';

/** "127.0.0.1:5432", "[::1]:5432", "db.local:5432" → host and port. */
export function parseTarget(text: string): Target {
  const example = 'for example: tcp-keepalive probe 127.0.0.1:5432 (IPv6: [::1]:5432)';
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!match) {
    if ((text.match(/:/g) ?? []).length > 1) {
      throw new UsageError(`${quoted(text)} is not HOST:PORT`, `write IPv6 addresses in brackets, as in [${escapeControl(text.replace(/:\d+$/, ''))}]:PORT`);
    }
    throw new UsageError(`${quoted(text)} is not HOST:PORT`, example);
  }
  const port = Number(match[2]);
  if (port < 1 || port > 65535) throw new UsageError(`port ${match[2]} is out of range`, 'ports are 1..65535');
  return { host: match[1]!, port };
}

export interface ProbeInput {
  target: Target;
  options: KeepaliveOptions;
  /** How the options were chosen, in words. */
  basis: string;
  watch: boolean;
  sendEvery: number | null;
  duration: number | null;
  connectTimeout: number;
  json: boolean;
  /** --find-idle-timeout: measure the path's idle timeout instead; null otherwise. */
  find: FinderInput | null;
}

export function probeInput(argv: readonly string[]): ProbeInput | 'help' {
  const { values, positionals } = parse('probe', argv, SPECS);
  if (values.help) return 'help';
  const str = (name: string): string | undefined => values[name] as string | undefined;
  if (positionals.length === 0) throw new UsageError('probe needs HOST:PORT', 'for example: tcp-keepalive probe 127.0.0.1:5432');
  if (positionals.length > 1) {
    throw new UsageError(`probe takes one HOST:PORT, got ${quoted(positionals.join(' '))}`, `for example: tcp-keepalive probe ${escapeControl(positionals[0]!)}`);
  }
  const target = parseTarget(positionals[0]!);
  const find = finderInput(values);
  let options: KeepaliveOptions = {};
  let basis: string;
  const preset = str('preset');
  const explicit = (['idle', 'interval', 'count', 'user-timeout'] as const).filter((k) => str(k) !== undefined);
  if (preset !== undefined) {
    options = presetSettings(presetOption(preset));
    basis = `preset ${preset}`;
  } else if (explicit.length === 0) {
    options = presetSettings(defaultPresetName);
    basis = `preset ${defaultPresetName} (the default; choose with --preset or --idle/--interval/--count)`;
  } else {
    basis = 'your values (others as the socket has them)';
  }
  if (str('idle') !== undefined) options.idle = seconds('idle', str('idle')!);
  if (str('interval') !== undefined) options.interval = seconds('interval', str('interval')!);
  if (str('count') !== undefined) options.count = integer('count', str('count')!);
  const ut = str('user-timeout');
  if (ut !== undefined) options.userTimeout = ut === 'auto' ? 'auto' : seconds('user-timeout', ut, 0);
  if (preset !== undefined && explicit.length) basis += `, with ${explicit.map((k) => `--${k} ${escapeControl(str(k)!)}`).join(' ')}`;
  // A preset's values this OS cannot set are left out (userTimeout on
  // FreeBSD, count on Windows before 10 1703); values typed are checked.
  const dropped = (['count', 'userTimeout'] as const).filter(
    (k) => options[k] !== undefined && !supported.set[k] && !explicit.includes(k === 'userTimeout' ? 'user-timeout' : k),
  );
  for (const k of dropped) delete options[k];
  if (dropped.length) basis += ` (${dropped.join(' and ')} left out: not settable on ${supported.platform})`;
  checkedByLibrary(() => validateOptions(options), 'see tcp-keepalive info for the ranges');
  const watch = values.watch === true;
  for (const name of ['send-every', 'duration']) {
    if (str(name) !== undefined && !watch) throw new UsageError(`--${name} needs --watch`, `add --watch`);
  }
  return {
    target,
    options,
    basis,
    watch,
    sendEvery: str('send-every') !== undefined ? seconds('send-every', str('send-every')!) : null,
    duration: str('duration') !== undefined ? seconds('duration', str('duration')!) : null,
    connectTimeout: str('connect-timeout') !== undefined ? seconds('connect-timeout', str('connect-timeout')!) : 10,
    json: values.json === true,
    find,
  };
}

export type { EndCause } from '../outcome';

const EXIT_FOR: Readonly<Record<EndCause, number>> = {
  timeout: EXIT.timedOut,
  reset: EXIT.reset,
  fin: EXIT.closed,
  error: EXIT.failure,
  local: EXIT.ok,
  interrupted: EXIT.ok,
  duration: EXIT.ok,
};

/** The signals that stop `probe --watch` with its summary: Ctrl-C, kill's default, a closed terminal. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

export interface Signals {
  once(event: StopSignal, listener: () => void): unknown;
  removeListener(event: StopSignal, listener: () => void): unknown;
}

export async function runProbe(argv: readonly string[], io: Io, signals: Signals = process): Promise<number> {
  const input = probeInput(argv);
  if (input === 'help') {
    io.out(PROBE_HELP);
    return EXIT.ok;
  }
  const where = escapeControl(`${input.target.host}:${input.target.port}`);
  let socket: net.Socket;
  let connectMs: number;
  try {
    ({ socket, ms: connectMs } = await connect(input.target, input.connectTimeout));
  } catch (error) {
    const e = error as Error & { code?: string };
    const reason = !e.code ? e.message : e.code === 'ETIMEDOUT' ? `ETIMEDOUT, ${e.message}` : e.code;
    const message = `could not connect to ${where}: ${reason}`;
    if (input.json) io.out(JSON.stringify({ event: 'error', stage: 'connect', target: input.target, code: e.code ?? null, message: e.message }));
    io.err(`tcp-keepalive probe: ${message}\n  ${connectHint(e.code)}`);
    return EXIT.connectFailed;
  }

  if (input.find) return findIdleTimeout(socket, input.target, input.connectTimeout, input.find, input.json, io, signals);

  let state: KeepaliveState;
  try {
    const result = setKeepalive(socket, input.options);
    state = result.source === 'pending' ? getKeepalive(socket) : result;
  } catch (error) {
    const e = error as Error & { code?: string };
    socket.destroy();
    if (input.json) io.out(JSON.stringify({ event: 'error', stage: 'setKeepalive', code: e.code ?? null, message: e.message }));
    io.err(`tcp-keepalive probe: the OS refused the settings: ${e.message}\n  see tcp-keepalive info for what this platform supports`);
    return EXIT.failure;
  }
  const health = tryHealth(socket);
  const local = `${socket.localAddress}:${socket.localPort}`;
  const connected = {
    event: 'connected',
    target: input.target,
    remote: `${socket.remoteAddress}:${socket.remotePort}`,
    local,
    connectMs: Math.round(connectMs * 100) / 100,
    requested: input.options,
    basis: input.basis,
    state,
    health,
  };

  if (input.json) io.out(JSON.stringify(connected));
  else {
    io.out(`connected to ${connected.remote} from ${local} in ${millis(connectMs)}`);
    io.out(`settings: ${input.basis}: ${describeOptions(input.options)}`);
    io.out(`read back from the kernel${state.source === 'kernel' ? '' : ' (some values as requested: the OS cannot report them)'}:`);
    io.out(stateLines(state, supported));
    if (state.detectAfter !== null) io.out(`  => a peer that vanishes silently is noticed within ${duration(state.detectAfter)} while the connection is idle`);
    io.out(health ? `  ${healthLine(health)}` : `  health: not available here (${healthSource})`);
  }
  if (!input.watch) {
    socket.destroy();
    return EXIT.ok;
  }
  return watch(socket, state, input, io, signals);
}

interface Sample {
  at: number;
  health: TcpHealth;
}

/** Everything one watch has seen so far; the event handlers update it. */
interface WatchRecord extends WatchTally {
  started: number;
  last: Sample | null;
  lastDataAt: number;
  /** What this side did since the last reading. */
  activity: Activity;
  /** When the oldest unacknowledged heartbeat was sent: the user timeout counts from there. */
  unackedSince: number | null;
  error: { code: string | null; message: string } | null;
  peerEnded: boolean;
  closedBy: 'interrupted' | 'duration' | null;
  signal: StopSignal | null;
  /** When the socket failed: the end is measured from there, not from when the event loop got round to reporting it. */
  failedAt: number | null;
}

function newRecord(started: number): WatchRecord {
  return {
    started,
    last: null,
    lastDataAt: started,
    activity: { sent: false, received: false },
    unackedSince: null,
    error: null,
    peerEnded: false,
    closedBy: null,
    signal: null,
    failedAt: null,
    answered: 0,
    maxProbes: 0,
    maxRetransmits: 0,
    heartbeats: 0,
    received: 0,
  };
}

const elapsedS = (record: WatchRecord): number => (performance.now() - record.started) / 1000;

/** How long the peer has been silent, ms: the last reading's value carried forward to now (or to the failure). */
function silentMs(record: WatchRecord): number | null {
  const last = record.last;
  if (last?.health.lastReceivedMs == null) return null;
  return last.health.lastReceivedMs + ((record.failedAt ?? performance.now()) - last.at);
}

/** Where a watch's events go: JSON lines, timestamped lines, or the terminal's status line. */
interface WatchOutput {
  event(e: WatchEvent): void;
  status(): void;
  clearStatus(): void;
  /** A closing line: after the status line is cleared, or with a timestamp. */
  final(text: string): void;
}

function watchOutput(io: Io, input: ProbeInput, state: KeepaliveState, record: WatchRecord): WatchOutput {
  const tty = io.isTTY && !input.json;
  let statusShown = false;
  const stamp = (): string => `[${elapsedS(record).toFixed(1).padStart(6)}s]`;
  return {
    event: ({ name, text, extra }) => {
      if (input.json) {
        io.out(JSON.stringify({ event: name, t: Math.round(elapsedS(record) * 1000) / 1000, ...extra, health: record.last?.health ?? null }));
      } else if (!tty) {
        io.out(`${stamp()} ${text}`);
      }
    },
    status: () => {
      if (!tty) return;
      const line = statusLine({
        elapsedS: elapsedS(record),
        health: record.last?.health ?? null,
        silentMs: silentMs(record),
        count: state.count,
        answered: record.answered,
        heartbeats: record.heartbeats,
        userTimeout: state.userTimeout,
        budget: state.detectAfter,
        columns: io.columns,
      });
      io.write(`\r\x1b[2K${line}`);
      statusShown = true;
    },
    clearStatus: () => {
      if (tty && statusShown) io.write('\r\x1b[2K');
      statusShown = false;
    },
    final: (text) => io.out(`${tty ? '' : `${stamp()} `}${text}`),
  };
}

/** Counts what a health change means. */
function tally(record: WatchRecord, change: HealthChange): void {
  if (change.kind === 'probe-unanswered') record.maxProbes = Math.max(record.maxProbes, change.probes);
  else if (change.kind === 'retransmit') record.maxRetransmits = Math.max(record.maxRetransmits, change.retransmits);
  else if (change.kind === 'peer-back' || change.kind === 'probe-answered') record.answered++;
}

/** Reads the health, reports what changed since the last reading. */
function sample(socket: net.Socket, state: KeepaliveState, record: WatchRecord, output: WatchOutput): void {
  let health: TcpHealth;
  try {
    health = getHealth(socket);
  } catch {
    return; // closed between ticks, or no health here: the end handlers report
  }
  const previous = record.last?.health;
  record.last = { at: performance.now(), health };
  for (const change of previous ? healthChanges(previous, health, record.activity) : []) {
    tally(record, change);
    output.event(changeEvent(change, state.count, record.answered, silentMs(record)));
  }
  if (health.unacked === 0 && !record.activity.sent) record.unackedSince = null;
  record.activity = { sent: false, received: false };
  output.status();
}

function sendHeartbeat(socket: net.Socket, record: WatchRecord, output: WatchOutput): void {
  if (socket.destroyed) return;
  socket.write('\n');
  record.unackedSince ??= performance.now();
  record.heartbeats++;
  record.activity.sent = true;
  output.event({ name: 'heartbeat', text: `heartbeat ${record.heartbeats} sent (1 byte)`, extra: { heartbeats: record.heartbeats } });
}

function listen(socket: net.Socket, record: WatchRecord, output: WatchOutput): void {
  socket.on('data', (chunk: Buffer) => {
    record.received += chunk.length;
    record.lastDataAt = performance.now();
    record.activity.received = true;
    output.event({ name: 'data', text: `received ${chunk.length} byte${chunk.length === 1 ? '' : 's'} from the peer`, extra: { bytes: chunk.length } });
  });
  socket.on('end', () => {
    record.peerEnded = true;
    record.failedAt ??= performance.now();
  });
  socket.on('error', (e: Error & { code?: string }) => {
    record.error = { code: e.code ?? null, message: e.message };
    record.failedAt ??= performance.now();
  });
}

/** Reports how the watched connection ended; returns the exit code. */
function reportEnd(record: WatchRecord, state: KeepaliveState, input: ProbeInput, io: Io, output: WatchOutput): number {
  const health = record.last?.health ?? null;
  const outcome = classifyEnd({
    closedBy: record.closedBy,
    error: record.error,
    peerEnded: record.peerEnded,
    health,
    peakProbes: record.maxProbes,
    peakRetransmits: record.maxRetransmits,
    settings: { count: state.count, userTimeout: state.userTimeout },
  });
  const watched = elapsedS(record);
  const silent = silentMs(record);
  const now = performance.now();
  const text = endText(outcome, {
    watchedS: watched,
    silentMs: silent,
    unackedForS: record.unackedSince !== null ? (now - record.unackedSince) / 1000 : null,
    userTimeout: state.userTimeout,
    budget: state.detectAfter,
    durationLimit: input.duration,
    signal: record.signal,
    lastState: health?.state ?? null,
  });
  if (input.json) {
    io.out(
      JSON.stringify({
        event: 'end',
        cause: outcome.cause,
        reason: outcome.reason,
        code: outcome.code,
        t: Math.round(watched * 1000) / 1000,
        silentMs: silent !== null ? Math.round(silent) : null,
        budget: state.detectAfter,
        answered: record.answered,
        maxProbes: record.maxProbes,
        maxRetransmits: record.maxRetransmits,
        heartbeats: record.heartbeats,
        bytesReceived: record.received,
        message: text,
        health,
      }),
    );
  } else {
    output.final(text);
    io.out(`  ${summaryText(record, (now - record.lastDataAt) / 1000)}`);
  }
  return EXIT_FOR[outcome.cause];
}

function watch(socket: net.Socket, state: KeepaliveState, input: ProbeInput, io: Io, signals: Signals): Promise<number> {
  const record = newRecord(performance.now());
  const output = watchOutput(io, input, state, record);
  if (!input.json) io.out(watchingLine(input.sendEvery, budgetText(state, supported.platform)));
  else output.event({ name: 'watching', text: '', extra: { budget: state.detectAfter, sendEvery: input.sendEvery } });

  return new Promise<number>((resolve) => {
    listen(socket, record, output);
    const stop = (cause: 'interrupted' | 'duration', signal: StopSignal | null = null): void => {
      if (record.closedBy || socket.destroyed) return;
      record.closedBy = cause;
      record.signal = signal;
      socket.destroy();
    };
    const poll = setInterval(() => sample(socket, state, record, output), 200);
    const heartbeat = input.sendEvery ? setInterval(() => sendHeartbeat(socket, record, output), input.sendEvery * 1000) : null;
    const limit = input.duration ? setTimeout(() => stop('duration'), input.duration * 1000) : null;
    const onSignal = STOP_SIGNALS.map((name) => [name, () => stop('interrupted', name)] as const);
    for (const [name, listener] of onSignal) signals.once(name, listener);
    sample(socket, state, record, output);

    socket.once('close', () => {
      clearInterval(poll);
      if (heartbeat) clearInterval(heartbeat);
      if (limit) clearTimeout(limit);
      for (const [name, listener] of onSignal) signals.removeListener(name, listener);
      output.clearStatus();
      resolve(reportEnd(record, state, input, io, output));
    });
  });
}
