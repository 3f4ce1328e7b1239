// Real servers from Debian for the client tests: the databases PostgreSQL,
// Redis and MariaDB, and the brokers RabbitMQ, Mosquitto (MQTT) and NATS,
// each started on demand with a throwaway data directory and a
// random port on 127.0.0.1 (or on a test host's address inside its network
// namespace), optionally with TLS (the test certificate), and stopped at the
// test's teardown, also when the test fails. Every wait is bounded.
//
// Servers run as their own unprivileged users through `setpriv`, with
// --pdeathsig KILL: if the test process dies (tap's timeout, a crash), the
// kernel kills the server too, so nothing is left running.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import type { Test } from 'tap';

import { tlsCredentials } from './tls';
import { hasCommand } from './tools';

export type DbKind = 'postgres' | 'redis' | 'mariadb';
export type BrokerKind = 'rabbitmq' | 'mosquitto' | 'nats';
export type ServerKind = DbKind | BrokerKind;

export interface DbServer {
  kind: ServerKind;
  host: string;
  /** The TCP port (PostgreSQL and MariaDB speak TLS on it too when `tls` was asked for). */
  port: number;
  /** Redis with `tls`: its separate TLS port. */
  tlsPort?: number;
  /** The CA (= the server certificate) when `tls` was asked for. */
  ca?: Buffer;
  /** The server's output so far, for failure messages. */
  log(): string;
  /** Stops the server (bounded); also done at teardown. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** Run inside this network namespace (`ip netns exec`). */
  netns?: string;
  /** Also serve TLS with a throwaway self-signed certificate. */
  tls?: boolean;
}

const PG_BIN = (() => {
  try {
    const versions = fs.readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    return versions.length > 0 ? `/usr/lib/postgresql/${versions[0]}/bin` : '';
  } catch {
    return '';
  }
})();

const USERS: Record<ServerKind, string> = { postgres: 'postgres', redis: 'redis', mariadb: 'mysql', rabbitmq: 'rabbitmq', mosquitto: 'mosquitto', nats: 'nats' };
const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
// The server's binary and its Debian package (and the .ci/packages list naming it).
const INSTALLED: Record<ServerKind, [string, string, string]> = {
  postgres: [PG_BIN && `${PG_BIN}/postgres`, 'postgresql', 'dropin'],
  redis: ['/usr/bin/redis-server', 'redis-server', 'dropin'],
  mariadb: ['/usr/sbin/mariadbd', 'mariadb-server', 'dropin'],
  rabbitmq: [RABBITMQ_SERVER, 'rabbitmq-server', 'brokers'],
  mosquitto: ['/usr/sbin/mosquitto', 'mosquitto', 'brokers'],
  nats: ['/usr/sbin/nats-server', 'nats-server', 'brokers'],
};

/** Whether `kind` can be started here, and if not, why. */
export function dbSupport(kind: ServerKind): { ok: boolean; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: `${kind}: these tests run the Debian servers on Linux` };
  if (process.getuid?.() !== 0) return { ok: false, reason: `${kind}: starting the server as its own user needs root` };
  if (!hasCommand('setpriv')) return { ok: false, reason: 'setpriv (util-linux) is not installed' };
  const [binary, pkg, list] = INSTALLED[kind];
  if (!binary || !fs.existsSync(binary)) {
    return { ok: false, reason: `${kind} is not installed (Debian package ${pkg}; see .ci/packages/${list}.txt)` };
  }
  try {
    execUid(USERS[kind]);
  } catch {
    return { ok: false, reason: `user ${USERS[kind]} does not exist` };
  }
  return { ok: true, reason: '' };
}

function execUid(user: string): number {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no user ${user}`);
  return Number(line.split(':')[2]);
}

function gidOf(user: string): number {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  return Number(line!.split(':')[3]);
}

/** A port that was free a moment ago on 127.0.0.1. */
async function freePort(host: string): Promise<number> {
  const probe = net.createServer();
  probe.listen(0, host);
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function asUser(user: string, argv: string[], netns?: string): [string, string[]] {
  const setpriv = ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--init-groups', '--pdeathsig', 'KILL', '--', ...argv];
  return netns ? ['ip', ['netns', 'exec', netns, ...setpriv]] : [setpriv[0]!, setpriv.slice(1)];
}

function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d));
    child.stderr!.on('data', (d: Buffer) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? code}):\n${output}`));
    });
  });
}

