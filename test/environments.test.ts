// The named environments (lib/environments.ts): each has a name plan
// --behind can take, a positive timeout equal to the one the project's facts
// file records from the provider's docs, a source address, and the table in
// docs/middleboxes.md shows exactly the same values.
import t from 'tap';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { environmentByName, environmentNames, environments, isEnvironmentName, lateResponseText, type LateResponse } from '../lib/environments';

// KEEPALIVE-FACTS.md, "Middleboxes: idle timeouts users hit": seconds and
// what a late packet gets (Azure's 4 min default; GCP's VPC firewall state
// 10 min; conntrack: "depends on rules").
const facts: Record<string, [number, LateResponse]> = {
  'aws-nat-gateway': [350, 'rst'],
  'aws-nlb': [350, 'rst'],
  'azure-lb': [4 * 60, 'drop'],
  'gcp-lb': [10 * 60, 'drop'],
  'gcp-cloud-nat': [1200, 'drop'],
  'docker-swarm': [900, 'drop'],
  'kubernetes-conntrack': [86400, 'rules'],
  'linux-conntrack': [432000, 'rules'],
};

t.test('the table', async (t) => {
  t.same([...environmentNames].sort(), Object.keys(facts).sort(), 'the names the issue asks for');
  t.equal(new Set(environmentNames).size, environmentNames.length, 'names unique');
  t.ok(Object.isFrozen(environments), 'frozen');
  for (const e of environments) {
    t.match(e.name, /^[a-z0-9]+(-[a-z0-9]+)*$/, `${e.name}: kebab-case`);
    t.ok(Number.isInteger(e.idleTimeout) && e.idleTimeout > 0, `${e.name}: timeout ${e.idleTimeout} a positive whole number`);
    t.same([e.idleTimeout, e.late], facts[e.name], `${e.name}: as in the facts file`);
    t.match(e.source, /^https:\/\/[a-z0-9.-]+\.[a-z]+\/\S+$/, `${e.name}: a source address`);
    t.ok(e.label.length > 0, `${e.name}: a label`);
    t.ok(e.configurable === null || e.configurable.length > 0, `${e.name}: configurable null or words`);
    t.ok(Object.isFrozen(e), `${e.name}: frozen`);
    t.equal(environmentByName(e.name), e);
    t.equal(isEnvironmentName(e.name), true);
  }
  for (const not of ['AWS-NLB', 'aws', '', 'constructor', 'toString']) t.equal(isEnvironmentName(not), false, `${JSON.stringify(not)} is not a name`);
  t.equal(isEnvironmentName(350), false);
});

t.test('late responses in words', async (t) => {
  const cases: Array<[LateResponse, string]> = [
    ['rst', 'answers late packets with RST'],
    ['drop', 'drops late packets silently'],
    ['rules', 'late packets get what the firewall rules give them'],
  ];
  for (const [late, words] of cases) t.equal(lateResponseText(late), words, late);
});

t.test('docs/middleboxes.md shows the same table', async (t) => {
  const doc = readFileSync(path.join(__dirname, '..', 'docs', 'middleboxes.md'), 'utf8');
  const section = doc.split('\n## Named environments\n')[1]?.split('\n## ')[0] ?? '';
  t.ok(section, 'the section is there');
  const rows = section.split('\n').filter((line) => /^\| `[a-z-]+` \|/.test(line));
  const lateWords: Record<string, LateResponse> = { RST: 'rst', 'silent drop': 'drop', 'the rules decide': 'rules' };
  const parsed = rows.map((line) => {
    const cells = line
      .replace(/^\| | \|$/g, '')
      .split(' | ')
      .map((c) => c.replace(/^`(.*)`$/, '$1'));
    const [name, label, timeout, late, configurable, source] = cells;
    return {
      name,
      label,
      idleTimeout: Number(/^(\d+) s$/.exec(timeout ?? '')?.[1]),
      late: lateWords[late ?? ''],
      configurable: configurable === 'no' ? null : configurable,
      source: /^<(.+)>$/.exec(source ?? '')?.[1],
    };
  });
  t.same(
    parsed,
    environments.map((e) => ({ ...e })),
    'one row per environment, in table order, with the same values',
  );
});
