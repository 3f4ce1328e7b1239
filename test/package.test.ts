// The published shape: `npm pack` holds what users need and nothing else,
// installs into an empty project and runs from its prebuild without
// compiling, and works through require, import and TypeScript types.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.join(__dirname, '..');
const platformDir = `${process.platform}-${process.arch}`;

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 240_000,
  });
}

const consumerScript = `
const net = require('node:net');
const { setKeepalive, getKeepalive, supported, detectAfter } = require('tcp-keepalive');
const server = net.createServer((s) => {
  const state = setKeepalive(s, { idle: 60, interval: 10, count: 3 });
  console.log(JSON.stringify({ state, platform: supported.platform, plan: detectAfter({ idle: 2, interval: 2, count: 3 }), loaded: Object.keys(require.cache).filter((f) => f.endsWith('.node')) }));
  s.destroy(); server.close(); client.destroy();
});
let client;
server.listen(0, '127.0.0.1', () => { client = net.connect(server.address().port, '127.0.0.1'); });
`;

// Run with --require / --import tcp-keepalive/register and TCP_KEEPALIVE set:
// a library-style setKeepAlive(true, 1000) must not wipe the policy.
const registerScript = `
const net = require('node:net');
const { getKeepalive } = require('tcp-keepalive');
const server = net.createServer((s) => s.on('error', () => {})).listen(0, '127.0.0.1', () => {
  const client = net.connect(server.address().port, '127.0.0.1', () => {
    client.setKeepAlive(true, 1000);
    console.log(JSON.stringify(getKeepalive(client)));
    client.destroy(); server.close();
  });
});
`;

const esmScript = `
import { setKeepalive, getKeepalive, supported, detectAfter } from 'tcp-keepalive';
import pkg from 'tcp-keepalive';
console.log(JSON.stringify({ named: [typeof setKeepalive, typeof getKeepalive, typeof detectAfter, supported.platform], default: typeof pkg.setKeepalive }));
`;

const typesScript = `
import * as net from 'node:net';
import { setKeepalive, getKeepalive, detectAfter, supported, type KeepaliveState, type KeepaliveOptions } from 'tcp-keepalive';
const options: KeepaliveOptions = { idle: 60, interval: 10, count: 3, userTimeout: 'auto' };
declare const socket: net.Socket;
const result = setKeepalive(socket, options);
if (result.source !== 'pending') { const idle: number = result.idle; void idle; }
const state: KeepaliveState = getKeepalive(socket);
const seconds: number | null = state.detectAfter;
const planned: number = detectAfter({ idle: 1, interval: 1, count: 1 });
const canRead: boolean = supported.read.count;
void seconds; void planned; void canRead;
`;

interface PackedFile { path: string }
interface SourceMap { sources: string[]; sourcesContent?: Array<string | null>; sourceRoot?: string }

/** The files `npm pack` would publish (dist/ as built now; no scripts run). */
function packedFiles(): string[] {
  const packed = JSON.parse(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], root)) as Array<{ files: PackedFile[] }>;
  return packed[0]!.files.map((f) => f.path);
}

/** What in the tarball `file` (a .js or a .map) points at and cannot be found there. */
function danglingReferences(file: string, inTarball: ReadonlySet<string>): string[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const dir = path.posix.dirname(file);
  if (file.endsWith('.js')) {
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
    if (!url || url.startsWith('data:')) return [];
    const map = path.posix.join(dir, url);
    return inTarball.has(map) ? [] : [`${file} -> ${map}`];
  }
  const map = JSON.parse(text) as SourceMap;
  return map.sources.flatMap((source, i) => {
    if (typeof map.sourcesContent?.[i] === 'string') return [];
    const target = path.posix.join(dir, map.sourceRoot ?? '', source);
    return inTarball.has(target) ? [] : [`${file} -> ${target}`];
  });
}

t.test('every source map in the tarball comes with its sources', async (t) => {
  const files = packedFiles();
  const inTarball = new Set(files);
  const maps = files.filter((f) => f.endsWith('.map'));
  t.ok(maps.length > 0, `${maps.length} source maps in the tarball`);
  const scripts = files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'));
  t.same(scripts.flatMap((f) => danglingReferences(f, inTarball)), [], 'every sourceMappingURL names a map in the tarball');
  t.same(maps.flatMap((f) => danglingReferences(f, inTarball)), [], 'every map source is inlined or in the tarball');
  t.ok(['LICENSE', 'CHANGELOG.md', 'README.md'].every((f) => inTarball.has(f)), 'LICENSE, CHANGELOG.md and README.md are published');
  for (const link of readmeDocLinks()) t.ok(inTarball.has(link), `the README's link to ${link} resolves in the tarball`);
});