/** Makes a directory owned by `user`, removed at teardown. */
function workDir(t: Pick<Test, 'teardown'>, kind: ServerKind): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tcp-keepalive-${kind}-`));
  fs.chmodSync(dir, 0o755);
  fs.chownSync(dir, execUid(USERS[kind]), gidOf(USERS[kind]));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function writeCerts(dir: string, kind: DbKind): Promise<{ cert: string; key: string; ca: Buffer }> {
  const creds = await tlsCredentials();
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  fs.writeFileSync(cert, creds.cert);
  fs.writeFileSync(key, creds.key, { mode: 0o600 });
  for (const file of [cert, key]) fs.chownSync(file, execUid(USERS[kind]), gidOf(USERS[kind]));
  return { cert, key, ca: creds.cert };
}

/**
 * Spawns the server and resolves once its output matches `ready` (bounded).
 * The stop function sends `stopSignal`, then SIGKILL after 5 s.
 */
async function launch(
  t: Pick<Test, 'teardown'>,
  kind: ServerKind,
  [command, args]: [string, string[]],
  ready: RegExp,
  stopSignal: NodeJS.Signals,
): Promise<{ child: ChildProcess; log: () => string; stop: () => Promise<void> }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(stopSignal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const onExit = (): void => void child.kill('SIGKILL');
  process.once('exit', onExit);
  t.teardown(async () => {
    await stop();
    process.removeListener('exit', onExit);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} was not ready within 30 s:\n${output}`)), 30_000);
    const onData = (d: Buffer): void => {
      output += d;
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${kind} exited (${signal ?? code}) before it was ready:\n${output}`));
    });
  });
  return { child, log: () => output, stop };
}

/** PostgreSQL (trust authentication, user and database `postgres`). */
export async function startPostgres(t: Pick<Test, 'teardown'>, options: StartOptions = {}): Promise<DbServer> {
  const host = options.host ?? '127.0.0.1';
  const dir = workDir(t, 'postgres');
  const data = path.join(dir, 'data');
  await run(...asUser('postgres', [`${PG_BIN}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']), 60_000);
  // Trust clients from any address: in a namespace the client is another host.
  fs.appendFileSync(path.join(data, 'pg_hba.conf'), '\nhost all all 0.0.0.0/0 trust\nhost all all ::/0 trust\n');
  const port = options.netns ? 5432 : await freePort(host);
  const args = [`${PG_BIN}/postgres`, '-D', data, '-k', dir, '-h', host, '-p', String(port), '-F', '-c', 'fsync=off', '-c', 'max_connections=50'];
  let ca: Buffer | undefined;
  if (options.tls) {
    const certs = await writeCerts(dir, 'postgres');
    ca = certs.ca;
    args.push('-c', 'ssl=on', '-c', `ssl_cert_file=${certs.cert}`, '-c', `ssl_key_file=${certs.key}`);
  }
  // SIGINT: PostgreSQL's fast shutdown (SIGTERM would wait for clients).
  const server = await launch(t, 'postgres', asUser('postgres', args, options.netns), /ready to accept connections/, 'SIGINT');
  return { kind: 'postgres', host, port, ...(ca ? { ca } : {}), log: server.log, stop: server.stop };
}

/** Redis (no persistence); with `tls`, a TLS port besides the plain one. */
export async function startRedis(t: Pick<Test, 'teardown'>, options: StartOptions = {}): Promise<DbServer> {
  const host = options.host ?? '127.0.0.1';
  const dir = workDir(t, 'redis');
  const port = options.netns ? 6379 : await freePort(host);
  const args = ['redis-server', '--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no'];
  let ca: Buffer | undefined;
  let tlsPort: number | undefined;
  if (options.tls) {
    const certs = await writeCerts(dir, 'redis');
    ca = certs.ca;
    tlsPort = options.netns ? 6380 : await freePort(host);
    args.push('--tls-port', String(tlsPort), '--tls-cert-file', certs.cert, '--tls-key-file', certs.key, '--tls-ca-cert-file', certs.cert, '--tls-auth-clients', 'no');
  }
  const server = await launch(t, 'redis', asUser('redis', args, options.netns), /Ready to accept connections/, 'SIGTERM');
  return { kind: 'redis', host, port, ...(tlsPort ? { tlsPort } : {}), ...(ca ? { ca } : {}), log: server.log, stop: server.stop };
}

