// tcp-keepalive probe HOST:PORT: connect, apply keepalive settings, print
// what the kernel reports back; with --watch, keep the connection idle and
// show its health live until it ends, and say how it ended.
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';

import { getHealth, healthSource, type TcpHealth } from '../health';
import { getKeepalive, setKeepalive, type KeepaliveState } from '../keepalive';
import { isPresetName, presetNames, presetSettings, defaultPresetName } from '../presets';
import { supported } from '../supported';
import { validateOptions, type KeepaliveOptions } from '../validate';
import { closest, EXIT, integer, optionHelp, parse, seconds, UsageError, SETTING_SPECS, type OptionSpecs } from './args';
import { duration, millis, table } from './format';
import type { Io } from './io';

const SPECS: OptionSpecs = {
  ...SETTING_SPECS,
  watch: { type: 'boolean', short: 'w' },
  'send-every': { type: 'string', value: 'SECONDS' },
  duration: { type: 'string', value: 'SECONDS' },
  'connect-timeout': { type: 'string', value: 'SECONDS' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const PROBE_HELP = `Usage: tcp-keepalive probe HOST:PORT [--preset NAME | --idle S --interval S --count N]
                           [--user-timeout S|auto] [--watch [--send-every S] [--duration S]]
                           [--json]

Connects to HOST:PORT, applies keepalive settings (default: preset
${defaultPresetName}) and prints the values read back from the kernel and the
connection's health. With --watch it keeps the connection open and idle and
shows, live, how long the peer has been silent, the keepalive probes
answered and unanswered, and retransmissions (Linux TCP_INFO; fewer fields on
macOS and Windows). When the connection ends it says how: keepalive probes
unanswered (ETIMEDOUT), reset (RST), or closed by the peer (FIN), and after
how long. On a terminal it redraws one status line; otherwise it prints one
line per change. Ctrl-C stops it with a summary.

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
  json: 'print JSON: one object, or with --watch one object per line and event',
  help: 'show this help',
})}

Examples:
  tcp-keepalive probe 127.0.0.1:5432 --preset database
  tcp-keepalive probe db.internal:5432 --idle 5 --interval 2 --count 3 --watch
  tcp-keepalive probe [::1]:6379 --watch --send-every 10

Exit codes: 0 done (or stopped by Ctrl-C/--duration with the connection
alive), 4 could not connect, 5 timed out (ETIMEDOUT), 6 reset (RST),
7 closed by the peer (FIN), 1 the OS refused a setting, 2 wrong command line.`;

export interface Target {
  host: string;
  port: number;
}

/** "127.0.0.1:5432", "[::1]:5432", "db.local:5432" → host and port. */
export function parseTarget(text: string): Target {
  const example = 'for example: tcp-keepalive probe 127.0.0.1:5432 (IPv6: [::1]:5432)';
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!match) {
    if ((text.match(/:/g) ?? []).length > 1) {
      throw new UsageError(`"${text}" is not HOST:PORT`, `write IPv6 addresses in brackets, as in [${text.replace(/:\d+$/, '')}]:PORT`);
    }
    throw new UsageError(`"${text}" is not HOST:PORT`, example);
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
}

export function probeInput(argv: readonly string[]): ProbeInput | 'help' {
  const { values, positionals } = parse('probe', argv, SPECS);
  if (values.help) return 'help';
  const str = (name: string): string | undefined => values[name] as string | undefined;
  if (positionals.length === 0) throw new UsageError('probe needs HOST:PORT', 'for example: tcp-keepalive probe 127.0.0.1:5432');
  if (positionals.length > 1) {
    throw new UsageError(`probe takes one HOST:PORT, got "${positionals.join(' ')}"`, `for example: tcp-keepalive probe ${positionals[0]}`);
  }
  const target = parseTarget(positionals[0]!);
  let options: KeepaliveOptions = {};
  let basis: string;
  const preset = str('preset');
  const explicit = (['idle', 'interval', 'count', 'user-timeout'] as const).filter((k) => str(k) !== undefined);
  if (preset !== undefined) {
    if (!isPresetName(preset)) {
      const guess = closest(preset, presetNames);
      throw new UsageError(`unknown preset "${preset}"`, `${guess ? `did you mean --preset ${guess}? ` : ''}presets: ${presetNames.join(', ')}`);
    }
    options = presetSettings(preset);
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
  if (preset !== undefined && explicit.length) basis += `, with ${explicit.map((k) => `--${k} ${str(k)}`).join(' ')}`;
  // A preset's values this OS cannot set are left out (userTimeout on
  // FreeBSD, count on Windows before 10 1703); values typed are checked.
  const dropped = (['count', 'userTimeout'] as const).filter(
    (k) => options[k] !== undefined && !supported.set[k] && !explicit.includes(k === 'userTimeout' ? 'user-timeout' : k),
  );
  for (const k of dropped) delete options[k];
  if (dropped.length) basis += ` (${dropped.join(' and ')} left out: not settable on ${supported.platform})`;
  try {
    validateOptions(options);
  } catch (error) {
    const e = error as Error & { code?: string };
    throw new UsageError(`${e.message.replace(/options\.userTimeout/, '--user-timeout').replace(/options\./, '--')}`, 'see tcp-keepalive info for the ranges');
  }
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
  };
}

/** How a watched connection ended. */
export type EndCause = 'timeout' | 'reset' | 'fin' | 'error' | 'interrupted' | 'duration';

const EXIT_FOR: Readonly<Record<EndCause, number>> = {
  timeout: EXIT.timedOut,
  reset: EXIT.reset,
  fin: EXIT.closed,
  error: EXIT.failure,
  interrupted: EXIT.ok,
  duration: EXIT.ok,
};

// What a read fails with when the kernel gives up on a silent peer: ETIMEDOUT,
// or the last network error it saw meanwhile (Linux reports a pending soft
// error, such as a failed neighbour lookup, instead of ETIMEDOUT).
const GAVE_UP = new Set(['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);

function describeOptions(o: KeepaliveOptions): string {
  const parts = (['idle', 'interval', 'count', 'userTimeout'] as const).filter((k) => o[k] !== undefined).map((k) => `${k} ${o[k]}`);
  return parts.join(', ');
}

function stateLines(state: KeepaliveState): string {
  const s = supported;
  const rows: string[][] = [
    ['enabled', state.enabled ? 'yes' : 'no', s.options.enable],
    ['idle', `${state.idle} s`, s.options.idle],
    ['interval', `${state.interval} s`, s.options.interval],
    ['count', `${state.count}`, s.options.count],
    ['userTimeout', state.userTimeout > 0 ? `${state.userTimeout} s` : '0 (none)', s.options.userTimeout],
  ];
  return table(rows);
}

function healthLine(h: TcpHealth): string {
  const parts: string[] = [h.state];
  if (h.rttMs !== null) parts.push(`rtt ${millis(h.rttMs)}`);
  if (h.probes !== null) parts.push(`${h.probes} probes unanswered`);
  if (h.retransmits !== null) parts.push(`${h.retransmits} retransmissions pending`);
  if (h.lastReceivedMs !== null) parts.push(`last segment received ${millis(h.lastReceivedMs)} ago`);
  return `health (${h.source}): ${parts.join(', ')}`;
}

function tryHealth(socket: net.Socket): TcpHealth | null {
  try {
    return getHealth(socket);
  } catch {
    return null;
  }
}

/** Resolves when the socket connected; rejects with the error, or ETIMEDOUT after `timeout` s. */
function connect(target: Target, timeout: number): Promise<{ socket: net.Socket; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => {
      const error = new Error(`no answer within ${timeout} s`) as Error & { code: string };
      error.code = 'ETIMEDOUT';
      socket.destroy();
      reject(error);
    }, timeout * 1000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve({ socket, ms: performance.now() - started });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function connectHint(code: string | undefined): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'nothing listens there; check the port';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve; check it, or use an IP address';
    case 'ETIMEDOUT':
      return 'no answer: a firewall may drop the packets, or the host is down; raise --connect-timeout to wait longer';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to that host from here';
    default:
      return 'check HOST:PORT';
  }
}

export interface Signals {
  once(event: 'SIGINT', listener: () => void): unknown;
  removeListener(event: 'SIGINT', listener: () => void): unknown;
}

export async function runProbe(argv: readonly string[], io: Io, signals: Signals = process): Promise<number> {
  const input = probeInput(argv);
  if (input === 'help') {
    io.out(PROBE_HELP);
    return EXIT.ok;
  }
  const where = `${input.target.host}:${input.target.port}`;
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
    io.out(stateLines(state));
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

function watch(socket: net.Socket, state: KeepaliveState, input: ProbeInput, io: Io, signals: Signals): Promise<number> {
  const started = performance.now();
  const budget = state.detectAfter;
  const tty = io.isTTY && !input.json;
  let last: Sample | null = null;
  let answered = 0;
  let maxProbes = 0;
  let maxRetransmits = 0;
  let heartbeats = 0;
  let received = 0;
  let lastDataAt = started;
  let sentSinceSample = false;
  let receivedSinceSample = false;
  // When the oldest unacknowledged heartbeat was sent: the user timeout counts from there.
  let unackedSince: number | null = null;
  let error: (Error & { code?: string }) | null = null;
  let peerEnded = false;
  let stopCause: EndCause | null = null;
  let statusShown = false;

  const elapsed = (): number => (performance.now() - started) / 1000;
  const stamp = (): string => `[${elapsed().toFixed(1).padStart(6)}s]`;
  // When the socket failed: the end is measured from there, not from when
  // the event loop got round to reporting it.
  let failedAt: number | null = null;
  const silentMs = (): number | null => {
    if (last?.health.lastReceivedMs != null) return last.health.lastReceivedMs + ((failedAt ?? performance.now()) - last.at);
    return null;
  };
  const clearStatus = (): void => {
    if (tty && statusShown) io.write('\r\x1b[2K');
    statusShown = false;
  };
  const event = (name: string, text: string, extra: Record<string, unknown> = {}): void => {
    if (input.json) {
      io.out(JSON.stringify({ event: name, t: Math.round(elapsed() * 1000) / 1000, ...extra, health: last?.health ?? null }));
    } else if (!tty) {
      io.out(`${stamp()} ${text}`);
    }
  };

  // detectAfter's arithmetic, spelled out: Linux starts counting probes at
  // max(idle, interval) and stops them at the user timeout.
  const first = supported.platform === 'linux' ? Math.max(state.idle, state.interval) : state.idle;
  const probesSent = budget !== null ? Math.round((budget - first) / state.interval) : state.count;
  const budgetText =
    budget !== null
      ? `${duration(budget)} (${first === state.idle ? `idle ${state.idle}` : `interval ${first}, above idle ${state.idle},`} + ` +
        `${state.interval} × ${probesSent}${state.userTimeout > 0 ? `, userTimeout ${state.userTimeout}` : ''})`
      : 'none (keepalive off)';
  const activity = input.sendEvery ? `the connection, sending a 1-byte heartbeat every ${input.sendEvery} s` : 'the idle connection';
  if (!input.json) io.out(`watching ${activity}; a silent peer is dropped within ${budgetText}. Ctrl-C to stop.`);
  else event('watching', '', { budget, sendEvery: input.sendEvery });

  const sample = (): void => {
    let h: TcpHealth;
    try {
      h = getHealth(socket);
    } catch {
      return; // closed between ticks, or no health here: the end handlers report
    }
    const now = performance.now();
    const p = last?.health;
    last = { at: now, health: h };
    if (p) {
      if (h.state !== p.state) event('state', `state ${p.state} -> ${h.state}`, { from: p.state, to: h.state });
      if (h.probes !== null && p.probes !== null) {
        if (h.probes > p.probes) {
          maxProbes = Math.max(maxProbes, h.probes);
          const silent = silentMs();
          event(
            'probe-unanswered',
            `probe ${h.probes}/${state.count} unanswered` + (silent !== null ? ` (peer silent for ${millis(silent)})` : ''),
            { probes: h.probes, count: state.count },
          );
        } else if (h.probes < p.probes) {
          answered++;
          event('probe-answered', `probe answered after ${p.probes} unanswered: the peer is back`, { answered });
        }
      }
      if (h.retransmits !== null && p.retransmits !== null && h.retransmits > p.retransmits) {
        maxRetransmits = Math.max(maxRetransmits, h.retransmits);
        event('retransmit', `retransmission ${h.retransmits} of unacknowledged data` + (silentMs() !== null ? ` (peer silent for ${millis(silentMs()!)})` : ''), {
          retransmits: h.retransmits,
        });
      }
      // An acknowledgement with nothing of ours to acknowledge: a keepalive probe was answered.
      if (
        h.lastAckReceivedMs !== null &&
        p.lastAckReceivedMs !== null &&
        h.lastAckReceivedMs < p.lastAckReceivedMs &&
        !sentSinceSample &&
        !receivedSinceSample &&
        h.bytesReceived === p.bytesReceived &&
        (h.probes ?? 0) === 0 &&
        (p.probes ?? 0) === 0
      ) {
        answered++;
        event('probe-answered', 'keepalive probe answered: the peer is alive', { answered });
      }
    }
    if (h.unacked === 0 && !sentSinceSample) unackedSince = null;
    sentSinceSample = false;
    receivedSinceSample = false;
    if (tty) drawStatus();
  };

  const drawStatus = (): void => {
    const h = last?.health;
    const parts = [`${elapsed().toFixed(1)}s`];
    if (h) {
      parts.push(h.state);
      const silent = silentMs();
      if (silent !== null) parts.push(`silent ${(silent / 1000).toFixed(1)}s`);
      if (h.probes !== null) parts.push(`unanswered ${h.probes}/${state.count}`);
      parts.push(`answered ${answered}`);
      if (h.retransmits !== null) parts.push(`retrans ${h.retransmits}`);
      // Unanswered probes: dropped at the keepalive budget; data in flight:
      // at the user timeout (without one, the OS retransmission limit).
      const limit = (h.retransmits ?? 0) > 0 ? (state.userTimeout > 0 ? state.userTimeout : null) : (h.probes ?? 0) > 0 ? budget : null;
      if (limit !== null && silent !== null) parts.push(`drop in ${Math.max(0, limit - silent / 1000).toFixed(1)}s`);
      if (h.rttMs !== null) parts.push(`rtt ${millis(h.rttMs)}`);
    }
    if (heartbeats) parts.push(`heartbeats ${heartbeats}`);
    const line = parts.join(' | ').slice(0, Math.max(20, io.columns - 1));
    io.write(`\r\x1b[2K${line}`);
    statusShown = true;
  };

  return new Promise<number>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      lastDataAt = performance.now();
      receivedSinceSample = true;
      event('data', `received ${chunk.length} byte${chunk.length === 1 ? '' : 's'} from the peer`, { bytes: chunk.length });
    });
    socket.on('end', () => {
      peerEnded = true;
      failedAt ??= performance.now();
    });
    socket.on('error', (e: Error & { code?: string }) => {
      error = e;
      failedAt ??= performance.now();
    });
    const poll = setInterval(sample, 200);
    const heartbeat = input.sendEvery
      ? setInterval(() => {
          if (socket.destroyed) return;
          socket.write('\n');
          unackedSince ??= performance.now();
          heartbeats++;
          sentSinceSample = true;
          event('heartbeat', `heartbeat ${heartbeats} sent (1 byte)`, { heartbeats });
        }, input.sendEvery * 1000)
      : null;
    const limit = input.duration ? setTimeout(() => stop('duration'), input.duration * 1000) : null;
    const onSigint = (): void => stop('interrupted');
    signals.once('SIGINT', onSigint);
    sample();

    function stop(cause: EndCause): void {
      if (stopCause || socket.destroyed) return;
      stopCause = cause;
      socket.destroy();
    }

    socket.once('close', () => {
      clearInterval(poll);
      if (heartbeat) clearInterval(heartbeat);
      if (limit) clearTimeout(limit);
      signals.removeListener('SIGINT', onSigint);
      clearStatus();
      const err = error as (Error & { code?: string }) | null;
      let cause: EndCause;
      if (stopCause) cause = stopCause;
      else if (err?.code && GAVE_UP.has(err.code)) cause = 'timeout';
      else if (err?.code === 'ECONNRESET' || err?.code === 'EPIPE') cause = 'reset';
      else if (err) cause = 'error';
      else if (peerEnded) cause = 'fin';
      else cause = 'error';
      const watched = elapsed();
      const silent = silentMs();
      const h = last?.health ?? null;
      const silentText = silent !== null ? `${(silent / 1000).toFixed(1)} s after the peer went silent` : `after ${watched.toFixed(1)} s`;
      let text: string;
      switch (cause) {
        case 'timeout':
          if ((h?.retransmits ?? 0) > 0 || (h?.unacked ?? 0) > 0) {
            text =
              `${err?.code}: unacknowledged data was retransmitted ${Math.max(maxRetransmits, h?.retransmits ?? 0)} times without an answer; ` +
              `the kernel dropped the connection ` +
              (unackedSince !== null ? `${((performance.now() - unackedSince) / 1000).toFixed(1)} s after the oldest of it was sent` : silentText) +
              (state.userTimeout > 0 ? ` (userTimeout ${state.userTimeout} s)` : ' (the OS retransmission limit)') +
              (err?.code !== 'ETIMEDOUT' ? `; ${err?.code} is the last network error the kernel saw, reported instead of ETIMEDOUT` : '');
          } else {
            text =
              `${err?.code}: ${Math.max(maxProbes, h?.probes ?? 0) || state.count} keepalive probes went unanswered; ` +
              `the kernel dropped the connection ${silentText}` +
              (budget !== null ? ` (budget ${duration(budget)})` : '') +
              (err?.code !== 'ETIMEDOUT' ? `; ${err?.code} is the last network error the kernel saw, reported instead of ETIMEDOUT` : '');
          }
          break;
        case 'reset':
          text =
            `${err?.code ?? 'ECONNRESET'}: the connection was reset (RST) ${silentText}: ` +
            ((h?.probes ?? 0) > 0 || maxProbes > 0
              ? 'a keepalive probe was answered with a reset: the peer no longer knows this connection (it restarted, or a middlebox dropped the flow)'
              : 'the peer or a middlebox reset it');
          break;
        case 'fin':
          text = `the peer closed the connection (FIN) after ${watched.toFixed(1)} s`;
          break;
        case 'error':
          text = `the connection failed: ${err ? `${err.code ?? ''} ${err.message}`.trim() : 'closed'} after ${watched.toFixed(1)} s`;
          break;
        default:
          text =
            `${cause === 'interrupted' ? 'stopped by Ctrl-C' : `stopped after --duration ${input.duration}`} after ${watched.toFixed(1)} s; ` +
            `the connection was ${h?.state ?? 'open'}`;
      }
      const summary =
        `probes answered ${answered}, most unanswered at once ${maxProbes}, retransmissions ${maxRetransmits}, ` +
        `heartbeats sent ${heartbeats}, bytes received ${received}` +
        (received > 0 ? `, last data ${((performance.now() - lastDataAt) / 1000).toFixed(1)} s ago` : '');
      if (input.json) {
        io.out(
          JSON.stringify({
            event: 'end',
            cause,
            code: err?.code ?? null,
            t: Math.round(watched * 1000) / 1000,
            silentMs: silent !== null ? Math.round(silent) : null,
            budget,
            answered,
            maxProbes,
            maxRetransmits,
            heartbeats,
            bytesReceived: received,
            message: text,
            health: h,
          }),
        );
      } else {
        io.out(`${tty ? '' : `${stamp()} `}${text}`);
        io.out(`  ${summary}`);
      }
      resolve(EXIT_FOR[cause]);
    });
  });
}
