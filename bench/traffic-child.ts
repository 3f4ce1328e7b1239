// Child of comparison 3: one process per round and setting, so the policy
// is installed once, before any traffic, as in a real process (installing
// and uninstalling between rounds in one process would also measure V8
// re-optimizing net's code after each prototype change). Runs a warm-up,
// then the timed operations, and prints their elapsed and CPU time.
import * as http from 'node:http';

import { loadInstall, loadPackage } from './env';
import { CONCURRENCY, connectCycles, cycleServer, HTTP_CONCURRENCY, httpRequests, httpServer, PG_CONCURRENCY, PG_PORT_VARIABLE, pgConnects, pgPool, pgQueries, POLICY } from './traffic';

/** In records mode, each timed connection's two ends must have been received (`records`: those since the timed part began). */
function receivedRecords(mode: string | undefined, records: number, count: number): void {
  if (mode === 'records' && records < 2 * count) throw new Error(`bench: ${records} connection-end records for ${count} connections`);
}

async function main(): Promise<void> {
  const [mode, kind, countText, warmupText] = process.argv.slice(2);
  const count = Number(countText);
  const warmup = Number(warmupText);
  if (!['plain', 'policy', 'filtered', 'records'].includes(mode ?? '') || !['connect', 'keepalive', 'close', 'pg-query', 'pg-connect'].includes(kind ?? '') || !(count > 0) || !(warmup >= 0)) {
    throw new Error('usage: traffic-child plain|policy|filtered|records connect|keepalive|close|pg-query|pg-connect COUNT WARMUP');
  }
  if (mode !== 'plain') {
    const loaded = loadInstall();
    if ('error' in loaded) throw new Error(loaded.error);
    // filtered: every socket passes the filter, through the per-socket path
    loaded.install(POLICY, mode === 'filtered' ? { filter: () => true } : undefined);
  }
  // records: a record for every ended connection, received by a listener that keeps a count.
  let records = 0;
  if (mode === 'records') loadPackage().onConnectionEnd(() => void records++);
  if (kind === 'connect') {
    const server = await cycleServer();
    await connectCycles(server.port, warmup, CONCURRENCY);
    const warmed = records;
    const sample = await connectCycles(server.port, count, CONCURRENCY);
    await server.close();
    receivedRecords(mode, records - warmed, count);
    process.stdout.write(JSON.stringify(sample) + '\n');
    return;
  }
  if (kind === 'pg-query' || kind === 'pg-connect') {
    const port = Number(process.env[PG_PORT_VARIABLE]);
    if (!(port > 0)) throw new Error(`bench: the pg patterns need ${PG_PORT_VARIABLE}`);
    if (kind === 'pg-connect') {
      await pgConnects(port, warmup, PG_CONCURRENCY);
      process.stdout.write(`${JSON.stringify(await pgConnects(port, count, PG_CONCURRENCY))}\n`);
      return;
    }
    const pool = await pgPool(port);
    await pgQueries(pool, warmup, PG_CONCURRENCY);
    const sample = await pgQueries(pool, count, PG_CONCURRENCY);
    await pool.end();
    process.stdout.write(`${JSON.stringify(sample)}\n`);
    return;
  }
  const web = await httpServer();
  const close = kind === 'close';
  // keepalive: fewer requests in flight than the agent has sockets, so each
  // request takes a socket from the agent's free pool (see connections.ts).
  const agent = close
    ? new http.Agent({ keepAlive: false, maxSockets: CONCURRENCY })
    : new http.Agent({ keepAlive: true, maxSockets: 2 * HTTP_CONCURRENCY });
  const inFlight = close ? CONCURRENCY : HTTP_CONCURRENCY;
  await httpRequests(web.port, agent, warmup, inFlight, close);
  const before = web.connections();
  const warmed = records;
  const sample = await httpRequests(web.port, agent, count, inFlight, close);
  const connections = web.connections() - before;
  agent.destroy();
  await web.close();
  if (close && connections < count) throw new Error(`bench: ${count} requests with Connection: close made ${connections} connections`);
  if (close) receivedRecords(mode, records - warmed, count);
  process.stdout.write(JSON.stringify(sample) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
