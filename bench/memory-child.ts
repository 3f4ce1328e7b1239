// Child of comparison 4 (run with --expose-gc): opens and closes
// `connections` loopback connections, with or without the policy installed,
// and reports heap and RSS after GC before and after them.
import { loadInstall } from './env';
import { connectCycles, cycleServer, POLICY } from './traffic';

const CONCURRENCY = 16;
const WARMUP = 2000;

const gc = (globalThis as { gc?: () => void }).gc;

async function settle(): Promise<NodeJS.MemoryUsage> {
  if (!gc) throw new Error('bench: the memory child needs --expose-gc');
  for (let i = 0; i < 6; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc();
  return process.memoryUsage();
}

async function main(): Promise<void> {
  const [mode, count] = process.argv.slice(2);
  const connections = Number(count);
  if ((mode !== 'plain' && mode !== 'policy') || !(connections > 0)) {
    throw new Error('usage: memory-child plain|policy CONNECTIONS');
  }
  const server = await cycleServer();
  if (mode === 'policy') {
    const loaded = loadInstall();
    if ('error' in loaded) throw new Error(loaded.error);
    loaded.install(POLICY);
  }
  await connectCycles(server.port, WARMUP, CONCURRENCY);
  const before = await settle();
  await connectCycles(server.port, connections, CONCURRENCY);
  const after = await settle();
  const accepted = server.accepted();
  await server.close();
  if (accepted !== WARMUP + connections) throw new Error(`bench: the server accepted ${accepted}, expected ${WARMUP + connections}`);
  process.stdout.write(
    JSON.stringify({
      sockets: 2 * connections,
      heapBefore: before.heapUsed,
      heapAfter: after.heapUsed,
      rssBefore: before.rss,
      rssAfter: after.rss,
      externalBefore: before.external,
      externalAfter: after.external,
    }) + '\n',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
