// A policy per destination with real clients: pg (node-postgres) and
// ioredis in one process, against a real PostgreSQL and a real Redis from
// Debian, each client asking for its own keepAlive (1 s). Under
// TCP_KEEPALIVE rules (the register preload) and under install({ rules }),
// each connection gets its own rule's settings (getKeepalive and `ss`);
// without the package both show the libraries' 1 s, so the checks can fail.
import t, { type Test } from 'tap';
import Redis from 'ioredis';
import pg from 'pg';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { install } from '../lib/index';
import { expectKeepalive, oneSocketTo, type Values } from './helpers/dropin';
import { keepaliveTimer } from './helpers/ss';
import { dbSupport, startPostgres, startRedis, type DbServer } from './helpers/servers';
import { needs, scaled } from './helpers/tools';

const PG = { idle: 41, interval: 4, count: 3 };
const REDIS = { idle: 23, interval: 2, count: 5 };
const LIBRARY: Values = { enabled: true, idle: 1, interval: 1, count: 10 };
const fixture = path.join(__dirname, 'fixtures', 'dropin', 'rules-clients.js');
const register = path.join(__dirname, '..', 'dist', 'register.js');

interface Seen {
  sockets: number;
  localPort?: number;
  remotePort?: number;
  state?: Values & { userTimeout: number };
  rule?: string[] | null;
}

interface Report {
  query: number;
  pong: string;
  pg: Seen;
  redis: Seen;
}

async function servers(t: Test): Promise<{ postgres: DbServer; redis: DbServer } | null> {
  for (const kind of ['postgres', 'redis'] as const) {
    const support = dbSupport(kind);
    if (!needs(t, support.ok, support.reason)) return null;
  }
  return { postgres: await startPostgres(t), redis: await startRedis(t) };
}

/** Runs the fixture, checks each socket with `ss` while it waits, then lets it end. */
async function runFixture(t: Test, preload: boolean, env: Record<string, string>, ports: { pg: number; redis: number }): Promise<Report> {
  const clean = { ...process.env };
  for (const key of ['NODE_OPTIONS', 'TCP_KEEPALIVE', 'TCP_KEEPALIVE_SIDE']) delete clean[key];
  const child = spawn(process.execPath, [...(preload ? ['--require', register] : []), fixture], {
    env: { ...clean, ...env, PG_PORT: String(ports.pg), REDIS_PORT: String(ports.redis) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), scaled(30_000));
  t.teardown(() => {
    clearTimeout(timer);
    child.kill('SIGKILL');
  });
  const lines = readline.createInterface({ input: child.stdout });
  const [first] = (await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => [''])])) as [string];
  t.ok(first, `the fixture reported (${stderr.trim() || 'no error output'})`);
  const report = JSON.parse(first || '{}') as Report;
  for (const name of ['pg', 'redis'] as const) {
    const seen = report[name];
    if (seen?.localPort === undefined || !seen.state?.enabled) continue;
    const timer = await keepaliveTimer(seen, 3000);
    t.ok(timer && timer.name === 'keepalive' && timer.seconds <= seen.state.idle! && timer.seconds > (seen.state.idle! >= 10 ? seen.state.idle! - 5 : 0),
      `${name}: ss keepalive timer ${timer ? `${timer.name},${timer.seconds}s` : 'none'} agrees with idle ${seen.state.idle}`);
  }
  child.stdin.end('done\n');
  const [code] = (await once(child, 'exit')) as [number | null];
  t.equal(code, 0, `the fixture exited cleanly ${stderr}`);
  return report;
}

t.test('the preload: pg and ioredis in one process, each with its rule', async (t) => {
  const started = await servers(t);
  if (!started) return;
  const ports = { pg: started.postgres.port, redis: started.redis.port };

  const without = await runFixture(t, false, {}, ports);
  t.match(without, { query: 1, pong: 'PONG' }, 'both clients work without the package');
  t.match(without.pg, { sockets: 1, state: LIBRARY, rule: null }, "without the package: pg's own 1 s");
  t.match(without.redis, { sockets: 1, state: LIBRARY, rule: null }, "without the package: ioredis's own 1 s");

  const rules = `${ports.pg}=idle=${PG.idle},interval=${PG.interval},count=${PG.count};${ports.redis}=idle=${REDIS.idle},interval=${REDIS.interval},count=${REDIS.count},userTimeout=auto;*=off`;
  const under = await runFixture(t, true, { TCP_KEEPALIVE: rules }, ports);
  t.match(under, { query: 1, pong: 'PONG' }, 'both clients work under the rules');
  t.match(under.pg, { sockets: 1, state: { enabled: true, ...PG, userTimeout: 0 }, rule: [String(ports.pg)] }, "pg: its rule's settings");
  t.match(under.redis, { sockets: 1, state: { enabled: true, ...REDIS, userTimeout: REDIS.idle + REDIS.interval * REDIS.count }, rule: [String(ports.redis)] },
    "ioredis: its rule's settings (userTimeout auto)");

  const bad = spawn(process.execPath, ['--require', register, '-e', '0'], { env: { ...process.env, NODE_OPTIONS: '', TCP_KEEPALIVE: `${ports.pg}=database;${ports.redis}=realtme` } });
  let message = '';
  bad.stderr.setEncoding('utf8').on('data', (d: string) => (message += d));
  const [status] = (await once(bad, 'exit')) as [number];
  t.equal(status, 1, 'a bad rule stops the process at start-up');
  t.match(message, new RegExp(`rule 2 \\("${ports.redis}=realtme"\\): "realtme" is not a preset name`), 'naming the rule');
});

t.test('install({ rules }): pg and ioredis in this process, each with its rule', async (t) => {
  const started = await servers(t);
  if (!started) return;
  const { postgres, redis: redisServer } = started;
  const handle = install({ rules: [{ match: postgres.port, policy: PG }, { match: `127.0.0.1:${redisServer.port}`, policy: REDIS }] });
  t.teardown(() => handle.uninstall());
  const pool = new pg.Pool({ host: postgres.host, port: postgres.port, user: 'postgres', database: 'postgres', max: 1, keepAlive: true, keepAliveInitialDelayMillis: 1000 });
  t.teardown(() => (pool.ended ? undefined : pool.end()));
  const redis = new Redis({ host: redisServer.host, port: redisServer.port, keepAlive: 1000, lazyConnect: true, maxRetriesPerRequest: 0 });
  t.teardown(() => redis.disconnect());
  t.same((await pool.query<{ n: number }>('SELECT 1 AS n')).rows, [{ n: 1 }]);
  await redis.connect();
  t.equal(await redis.ping(), 'PONG');
  const toPg = oneSocketTo(t, postgres.port, 'pg');
  const toRedis = oneSocketTo(t, redisServer.port, 'ioredis');
  if (toPg) await expectKeepalive(t, toPg, { enabled: true, ...PG }, 'pg');
  if (toRedis) await expectKeepalive(t, toRedis, { enabled: true, ...REDIS }, 'ioredis');
  await pool.end();
  await redis.quit();
});
