// The preload entry: `node --require tcp-keepalive/register` and
// `node --import tcp-keepalive/register`, directly and through NODE_OPTIONS
// (reaching child processes and worker threads), with the policy from
// TCP_KEEPALIVE / TCP_KEEPALIVE_SIDE; an invalid value stops the process at
// startup with a message naming the variable, the bad part and what is allowed.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { presets } from '../lib/index';

const root = path.join(__dirname, '..');
const fixture = path.join(__dirname, 'fixtures', 'dropin', 'report.js');

interface Report {
  policy: { settings: Record<string, unknown>; clients: boolean; servers: boolean } | null;
  client: { enabled: boolean; idle: number; interval: number; count: number; userTimeout: number };
  child?: Report;
  worker?: Report;
}

function node(args: string[], env: Record<string, string | undefined>): { status: number | null; stdout: string; stderr: string } {
  const clean = { ...process.env };
  delete clean.TCP_KEEPALIVE;
  delete clean.TCP_KEEPALIVE_SIDE;
  delete clean.NODE_OPTIONS;
  const result = spawnSync(process.execPath, args, { cwd: root, env: { ...clean, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const DATABASE = { idle: 60, interval: 20, count: 3, userTimeout: 'auto' };
const LIBRARY = { enabled: true, idle: 1, interval: 1, count: 10, userTimeout: 0 };

t.test('--require and --import', async (t) => {
  for (const flag of ['--require', '--import']) {
    const run = node([flag, 'tcp-keepalive/register', fixture], { TCP_KEEPALIVE: 'database' });
    t.equal(run.status, 0, `${flag}: exit 0 ${run.stderr}`);
    const report = JSON.parse(run.stdout) as Report;
    t.same(report.policy, { settings: DATABASE, clients: true, servers: true }, `${flag}: the database preset is installed`);
    t.same(report.client, { enabled: true, idle: 60, interval: 20, count: 3, userTimeout: 120 }, `${flag}: a client socket keeps it after setKeepAlive(true, 1000)`);
  }
  const without = JSON.parse(node([fixture], { TCP_KEEPALIVE: 'database' }).stdout) as Report;
  t.same(without, { policy: null, client: LIBRARY }, 'without the preload: no policy, the library values');
});

t.test('through NODE_OPTIONS: child processes and worker threads too', async (t) => {
  for (const flag of ['--require', '--import']) {
    const run = node([fixture], { NODE_OPTIONS: `${flag} tcp-keepalive/register`, TCP_KEEPALIVE: 'idle=45,interval=9,count=5,userTimeout=0', NESTED: '1' });
    t.equal(run.status, 0, `${flag}: exit 0 ${run.stderr}`);
    const report = JSON.parse(run.stdout) as Report;
    const want = { enabled: true, idle: 45, interval: 9, count: 5, userTimeout: 0 };
    for (const [where, r] of [['main', report], ['child process', report.child], ['worker thread', report.worker]] as const) {
      t.same(r?.client, want, `NODE_OPTIONS=${flag}: ${where} has the policy`);
    }
  }
});

t.test('defaults, off and sides', async (t) => {
  const byDefault = JSON.parse(node(['-r', 'tcp-keepalive/register', fixture], {}).stdout) as Report;
  const general = presets.general;
  t.same(byDefault.policy?.settings, { idle: general.idle, interval: general.interval, count: general.count, userTimeout: 'auto' }, 'unset: the general preset');
  t.same(byDefault.client, { enabled: true, idle: 60, interval: 10, count: 3, userTimeout: 90 });
  const empty = JSON.parse(node(['-r', 'tcp-keepalive/register', fixture], { TCP_KEEPALIVE: ' ' }).stdout) as Report;
  t.same(empty.policy?.settings, byDefault.policy?.settings, 'empty: the default too');
  const off = JSON.parse(node(['-r', 'tcp-keepalive/register', fixture], { TCP_KEEPALIVE: 'off' }).stdout) as Report;
  t.same(off, { policy: null, client: LIBRARY }, 'off: nothing installed');
  const servers = JSON.parse(node(['-r', 'tcp-keepalive/register', fixture], { TCP_KEEPALIVE_SIDE: 'servers' }).stdout) as Report;
  t.match(servers, { policy: { clients: false, servers: true }, client: LIBRARY }, 'servers only: client sockets left alone');
  const clients = JSON.parse(node(['-r', 'tcp-keepalive/register', fixture], { TCP_KEEPALIVE_SIDE: 'Clients' }).stdout) as Report;
  t.match(clients, { policy: { clients: true, servers: false }, client: { idle: 60 } }, 'clients only');
});

t.test('an invalid value stops the process at startup', async (t) => {
  const cases: Array<[Record<string, string>, RegExp[]]> = [
    [{ TCP_KEEPALIVE: 'fast' }, [/TCP_KEEPALIVE="fast"/, /"fast" is not a preset name/, /general, trading, web/]],
    [{ TCP_KEEPALIVE: 'idle=60,interval=10' }, [/count missing/]],
    [{ TCP_KEEPALIVE: 'idle=60s,interval=10,count=3' }, [/idle must be a whole number of seconds, without a unit, not "60s"/]],
    [{ TCP_KEEPALIVE: 'idle=60000,interval=10,count=3' }, [/idle must be from 1 to 32767, not 60000/]],
    [{ TCP_KEEPALIVE: 'idle=60,intervall=10,count=3' }, [/"intervall" is not a setting/]],
    [{ TCP_KEEPALIVE: 'idle=60,interval=10,count=3,idle=5' }, [/idle is given twice/]],
    [{ TCP_KEEPALIVE: 'idle=60,,count=3' }, [/empty part/]],
    [{ TCP_KEEPALIVE: 'general,web' }, [/"web" is not key=value/]],
    [{ TCP_KEEPALIVE: 'general,userTimeout=soon' }, [/userTimeout must be a whole number/]],
    [{ TCP_KEEPALIVE_SIDE: 'client' }, [/TCP_KEEPALIVE_SIDE="client"/, /clients, servers or both/]],
  ];
  for (const flag of ['--require', '--import']) {
    for (const [env, patterns] of cases) {
      const run = node([flag, 'tcp-keepalive/register', fixture], env);
      const label = `${flag} ${JSON.stringify(env)}`;
      t.equal(run.status, 1, `${label}: exit status 1`);
      t.equal(run.stdout, '', `${label}: the application did not run`);
      t.match(run.stderr, /^tcp-keepalive\/register: /, `${label}: says who stopped it`);
      for (const pattern of patterns) t.match(run.stderr, pattern, `${label}: ${pattern}`);
      t.match(run.stderr, /Allowed: /, `${label}: says what is allowed`);
    }
  }
});
