// tcp-keepalive info: this platform's support, the OS defaults read live,
// and what they imply.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { healthFields, healthSource } from '../health';
import { supported, type SettingName, type Supported } from '../supported';
import { EXIT, parse, optionHelp, quoted, UsageError, type OptionSpecs } from './args';
import { duration, table, wrap } from './format';
import { readOsDefaults, systemReaders, type OsDefaults, type Readers } from './osdefaults';
import type { Io } from './io';

const SPECS: OptionSpecs = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const INFO_HELP = `Usage: tcp-keepalive info [--json]

What this platform can set and read back, the OS keepalive defaults read
live (Linux /proc/sys/net/ipv4, macOS and FreeBSD sysctl, the Windows
registry, or the documented defaults, saying which), and what they imply:
how long an idle connection to a dead peer goes unnoticed, and how long a
write to a dead peer hangs without a user timeout.

Options:
${optionHelp(SPECS, { json: 'print one JSON object instead of text', help: 'show this help' })}

Exit codes: 0 done, 2 wrong command line.`;

/** This package's version, from its package.json. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

/** What Node's own socket.setKeepAlive(true, ms) does to the settings here. */
export function nodeSetKeepAlive(platform: string, uv: string): { idleOnly: boolean; interval?: number; count?: number; note: string } {
  const forced = (platform === 'linux' && versionAtLeast(uv, 1, 35)) || (platform === 'darwin' && versionAtLeast(uv, 1, 47));
  return forced
    ? { idleOnly: false, interval: 1, count: 10, note: `libuv ${uv} sets idle and also forces interval 1 s and count 10` }
    : { idleOnly: true, note: `libuv ${uv} sets idle only; interval and count stay at the OS defaults` };
}

export interface InfoReport {
  version: string;
  platform: string;
  arch: string;
  node: string;
  libuv: string;
  supported: Supported;
  health: { source: string; fields: readonly string[] };
  defaults: OsDefaults;
  implications: {
    /** Seconds to notice a silently dead peer of an idle connection with keepalive on and the defaults. */
    detectAfter: number | null;
    /** About how long a write to a dead peer hangs without a user timeout (null: unknown). */
    writeTimeout: number | null;
    nodeSetKeepAlive: ReturnType<typeof nodeSetKeepAlive>;
    notes: string[];
  };
}

export function infoReport(read: Readers = systemReaders): InfoReport {
  const defaults = readOsDefaults(supported.platform, read);
  const { idle, interval, count } = defaults;
  const detect = idle.value !== null && interval.value !== null && count.value !== null ? idle.value + interval.value * count.value : null;
  const node = nodeSetKeepAlive(supported.platform, process.versions.uv ?? '0');
  const notes: string[] = [
    'Keepalive is off on every socket until a program turns it on (SO_KEEPALIVE).',
  ];
  if (detect !== null) {
    notes.push(
      `With keepalive on and these defaults, an idle connection to a peer that vanished silently is noticed after ` +
        `${idle.value} + ${interval.value} × ${count.value} = ${duration(detect)}.`,
    );
  }
  if (defaults.writeTimeout !== null) {
    notes.push(
      `Keepalive does nothing while sent data is unacknowledged: a write to a dead peer hangs about ${duration(defaults.writeTimeout)} ` +
        `before ETIMEDOUT (${defaults.writeTimeoutBasis}). Set userTimeout to bound it.`,
    );
  } else {
    notes.push(`Keepalive does nothing while sent data is unacknowledged: how long a write to a dead peer hangs: ${defaults.writeTimeoutBasis}.`);
  }
  if (!node.idleOnly) {
    notes.push(
      `Node's socket.setKeepAlive(true, 60000) here gives idle 60 s, interval ${node.interval} s, count ${node.count} ` +
        `(${node.note}), and any later call overwrites settings made by others.`,
    );
  } else {
    notes.push(`Node's socket.setKeepAlive(true, ms) here: ${node.note}.`);
  }
  if (idle.value !== null && idle.value >= 60) {
    notes.push(
      `NAT gateways, firewalls and cloud load balancers drop idle flows after their own timeout, often 60-350 s; ` +
        `an idle time of ${idle.value} s is above that. See: tcp-keepalive plan --lb-idle-timeout 350`,
    );
  }
  return {
    version: packageVersion(),
    platform: supported.platform,
    arch: process.arch,
    node: process.versions.node,
    libuv: process.versions.uv ?? 'unknown',
    supported,
    health: { source: healthSource, fields: healthFields },
    defaults,
    implications: { detectAfter: detect, writeTimeout: defaults.writeTimeout, nodeSetKeepAlive: node, notes },
  };
}

const SETTINGS: readonly SettingName[] = ['enable', 'idle', 'interval', 'count', 'userTimeout'];

function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

export function renderInfo(report: InfoReport): string {
  const s = report.supported;
  const lines: string[] = [];
  lines.push(`tcp-keepalive ${report.version} on ${report.platform} ${report.arch}, Node ${report.node} (libuv ${report.libuv})`);
  lines.push('');
  lines.push('What can be set and read back here:');
  const rows: string[][] = [['setting', 'OS option', 'set', 'read', 'range']];
  for (const name of SETTINGS) {
    let range = '';
    if (name === 'enable') range = 'on/off';
    else if (s.set[name]) {
      const { min, max } = s.limits[name];
      range = name === 'count' ? `${min}..${max} probes` : `${min}..${max} s${name === 'userTimeout' ? ' (0 = system default)' : ''}`;
    } else range = 'not on this OS';
    const readText = s.read[name] ? 'yes' : `no (assumed ${s.defaults[name] ?? '?'})`;
    rows.push([name, s.options[name], yesNo(s.set[name]), readText, range]);
  }
  lines.push(table(rows));
  lines.push(
    wrap(
      `health (getHealth, probe --watch): ${report.health.source}: ` +
        (report.health.fields.length ? `state, ${report.health.fields.join(', ')}` : 'state only'),
    ),
  );
  lines.push('');
  const d = report.defaults;
  lines.push('OS defaults (what a socket gets when nobody sets anything):');
  const show = (v: { value: number | null }, unit: string): string => (v.value === null ? 'unknown' : `${v.value}${unit}`);
  lines.push(
    table([
      ['idle', show(d.idle, ' s'), d.idle.from],
      ['interval', show(d.interval, ' s'), d.interval.from],
      ['count', show(d.count, ' probes'), d.count.from],
      ...(d.retries.value !== null ? [['retries', show(d.retries, ' retransmissions'), d.retries.from]] : []),
    ]),
  );
  lines.push('');
  lines.push('What they imply:');
  for (const note of report.implications.notes) lines.push(wrap(`- ${note}`, 78, '  ', '    '));
  return lines.join('\n');
}

export function runInfo(argv: readonly string[], io: Io): number {
  const { values, positionals } = parse('info', argv, SPECS);
  if (values.help) {
    io.out(INFO_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0) {
    throw new UsageError(`info takes no arguments, got ${quoted(positionals.join(' '))}`, 'type just: tcp-keepalive info');
  }
  const report = infoReport();
  io.out(values.json ? JSON.stringify(report, null, 2) : renderInfo(report));
  return EXIT.ok;
}
