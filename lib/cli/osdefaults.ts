// The OS's own keepalive defaults (what a socket gets when nobody sets
// anything), read live where the OS exposes them: Linux /proc/sys, macOS
// and FreeBSD sysctl, the Windows registry; otherwise the documented
// defaults, marked as such. The readers are injectable for tests.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** One default value and where it came from. */
export interface DefaultValue {
  /** Seconds for durations, a count for probes and retransmissions; null when unknown. */
  value: number | null;
  /** Where it was read, e.g. '/proc/sys/net/ipv4/tcp_keepalive_time', or 'documented default'. */
  from: string;
}

export interface OsDefaults {
  platform: string;
  /** Seconds of idle before the first probe. */
  idle: DefaultValue;
  /** Seconds between unanswered probes. */
  interval: DefaultValue;
  /** Unanswered probes before the connection is dropped. */
  count: DefaultValue;
  /** Retransmissions of unacknowledged data before the connection is dropped (Linux tcp_retries2, Windows TcpMaxDataRetransmissions). */
  retries: DefaultValue;
  /**
   * About how long a write to a dead peer stays unacknowledged before the
   * connection is dropped, with no user timeout set; null where it cannot be
   * worked out from the values above.
   */
  writeTimeout: number | null;
  /** How writeTimeout was worked out, or why it is unknown. */
  writeTimeoutBasis: string;
}

/** How the OS values are read: files and commands. */
export interface Readers {
  readFile(path: string): string;
  run(command: string, args: string[]): string;
}

export const systemReaders: Readers = {
  readFile: (path) => readFileSync(path, 'utf8'),
  run: (command, args) => execFileSync(command, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }),
};

const DOCUMENTED = 'documented default';

function unknown(from: string): DefaultValue {
  return { value: null, from };
}

/**
 * Linux's time for tcp_retries2 retransmissions to run out (tcp_model_timeout
 * in net/ipv4/tcp_timer.c): the RTO starts at TCP_RTO_MIN (200 ms), doubles
 * up to the maximum RTO, then stays there. 15 retries: 924.6 s.
 */
export function linuxRetriesTimeout(retries: number, rtoMaxSeconds = 120, rtoBaseSeconds = 0.2): number {
  const threshold = Math.floor(Math.log2(rtoMaxSeconds / rtoBaseSeconds));
  const seconds =
    retries <= threshold
      ? ((2 << retries) - 1) * rtoBaseSeconds
      : ((2 << threshold) - 1) * rtoBaseSeconds + (retries - threshold) * rtoMaxSeconds;
  return Math.round(seconds * 10) / 10;
}

function linux(read: Readers): OsDefaults {
  const dir = '/proc/sys/net/ipv4';
  const value = (name: string, scale = 1): DefaultValue => {
    const path = `${dir}/${name}`;
    try {
      const n = Number(read.readFile(path).trim());
      return Number.isFinite(n) ? { value: n / scale, from: path } : unknown(`${path} (unreadable)`);
    } catch {
      return unknown(`${path} (missing)`);
    }
  };
  const retries = value('tcp_retries2');
  // Linux 6.15+ makes the maximum RTO a sysctl; before, it is fixed at 120 s.
  const rtoMax = value('tcp_rto_max_ms', 1000);
  const rtoMaxSeconds = rtoMax.value ?? 120;
  return {
    platform: 'linux',
    idle: value('tcp_keepalive_time'),
    interval: value('tcp_keepalive_intvl'),
    count: value('tcp_keepalive_probes'),
    retries,
    writeTimeout: retries.value === null ? null : linuxRetriesTimeout(retries.value, rtoMaxSeconds),
    writeTimeoutBasis:
      retries.value === null
        ? 'tcp_retries2 could not be read'
        : `tcp_retries2 = ${retries.value} retransmissions, the timeout doubling from 200 ms to ${rtoMaxSeconds} s`,
  };
}

/** Parses `sysctl NAME...` output ("name: value" lines, as macOS and FreeBSD print them). */
export function parseSysctl(output: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of output.split('\n')) {
    const match = /^\s*([\w.]+)\s*[:=]\s*(-?\d+)\s*$/.exec(line);
    if (match) values.set(match[1]!, Number(match[2]));
  }
  return values;
}

function bsd(platform: 'darwin' | 'freebsd', read: Readers): OsDefaults {
  const names = ['net.inet.tcp.keepidle', 'net.inet.tcp.keepintvl', 'net.inet.tcp.keepcnt'];
  let values = new Map<string, number>();
  try {
    values = parseSysctl(read.run('sysctl', names));
  } catch {
    // sysctl missing or refused: documented values below
  }
  // keepidle and keepintvl are milliseconds; keepcnt is a count.
  const pick = (name: string, scale: number, documented: number): DefaultValue => {
    const v = values.get(name);
    return v === undefined ? { value: documented, from: DOCUMENTED } : { value: v / scale, from: `sysctl ${name}` };
  };
  return {
    platform,
    idle: pick(names[0]!, 1000, 7200),
    interval: pick(names[1]!, 1000, 75),
    count: pick(names[2]!, 1, 8),
    retries: unknown('not a setting'),
    writeTimeout: null,
    writeTimeoutBasis: `the kernel's fixed retransmission limit decides (minutes); set userTimeout to bound it`,
  };
}

/** Parses one value of `reg query KEY /v NAME` output ("    NAME    REG_DWORD    0x1b7740"). */
export function parseRegQuery(output: string, name: string): number | undefined {
  const match = new RegExp(`^\\s*${name}\\s+REG_DWORD\\s+(0x[0-9a-fA-F]+|\\d+)\\s*$`, 'm').exec(output);
  return match ? Number(match[1]) : undefined;
}

function windows(read: Readers): OsDefaults {
  const key = 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters';
  const query = (name: string): number | undefined => {
    try {
      return parseRegQuery(read.run('reg', ['query', key, '/v', name]), name);
    } catch {
      return undefined; // not set: Windows uses its documented default
    }
  };
  const pick = (name: string, scale: number, documented: number): DefaultValue => {
    const v = query(name);
    return v === undefined
      ? { value: documented, from: `${DOCUMENTED} (${name} not set in the registry)` }
      : { value: v / scale, from: `registry ${key}\\${name}` };
  };
  return {
    platform: 'win32',
    idle: pick('KeepAliveTime', 1000, 7200),
    interval: pick('KeepAliveInterval', 1000, 1),
    // Fixed at 10 since Vista; TCP_KEEPCNT changes it per socket on 10 1703+.
    count: { value: 10, from: `${DOCUMENTED} (fixed since Windows Vista)` },
    retries: pick('TcpMaxDataRetransmissions', 1, 5),
    writeTimeout: null,
    writeTimeoutBasis: 'TcpMaxDataRetransmissions retransmissions with a doubling timeout; set userTimeout (TCP_MAXRT) to bound it',
  };
}

/** The OS keepalive defaults of `platform` (default: this one). */
export function readOsDefaults(platform: string = process.platform, read: Readers = systemReaders): OsDefaults {
  switch (platform) {
    case 'linux':
      return linux(read);
    case 'darwin':
    case 'freebsd':
      return bsd(platform, read);
    case 'win32':
      return windows(read);
    default:
      return {
        platform,
        idle: unknown('unknown on this platform'),
        interval: unknown('unknown on this platform'),
        count: unknown('unknown on this platform'),
        retries: unknown('unknown on this platform'),
        writeTimeout: null,
        writeTimeoutBasis: 'unknown on this platform',
      };
  }
}
