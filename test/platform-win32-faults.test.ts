// Dead-peer detection by the Windows code, run for real: the official
// node.exe under Wine, in one test host of the fault harness (two network
// namespaces joined by a veth pair, test/helpers/netns.ts), keeps an idle
// connection to a Linux peer in the other host; the path is cut on the far
// side (nftables drop, links up), and node.exe must see the error within
// idle + interval × count.
//
// The package sets idle and interval with SIO_KEEPALIVE_VALS there
// (test/platform/win32-peer.js). Wine 8 has no TCP_KEEPCNT, so the count is
// the system's: 10 on Windows (what `detectAfter` promises), and under Wine
// the namespace's net.ipv4.tcp_keepalive_probes, read here. Witnesses
// outside the code under test: the time node.exe reports the error, and
// tcpdump on node.exe's side of the link, which counts the probes and their
// spacing.
//
// Wine creates sockets in its wineserver, which starts in the namespace of
// the first Wine process of its prefix: each run gets a prefix of its own
// (privatePrefix), started inside the namespace.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { analyseProbes, startCapture } from './helpers/capture';
import { Peer } from './helpers/faults';
import { faultsCanRun, nothingLeft } from './helpers/faults-tap';
import { twoHosts, type TwoHosts } from './helpers/netns';
import { root } from './helpers/platforms';
import { privatePrefix, runNodeExe, wineEnv, wineSetUp, winPath, type WineReady } from './helpers/wine';

t.setTimeout(5 * 60_000);

const PORT = 7000;
const SETTING = { idle: 2, interval: 1 };
/** From the cut to node.exe's error: start-up of node.exe under Wine is not in it. */
const WAIT_MS = 40_000;

interface WineDetection {
  keepalive: { idle: number; interval: number; count: number; detectAfter: number; source: string } | null;
  platform: string | null;
  code: string | null;
  /** Seconds from the cut to the error node.exe reported. */
  detection: number | null;
  /** The namespace's tcp_keepalive_probes: the count the kernel under Wine uses. */
  kernelCount: number;
  probes: ReturnType<typeof analyseProbes> | null;
  status: number | null;
  stderr: string;
}

function value<T>(lines: { kind: string; name: string; value: unknown }[], name: string): T | null {
  return (lines.find((l) => l.kind === 'INFO' && l.name === name)?.value as T | undefined) ?? null;
}

async function detectWithWine(t: Test, ready: WineReady, role: 'client' | 'server'): Promise<WineDetection> {
  const hosts: TwoHosts = twoHosts(t);
  const wineHost = role === 'client' ? hosts.client : hosts.server;
  const farSide = role === 'client' ? 'server' : 'client';
  const prefix = await privatePrefix(t, ready.wine);
  const control = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-keepalive-wine-faults-'));
  t.teardown(() => fs.rmSync(control, { recursive: true, force: true }));
  const kernelCount = Number(hosts.exec(wineHost, 'cat', ['/proc/sys/net/ipv4/tcp_keepalive_probes']).trim());
  const capture = await startCapture(hosts, wineHost);

  let linux: Peer | undefined;
  if (role === 'client') {
    linux = new Peer(hosts, hosts.server, { role: 'server', address: hosts.server.address, port: PORT, keepalive: { kind: 'none' } });
    await linux.expect('listening', 30_000, 'listening');
  }
  let cutAt = 0;
  const onKernel = async (label: string): Promise<void> => {
    if (label === 'listening') {
      // node.exe's server is up: the Linux client connects and pings it.
      linux = new Peer(hosts, hosts.client, { role: 'client', address: hosts.server.address, port: PORT, keepalive: { kind: 'none' } });
      await linux.expect('connected', 30_000, 'connection to node.exe');
      const from = linux.events.length;
      linux.command('ping');
      await linux.expect('data', 10_000, 'pong from node.exe', from, (e) => e.text.includes('pong'));
    }
    if (label === 'synced') {
      hosts.cut(farSide, 'drop');
      cutAt = Date.now();
    }
  };
  const config = { role, address: hosts.server.address, port: PORT, ...SETTING };
  const result = await runNodeExe(ready.wine, ready.nodeExe, [
    winPath(path.join(root, 'test', 'platform', 'win32-peer.js')), winPath(root), winPath(control), JSON.stringify(config),
  ], {
    controlDir: control,
    env: wineEnv({ WINEPREFIX: prefix, TCP_KEEPALIVE_PREBUILD: winPath(ready.prebuilt) }),
    timeoutMs: 90_000 + WAIT_MS,
    onKernel,
    wrap: ['ip', 'netns', 'exec', wineHost.ns],
  });
  await new Promise((r) => setTimeout(r, 100)); // the RST after the last probe reaches the capture
  const segments = await capture.stop();
  const connected = value<{ localPort: number; remotePort: number; keepalive: WineDetection['keepalive']; platform: string }>(result.lines, 'connected');
  const error = value<{ code: string; t: number }>(result.lines, 'error');
  const other = role === 'client' ? hosts.server : hosts.client;
  return {
    keepalive: connected?.keepalive ?? null,
    platform: connected?.platform ?? null,
    code: error?.code ?? null,
    detection: error && cutAt > 0 ? Math.round(error.t - cutAt) / 1000 : null,
    kernelCount,
    probes: connected
      ? analyseProbes(segments, { address: wineHost.address, port: connected.localPort }, { address: other.address, port: connected.remotePort })
      : null,
    status: result.status,
    stderr: result.stderr.slice(-3000) + (linux ? `\nlinux peer: ${linux.diagnostics()}` : ''),
  };
}

