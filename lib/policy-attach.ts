// One socket's policy for its whole life, without the process-wide hooks
// (attachPolicy; the agents and stream factories use attachSettings).
import * as net from 'node:net';

import { hideOwnFrames, invalidArgType } from './errors';
import { internalsOf, isConnected, onceConnected } from './handle';
import { activePolicy, applyPolicy, turnedOn, turnOff } from './policy-apply';
import { resolvePolicy, type PolicySettings, type PolicySpec } from './policy-spec';

type SetKeepAlive = (this: net.Socket, ...args: unknown[]) => net.Socket;

/**
 * Gives one socket a policy for its whole life, without the process-wide
 * hooks: applied on 'connect' (or now, if connected) and again after every
 * `setKeepAlive(true, ...)` call on this socket; `setKeepAlive(false)` is
 * honoured. For sockets handed to a library (pg's and mysql2's `stream`
 * option, custom agents). Returns the socket.
 */
export function attachPolicy<S extends net.Socket>(socket: S, policy: PolicySpec = 'general'): S {
  try {
    if (!(socket instanceof net.Socket)) throw invalidArgType('socket', 'an instance of net.Socket or tls.TLSSocket', socket);
    return attachSettings(socket, resolvePolicy(policy));
  } catch (error) {
    throw hideOwnFrames(error, attachPolicy);
  }
}

/** attachPolicy with settings already resolved by resolvePolicy (no validation). */
export function attachSettings<S extends net.Socket>(socket: S, settings: PolicySettings): S {
  const target = activePolicy(settings, true, true, undefined).target!;
  let off = false;
  const own = socket as unknown as { setKeepAlive: SetKeepAlive };
  const inherited = Object.getPrototypeOf(socket) as { setKeepAlive: SetKeepAlive };
  own.setKeepAlive = function setKeepAlive(this: net.Socket, ...args: unknown[]): net.Socket {
    const result = inherited.setKeepAlive.apply(this, args);
    off = !turnedOn(this, args[0]);
    if (isConnected(this)) {
      if (off) turnOff(this);
      else applyPolicy(target, this);
    }
    return result;
  };
  const now = (s: net.Socket): void => {
    if (!off) applyPolicy(target, s);
  };
  if (isConnected(socket)) now(socket);
  // (not the connect hook's listener: its shared "awaiting" mark belongs to the process-wide hook)
  else if (!internalsOf(socket).destroyed) onceConnected(socket, () => now(socket), undefined, true);
  return socket;
}
