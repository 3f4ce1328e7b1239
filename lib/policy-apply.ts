// A policy's state and how it reaches one socket: which sockets it covers
// and with which settings (decided once per socket), applying them, turning
// keepalive off, and reporting failures once as a TcpKeepaliveWarning.
// Shared by the process-wide hooks (policy-patch.ts) and attachPolicy
// (policy-attach.ts).
import type * as net from 'node:net';

import { track } from './ends';
import { keepaliveWarning } from './errors';
import { keepaliveRecordOf, sideOf } from './handle';
import { applyPrepared, applyValidated, prepareSettings, setKeepalive } from './keepalive';
import { ruleIndexFor, type Matcher, type ResolvedRule } from './policy-rules';
import type { PolicySettings } from './policy-spec';
import { validOptions, type ValidOptions } from './validate';

import type { Side } from './handle';

export type Filter = (socket: net.Socket, side: Side) => boolean;

/** One set of settings a policy applies, prepared once. */
export interface Target {
  readonly policy: ActivePolicy;
  readonly settings: PolicySettings;
  /** The settings as a native request, prepared once (null: apply them the general way). */
  readonly prepared: Int32Array | null;
  /** The settings as setKeepalive validated them, applied without re-validation. */
  readonly valid: ValidOptions;
  /** The rule that chose these settings (undefined: a policy without rules). */
  readonly rule: ResolvedRule | undefined;
}

export interface ActivePolicy {
  /** A policy without rules: its one target (null with rules). */
  readonly target: Target | null;
  /** Per rule, its matchers and its target (null: the rule leaves sockets alone); empty without rules. */
  readonly rules: ReadonlyArray<{ readonly matchers: readonly Matcher[]; readonly target: Target | null }>;
  readonly clients: boolean;
  readonly servers: boolean;
  readonly filter: Filter | undefined;
  /** Per socket: the target for it, or null (decided once, when connected; only with a filter). */
  readonly decisions: WeakMap<net.Socket, Target | null>;
  /** Warning codes already reported for this policy. */
  readonly warned: Set<string>;
}

type Coded = Error & { code?: string };

/** Symbol-keyed properties the policy keeps on a socket (they go with it). */
export type Marked = Record<symbol, unknown>;

// The policy's mark on a socket, in one symbol-keyed property (overwritten,
// never deleted, so the socket keeps its shape): AWAITING while the connect
// hook's listener is on it, then the target (policy and settings) last applied to it. Not
// WeakSets: adding young keys to a long-lived WeakSet takes V8's slow
// ephemeron write barrier, which was the largest JavaScript cost per
// connection.
export const kMark = Symbol('tcpKeepalivePolicy');
export const AWAITING = Symbol('awaiting connect');

// Errors that mean "not a socket the policy can apply to": left alone silently.
const IGNORED = new Set(['ERR_SOCKET_CLOSED', 'ERR_KEEPALIVE_NOT_TCP', 'ERR_KEEPALIVE_NOT_CONNECTED']);

function targetOf(policy: ActivePolicy, settings: PolicySettings, rule: ResolvedRule | undefined): Target {
  const valid = validOptions(true, settings.idle, settings.interval, settings.count, settings.userTimeout);
  return { policy, settings, prepared: prepareSettings(settings), valid, rule };
}

/** A policy's state: one set of settings, or `rules` (with their matchers) choosing per socket. */
export function activePolicy(
  settings: PolicySettings | { rules: readonly ResolvedRule[]; matchers: readonly (readonly Matcher[])[] },
  clients: boolean,
  servers: boolean,
  filter: Filter | undefined,
): ActivePolicy {
  const rules: Array<{ matchers: readonly Matcher[]; target: Target | null }> = [];
  const policy: { -readonly [K in keyof ActivePolicy]: ActivePolicy[K] } = {
    target: null, rules, clients, servers, filter, decisions: new WeakMap(), warned: new Set(),
  };
  if ('rules' in settings && Array.isArray(settings.rules)) {
    settings.rules.forEach((rule, i) => {
      rules.push({ matchers: settings.matchers[i]!, target: rule.settings === null ? null : targetOf(policy, rule.settings, rule) });
    });
  } else {
    policy.target = targetOf(policy, settings as PolicySettings, undefined);
  }
  return policy;
}