function checkDetection(t: Test, run: WineDetection): void {
  t.equal(run.platform, 'win32', 'the package ran its Windows code');
  t.match(run.keepalive, { idle: SETTING.idle, interval: SETTING.interval }, 'setKeepalive in node.exe took idle and interval', { stderr: run.stderr });
  // What the kernel under Wine does: idle, then kernelCount probes interval apart.
  const expected = SETTING.idle + SETTING.interval * run.kernelCount;
  t.equal(run.code, 'ETIMEDOUT', 'node.exe sees ETIMEDOUT');
  t.ok(
    run.detection !== null && run.detection >= expected - 1 && run.detection <= expected + 2,
    `detected ${run.detection} s after the cut; idle ${SETTING.idle} + interval ${SETTING.interval} × ${run.kernelCount} probes = ${expected} s (window [${expected - 1}, ${expected + 2}])`,
  );
  const promised = run.keepalive?.detectAfter ?? 0;
  t.ok(run.detection !== null && run.detection <= promised + 1,
    `within the package's promise for Windows: detectAfter ${promised} s (count ${run.keepalive?.count}, ${run.keepalive?.source})`);
  const p = run.probes;
  const near = (x: number | null, want: number): boolean => x !== null && x >= want - 0.05 && x <= want + 0.4;
  t.equal(p?.probes.length, run.kernelCount, `tcpdump: ${p?.probes.length} unanswered probes from node.exe's socket`);
  t.ok(near(p?.firstProbeAfter ?? null, SETTING.idle), `tcpdump: first probe ${p?.firstProbeAfter} s after the peer's last segment (idle ${SETTING.idle})`);
  t.ok(p !== null && p.spacings.length > 0 && p.spacings.every((s) => near(s, SETTING.interval)),
    `tcpdump: probes ${JSON.stringify(p?.spacings)} s apart (interval ${SETTING.interval})`);
  t.equal(run.status, 0, 'node.exe exited 0');
}

if (faultsCanRun(t, ['tcpdump'])) {
  t.test('node.exe under Wine detects a silent peer (client side)', async (t) => {
    const ready = await wineSetUp(t);
    if (!ready) return;
    checkDetection(t, await detectWithWine(t, ready, 'client'));
  });
  t.test('node.exe under Wine detects a vanished client (server side)', async (t) => {
    const ready = await wineSetUp(t);
    if (!ready) return;
    checkDetection(t, await detectWithWine(t, ready, 'server'));
  });
  nothingLeft(t);
}
