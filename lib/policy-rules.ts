// A policy per destination: rules that choose, per connection, which
// settings apply (or none), by port and host. The matcher grammar is
// written once here and used by install() and by TCP_KEEPALIVE.
//
//   *                 every socket
//   5432              port 5432, any host
//   db.internal:5432  that host and port ([::1]:5432 for IPv6)
//   db.internal:*     that host, any port
//
// A client socket matches by the port it connected to and the host it was
// given (as passed to connect(), or the address it reached); a socket a
// server accepted, or one handed over, by the port and address it was
// accepted on (the service's own port).
import type * as net from 'node:net';

import { hideOwnFrames, invalidArgType, invalidArgValue } from './errors';
import { internalsOf } from './handle';
import { resolvePolicy, type PolicySettings, type PolicySpec } from './policy-spec';
import { ownValue, validateKnownKeys, validateObject } from './validate';

/** Where a rule applies: '*', a port (5432 or '5432'), 'host:port', 'host:*' or '[v6]:port'. */
export type PolicyMatch = number | string;

/** One rule: the sockets it matches, and the policy for them ('off': leave them alone). */
export interface PolicyRule {
  match: PolicyMatch | readonly PolicyMatch[];
  policy: PolicySpec | 'off';
}

/** A policy per destination for install(): the first rule that matches a socket decides; no match, no policy. */
export interface PolicyRules {
  rules: readonly PolicyRule[];
}

/** A rule as the policy holds it: its matchers written out, its settings resolved (null: off). */
export interface ResolvedRule {
  /** The matchers, normalized: '*', '5432', 'db.internal:5432', 'db.internal:*', '[::1]:5432'. */
  readonly match: readonly string[];
  readonly settings: PolicySettings | null;
}

/** One parsed matcher; host and port undefined: any. */
export interface Matcher {
  readonly host?: string;
  readonly port?: number;
  /** How it is written back ('*', '5432', 'host:5432', 'host:*'). */
  readonly text: string;
}

const PORT = /^\d{1,5}$/;
// A host: a name or an IPv4 address (no colon, space or separator), or an IPv6 address in brackets.
const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:=,;[\]*]+)):(\d{1,5}|\*)$/;

function port(text: string): number | undefined {
  const value = Number(text);
  return value >= 1 && value <= 65535 ? value : undefined;
}

/** A matcher from its text, or a reason it is not one. */
export function parseMatcher(text: string): Matcher | string {
  const trimmed = text.trim();
  if (trimmed === '*') return { text: '*' };
  if (PORT.test(trimmed)) {
    const p = port(trimmed);
    return p === undefined ? `port ${trimmed} is not from 1 to 65535` : { port: p, text: String(p) };
  }
  const parts = HOST_PORT.exec(trimmed);
  if (parts === null) return `"${trimmed}" is not *, a port, host:port or host:*`;
  const v6 = parts[1];
  const host = (v6 ?? parts[2]!).toLowerCase();
  const shown = v6 === undefined ? host : `[${host}]`;
  if (parts[3] === '*') return { host, text: `${shown}:*` };
  const p = port(parts[3]!);
  return p === undefined ? `port ${parts[3]} is not from 1 to 65535` : { host, port: p, text: `${shown}:${p}` };
}

// What a matcher looks like, valid or not ("70000" and "db:x" too, so that
// their errors say what is wrong with them): never a setting's name.
const MATCHER_LIKE = /^(?:\*|\d+|\[[^\]]*\]:\S*|[^\s:=,;]+:\S*)$/;

/** Whether `text` reads as a list of matchers ("5432,3306", "*", "db:5432"): a rule's left side. */
export function isMatcherList(text: string): boolean {
  return text.split(',').every((part) => MATCHER_LIKE.test(part.trim()));
}

/**
 * The rule (index into `rules`) that decides for this connected socket, or
 * -1. Read once per socket, when it is connected.
 */
export function ruleIndexFor(rules: ReadonlyArray<{ readonly matchers: readonly Matcher[] }>, socket: net.Socket, server: boolean): number {
  const host = plainAddress((server ? socket.localAddress : socket.remoteAddress)?.toLowerCase());
  const given = server ? undefined : internalsOf(socket)._host?.toLowerCase();
  const at = server ? socket.localPort : socket.remotePort;
  for (let i = 0; i < rules.length; i++) {
    for (const m of rules[i]!.matchers) {
      if (m.port !== undefined && m.port !== at) continue;
      if (m.host !== undefined && m.host !== host && m.host !== given) continue;
      return i;
    }
  }
  return -1;
}

