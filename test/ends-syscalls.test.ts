// What the connection-end records cost in system calls, counted by strace
// (not by this package): a normal close makes none (no TCP_INFO read; more
// clean closes, the same count), only an end with an error reads TCP_INFO
// once; receiving records through the policy reads no address at accept or
// connect (but once per process, to ask whether the system answers
// SO_PEERNAME), and both addresses only after a failure (getsockname, and
// SO_PEERNAME, which Linux still answers then), nothing at a clean close.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { hasCommand, needs } from './helpers/tools';

const fixture = path.join(__dirname, 'fixtures', 'ends', 'closes.js');
const RESETS = 5;

interface Counted {
  tcpInfo: number;
  getpeername: number;
  peername: number;
  getsockname: number;
  records: Record<string, number>;
  ended: Record<string, number>;
}

function counted(clean: number, records: boolean): Counted {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tka-strace-'));
  try {
    const log = path.join(dir, 'strace.txt');
    const stdout = execFileSync('strace', ['-f', '-qq', '-e', 'trace=getsockopt,getpeername,getsockname', '-o', log, process.execPath, fixture], {
      env: { ...process.env, NODE_OPTIONS: '', CLEAN: String(clean), RESETS: String(RESETS), RECORDS: records ? '1' : '0' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const lines = fs.readFileSync(log, 'utf8').split('\n');
    const out = JSON.parse(stdout) as { records: Record<string, number>; counters: { ended: Record<string, number> } };
    return {
      tcpInfo: lines.filter((l) => l.includes('TCP_INFO')).length,
      getpeername: lines.filter((l) => /\bgetpeername\(/.test(l)).length,
      peername: lines.filter((l) => l.includes('SO_PEERNAME')).length,
      getsockname: lines.filter((l) => /\bgetsockname\(/.test(l)).length,
      records: out.records,
      ended: out.counters.ended,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

t.test('system calls of ended connections, counted by strace', async (t) => {
  if (!needs(t, process.platform === 'linux', 'strace counts: Linux only')) return;
  if (!needs(t, hasCommand('strace'), 'strace is not installed (Debian package strace)')) return;
  const off20 = counted(20, false);
  const on20 = counted(20, true);
  const on40 = counted(40, true);
  t.comment(
    `20 clean + ${RESETS} resets: TCP_INFO ${on20.tcpInfo}, getpeername ${off20.getpeername} -> ${on20.getpeername}, SO_PEERNAME ${off20.peername} -> ${on20.peername}, ` +
      `getsockname ${off20.getsockname} -> ${on20.getsockname} (records off -> on); 40 clean: getpeername ${on40.getpeername}, SO_PEERNAME ${on40.peername}, getsockname ${on40.getsockname}`,
  );
  t.same(on20.records, { 'client:local': 20, 'server:peer-closed': 20, 'server:local': RESETS, 'client:reset': RESETS }, 'records: every end, by side and reason');
  t.equal(on20.tcpInfo, RESETS, `TCP_INFO read ${on20.tcpInfo} times: once per end with an error (the ${RESETS} resets), none for the 40 clean ends`);
  t.equal(on40.tcpInfo, RESETS, 'twice as many clean closes: still only the resets read TCP_INFO');
  t.equal(off20.tcpInfo, RESETS, 'without receivers the counters still classify the resets, with the same reads');
  t.same(off20.ended, on20.ended, 'the counters agree with and without receivers');
  t.equal(off20.getpeername, 0, 'without receivers no address is read');
  t.equal(on20.getpeername, 0, 'with receivers: no getpeername at accept or connect (a client knows the peer from connect)');
  // Plus one of each, once per process: whether this system answers SO_PEERNAME at all (qemu-user does not).
  t.equal(on20.peername - off20.peername, RESETS + 1, 'with receivers: the peer read once per end with an error (SO_PEERNAME: the kernel still knows it then), and once to ask whether it can be');
  t.same([on40.getpeername, on40.peername], [0, RESETS + 1], '20 more clean connections: no peer read, at accept or at their close');
  t.equal(on20.getsockname - off20.getsockname, RESETS + 1, 'with receivers: this end\'s address, read once per end with an error (the kernel still knows it then), and once with that question');
  t.equal(on40.getsockname, on20.getsockname, 'and none for a clean end');
});
