// What a policy cannot reach is said once, never left silent
// (lib/policy-gaps.ts). In Bun and Deno the real cases (fetch, Bun's
// node:http server) are checked by test/runtimes.test.ts; here, in Node,
// the start-up warning of a runtime whose sockets the package does not
// know, made by changing what the process reports of itself before the
// preload loads (process.versions, process.platform), and Node's own fetch
// and http server, which the policy reaches and does not warn about.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import '../lib/binding';
import { scaled } from './helpers/tools';

const root = path.join(__dirname, '..');
const register = path.join(root, 'dist', 'register.js');
// The addon this process loaded, named to the child: with process.platform
// made 'win32', the loader would look for a win32 prebuild.
const addon = Object.keys(require.cache).find((f) => f.endsWith('.node'));

// Run before the preload: the process claims to be another runtime.
// process.versions is replaced whole: Node 26 ignores changes to its properties.
const versions = (change: string): string => `Object.defineProperty(process, 'versions', { value: (${change})({ ...process.versions }), configurable: true, enumerable: true });`;
const onWindows = "Object.defineProperty(process, 'platform', { value: 'win32' });";
const SHAMS: Record<string, string> = {
  'no known runtime': versions('(v) => { delete v.node; return v; }'),
  'Deno on Windows': versions("(v) => ({ ...v, deno: '2.9.6' })") + onWindows,
  'Bun on Windows': versions("(v) => ({ ...v, bun: '1.4.5' })") + onWindows,
};
const EXPECTED: Record<string, RegExp> = {
  'no known runtime': /this runtime is not Node\.js, Bun or Deno/,
  'Deno on Windows': /Deno on Windows is not supported/,
  'Bun on Windows': /Bun on Windows is not supported/,
};

function preloaded(sham: string, body: string): { status: number | null; stderr: string } {
  const env = { ...process.env, TCP_KEEPALIVE: 'general', NODE_OPTIONS: '', TCP_KEEPALIVE_ADDON: addon };
  const script = `${sham}; require(${JSON.stringify(register)}); ${body}`;
  // --warnings: tap's process hook puts --no-warnings in a child's
  // NODE_OPTIONS on Node 26, whatever env says; the command line wins.
  const result = spawnSync(process.execPath, ['--warnings', '-e', script], { cwd: root, env, encoding: 'utf8', timeout: scaled(30_000) });
  return { status: result.status, stderr: result.stderr };
}

for (const [name, sham] of Object.entries(SHAMS)) {
  t.test(`${name}: the preload says once, at start-up, that it may not reach any socket`, async (t) => {
    const result = preloaded(sham, '');
    t.equal(result.status, 0, 'the process runs on', { stderr: result.stderr });
    const lines = result.stderr.split('\n').filter((l) => l.includes('ERR_KEEPALIVE_UNREACHABLE'));
    t.equal(lines.length, 1, 'one warning', { stderr: result.stderr });
    t.match(lines[0], EXPECTED[name]!, lines[0] ?? 'none');
  });
}

t.test("Node: fetch and http servers go through node:net; no ERR_KEEPALIVE_UNREACHABLE", async (t) => {
  const body = `
    const http = require('node:http');
    const server = http.createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1', async () => {
      const res = await fetch('http://127.0.0.1:' + server.address().port + '/');
      console.log(await res.text());
      server.close();
    });`;
  const result = preloaded('', body);
  t.equal(result.status, 0, 'a fetch to an http server ran', { stderr: result.stderr });
  t.notMatch(result.stderr, /ERR_KEEPALIVE_UNREACHABLE/, 'no warning');
});
