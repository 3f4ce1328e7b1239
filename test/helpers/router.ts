// Three test hosts with a middlebox between them: client, router, server,
// each a network namespace of this test (names and clean-up as in
// netns.ts). The router forwards between two links and tracks every flow
// with Linux conntrack; it forgets an established flow after `established`
// seconds of silence (the namespace's own
// net.netfilter.nf_conntrack_tcp_timeout_established, or a conntrack
// timeout object per server port), like a NAT gateway, a stateful firewall
// or a load balancer does. What it does with a packet of a flow it forgot:
// - 'nat': masquerade (the server sees the router's address) and answer with
//   RST, as AWS's NAT gateway and NLB do;
// - 'firewall': routed, no NAT, drop it silently, as GCP's firewall, Azure's
//   default and Docker Swarm's IPVS do.
// nf_conntrack_tcp_loose=0: a mid-stream segment never creates a new entry.
// Addresses from 198.18.0.0/15: the client 198.18.1.2 on one link, the
// server 198.18.2.2 on the other, the router .1 on each.
import type { ChildProcess, SpawnOptions } from 'node:child_process';

import type { Test } from 'tap';

import { execIn, ip, link, testNamespaces, type Host } from './netns';
import { hasCommand } from './tools';

/** What the router does with a late packet of a flow it forgot. */
export type MiddleboxMode = 'nat' | 'firewall';

export interface RouterOptions {
  mode: MiddleboxMode;
  /** Seconds of silence after which the router forgets an established flow. */
  established: number;
  /** Per server port, a different established timeout (seconds), so several paths share one router. */
  portTimeouts?: Readonly<Record<number, number>>;
}

export interface RoutedHosts {
  client: Host;
  /** The router's namespace; `address` is its address on the client's link. */
  router: Host;
  server: Host;
  /** The address the client dials to reach the server (the server's own). */
  serverAddress: string;
  /** Runs a command inside a host's namespace and returns its stdout. */
  exec(host: Host, command: string, args: string[]): string;
  /** Spawns a command inside a host's namespace (killed at teardown). */
  spawn(host: Host, command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** The router's conntrack table (`conntrack -L -p tcp`), one line per flow. */
  conntrack(): string[];
  /** Removes the three namespaces; idempotent. */
  destroy(): void;
}

/** Whether a router can be made here (on top of netnsSupport), and if not, why. */
export function routerSupport(): { ok: boolean; reason: string } {
  if (!hasCommand('nft')) return { ok: false, reason: 'nft (nftables) is not installed' };
  if (!hasCommand('conntrack')) return { ok: false, reason: 'conntrack (conntrack-tools) is not installed' };
  return { ok: true, reason: '' };
}

/** The router's nftables rules: timeouts per port, then what happens to a forgotten flow. */
export function routerRules(options: RouterOptions, serverDev: string): string {
  const timeouts = Object.entries(options.portTimeouts ?? {});
  const objects = timeouts.map(([port, s]) => `  ct timeout p${port} { protocol tcp; l3proto ip; policy = { established: ${s} }; }`);
  const assign = timeouts.map(([port]) => `    tcp dport ${port} ct timeout set "p${port}"`);
  // A late segment of a forgotten flow is INVALID (loose tracking is off);
  // in 'nat' mode it may be addressed to the router itself (the server's
  // write to the masqueraded address), so input is filtered too.
  const late = options.mode === 'nat' ? 'ct state invalid tcp flags & rst == 0 reject with tcp reset' : 'ct state invalid drop';
  return [
    'table inet tka_mb {',
    ...objects,
    '  chain pre { type filter hook prerouting priority filter;',
    ...assign,
    '  }',
    `  chain through { type filter hook forward priority 0; policy accept; ${late}; }`,
    `  chain to_router { type filter hook input priority 0; policy accept; ${late}; }`,
    '}',
    ...(options.mode === 'nat' ? ['table ip tka_nat {', `  chain post { type nat hook postrouting priority 100; oifname "${serverDev}" masquerade; }`, '}'] : []),
  ].join('\n');
}

function configureRouter(router: Host, options: RouterOptions, serverDev: string): void {
  // The rules first: their conntrack expressions load conntrack where it is a
  // module, and with it the namespace's nf_conntrack sysctls.
  execIn(router.ns, 'nft', [routerRules(options, serverDev)]);
  execIn(router.ns, 'sysctl', [
    '-q',
    '-w',
    'net.ipv4.ip_forward=1',
    `net.netfilter.nf_conntrack_tcp_timeout_established=${options.established}`,
    'net.netfilter.nf_conntrack_tcp_loose=0',
  ]);
}

/** Makes client, router and server namespaces joined by two links; removed at the test's teardown. */
export function routedHosts(t: Pick<Test, 'teardown'>, options: RouterOptions): RoutedHosts {
  const { names, tag, processes, destroy } = testNamespaces(t, ['c', 'r', 's']);
  const client: Host = { ns: names[0]!, address: '198.18.1.2', dev: `tk${tag}c` };
  const router: Host = { ns: names[1]!, address: '198.18.1.1', dev: `tk${tag}rc` };
  const server: Host = { ns: names[2]!, address: '198.18.2.2', dev: `tk${tag}s` };
  const routerServerSide: Host = { ns: router.ns, address: '198.18.2.1', dev: `tk${tag}rs` };
  try {
    link(client, router);
    link(server, routerServerSide);
    ip(['-n', client.ns, 'route', 'add', 'default', 'via', router.address]);
    ip(['-n', server.ns, 'route', 'add', 'default', 'via', routerServerSide.address]);
    configureRouter(router, options, routerServerSide.dev);
  } catch (e) {
    destroy();
    throw e;
  }
  return {
    client,
    router,
    server,
    serverAddress: server.address,
    exec: (host, command, args) => execIn(host.ns, command, args),
    spawn: (host, command, args, spawnOptions) => processes.spawn(host.ns, command, args, spawnOptions),
    conntrack: () =>
      execIn(router.ns, 'conntrack', ['-L', '-p', 'tcp'])
        .split('\n')
        .filter((line) => line.startsWith('tcp')),
    destroy,
  };
}
