/**
 * Builds the allocator's inputs from Kubernetes objects. Only type imports of the client library: the
 * allocator stays pure and loads without it.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { IPAddressPool } from '../../api/types.generated.js';
import type { Problem } from '../../api/problem.js';
import type { Labels } from '../../config/selectors.js';
import type { AddressRange, Family } from '../../net/ip.js';
import { parseAddress, parsePoolEntry } from '../../net/ip.js';
import { parseFamilyName } from '../../net/ip-math.js';
import type { AllocatorPool, AllocatorService, IpFamilyPolicy, ServiceAllocation } from './types.js';

function familiesOf(service: V1Service): Family[] {
  const declared = (service.spec?.ipFamilies ?? []).map(parseFamilyName).filter((f) => f !== undefined);
  if (declared.length > 0) return declared;
  // Older objects or fixtures may lack ipFamilies; the cluster IPs say the same thing.
  const clusterIPs = service.spec?.clusterIPs ?? (service.spec?.clusterIP ? [service.spec.clusterIP] : []);
  return clusterIPs.map((ip) => parseAddress(ip)?.family).filter((f) => f !== undefined);
}

function policyOf(service: V1Service): IpFamilyPolicy {
  const policy = service.spec?.ipFamilyPolicy;
  return policy === 'PreferDualStack' || policy === 'RequireDualStack' ? policy : 'SingleStack';
}

function timeOf(value: Date | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** The allocator's view of a Service; namespaceLabels are the labels of its Namespace object. */
export function serviceFromKubernetes(service: V1Service, namespaceLabels: Labels = {}): AllocatorService {
  const spec = service.spec ?? {};
  const metadata = service.metadata ?? {};
  return {
    namespace: metadata.namespace ?? 'default',
    name: metadata.name ?? '',
    labels: metadata.labels ?? {},
    namespaceLabels,
    annotations: metadata.annotations ?? {},
    type: spec.type ?? 'ClusterIP',
    loadBalancerClass: spec.loadBalancerClass,
    loadBalancerIP: spec.loadBalancerIP,
    ipFamilies: familiesOf(service),
    ipFamilyPolicy: policyOf(service),
    ports: (spec.ports ?? []).map((port) => ({ protocol: port.protocol ?? 'TCP', port: port.port })),
    externalTrafficPolicy: spec.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
    selector: spec.selector ?? {},
    createdAt: timeOf(metadata.creationTimestamp as Date | string | undefined),
  };
}

/** The IP addresses in status.loadBalancer.ingress (hostname-only entries are not ours). */
export function ingressIPsOf(service: V1Service): string[] {
  return (service.status?.loadBalancer?.ingress ?? [])
    .map((ingress) => ingress.ip?.trim() ?? '')
    .filter((ip) => ip !== '');
}

/**
 * The allocator's view of an IPAddressPool. src/config validates pools fully (overlaps, duplicates); this
 * only parses what allocation needs and reports entries it cannot read.
 */
export function poolFromResource(
  resource: IPAddressPool,
): { ok: true; pool: AllocatorPool } | { ok: false; problems: Problem[] } {
  const object = {
    kind: 'IPAddressPool',
    namespace: resource.metadata.namespace,
    name: resource.metadata.name,
  };
  const ranges: AddressRange[] = [];
  const problems: Problem[] = [];
  resource.spec.addresses.forEach((entry, index) => {
    const parsed = parsePoolEntry(entry);
    if (parsed.ok) ranges.push(parsed.range);
    else
      problems.push({
        code: 'pool.invalidAddress',
        object,
        field: `spec.addresses[${index}]`,
        message: parsed.reason,
      });
  });
  if (problems.length > 0) return { ok: false, problems };
  const source = resource.spec.serviceAllocation;
  const allocation: ServiceAllocation | undefined = source && {
    priority: source.priority,
    namespaces: new Set(source.namespaces ?? []),
    namespaceSelectors: source.namespaceSelectors ?? [],
    serviceSelectors: source.serviceSelectors ?? [],
  };
  return {
    ok: true,
    pool: {
      name: resource.metadata.name ?? '',
      ranges,
      autoAssign: resource.spec.autoAssign ?? true,
      avoidBuggyIPs: resource.spec.avoidBuggyIPs ?? false,
      allocation,
    },
  };
}
