/** Builders for the Kubernetes objects the components read: Nodes, Namespaces, Secrets, Services, EndpointSlices. */
import type {
  V1Condition,
  V1EndpointSlice,
  V1Namespace,
  V1Node,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import { metadata, type Meta } from './metallb-objects.js';

export function node(name: string, labels: Record<string, string> = {}): V1Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } };
}

export function namespace(name: string, labels: Record<string, string> = {}): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

/** A Secret in metallb-system (or meta.namespace). */
export function secret(name: string, fields: Partial<V1Secret>, meta?: Meta): V1Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: metadata(name, meta), ...fields };
}

/** A BGP password Secret as MetalLB expects it. */
export function basicAuthSecret(name: string, password: string): V1Secret {
  return secret(name, { type: 'kubernetes.io/basic-auth', stringData: { password } });
}

export interface ServiceOptions {
  readonly namespace?: string;
  readonly type?: string;
  readonly loadBalancerClass?: string;
  /** status.loadBalancer.ingress IPs. */
  readonly ingress?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly resourceVersion?: string;
  readonly uid?: string;
  readonly created?: string;
  readonly ports?: readonly number[];
  readonly dualStack?: boolean;
  /** The pool the controller allocated from (the metallb.io/ip-allocated-from-pool annotation). */
  readonly pool?: string;
  /** externalTrafficPolicy: Local. */
  readonly local?: boolean;
  /** metadata.generation (unset by default, as in objects that predate it). */
  readonly generation?: number;
  /** status.conditions, as the API server returns them (times as strings). */
  readonly conditions?: readonly V1Condition[];
}

/** A LoadBalancer Service as the informer cache holds it. */
export function service(name: string, options: ServiceOptions = {}): V1Service {
  const namespace = options.namespace ?? 'default';
  const annotations = {
    ...options.annotations,
    ...(options.pool ? { 'metallb.io/ip-allocated-from-pool': options.pool } : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      uid: options.uid ?? `uid-${namespace}-${name}`,
      resourceVersion: options.resourceVersion ?? '1',
      ...(options.generation !== undefined ? { generation: options.generation } : {}),
      creationTimestamp: (options.created ?? '2026-01-01T00:00:00Z') as unknown as Date,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      ...(options.labels ? { labels: { ...options.labels } } : {}),
    },
    spec: {
      type: options.type ?? 'LoadBalancer',
      ...(options.loadBalancerClass ? { loadBalancerClass: options.loadBalancerClass } : {}),
      externalTrafficPolicy: options.local ? 'Local' : 'Cluster',
      clusterIP: '10.96.0.10',
      clusterIPs: options.dualStack ? ['10.96.0.10', 'fd00::10'] : ['10.96.0.10'],
      ipFamilies: options.dualStack ? ['IPv4', 'IPv6'] : ['IPv4'],
      ipFamilyPolicy: options.dualStack ? 'PreferDualStack' : 'SingleStack',
      selector: { app: name },
      ports: (options.ports ?? [80]).map((port) => ({ port, protocol: 'TCP' })),
    },
    status: {
      loadBalancer: options.ingress ? { ingress: options.ingress.map((ip) => ({ ip })) } : {},
      ...(options.conditions
        ? { conditions: options.conditions.map((condition) => ({ ...condition })) }
        : {}),
    },
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
