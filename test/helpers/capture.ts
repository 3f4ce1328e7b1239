// An independent observer of the wire: tcpdump (Debian's) captures inside a
// test host's namespace, and the pcap it writes is decoded here down to the
// TCP header fields. Nothing goes through this package's code.
import type { ChildProcess } from 'node:child_process';

import type { Host, TwoHosts } from './netns';

/** One captured TCP segment (IPv4 over Ethernet). */
export interface Segment {
  /** Capture time, seconds since the epoch (the kernel's timestamp). */
  ts: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  seq: number;
  ack: number;
  syn: boolean;
  fin: boolean;
  rst: boolean;
  hasAck: boolean;
  /** TCP payload bytes (from the IP header, not the snapshot length). */
  length: number;
}

/** Decodes a pcap file (as tcpdump -w writes it) into TCP segments. */
export function parsePcap(data: Buffer): Segment[] {
  if (data.length < 24) return [];
  const magic = data.readUInt32LE(0);
  let little: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) little = true;
  else if (data.readUInt32BE(0) === 0xa1b2c3d4 || data.readUInt32BE(0) === 0xa1b23c4d) little = false;
  else throw new Error(`not a pcap file (magic ${magic.toString(16)})`);
  const u32 = (offset: number): number => (little ? data.readUInt32LE(offset) : data.readUInt32BE(offset));
  const fraction = (little ? magic : data.readUInt32BE(0)) === 0xa1b23c4d ? 1e9 : 1e6;
  const linkType = u32(20);
  if (linkType !== 1) throw new Error(`link type ${linkType} is not Ethernet`);

  const segments: Segment[] = [];
  for (let offset = 24; offset + 16 <= data.length; ) {
    const ts = u32(offset) + u32(offset + 4) / fraction;
    const captured = u32(offset + 8);
    const start = offset + 16;
    offset = start + captured;
    if (offset > data.length) break; // a record cut short at the end
    const frame = data.subarray(start, start + captured);
    if (frame.length < 14 + 20 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ip = frame.subarray(14);
    const ihl = (ip[0]! & 0x0f) * 4;
    if (ip[9] !== 6 || ip.length < ihl + 20) continue;
    const total = ip.readUInt16BE(2);
    const tcp = ip.subarray(ihl);
    const dataOffset = (tcp[12]! >> 4) * 4;
    const flags = tcp[13]!;
    segments.push({
      ts,
      src: `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`,
      dst: `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`,
      sport: tcp.readUInt16BE(0),
      dport: tcp.readUInt16BE(2),
      seq: tcp.readUInt32BE(4),
      ack: tcp.readUInt32BE(8),
      fin: (flags & 0x01) !== 0,
      syn: (flags & 0x02) !== 0,
      rst: (flags & 0x04) !== 0,
      hasAck: (flags & 0x10) !== 0,
      length: total - ihl - dataOffset,
    });
  }
  return segments;
}

/** What the capture shows about one side's keepalive probes after its peer went silent. */
export interface ProbeReport {
  /** Capture time of the last segment received from the peer. */
  lastFromPeer: number;
  /** Capture times of the keepalive probes sent after it (none answered). */
  probes: number[];
  /** Seconds from the peer's last segment to the first unanswered probe (≈ idle). */
  firstProbeAfter: number | null;
  /** Seconds between consecutive unanswered probes (each ≈ interval). */
  spacings: number[];
  /** Seconds from the peer's last segment to the RST this side sent when it gave up. */
  resetAfter: number | null;
  /** Probes answered by the peer earlier in the capture. */
  answeredProbes: number;
}

const MOD = 2 ** 32;

/**
 * Finds the keepalive probes `local` (address:port) sent on its connection
 * with `remote`: ACK segments without payload, SYN, FIN or RST whose
 * sequence number is one below everything sent so far (SND.NXT − 1), as
 * RFC 1122 §4.2.3.6 describes them.
 */
export function analyseProbes(
  segments: Segment[],
  local: { address: string; port: number },
  remote: { address: string; port: number },
): ProbeReport {
  const mine = (s: Segment): boolean =>
    s.src === local.address && s.sport === local.port && s.dst === remote.address && s.dport === remote.port;
  const theirs = (s: Segment): boolean =>
    s.src === remote.address && s.sport === remote.port && s.dst === local.address && s.dport === local.port;
  let sndNxt: number | null = null;
  let lastFromPeer = Number.NaN;
  let probes: number[] = [];
  let answeredProbes = 0;
  let reset: number | null = null;
  for (const s of segments) {
    if (theirs(s)) {
      lastFromPeer = s.ts;
      answeredProbes += probes.length;
      probes = [];
      reset = null;
      continue;
    }
    if (!mine(s)) continue;
    if (s.rst) {
      reset = s.ts;
      continue;
    }
    const isProbe = sndNxt !== null && s.hasAck && !s.syn && !s.fin && s.length === 0 && s.seq === (sndNxt - 1 + MOD) % MOD;
    if (isProbe) {
      probes.push(s.ts);
      continue;
    }
    const end = (s.seq + s.length + (s.syn ? 1 : 0) + (s.fin ? 1 : 0)) % MOD;
    // Sequence space wraps; a later segment ends "after" the current SND.NXT.
    if (sndNxt === null || ((end - sndNxt + MOD) % MOD) < MOD / 2) sndNxt = end;
  }
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    lastFromPeer,
    probes,
    firstProbeAfter: probes.length > 0 ? round(probes[0]! - lastFromPeer) : null,
    spacings: probes.slice(1).map((ts, i) => round(ts - probes[i]!)),
    resetAfter: reset === null ? null : round(reset - lastFromPeer),
    answeredProbes,
  };
}

/** A running tcpdump on a host's link, writing pcap into memory. */
export interface Capture {
  /** Stops tcpdump (bounded) and returns the TCP segments it saw. */
  stop(): Promise<Segment[]>;
}

/** Starts tcpdump on `host`'s veth and waits (bounded) until it listens. */
export async function startCapture(hosts: TwoHosts, host: Host, timeoutMs = 10_000): Promise<Capture> {
  const child: ChildProcess = hosts.spawn(
    host,
    'tcpdump',
    ['-i', host.dev, '-n', '-U', '--immediate-mode', '-s', '128', '-w', '-', 'tcp'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => fail(`tcpdump did not start listening within ${timeoutMs} ms`), timeoutMs);
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${why}: ${stderr.trim()}`));
    };
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!settled && /listening on/.test(stderr)) {
        settled = true;
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (e) => fail(e.message));
    child.once('exit', (code) => fail(`tcpdump exited (${code})`));
  });
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
      return parsePcap(Buffer.concat(chunks));
    },
  };
}