/** The target for this connected socket, or null when the policy leaves it alone; decided once per socket. */
export function targetFor(policy: ActivePolicy, socket: net.Socket): Target | null {
  // Without a filter the side and the rules decide, the same way at every
  // call (ports and addresses do not change once connected): nothing to
  // remember per socket (a WeakMap entry per socket costs more than the match).
  if (policy.filter === undefined) {
    const side = sideOf(socket);
    return (side === 'client' ? policy.clients : policy.servers) ? chooseTarget(policy, socket, side) : null;
  }
  const known = policy.decisions.get(socket);
  if (known !== undefined) return known;
  const side = sideOf(socket);
  let decision = (side === 'client' ? policy.clients : policy.servers) ? chooseTarget(policy, socket, side) : null;
  if (decision !== null && policy.filter) {
    try {
      if (!policy.filter(socket, side)) decision = null;
    } catch (error) {
      decision = null;
      warnOnce(policy, error as Coded, 'the policy filter threw; the socket was left alone');
    }
  }
  policy.decisions.set(socket, decision);
  return decision;
}

function chooseTarget(policy: ActivePolicy, socket: net.Socket, side: Side): Target | null {
  if (policy.target !== null) return policy.target;
  const index = ruleIndexFor(policy.rules, socket, side === 'server');
  return index < 0 ? null : policy.rules[index]!.target;
}

/** Whether the policy's settings were the last this package applied to the socket. */
export function hasPolicy(socket: net.Socket, policy: ActivePolicy): boolean {
  const mark = (socket as unknown as Marked)[kMark];
  return typeof mark === 'object' && mark !== null && (mark as Target).policy === policy;
}

export function applyPolicy(target: Target, socket: net.Socket): void {
  try {
    // applyValidated tracks the state it read back; a prepared request is tracked as it is.
    if (target.prepared !== null) {
      applyPrepared(socket, target.prepared);
      track(socket, target.prepared);
    } else applyValidated(socket, target.valid);
    (socket as unknown as Marked)[kMark] = target;
  } catch (error) {
    const code = (error as Coded).code;
    if (code === 'ERR_KEEPALIVE_NOT_TCP') target.policy.decisions.set(socket, null);
    if (code !== undefined && IGNORED.has(code)) return;
    warnOnce(target.policy, error as Coded, 'could not apply the keepalive policy');
  }
}

/** The target last applied to the socket by a policy, or null. */
export function appliedTarget(socket: net.Socket): Target | null {
  const mark = (socket as unknown as Marked)[kMark];
  return typeof mark === 'object' && mark !== null ? (mark as Target) : null;
}

/** Reports a failure as a TcpKeepaliveWarning, once per policy and code (or `key`). */
export function warnOnce(policy: ActivePolicy, error: Coded, what: string, key = error.code ?? error.message): void {
  if (policy.warned.has(key)) return;
  policy.warned.add(key);
  process.emitWarning(keepaliveWarning(`tcp-keepalive: ${what}: ${error.message}`, error.code ?? 'ERR_KEEPALIVE_POLICY', error));
}

export function turnOff(socket: net.Socket): void {
  try {
    setKeepalive(socket, { enable: false });
  } catch {
    // closed or not TCP: nothing to turn off
  }
}

/**
 * Whether the setKeepAlive call that just returned turned keepalive on, as
 * the running Node decided it: its own record of the call. Node 20 takes
 * Boolean(first argument), so setKeepAlive({ enable: false }) turns
 * keepalive ON there; Node versions with an options form read the object.
 * Without a record: Boolean(first), an object by its own `enable`.
 */
export function turnedOn(socket: net.Socket, first: unknown): boolean {
  const record = keepaliveRecordOf(socket);
  if (record !== null) return (socket as unknown as Marked)[record[0]] === true;
  if (first !== null && typeof first === 'object') return !Object.hasOwn(first, 'enable') || (first as { enable?: unknown }).enable !== false;
  return Boolean(first);
}
