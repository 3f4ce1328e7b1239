// The process-wide patch changes nothing else about net: a slice of
// realistic traffic (HTTP keep-alive reuse, HTTPS, pipelining, errors,
// timeouts, event order, listener counts, return values) gives the same
// observable results with and without `--require tcp-keepalive/register`.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { tlsCredentials } from './helpers/tls';

const root = path.join(__dirname, '..');
const fixture = path.join(__dirname, 'fixtures', 'dropin', 'traffic.js');

t.test('the same traffic results with and without the policy', async (t) => {
  const creds = await tlsCredentials();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-keepalive-compat-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'key.pem'), creds.key);
  fs.writeFileSync(path.join(dir, 'cert.pem'), creds.cert);
  const env = { ...process.env, TLS_KEY: path.join(dir, 'key.pem'), TLS_CERT: path.join(dir, 'cert.pem'), TCP_KEEPALIVE: 'general' };
  const run = (args: string[]): Record<string, unknown> => {
    const result = spawnSync(process.execPath, [...args, fixture], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
    t.equal(result.status, 0, `node ${args.join(' ')}: exit 0 ${result.stderr}`);
    return JSON.parse(result.stdout || '{}') as Record<string, unknown>;
  };
  const without = run([]);
  const withPolicy = run(['--require', 'tcp-keepalive/register']);
  t.ok(Object.keys(without).length === 6, 'every scenario ran');
  for (const key of Object.keys(without)) t.same(withPolicy[key], without[key], `${key}: ${JSON.stringify(without[key]).slice(0, 160)}`);
});
