// Opening the connections of `tcp-keepalive probe`: one connect with a
// time limit, and what to tell the user when it fails.
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';

import { getHealth, type TcpHealth } from '../health';

/** HOST:PORT, parsed. */
export interface Target {
  host: string;
  port: number;
}

/** Resolves when the socket connected; rejects with the error, or ETIMEDOUT after `timeout` s. */
export function connect(target: Target, timeout: number): Promise<{ socket: net.Socket; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => {
      const error = new Error(`no answer within ${timeout} s`) as Error & { code: string };
      error.code = 'ETIMEDOUT';
      socket.destroy();
      reject(error);
    }, timeout * 1000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve({ socket, ms: performance.now() - started });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export function connectHint(code: string | undefined): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'nothing listens there; check the port';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve; check it, or use an IP address';
    case 'ETIMEDOUT':
      return 'no answer: a firewall may drop the packets, or the host is down; raise --connect-timeout to wait longer';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to that host from here';
    default:
      return 'check HOST:PORT';
  }
}


/** The socket's health, or null where it cannot be read (the OS, or a socket already closed). */
export function tryHealth(socket: net.Socket): TcpHealth | null {
  try {
    return getHealth(socket);
  } catch {
    return null;
  }
}
