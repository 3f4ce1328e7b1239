// Nothing of the fault suite outlives it: a run killed with SIGKILL (no
// teardown, no exit handler) leaves its namespaces, their veth pair and the
// processes inside them behind, and the next run removes all of it. Checked
// with `ip netns list`, the processes themselves, and /proc/*/ns/net: once no
// process and no mount holds a namespace, the kernel frees it and the veth
// devices in it.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { nothingLeft } from './helpers/faults-tap';
import { netnsSupport, suiteNamespaces } from './helpers/netns';
import { hasCommand, needs, processAlive } from './helpers/tools';

interface Made {
  pid: number;
  namespaces: string[];
  devices: string[];
  pids: number[];
}

const FIXTURE = path.join(__dirname, 'fixtures', 'faults', 'abandon.ts');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A process, told apart from a later one with the same pid by its start time. */
interface ProcessId {
  pid: number;
  start: string;
}

/** Field 22 of /proc/PID/stat (start time since boot), or null when gone. */
function startTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * The processes in the network namespaces with these inodes right now. (An
 * inode alone cannot say later on that a namespace is gone: the kernel
 * reuses the numbers of freed namespaces for new ones, such as those of
 * fault tests running at the same time.)
 */
function processesIn(inodes: readonly number[]): ProcessId[] {
  const found: ProcessId[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!inodes.includes(fs.statSync(`/proc/${entry}/ns/net`).ino)) continue;
      const start = startTime(Number(entry));
      if (start !== null) found.push({ pid: Number(entry), start });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const running = (p: ProcessId): boolean => startTime(p.pid) === p.start;

/** Polls `check` every 50 ms until it holds or `ms` pass; returns its last result. */
async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await sleep(50);
  return check();
}

/** Runs the fixture in `mode`; resolves with what it made (and the child). */
function runFixture(mode: 'hold' | 'next'): Promise<{ made: Made; child: ReturnType<typeof spawn> }> {
  const child = spawn(process.execPath, [...process.execArgv, FIXTURE, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fixture ${mode} printed nothing within 60 s: ${stderr}`));
    }, 60_000);
    readline.createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ made: JSON.parse(line) as Made, child });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fixture ${mode} exited (${code}) before reporting: ${stderr}`));
    });
  });
}

const support = netnsSupport();
if (needs(t, support.ok, support.reason) && needs(t, hasCommand('nft'), 'nft (nftables) is not installed')) {
  t.test('a SIGKILLed run leaves nothing behind once the next run starts', async (t) => {
    const { made: killed, child } = await runFixture('hold');
    t.teardown(() => void child.kill('SIGKILL'));
    const inodes = killed.namespaces.map((ns) => fs.statSync(`/var/run/netns/${ns}`).ino);
    // Nothing can enter those namespaces later but through their names,
    // which the next run deletes: these are all that can hold them.
    const holders = processesIn(inodes);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    // What the kill left: the test below would prove nothing otherwise.
    t.same(
      suiteNamespaces().filter((ns) => killed.namespaces.includes(ns)).sort(),
      [...killed.namespaces].sort(),
      'the killed run left its namespaces',
    );
    t.ok(killed.pids.length === 2 && killed.pids.every(processAlive), 'and a live process inside each');

    const { made: next, child: nextChild } = await runFixture('next');
    const nextExit = await new Promise<number | null>((resolve) => {
      if (nextChild.exitCode !== null) resolve(nextChild.exitCode);
      else nextChild.once('exit', resolve);
    });
    t.equal(nextExit, 0, 'the next run made its own hosts and exited normally');

    const listed = (): string[] => suiteNamespaces().filter((ns) => [...killed.namespaces, ...next.namespaces].includes(ns));
    t.same(listed(), [], '`ip netns list` shows neither run\'s namespaces');
    t.ok(await eventually(() => !killed.pids.some(processAlive), 5000), 'the processes left inside were killed');
    t.ok(holders.length >= 2, `${holders.length} processes were in the killed run's namespaces`);
    t.ok(
      await eventually(() => !holders.some(running), 5000),
      'none of them is left, so nothing holds the namespaces and the kernel frees them and their veth pair',
    );
    const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
    t.notOk(
      [...killed.devices, ...next.devices].some((dev) => links.includes(`${dev}:`) || links.includes(`${dev}@`)),
      'no veth device of either run in the root namespace',
    );
  });

  nothingLeft(t);
}
