// Preload entry: `node --require tcp-keepalive/register app.js`,
// `node --import tcp-keepalive/register app.mjs`, or either in NODE_OPTIONS
// (so child processes, cluster workers and worker threads get it too).
// Installs the process-wide policy named by TCP_KEEPALIVE and
// TCP_KEEPALIVE_SIDE, and the stderr log of ended connections asked for by
// TCP_KEEPALIVE_LOG (see env.ts); an invalid value stops the process at
// startup with a message naming the variable, the bad part and what is
// allowed.
import { ABNORMAL_REASONS, endLine, install, logFromEnv, onConnectionEnd, policyFromEnv, type EnvPolicy, type PolicyHandle } from './index';

function fail(code: string | undefined, message: string): never {
  const text = code === 'ERR_TCP_KEEPALIVE_ENV' ? message : `could not install the policy from TCP_KEEPALIVE: ${message}`;
  process.stderr.write(`tcp-keepalive/register: ${text}\n`);
  process.exit(1);
}

function start(): PolicyHandle | null {
  let wanted: EnvPolicy;
  try {
    const log = logFromEnv(process.env);
    wanted = policyFromEnv(process.env);
    if (log !== 'off') {
      onConnectionEnd((record) => {
        if (log === 'all' || ABNORMAL_REASONS.has(record.reason)) process.stderr.write(`tcp-keepalive: ${endLine(record)}\n`);
      });
    }
    if (wanted.off) return null;
    return install(wanted.rules ?? wanted.settings, { clients: wanted.clients, servers: wanted.servers });
  } catch (error) {
    const { code, message } = error as Error & { code?: string };
    return fail(code, message);
  }
}

/** The policy this preload installed, or null when TCP_KEEPALIVE=off. */
export const registered: PolicyHandle | null = start();
