// Reading the OS keepalive defaults: Linux /proc, macOS/FreeBSD sysctl and
// the Windows registry through injected readers (sample outputs in the
// formats those tools print), and Linux's retransmission arithmetic.
import t from 'tap';
import { readFileSync } from 'node:fs';

import { linuxRetriesTimeout, parseRegQuery, parseSysctl, readOsDefaults, type Readers } from '../../lib/cli/osdefaults';

function fake(files: Record<string, string>, commands: Record<string, string> = {}): Readers & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    readFile: (path) => {
      calls.push(path);
      if (!(path in files)) throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
      return files[path]!;
    },
    run: (command, args) => {
      const line = [command, ...args].join(' ');
      calls.push(line);
      if (!(line in commands)) throw new Error(`${command} failed`);
      return commands[line]!;
    },
  };
}

t.test('Linux: tcp_retries2 arithmetic (tcp_model_timeout)', async (t) => {
  // RTO 0.2 s doubling to 120 s: threshold floor(log2(600)) = 9.
  t.equal(linuxRetriesTimeout(3), 3, '(2^4 − 1) × 0.2');
  t.equal(linuxRetriesTimeout(9), 204.6, '(2^10 − 1) × 0.2');
  t.equal(linuxRetriesTimeout(10), 324.6, '204.6 + 1 × 120');
  t.equal(linuxRetriesTimeout(15), 924.6, '204.6 + 6 × 120: the classic ~15 minutes');
  t.equal(linuxRetriesTimeout(15, 60), 522.2, 'tcp_rto_max_ms 60000: threshold 8, 102.2 + 7 × 60');
});

t.test('Linux: /proc/sys values, and missing files', async (t) => {
  const d = '/proc/sys/net/ipv4';
  const read = fake({
    [`${d}/tcp_keepalive_time`]: '600\n',
    [`${d}/tcp_keepalive_intvl`]: '30\n',
    [`${d}/tcp_keepalive_probes`]: '5\n',
    [`${d}/tcp_retries2`]: '8\n',
  });
  const defaults = readOsDefaults('linux', read);
  t.same(defaults.idle, { value: 600, from: `${d}/tcp_keepalive_time` });
  t.same(defaults.interval, { value: 30, from: `${d}/tcp_keepalive_intvl` });
  t.same(defaults.count, { value: 5, from: `${d}/tcp_keepalive_probes` });
  t.same(defaults.retries, { value: 8, from: `${d}/tcp_retries2` });
  t.equal(defaults.writeTimeout, 102.2, '(2^9 − 1) × 0.2 with the 120 s maximum RTO (no tcp_rto_max_ms here)');
  t.match(defaults.writeTimeoutBasis, /tcp_retries2 = 8.*to 120 s/);

  const empty = readOsDefaults('linux', fake({}));
  t.same(empty.idle, { value: null, from: `${d}/tcp_keepalive_time (missing)` });
  t.equal(empty.writeTimeout, null);
});

t.test('Linux: this machine, live', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const defaults = readOsDefaults();
  const proc = (name: string): number => Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8'));
  t.equal(defaults.idle.value, proc('tcp_keepalive_time'));
  t.equal(defaults.interval.value, proc('tcp_keepalive_intvl'));
  t.equal(defaults.count.value, proc('tcp_keepalive_probes'));
  t.equal(defaults.retries.value, proc('tcp_retries2'));
});

t.test('macOS and FreeBSD: sysctl in milliseconds', async (t) => {
  const names = 'sysctl net.inet.tcp.keepidle net.inet.tcp.keepintvl net.inet.tcp.keepcnt';
  const output = 'net.inet.tcp.keepidle: 7200000\nnet.inet.tcp.keepintvl: 75000\nnet.inet.tcp.keepcnt: 8\n';
  for (const platform of ['darwin', 'freebsd']) {
    const defaults = readOsDefaults(platform, fake({}, { [names]: output }));
    t.same(defaults.idle, { value: 7200, from: 'sysctl net.inet.tcp.keepidle' }, platform);
    t.same(defaults.interval, { value: 75, from: 'sysctl net.inet.tcp.keepintvl' });
    t.same(defaults.count, { value: 8, from: 'sysctl net.inet.tcp.keepcnt' });
    t.equal(defaults.writeTimeout, null);
  }
  const tuned = readOsDefaults('darwin', fake({}, { [names]: 'net.inet.tcp.keepidle: 30000\nnet.inet.tcp.keepintvl: 5000\n' }));
  t.same([tuned.idle.value, tuned.interval.value], [30, 5]);
  t.same(tuned.count, { value: 8, from: 'documented default' }, 'a value sysctl did not print: the documented default, saying so');
  const none = readOsDefaults('freebsd', fake({}));
  t.same(none.idle, { value: 7200, from: 'documented default' }, 'sysctl failing');
  t.same(parseSysctl('a.b: 1\nc.d = 2\nnoise\n'), new Map([['a.b', 1], ['c.d', 2]]));
});

t.test('Windows: the registry, else the documented defaults', async (t) => {
  const key = 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters';
  const query = (name: string): string => `reg query ${key} /v ${name}`;
  const regOutput = (name: string, hex: string): string =>
    `\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\r\n    ${name}    REG_DWORD    ${hex}\r\n\r\n`;
  const set = readOsDefaults('win32', fake({}, { [query('KeepAliveTime')]: regOutput('KeepAliveTime', '0x493e0'), [query('KeepAliveInterval')]: regOutput('KeepAliveInterval', '0x3e8') }));
  t.same(set.idle, { value: 300, from: `registry ${key}\\KeepAliveTime` }, '0x493e0 ms = 300 s');
  t.same(set.interval, { value: 1, from: `registry ${key}\\KeepAliveInterval` });
  t.same(set.count, { value: 10, from: 'documented default (fixed since Windows Vista)' });
  t.same(set.retries, { value: 5, from: 'documented default (TcpMaxDataRetransmissions not set in the registry)' });
  const unset = readOsDefaults('win32', fake({}));
  t.same(unset.idle, { value: 7200, from: 'documented default (KeepAliveTime not set in the registry)' });
  t.same(unset.interval, { value: 1, from: 'documented default (KeepAliveInterval not set in the registry)' });
  t.equal(parseRegQuery(regOutput('KeepAliveTime', '0x6ddd00'), 'KeepAliveTime'), 7_200_000);
  t.equal(parseRegQuery('ERROR: The system was unable to find the specified registry key or value.', 'KeepAliveTime'), undefined);
});

t.test('an unknown platform reports nothing rather than guessing', async (t) => {
  const d = readOsDefaults('aix', fake({}));
  t.same([d.idle.value, d.interval.value, d.count.value, d.writeTimeout], [null, null, null, null]);
});
