// What a policy cannot reach in this runtime, said once (a
// TcpKeepaliveWarning, code ERR_KEEPALIVE_UNREACHABLE) instead of being
// left silently undone:
// - a runtime whose sockets this package does not know: at install();
// - fetch() in Bun and Deno, which make its connections themselves, with no
//   node:net socket: at the first call while a policy covers clients;
// - Bun's node:http and node:https servers, whose connections Bun serves
//   itself (their 'connection' socket has no handle): when one listens
//   while a policy covers servers.
// Node's fetch (undici) and http servers go through node:net and get the
// policy. docs/platforms.md lists the same.
import { unreachable } from './errors';
import { warnOnce, type ActivePolicy } from './policy-apply';
import { RUNTIME } from './runtime';

/** Why this runtime's sockets may not be reached at all, or null. */
export function runtimeGap(): string | null {
  if (RUNTIME === null) return 'this runtime is not Node.js, Bun or Deno, whose sockets this package knows';
  if (RUNTIME !== 'node' && process.platform === 'win32') {
    return `${RUNTIME === 'bun' ? 'Bun' : 'Deno'} on Windows is not supported: its sockets are not named the way this package looks them up`;
  }
  return null;
}

const RUNTIME_NAME = RUNTIME === 'bun' ? 'Bun' : 'Deno';
const FETCH =
  `${RUNTIME_NAME}'s fetch() opens its connections itself, without a node:net socket, so they keep ${RUNTIME_NAME}'s own keepalive; ` +
  'for the policy, send requests through node:http (an http.Agent, undici, axios)';
const HTTP_SERVER =
  "Bun's node:http and node:https servers serve their connections themselves, without a socket handle, " +
  "so those connections keep Bun's own keepalive; a net.Server (or tls.Server) gets the policy";

/** A method watched while a policy is in force; each call reports what is out of reach. */
interface Watch {
  readonly target: object;
  readonly key: string;
  readonly report: (policy: ActivePolicy) => void;
  original?: (...args: unknown[]) => unknown;
  proxy?: (...args: unknown[]) => unknown;
}

let current: (() => ActivePolicy | null) | null = null;
let watches: Watch[] | undefined;

function watchesHere(): Watch[] {
  if (watches !== undefined) return watches;
  watches = [];
  if (RUNTIME === 'bun' || RUNTIME === 'deno') {
    watches.push({ target: globalThis, key: 'fetch', report: (policy) => policy.clients && warn(policy, 'fetch', FETCH) });
  }
  if (RUNTIME === 'bun') {
    for (const name of ['node:http', 'node:https']) {
      const server = (require(name) as { Server?: { prototype: object } }).Server;
      if (server) watches.push({ target: server.prototype, key: 'listen', report: (policy) => policy.servers && warn(policy, 'http-server', HTTP_SERVER) });
    }
  }
  return watches;
}

function warn(policy: ActivePolicy, key: string, text: string): void {
  warnOnce(policy, unreachable(text), 'the policy does not reach these connections', `ERR_KEEPALIVE_UNREACHABLE:${key}`);
}

/**
 * From install(): says at once what the runtime leaves out of reach, and
 * watches the calls that open unreachable connections. A Proxy keeps the
 * watched function as it was (its properties, Bun's fetch.preconnect).
 */
export function watchGaps(policy: ActivePolicy, active: () => ActivePolicy | null): void {
  current = active;
  const gap = runtimeGap();
  if (gap !== null) warnOnce(policy, unreachable(gap), 'the policy may not reach any socket here', 'ERR_KEEPALIVE_UNREACHABLE:runtime');
  for (const w of watchesHere()) {
    const value = (w.target as Record<string, unknown>)[w.key];
    // Still ours, or in the chain of someone who wrapped it since: not wrapped twice.
    if (typeof value !== 'function' || w.proxy !== undefined) continue;
    w.original = value as (...args: unknown[]) => unknown;
    w.proxy = new Proxy(w.original, {
      apply(target, self, args) {
        const now = current?.() ?? null;
        if (now !== null) w.report(now);
        return Reflect.apply(target, self, args);
      },
    });
    (w.target as Record<string, unknown>)[w.key] = w.proxy;
  }
}

/** From uninstall: puts back what is still ours; a proxy someone wrapped stays, inert without a policy. */
export function unwatchGaps(): void {
  for (const w of watches ?? []) {
    if (w.proxy !== undefined && (w.target as Record<string, unknown>)[w.key] === w.proxy) {
      (w.target as Record<string, unknown>)[w.key] = w.original;
      w.proxy = undefined;
    }
  }
}
