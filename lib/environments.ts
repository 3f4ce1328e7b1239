// Named environments: middleboxes (NAT gateways, load balancers, connection
// trackers) that forget an idle TCP flow, each with the idle timeout its
// provider documents and the page that says so. `tcp-keepalive plan
// --behind NAME` plans keepalive to stay below the timeout.
//
// Self-contained on purpose (no imports), like presets.ts: the command-line
// tool reads the table without loading the native addon. docs/middleboxes.md
// shows the same table; test/environments.test.ts checks the two agree.

/** The names `plan --behind` takes. */
export type EnvironmentName =
  | 'aws-nat-gateway'
  | 'aws-nlb'
  | 'azure-lb'
  | 'gcp-lb'
  | 'gcp-cloud-nat'
  | 'docker-swarm'
  | 'kubernetes-conntrack'
  | 'linux-conntrack';

/**
 * What a packet of a flow the middlebox has forgotten gets: `rst` a reset
 * (the application sees ECONNRESET), `drop` nothing (the connection hangs
 * until keepalive or userTimeout gives up), `rules` whatever the firewall
 * rules do with a packet that matches no tracked connection.
 */
export type LateResponse = 'rst' | 'drop' | 'rules';

/** One middlebox and its documented idle timeout for an established TCP flow. */
export interface Environment {
  /** The name `plan --behind` takes (kebab-case). */
  readonly name: EnvironmentName;
  /** Its name in words, as the plan prints it. */
  readonly label: string;
  /** Seconds an established TCP flow may be idle before it is forgotten (the default where it is configurable). */
  readonly idleTimeout: number;
  /** What a late packet gets by default. */
  readonly late: LateResponse;
  /** How the timeout can be changed, in words; null: it is fixed. */
  readonly configurable: string | null;
  /** The provider's page that states the timeout. */
  readonly source: string;
}

function environment(name: EnvironmentName, label: string, idleTimeout: number, late: LateResponse, configurable: string | null, source: string): Environment {
  return Object.freeze({ name, label, idleTimeout, late, configurable, source });
}

/**
 * The environments, in table order. Seconds.
 *
 * | name | idle timeout | late packet | configurable |
 * |---|---|---|---|
 * | aws-nat-gateway | 350 | rst | no |
 * | aws-nlb | 350 | rst | 60–6000 s per TCP listener |
 * | azure-lb | 240 | drop | 4–100 min per rule; RST with "TCP reset on idle" |
 * | gcp-lb | 600 | drop | no |
 * | gcp-cloud-nat | 1200 | drop | per gateway |
 * | docker-swarm | 900 | drop | no |
 * | kubernetes-conntrack | 86400 | rules | kube-proxy --conntrack-tcp-timeout-established |
 * | linux-conntrack | 432000 | rules | sysctl net.netfilter.nf_conntrack_tcp_timeout_established |
 */
export const environments: readonly Environment[] = Object.freeze([
  environment('aws-nat-gateway', 'AWS NAT gateway', 350, 'rst', null, 'https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-troubleshooting.html'),
  environment(
    'aws-nlb',
    'AWS Network Load Balancer',
    350,
    'rst',
    '60–6000 s per TCP listener (tcp.idle_timeout.seconds); TLS listeners fixed',
    'https://docs.aws.amazon.com/elasticloadbalancing/latest/network/update-idle-timeout.html',
  ),
  environment(
    'azure-lb',
    'Azure Load Balancer',
    240,
    'drop',
    '4–100 min per rule; sends RST instead with "TCP reset on idle"',
    'https://learn.microsoft.com/en-us/azure/load-balancer/load-balancer-tcp-reset',
  ),
  environment('gcp-lb', 'GCP load balancer (VPC firewall connection tracking)', 600, 'drop', null, 'https://cloud.google.com/firewall/docs/firewalls'),
  environment('gcp-cloud-nat', 'GCP Cloud NAT', 1200, 'drop', 'per gateway (--tcp-established-idle-timeout)', 'https://cloud.google.com/nat/docs/tune-nat-configuration'),
  environment('docker-swarm', 'Docker Swarm service network (IPVS)', 900, 'drop', null, 'https://github.com/moby/moby/issues/31208'),
  environment(
    'kubernetes-conntrack',
    'Kubernetes node conntrack (kube-proxy)',
    86400,
    'rules',
    'kube-proxy --conntrack-tcp-timeout-established',
    'https://kubernetes.io/docs/reference/command-line-tools-reference/kube-proxy/',
  ),
  environment(
    'linux-conntrack',
    'Linux conntrack (NAT, stateful firewall)',
    432000,
    'rules',
    'sysctl net.netfilter.nf_conntrack_tcp_timeout_established',
    'https://docs.kernel.org/networking/nf_conntrack-sysctl.html',
  ),
]);

/** The environment names, in table order. */
export const environmentNames: readonly EnvironmentName[] = Object.freeze(environments.map((e) => e.name));

/** Whether `name` is one of the environment names (case-sensitive). */
export function isEnvironmentName(name: unknown): name is EnvironmentName {
  return typeof name === 'string' && (environmentNames as readonly string[]).includes(name);
}

/** The environment of that name. */
export function environmentByName(name: EnvironmentName): Environment {
  return environments.find((e) => e.name === name)!;
}

/** What a late packet gets, in words: "answers late packets with RST". */
export function lateResponseText(late: LateResponse): string {
  if (late === 'rst') return 'answers late packets with RST';
  if (late === 'drop') return 'drops late packets silently';
  return 'late packets get what the firewall rules give them';
}