/** MariaDB (grant tables skipped: any user, no password; database `test` created). */
export async function startMariadb(t: Pick<Test, 'teardown'>, options: StartOptions = {}): Promise<DbServer> {
  const host = options.host ?? '127.0.0.1';
  const dir = workDir(t, 'mariadb');
  const data = path.join(dir, 'data');
  await run(
    ...asUser('mysql', ['mariadb-install-db', '--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve']),
    60_000,
  );
  fs.mkdirSync(path.join(data, 'test'));
  fs.chownSync(path.join(data, 'test'), execUid('mysql'), gidOf('mysql'));
  const port = options.netns ? 3306 : await freePort(host);
  const args = [
    'mariadbd', '--no-defaults', `--datadir=${data}`, `--socket=${path.join(dir, 'sock')}`, `--pid-file=${path.join(dir, 'pid')}`,
    `--port=${port}`, `--bind-address=${host}`, '--skip-name-resolve', '--skip-log-bin', '--skip-grant-tables',
    '--innodb-buffer-pool-size=16M', '--innodb-log-file-size=8M', '--max-connections=50',
  ];
  let ca: Buffer | undefined;
  if (options.tls) {
    const certs = await writeCerts(dir, 'mariadb');
    ca = certs.ca;
    args.push(`--ssl-cert=${certs.cert}`, `--ssl-key=${certs.key}`);
  }
  const server = await launch(t, 'mariadb', asUser('mysql', args, options.netns), /ready for connections/, 'SIGTERM');
  return { kind: 'mariadb', host, port, ...(ca ? { ca } : {}), log: server.log, stop: server.stop };
}

/**
 * RabbitMQ (guest/guest from any address; its own Erlang port mapper on a
 * free port, stopped at teardown: epmd daemonizes, so the server's death
 * does not take it along).
 */
export async function startRabbitmq(t: Pick<Test, 'teardown'>, options: StartOptions = {}): Promise<DbServer> {
  const host = options.host ?? '127.0.0.1';
  const dir = workDir(t, 'rabbitmq');
  const port = options.netns ? 5672 : await freePort(host);
  const epmdPort = await freePort('127.0.0.1');
  const config = path.join(dir, 'rabbitmq.conf');
  fs.writeFileSync(config, `listeners.tcp.default = ${host}:${port}\nloopback_users = none\n`);
  fs.chownSync(config, execUid('rabbitmq'), gidOf('rabbitmq'));
  const env = {
    HOME: dir,
    RABBITMQ_NODENAME: `tcpka${port}@localhost`,
    RABBITMQ_DIST_PORT: String(await freePort('127.0.0.1')),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: config,
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'plugins'),
    RABBITMQ_LOGS: '-',
    ERL_EPMD_ADDRESS: '127.0.0.1',
    ERL_EPMD_PORT: String(epmdPort),
  };
  const argv = ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), RABBITMQ_SERVER];
  t.teardown(() => run('epmd', ['-port', String(epmdPort), '-kill'], 5000).catch(() => undefined));
  const server = await launch(t, 'rabbitmq', asUser('rabbitmq', argv, options.netns), /Server startup complete/, 'SIGTERM');
  return { kind: 'rabbitmq', host, port, log: server.log, stop: server.stop };
}

/** Mosquitto (MQTT, anonymous, no persistence). */
export async function startMosquitto(t: Pick<Test, 'teardown'>, options: StartOptions = {}): Promise<DbServer> {
  const host = options.host ?? '127.0.0.1';
  const dir = workDir(t, 'mosquitto');
  const port = options.netns ? 1883 : await freePort(host);
  const config = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(config, `listener ${port} ${host}\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type all\n`);
  const server = await launch(t, 'mosquitto', asUser('mosquitto', ['mosquitto', '-c', config], options.netns), /mosquitto version [\d.]+ running/, 'SIGTERM');
  return { kind: 'mosquitto', host, port, log: server.log, stop: server.stop };
}

/** NATS (no authentication, no persistence). */
export async function startNats(t: Pick<Test, 'teardown'>, options: StartOptions = {}): Promise<DbServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.netns ? 4222 : await freePort(host);
  const server = await launch(t, 'nats', asUser('nats', ['nats-server', '-a', host, '-p', String(port)], options.netns), /Server is ready/, 'SIGTERM');
  return { kind: 'nats', host, port, log: server.log, stop: server.stop };
}