/** The docs/ files the README links to. */
function readmeDocLinks(): string[] {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  return [...new Set([...readme.matchAll(/\]\((docs\/[^)#\s]+)/g)].map((m) => m[1]!))];
}

/** GitHub's anchors for the headings of a markdown text (lower case, punctuation dropped, spaces to hyphens, repeats numbered). */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const outsideFences = markdown.split(/^```/m).filter((_, i) => i % 2 === 0).join('\n');
  for (const [, heading] of outsideFences.matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

t.test('the links between README.md, CONTRIBUTING.md and docs/ resolve, anchors included', async (t) => {
  const pages = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', ...fs.readdirSync(path.join(root, 'docs')).map((f) => `docs/${f}`)];
  const broken: string[] = [];
  let checked = 0;
  for (const page of pages) {
    const text = fs.readFileSync(path.join(root, page), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [file, anchor] = target!.split('#') as [string, string | undefined];
      const resolved = file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
      checked++;
      if (!fs.existsSync(path.join(root, resolved))) broken.push(`${page}: ${target} (no ${resolved})`);
      else if (anchor && !headingAnchors(fs.readFileSync(path.join(root, resolved), 'utf8')).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor})`);
    }
  }
  t.ok(checked > 20, `${checked} relative links checked`);
  t.same(broken, [], 'every relative link names an existing file and heading');
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  for (const doc of pages.filter((p) => p.startsWith('docs/'))) t.ok(readme.includes(`](${doc}`), `README links to ${doc}`);
});

t.test('npm pack installs elsewhere and runs from its prebuild, no compiler', { timeout: 300_000 }, async (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-keepalive-pack-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));

  // Built in a staged copy (never in build/, which other running tests load).
  run('bash', [path.join(root, 'scripts', 'build-prebuilds.sh'), platformDir], root);
  const prebuild = path.join(root, 'prebuilds', platformDir);
  t.ok(fs.readdirSync(prebuild).some((f) => f.endsWith('.node')), `prebuild in prebuilds/${platformDir}`);

  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], root)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = packed[0]!.files.map((f) => f.path);
  for (const wanted of ['package.json', 'README.md', 'binding.gyp', 'dist/index.js', 'dist/bundle.js', 'dist/register.js', 'register.mjs', 'bin/tcp-keepalive.js', 'dist/cli.js', 'src/binding.cc', 'src/keepalive_win.cc', 'src/health_win.cc']) {
    t.ok(files.includes(wanted), `tarball holds ${wanted}`);
  }
  t.ok(files.some((f) => f.startsWith(`prebuilds/${platformDir}/`) && f.endsWith('.node')), 'tarball holds the prebuild');
  t.same(files.filter((f) => /^(test|build|lib|bench|node_modules|\.ci)\//.test(f) || f.endsWith('.tgz')), [], 'no tests, build output or TypeScript sources');

  const project = path.join(work, 'consumer');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  // PREBUILDS_ONLY makes node-gyp-build fail rather than compile; with no
  // compiler reachable a fallback to building from source would fail too.
  run('npm', ['install', '--no-audit', '--prefer-offline', path.join(work, packed[0]!.filename)], project, {
    PREBUILDS_ONLY: '1',
    CC: 'false',
    CXX: 'false',
  });
  const installed = path.join(project, 'node_modules', 'tcp-keepalive');
  t.notOk(fs.existsSync(path.join(installed, 'build')), 'nothing was compiled at install');

  const bin = path.join(project, 'node_modules', '.bin', 'tcp-keepalive');
  const plan = JSON.parse(run(bin, ['plan', '--preset', 'database', '--json'], project, { PREBUILDS_ONLY: '1' })) as { detectAfter: number };
  t.equal(plan.detectAfter, 120, 'the tcp-keepalive command runs from the installed tarball');
  const info = JSON.parse(run('npx', ['--no-install', 'tcp-keepalive', 'info', '--json'], project, { PREBUILDS_ONLY: '1' })) as { platform: string };
  t.equal(info.platform, process.platform, 'and through npx');

  fs.writeFileSync(path.join(project, 'consumer.cjs'), consumerScript);
  const result = JSON.parse(run(process.execPath, ['consumer.cjs'], project, { PREBUILDS_ONLY: '1' })) as {
    state: Record<string, unknown>;
    loaded: string[];
    platform: string;
    plan: number;
  };
  t.match(result.state, { enabled: true, idle: 60, interval: 10, count: 3, detectAfter: 90 });
  t.equal(result.platform, process.platform);
  t.equal(result.plan, 8);
  t.match(result.loaded, [new RegExp(`prebuilds/${platformDir}/`)], 'the addon came from the prebuild');

  fs.writeFileSync(path.join(project, 'esm.mjs'), esmScript);
  t.same(JSON.parse(run(process.execPath, ['esm.mjs'], project)), {
    named: ['function', 'function', 'function', process.platform],
    default: 'function',
  }, 'import { setKeepalive } from "tcp-keepalive" works');

  fs.writeFileSync(path.join(project, 'register-check.cjs'), registerScript);
  for (const flag of ['--require', '--import']) {
    const state = JSON.parse(run(process.execPath, [flag, 'tcp-keepalive/register', 'register-check.cjs'], project, { TCP_KEEPALIVE: 'idle=33,interval=4,count=5' }));
    t.match(state, { enabled: true, idle: 33, interval: 4, count: 5 }, `node ${flag} tcp-keepalive/register keeps the policy`);
  }

  fs.writeFileSync(path.join(project, 'types.ts'), typesScript);
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  t.doesNotThrow(() => run(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--types', 'node', '--typeRoots', path.join(root, 'node_modules', '@types'), 'types.ts'], project), 'the types resolve through the exports map');
});
