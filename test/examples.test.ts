// Every file in examples/ is run as a user would run it (`node examples/x.js`,
// the package resolved by its own name from the compiled dist/) and checked
// for the values it prints: the keepalive settings its sockets hold, read
// back from the kernel by the example itself, and its query or request
// results. The database examples run against the real servers the client
// tests start (test/helpers/servers.ts), with their addresses passed in the
// environment variables each example documents. A file in examples/ without
// a case here fails the first test, so no example can go unrun.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ROOT, track } from './helpers/cli';
import { dbSupport, startMariadb, startPostgres, startRedis, type DbKind, type DbServer } from './helpers/servers';
import { needs } from './helpers/tools';

const EXAMPLES = path.join(ROOT, 'examples');

/** `key: value` pairs as util.inspect prints a flat object (console.log of a keepalive state). */
function inspected(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/(\w+): ('[^']*'|[\w.-]+)/g)].map((m) => [m[1]!, m[2]!]));
}

/** The settings part of a printed keepalive state, as strings. */
const settingsOf = (state: Record<string, string>): Record<string, string | undefined> => ({
  enabled: state.enabled,
  idle: state.idle,
  interval: state.interval,
  count: state.count,
  userTimeout: state.userTimeout,
  detectAfter: state.detectAfter,
  source: state.source,
});

/** What a preset's settings read back as, printed (Linux: userTimeout 'auto' = idle + interval × count). */
const printedState = (idle: number, interval: number, count: number): Record<string, string> => {
  const sum = String(idle + interval * count);
  return { enabled: 'true', idle: String(idle), interval: String(interval), count: String(count), userTimeout: sum, detectAfter: sum, source: "'kernel'" };
};

async function runExample(t: Test, file: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const child = spawn(process.execPath, [path.join(EXAMPLES, file)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const done = await track(t, child).done(30_000);
  t.equal(done.code, 0, `node examples/${file} exits 0`, { stderr: done.stderr });
  return done.stdout;
}

interface Case {
  /** What it needs besides Node: a database server. */
  server?: DbKind;
  env?: (server: DbServer) => NodeJS.ProcessEnv;
  check(t: Test, stdout: string): void;
}

const linux = process.platform === 'linux';

const CASES: Record<string, Case> = {
  'demo.js': {
    check(t, stdout) {
      t.match(stdout, /^tcp-keepalive on \w+: \{"idle":60,"interval":10,"count":3,"userTimeout":"auto"\} on both ends of 127\.0\.0\.1:\d+$/m);
      for (const side of ['client', 'server']) {
        const want = `${side.padEnd(7)} enabled=true idle=60s interval=10s count=3 userTimeout=90s -> a dead peer is detected within 90s (read from: kernel)`;
        if (linux) t.ok(stdout.split('\n').includes(want), `${side}: ${want}`);
      }
      t.match(stdout, /Linux defaults \(7200 \+ 75 x 9\) would take 7875s, about 131 minutes\./);
    },
  },
  'server.js': {
    check(t, stdout) {
      t.equal(stdout, 'server socket: idle=30 interval=10 count=3 detectAfter=60s\n', 'the accepted socket holds preset realtime');
    },
  },
  'http-agent.js': {
    check(t, stdout) {
      const lines = stdout.trim().split('\n');
      t.same(lines, [0, 1, 2].map((i) => `request ${i}: reused=${i > 0} idle=60 interval=10 count=3 detectAfter=90s`),
        'three requests on one socket, the policy kept across the agent\'s setKeepAlive on reuse');
    },
  },
  'axios.js': {
    check(t, stdout) {
      const requests = stdout.split(/^(?=request \d+:)/m).filter(Boolean);
      t.equal(requests.length, 3, 'three requests');
      for (const [i, text] of requests.entries()) {
        t.match(text, new RegExp(`^request ${i}: 200 keepalive:`), `request ${i}: status 200`);
        if (linux) t.same(settingsOf(inspected(text)), printedState(60, 20, 3), `request ${i}: preset web on the socket`);
      }
    },
  },
  'undici-fetch.js': {
    check(t, stdout) {
      t.match(stdout, /^fetch: ok \| undici\.request: ok$/m, 'fetch and undici.request both answered');
      // One printed state per connection (util.inspect may spread it over lines).
      const connections = stdout.split(/^(?=connection keepalive:|fetch:)/m).filter((part) => part.startsWith('connection keepalive:'));
      t.ok(connections.length >= 1, `${connections.length} connection(s) reported`);
      for (const [i, text] of connections.entries()) {
        if (linux) t.same(settingsOf(inspected(text)), printedState(30, 10, 3), `connection ${i}: the dispatcher's settings`);
      }
    },
  },
  'pg.js': {
    server: 'postgres',
    env: (s) => ({ PGHOST: s.host, PGPORT: String(s.port), PGUSER: 'postgres', PGDATABASE: 'postgres' }),
    check(t, stdout) {
      t.match(stdout, /^query: \d{4}-\d\d-\d\dT[\d:.]+Z keepalive:/, 'the query returned a timestamp');
      t.same(settingsOf(inspected(stdout.slice(stdout.indexOf('keepalive:')))), printedState(60, 20, 3), 'preset database on the pool socket');
    },
  },
  'mysql2.js': {
    server: 'mariadb',
    env: (s) => ({ MYSQL_HOST: s.host, MYSQL_PORT: String(s.port), MYSQL_USER: 'root' }),
    check(t, stdout) {
      t.match(stdout, /^query: \d{4}-\d\d-\d\dT[\d:.]+Z keepalive:/, 'the query returned a timestamp');
      t.same(settingsOf(inspected(stdout.slice(stdout.indexOf('keepalive:')))), printedState(60, 20, 3), 'preset database on the pool socket');
    },
  },
  'ioredis.js': {
    server: 'redis',
    env: (s) => ({ REDIS_URL: `redis://${s.host}:${s.port}` }),
    check(t, stdout) {
      t.match(stdout, /^ping ok, keepalive:/, 'PING answered');
      t.same(settingsOf(inspected(stdout)), printedState(60, 20, 3), 'preset database on the connection, despite ioredis keepAlive 1000');
      t.match(stdout, /detectAfter policy: 120 s$/m);
    },
  },
  'node-redis.js': {
    server: 'redis',
    env: (s) => ({ REDIS_URL: `redis://${s.host}:${s.port}` }),
    check(t, stdout) {
      t.match(stdout, /^ping: PONG policy:/, 'PING answered');
      t.match(inspected(stdout), { idle: '60', interval: '20', count: '3' }, 'the policy in force is preset database');
      t.match(stdout, /detects a dead server within 120 s$/m);
    },
  },
};

const STARTERS: Record<DbKind, (t: Test) => Promise<DbServer>> = { postgres: startPostgres, redis: startRedis, mariadb: startMariadb };

t.test('every example has a case here', async (t) => {
  const files = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.js')).sort();
  t.same(files, Object.keys(CASES).sort(), 'examples/ and the cases below list the same files');
});

for (const [file, example] of Object.entries(CASES)) {
  t.test(`examples/${file}`, async (t) => {
    let env: NodeJS.ProcessEnv = {};
    if (example.server) {
      const support = dbSupport(example.server);
      if (!needs(t, support.ok, support.reason)) return;
      const server = await STARTERS[example.server](t);
      env = example.env?.(server) ?? {};
    }
    example.check(t, await runExample(t, file, env));
  });
}
