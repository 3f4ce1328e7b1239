// TCP_KEEPALIVE / TCP_KEEPALIVE_SIDE parsing (the process-level behaviour is
// in register.test.ts).
import t from 'tap';

import { parsePolicySpec, policyFromEnv } from '../lib/index';

t.test('specs', async (t) => {
  t.same(parsePolicySpec('idle=60,interval=10,count=3,userTimeout=auto'), { idle: 60, interval: 10, count: 3, userTimeout: 'auto' });
  t.same(parsePolicySpec(' database , userTimeout=0 '), { idle: 60, interval: 20, count: 3, userTimeout: 0 }, 'preset with an override, spaces allowed');
  t.same(parsePolicySpec('WEB,IDLE=45'), { idle: 45, interval: 20, count: 3, userTimeout: 'auto' }, 'names and keys are case-insensitive');
  t.same(parsePolicySpec('idle=5,interval=1,count=2'), { idle: 5, interval: 1, count: 2 }, 'userTimeout optional');
  const error = t.throws(() => parsePolicySpec('idle=5,interval=1,count=x', 'MY_VAR')) as Error & { code?: string; variable?: string; part?: string };
  t.equal(error.code, 'ERR_TCP_KEEPALIVE_ENV');
  t.equal(error.variable, 'MY_VAR');
  t.equal(error.part, 'count=x');
  t.match(error.message, /^MY_VAR="idle=5,interval=1,count=x" is invalid: count must be a whole number, not "x"\. Allowed: /);
  t.throws(() => parsePolicySpec('idle=32767,interval=32767,count=127,userTimeout=auto'), { code: 'ERR_TCP_KEEPALIVE_ENV', message: /userTimeout/ }, 'auto beyond the limit');
  t.throws(() => parsePolicySpec('idle=-1,interval=1,count=1'), { message: /not "-1"/ });
  t.throws(() => parsePolicySpec('idle=1.5,interval=1,count=1'), { message: /not "1.5"/ });
  t.throws(() => parsePolicySpec('count=0,idle=1,interval=1'), { message: /count must be from 1 to 127, not 0/ });
});

t.test('environment', async (t) => {
  t.match(policyFromEnv({}), { off: false, clients: true, servers: true, settings: { idle: 60, interval: 10, count: 3 }, description: 'general (default) on clients and servers' });
  t.same(policyFromEnv({ TCP_KEEPALIVE: 'OFF' }), { off: true, description: 'TCP_KEEPALIVE=off: no policy installed' });
  t.match(policyFromEnv({ TCP_KEEPALIVE: 'iot', TCP_KEEPALIVE_SIDE: 'servers' }), { clients: false, servers: true, settings: { idle: 600 } });
  t.throws(() => policyFromEnv({ TCP_KEEPALIVE_SIDE: 'all' }), { code: 'ERR_TCP_KEEPALIVE_ENV', variable: 'TCP_KEEPALIVE_SIDE', part: 'all' });
});
