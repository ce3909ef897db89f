/** Service objects as the informer cache holds them, for the controller shell's tests. */
import type { V1Service } from '@kubernetes/client-node';

export interface ServiceOptions {
  readonly namespace?: string;
  readonly type?: string;
  readonly loadBalancerClass?: string;
  readonly ingress?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly resourceVersion?: string;
  readonly uid?: string;
  readonly created?: string;
  readonly ports?: readonly number[];
  readonly dualStack?: boolean;
}

export function kubeService(name: string, options: ServiceOptions = {}): V1Service {
  const namespace = options.namespace ?? 'default';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      uid: options.uid ?? `uid-${namespace}-${name}`,
      resourceVersion: options.resourceVersion ?? '1',
      creationTimestamp: (options.created ?? '2026-01-01T00:00:00Z') as unknown as Date,
      ...(options.annotations ? { annotations: { ...options.annotations } } : {}),
      ...(options.labels ? { labels: { ...options.labels } } : {}),
    },
    spec: {
      type: options.type ?? 'LoadBalancer',
      ...(options.loadBalancerClass ? { loadBalancerClass: options.loadBalancerClass } : {}),
      clusterIP: '10.96.0.10',
      clusterIPs: options.dualStack ? ['10.96.0.10', 'fd00::10'] : ['10.96.0.10'],
      ipFamilies: options.dualStack ? ['IPv4', 'IPv6'] : ['IPv4'],
      ipFamilyPolicy: options.dualStack ? 'PreferDualStack' : 'SingleStack',
      selector: { app: name },
      ports: (options.ports ?? [80]).map((port) => ({ port, protocol: 'TCP' })),
    },
    status: {
      loadBalancer: options.ingress ? { ingress: options.ingress.map((ip) => ({ ip })) } : {},
    },
  };
}
