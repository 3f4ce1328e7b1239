// Start-up A/B: `node bench/startup-ab.js FILE...` spawns `node -e
// "require(FILE)"` for each file, 80 rounds, in alternating order, and prints
// the median wall and CPU time of each, and each one's difference from the
// first file (the baseline, e.g. an empty .js file). For comparing two builds
// of the entry point in one run; `npm run bench` measures the package as
// users install it.
'use strict';
const { spawnSync } = require('node:child_process');

const files = process.argv.slice(2);
if (files.length < 2) {
  console.error('usage: node bench/startup-ab.js BASELINE.js FILE.js...');
  process.exit(2);
}
const ROUNDS = 80;
const REPORT = 'const o=process.stdout;const c=process.cpuUsage();o.write(JSON.stringify({cpu:c.user+c.system}))';
const times = new Map(files.map((f) => [f, { wall: [], cpu: [] }]));
for (let round = 0; round < ROUNDS; round++) {
  for (const file of round % 2 ? files : [...files].reverse()) {
    const began = process.hrtime.bigint();
    const child = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)});${REPORT}`], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`${file}: ${child.stderr}`);
    times.get(file).wall.push(Number(process.hrtime.bigint() - began) / 1e6);
    times.get(file).cpu.push(JSON.parse(child.stdout).cpu / 1000);
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const base = times.get(files[0]);
for (const file of files) {
  const { wall, cpu } = times.get(file);
  const w = median(wall);
  const c = median(cpu);
  console.log(`${file}: wall ${w.toFixed(2)} ms (+${(w - median(base.wall)).toFixed(2)}), CPU ${c.toFixed(2)} ms (+${(c - median(base.cpu)).toFixed(2)})`);
}
