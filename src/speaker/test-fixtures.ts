/** Builders for the speaker tests: objects as users write them, in documentation ranges and private ASNs. */
import type { V1EndpointSlice, V1Node, V1Secret, V1Service } from '@kubernetes/client-node';
import type {
  BFDProfile,
  BFDProfileSpec,
  BGPAdvertisement,
  BGPAdvertisementSpec,
  BGPPeer,
  BGPPeerSpec,
  Community,
  CommunitySpec,
  IPAddressPool,
  IPAddressPoolSpec,
  L2Advertisement,
  L2AdvertisementSpec,
} from '../api/types.generated.js';
import { formatProblem } from '../api/problem.js';
import { buildConfig, type Config, type ConfigInput } from '../config/index.js';
import type { PlanNode } from './plan/types.js';

export const ns = 'metallb-system';

function metadata(name: string, labels?: Record<string, string>) {
  return { name, namespace: ns, ...(labels ? { labels } : {}) };
}

export function pool(name: string, spec: IPAddressPoolSpec, labels?: Record<string, string>): IPAddressPool {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: metadata(name, labels), spec };
}

export function peer(name: string, spec: Partial<BGPPeerSpec>): BGPPeer {
  return {
    apiVersion: 'metallb.io/v1beta2',
    kind: 'BGPPeer',
    metadata: metadata(name),
    spec: { myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.254', ...spec },
  };
}

export function bgpAd(name: string, spec: BGPAdvertisementSpec = {}): BGPAdvertisement {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'BGPAdvertisement', metadata: metadata(name), spec };
}

export function l2Ad(name: string, spec: L2AdvertisementSpec = {}): L2Advertisement {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: metadata(name), spec };
}

export function bfd(name: string, spec: BFDProfileSpec): BFDProfile {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'BFDProfile', metadata: metadata(name), spec };
}

export function community(name: string, spec: CommunitySpec): Community {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'Community', metadata: metadata(name), spec };
}

export function basicAuthSecret(name: string, password: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: metadata(name),
    type: 'kubernetes.io/basic-auth',
    stringData: { password },
  };
}

export function configOf(input: Omit<ConfigInput, 'metallbNamespace'>): Config {
  const result = buildConfig({ ...input, metallbNamespace: ns });
  if (!result.ok)
    throw new Error(`test configuration is invalid:\n${result.problems.map(formatProblem).join('\n')}`);
  return result.config;
}

export function planNode(
  name: string,
  labels: Record<string, string> = {},
  networkUnavailable = false,
): PlanNode {
  return { name, labels, networkUnavailable };
}

export function nodeObject(name: string, labels: Record<string, string> = {}): V1Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } };
}

export interface ServiceOptions {
  readonly namespace?: string;
  readonly ips: readonly string[];
  readonly pool?: string;
  readonly local?: boolean;
  readonly labels?: Record<string, string>;
}

export function service(name: string, options: ServiceOptions): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: options.namespace ?? 'default',
      ...(options.labels ? { labels: options.labels } : {}),
      ...(options.pool ? { annotations: { 'metallb.io/ip-allocated-from-pool': options.pool } } : {}),
    },
    spec: {
      type: 'LoadBalancer',
      externalTrafficPolicy: options.local ? 'Local' : 'Cluster',
      ports: [{ port: 80, protocol: 'TCP' }],
    },
    status: { loadBalancer: { ingress: options.ips.map((ip) => ({ ip })) } },
  };
}

export interface EndpointOptions {
  readonly namespace?: string;
  /** Node names of ready endpoints. */
  readonly ready?: readonly string[];
  readonly notReady?: readonly string[];
}

/** One slice of the service's endpoints, one address per endpoint. */
export function endpointSlice(serviceName: string, options: EndpointOptions): V1EndpointSlice {
  let host = 0;
  const endpoint = (nodeName: string, ready: boolean) => {
    host += 1;
    return { addresses: [`203.0.113.${200 + host}`], nodeName, conditions: { ready, serving: ready } };
  };
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${serviceName}-abcde`,
      namespace: options.namespace ?? 'default',
      labels: { 'kubernetes.io/service-name': serviceName },
    },
    addressType: 'IPv4',
    endpoints: [
      ...(options.ready ?? []).map((node) => endpoint(node, true)),
      ...(options.notReady ?? []).map((node) => endpoint(node, false)),
    ],
  };
}
