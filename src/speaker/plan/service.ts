/**
 * The parts of Services and EndpointSlices an announcement depends on: the addresses the controller
 * assigned, the pool they came from, the traffic policy, and where ready endpoints run.
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { Labels } from '../../config/selectors.js';
import type { ServiceRef } from './types.js';

/** Written by our controller next to status.loadBalancer; the legacy prefix is still read. */
export const POOL_ANNOTATIONS = [
  'metallb.io/ip-allocated-from-pool',
  'metallb.universe.tf/ip-allocated-from-pool',
] as const;

/** The label the EndpointSlice controller puts on every slice of a Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface LoadBalancerService {
  readonly ref: ServiceRef;
  readonly labels: Labels;
  /** The ingress IPs as written in status.loadBalancer.ingress. */
  readonly ingressIPs: readonly string[];
  /** The pool our controller recorded, if any. */
  readonly poolName?: string;
  readonly localTrafficPolicy: boolean;
}

export function serviceKey(ref: ServiceRef): string {
  return `${ref.namespace}/${ref.name}`;
}

export function compareServiceRefs(a: ServiceRef, b: ServiceRef): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return 0;
}

/** The service as the planner sees it, or undefined when it is not a LoadBalancer Service. */
export function readLoadBalancerService(service: V1Service): LoadBalancerService | undefined {
  if (service.spec?.type !== 'LoadBalancer') return undefined;
  const metadata = service.metadata ?? {};
  const annotations = metadata.annotations ?? {};
  const poolName = POOL_ANNOTATIONS.map((key) => annotations[key]?.trim()).find((value) => value);
  const ingress = service.status?.loadBalancer?.ingress;
  // Objects may come from YAML files (the CLI), so shapes are checked, not assumed.
  const ingressIPs = (Array.isArray(ingress) ? ingress : [])
    .map((entry) => entry?.ip)
    .filter((ip): ip is string => typeof ip === 'string' && ip !== '');
  return {
    ref: { namespace: metadata.namespace ?? '', name: metadata.name ?? '' },
    labels: metadata.labels ?? {},
    ingressIPs,
    ...(poolName ? { poolName } : {}),
    localTrafficPolicy: service.spec.externalTrafficPolicy === 'Local',
  };
}

/** Where a service's endpoints that can take traffic run. */
export interface ServingEndpoints {
  /** At least one endpoint anywhere can serve. */
  readonly any: boolean;
  readonly nodes: ReadonlySet<string>;
}

const noEndpoints: ServingEndpoints = { any: false, nodes: new Set() };

/**
 * Indexes slices by service key. An endpoint serves when it has addresses and is ready, or is still
 * serving while it terminates; a missing ready condition means ready, as the API documents.
 */
export function indexServingEndpoints(
  slices: readonly V1EndpointSlice[],
): (ref: ServiceRef) => ServingEndpoints {
  const byService = new Map<string, { any: boolean; nodes: Set<string> }>();
  for (const slice of slices) {
    const serviceName = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!serviceName) continue;
    const key = serviceKey({ namespace: slice.metadata?.namespace ?? '', name: serviceName });
    let entry = byService.get(key);
    if (!entry) {
      entry = { any: false, nodes: new Set() };
      byService.set(key, entry);
    }
    for (const endpoint of Array.isArray(slice.endpoints) ? slice.endpoints : []) {
      const conditions = endpoint?.conditions ?? {};
      const canServe = conditions.ready !== false || conditions.serving === true;
      if (!canServe || !Array.isArray(endpoint.addresses) || endpoint.addresses.length === 0) continue;
      entry.any = true;
      if (endpoint.nodeName) entry.nodes.add(endpoint.nodeName);
    }
  }
  return (ref) => byService.get(serviceKey(ref)) ?? noEndpoints;
}
