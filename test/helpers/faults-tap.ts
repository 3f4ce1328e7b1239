// What every fault test file checks before it runs: root, `ip netns`, the
// tools, and the compiled package the peer processes load. Missing pieces
// skip with the reason (fail in CI, see tools.ts).
import * as fs from 'node:fs';

import type { Test } from 'tap';

import { DIST } from './faults';
import { netnsSupport, suiteNamespaces } from './netns';
import { hasCommand, needs } from './tools';

export function faultsCanRun(t: Test, tools: string[]): boolean {
  const support = netnsSupport();
  if (!needs(t, support.ok, support.reason)) return false;
  for (const tool of ['ss', 'nft', ...tools]) {
    const pkg = { ss: 'iproute2', nft: 'nftables', tcpdump: 'tcpdump', sysctl: 'procps' }[tool] ?? tool;
    if (!needs(t, hasCommand(tool), `${tool} is not installed (Debian package ${pkg})`)) return false;
  }
  return needs(t, fs.existsSync(DIST), `${DIST} is missing: build with npm run build:ts (npm test does)`);
}

/** The last subtest of a fault file: its hosts are gone (teardown ran). */
export function nothingLeft(t: Test): void {
  t.test('no namespace of this run is left', async (t) => {
    t.same(suiteNamespaces().filter((ns) => ns.startsWith(`tka-${process.pid}-`)), [], '`ip netns list`');
  });
}
