// The presets: each inside its scenario's ranges from the facts file, its
// detection time equal to the library's own arithmetic, and each one
// applied to a real socket reads back from the kernel as documented.
import t from 'tap';
import { once } from 'node:events';
import * as net from 'node:net';

import { detectAfter, getKeepalive, install, isPresetName, presetNames, presets, presetSettings } from '../lib/index';
import { defaultPresetName } from '../lib/presets';
import { listen } from './helpers/net';

// The scenario table of KEEPALIVE-FACTS.md: [idle, interval, count] ranges.
const ranges: Record<string, [[number, number], [number, number], [number, number]]> = {
  general: [[30, 60], [10, 20], [3, 5]],
  trading: [[15, 30], [5, 10], [5, 7]],
  web: [[60, 120], [20, 30], [3, 5]],
  database: [[60, 120], [20, 30], [3, 5]],
  realtime: [[30, 60], [10, 20], [3, 3]],
  iot: [[300, 600], [60, 120], [3, 5]],
  nat: [[60, 120], [30, 60], [3, 5]],
  loadbalancer: [[1, 59], [1, 60], [1, 10]],
};

t.test('every preset is in its scenario range and states its detection time', async (t) => {
  t.same([...presetNames].sort(), Object.keys(ranges).sort(), 'the names');
  t.equal(defaultPresetName, 'general');
  for (const name of presetNames) {
    const p = presets[name];
    const [idle, interval, count] = ranges[name]!;
    t.ok(p.idle >= idle[0] && p.idle <= idle[1], `${name}: idle ${p.idle} in ${idle}`);
    t.ok(p.interval >= interval[0] && p.interval <= interval[1], `${name}: interval ${p.interval} in ${interval}`);
    t.ok(p.count >= count[0] && p.count <= count[1], `${name}: count ${p.count} in ${count}`);
    t.equal(p.detectAfter, detectAfter({ idle: p.idle, interval: p.interval, count: p.count }), `${name}: detectAfter ${p.detectAfter}`);
    t.equal(p.userTimeout, 'auto');
    t.equal(p.name, name);
    t.ok(Object.isFrozen(p), `${name}: frozen`);
    t.same(presetSettings(name), { idle: p.idle, interval: p.interval, count: p.count, userTimeout: 'auto' });
  }
  t.ok(presets.general.detectAfter <= 160 && presets.general.detectAfter >= 30, 'general detects within 30-160 s, the table\'s aim');
  t.equal(isPresetName('database'), true);
  t.equal(isPresetName('Database'), false);
  t.equal(isPresetName('toString'), false, 'no inherited names');
  t.throws(() => {
    (presets as Record<string, unknown>).general = {};
  }, TypeError);
});

t.test('each preset, installed, reads back from the kernel as documented', async (t) => {
  const port = await listen(t, net.createServer((s) => s.resume()));
  for (const name of presetNames) {
    const handle = install(name);
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const p = presets[name];
    t.match(getKeepalive(socket), { enabled: true, idle: p.idle, interval: p.interval, count: p.count, userTimeout: p.detectAfter, detectAfter: p.detectAfter }, name);
    t.equal(handle.detectAfter, p.detectAfter, `${name}: the handle states the same detection time`);
    socket.destroy();
    handle.uninstall();
  }
});