/** An IPv4 address as itself when a dual-stack socket shows it IPv4-mapped ("::ffff:198.18.0.2"). */
function plainAddress(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** The rule for every socket (`*`), if there is one: its settings are a rules policy's `settings`. */
export function ruleForEverySocket<R extends { readonly match: readonly string[] }>(rules: readonly R[]): R | undefined {
  return rules.find((rule) => rule.match.includes('*'));
}

/** Whether `spec` is the rules form of install()'s first argument (an own `rules` key). */
export function isRulesSpec(spec: unknown): spec is PolicyRules {
  return spec !== null && typeof spec === 'object' && !Array.isArray(spec) && Object.hasOwn(spec, 'rules');
}

/**
 * Checks that the rules can all apply: no matcher twice, nothing after a
 * rule for '*'. Returns the problem, or null.
 */
export function unreachableRule(rules: readonly (readonly Matcher[])[]): { rule: number; problem: string } | null {
  const seen = new Map<string, number>();
  for (let i = 0; i < rules.length; i++) {
    if (seen.has('*')) return { rule: i, problem: 'comes after a rule for * (every socket), so it never applies' };
    for (const m of rules[i]!) {
      const earlier = seen.get(m.text);
      if (earlier !== undefined) return { rule: i, problem: `matches ${m.text}, as rule ${earlier + 1} does first, so that part never applies` };
      seen.set(m.text, i);
    }
  }
  return null;
}

function matchersOf(value: unknown, name: string): Matcher[] {
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  if (list.length === 0) throw invalidArgValue(name, value, 'must name at least one matcher');
  return list.map((item, i) => {
    const itemName = Array.isArray(value) ? `${name}[${i}]` : name;
    if (typeof item === 'number') {
      if (!Number.isInteger(item) || item < 1 || item > 65535) throw invalidArgValue(itemName, item, 'must be a port from 1 to 65535');
      return { port: item, text: String(item) };
    }
    if (typeof item !== 'string') throw invalidArgType(itemName, 'a port number or a string', item);
    const parsed = parseMatcher(item);
    if (typeof parsed === 'string') throw invalidArgValue(itemName, item, `is not a matcher: ${parsed}`);
    return parsed;
  });
}

/** The rules of install({ rules }), validated: each rule's matchers and its policy, resolved. */
export function resolveRules(spec: PolicyRules, name = 'policy'): { rules: ResolvedRule[]; matchers: Matcher[][] } {
  try {
    validateObject(spec, name);
    validateKnownKeys(spec, name, ['rules'], 'a rules option');
    const list = ownValue(spec, 'rules');
    if (!Array.isArray(list)) throw invalidArgType(`${name}.rules`, 'an array of rules', list);
    if (list.length === 0) throw invalidArgValue(`${name}.rules`, list, 'must hold at least one rule');
    const matchers: Matcher[][] = [];
    const rules = (list as unknown[]).map((rule, i): ResolvedRule => {
      const ruleName = `${name}.rules[${i}]`;
      validateObject(rule, ruleName);
      validateKnownKeys(rule, ruleName, ['match', 'policy'], 'a rule option');
      const matched = matchersOf(ownValue(rule, 'match'), `${ruleName}.match`);
      matchers.push(matched);
      const policy = ownValue(rule, 'policy');
      if (policy === undefined) throw invalidArgType(`${ruleName}.policy`, "a policy or 'off'", policy);
      const settings = policy === 'off' ? null : resolvePolicy(policy as PolicySpec, `${ruleName}.policy`);
      return Object.freeze({ match: Object.freeze(matched.map((m) => m.text)), settings });
    });
    const unreachable = unreachableRule(matchers);
    if (unreachable !== null) {
      throw invalidArgValue(`${name}.rules[${unreachable.rule}]`, rules[unreachable.rule]!.match.join(','), unreachable.problem);
    }
    return { rules, matchers };
  } catch (error) {
    throw hideOwnFrames(error, resolveRules);
  }
}
