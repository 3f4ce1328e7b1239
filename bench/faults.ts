// npm run bench:faults — runs every fault case side by side, each on its own
// pair of test hosts (network namespaces joined by a veth pair), and prints
// the detection report: setting, budget, measured detection, ratio, with the
// baselines (Node's setKeepAlive, no keepalive) beside this package.
//
// The measuring code is the tests' (test/helpers/faults.ts). Needs root,
// `ip netns`, `ss`, `nft` and `tcpdump`, and the compiled package (dist/: the
// npm script builds it first). Everything is removed at the end, also on
// Ctrl-C, and a later run sweeps what a killed one left.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

import { DIST, formatReport, runAll, type Owner } from '../test/helpers/faults';
import { netnsSupport, suiteNamespaces } from '../test/helpers/netns';
import { hasCommand } from '../test/helpers/tools';

const cleanups: (() => unknown)[] = [];
const owner: Owner = { teardown: (fn) => void cleanups.push(fn) };

async function cleanup(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch (e) {
      console.error(`cleanup: ${(e as Error).message}`);
    }
  }
}

function machine(): string {
  const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  return `${os.availableParallelism()} CPUs (nproc), Linux ${kernel}, Node ${process.version}`;
}

async function main(): Promise<number> {
  const support = netnsSupport();
  if (!support.ok) {
    console.error(`bench:faults cannot run here: ${support.reason}`);
    return 1;
  }
  for (const tool of ['ss', 'nft', 'tcpdump']) {
    if (!hasCommand(tool)) {
      console.error(`bench:faults cannot run here: ${tool} is not installed`);
      return 1;
    }
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void cleanup().then(() => process.exit(130));
    });
  }
  if (!fs.existsSync(DIST)) {
    console.error(`bench:faults needs the compiled package: ${DIST} is missing (npm run build:ts)`);
    return 1;
  }
  const started = Date.now();
  console.log(`Fault cases on two network namespaces joined by veth, all side by side (${machine()})\n`);
  try {
    const runs = await runAll(owner);
    console.log(formatReport(runs));
    console.log(
      '\nMeasured from the cut (the far host starts dropping every packet, nftables in its namespace) to the error' +
        ' the application saw; case 5 from the write made right after the cut. Probes: tcpdump on the detecting' +
        ` side's link, timed from the peer's last segment. Wall time ${((Date.now() - started) / 1000).toFixed(1)} s.`,
    );
    if (process.env.FAULTS_JSON) console.log(`\n${JSON.stringify(runs, null, 2)}`);
    return 0;
  } finally {
    await cleanup();
    const left = suiteNamespaces().filter((ns) => ns.startsWith(`tka-${process.pid}-`));
    if (left.length > 0) console.error(`namespaces left behind: ${left.join(' ')}`);
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(e.stack ?? e.message);
    process.exit(1);
  },
);
