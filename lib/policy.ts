// A process-wide keepalive policy: every TCP connection the process opens
// (clients), accepts (servers) or is handed (received from another process,
// or made over a connected descriptor) gets the same settings when it is
// established, and gets them again whenever anything later calls
// socket.setKeepAlive(true, ...) on it. Libraries do that all the time
// (http.Agent on every socket reuse, pg/mysql2/ioredis/undici on connect),
// and Node's setKeepAlive(true, ms) also forces interval 1 s and count 10.
//
// The module is split along its three concerns:
// - policy-spec.ts: resolving a policy spec into validated settings;
// - policy-rules.ts: a policy per destination (rules by port and host);
// - policy-patch.ts: install() and the prototype hooks;
// - policy-apply.ts / policy-attach.ts: a policy on one socket
//   (attachPolicy gives one socket a policy without the hooks).
//
// Hooks, all undone by uninstall():
// - Node's TCP handle class (policy-handles.ts): connect/connect6 apply a
//   policy without filter or rules to a client's new descriptor; listen
//   gives a listener this process bound (bind/bind6 mark those) the policy
//   its accepted sockets inherit (Linux). The class is found at the first
//   connect() or Server#listen() under a policy (net.Server.prototype.listen
//   is wrapped for that), not at install().
// - net.Socket.prototype.connect (tls.TLSSocket inherits it, so tls.connect
//   goes through it too): a TCP socket is marked for the handle's connect,
//   or (a filter, rules, Node's own keepAlive on connect) gets one 'connect'
//   and one 'close' listener; whichever fires first removes the other. The diagnostics channel 'net.client.socket' is not
//   used: it misses new Socket().connect() and tls.connect, and fires
//   before a descriptor exists.
// - net.Server.prototype.emit (an own method shadowing EventEmitter's, for
//   every net/tls/http/https server): an accepted socket gets the policy
//   just before its 'connection' listeners run. The diagnostics channel
//   'net.server.socket' would be later: it publishes after 'connection'.
// - net.Socket.prototype.read: the Socket constructor calls this.read(0)
//   when it is given a handle or a descriptor (child_process's handle
//   passing makes a received socket so; `new net.Socket({ fd })`): such a
//   socket gets the policy on the next tick, before the 'message' that
//   delivers it. Socket.prototype._handle, where the handle is set, is a
//   non-configurable accessor, and no diagnostics channel publishes these
//   sockets; replacing net.Socket itself would change its identity.
// - net.Socket.prototype.setKeepAlive: the original runs, then the policy is
//   applied again on top when Node turned keepalive on (as Node decided it:
//   Node 20 treats setKeepAlive({ enable: false }) as true);
//   setKeepAlive(false) is honoured (latest call wins, as without the policy).
// Per-socket state lives only in WeakMaps/WeakSets keyed by the socket,
// symbol-keyed marks on it, and listeners removed at 'connect' or 'close':
// nothing outlives a socket.
export { install, currentPolicy, policyApplied, type AppliedPolicy, type InstallOptions, type PolicyHandle } from './policy-patch';
export type { PolicyMatch, PolicyRule, PolicyRules, ResolvedRule } from './policy-rules';
export { attachPolicy, attachSettings } from './policy-attach';
export { resolvePolicy, policyDetectAfter, type PolicySpec, type PolicySettings } from './policy-spec';
export type { Side } from './handle';
