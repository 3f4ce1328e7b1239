// Preload entry: `node --require tcp-keepalive/register app.js`,
// `node --import tcp-keepalive/register app.mjs`, or either in NODE_OPTIONS
// (so child processes, cluster workers and worker threads get it too).
// Installs the process-wide policy named by TCP_KEEPALIVE and
// TCP_KEEPALIVE_SIDE (see env.ts); an invalid value stops the process at
// startup with a message naming the variable, the bad part and what is
// allowed.
import { install, policyFromEnv, type EnvPolicy, type PolicyHandle } from './index';

function start(): PolicyHandle | null {
  let wanted: EnvPolicy;
  try {
    wanted = policyFromEnv(process.env);
    if (wanted.off) return null;
    return install(wanted.rules ?? wanted.settings, { clients: wanted.clients, servers: wanted.servers });
  } catch (error) {
    const { code, message } = error as Error & { code?: string };
    const text = code === 'ERR_TCP_KEEPALIVE_ENV' ? message : `could not install the policy from TCP_KEEPALIVE: ${message}`;
    process.stderr.write(`tcp-keepalive/register: ${text}\n`);
    process.exit(1);
  }
}

/** The policy this preload installed, or null when TCP_KEEPALIVE=off. */
export const registered: PolicyHandle | null = start();
