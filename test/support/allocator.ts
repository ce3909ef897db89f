/** Builders for the allocator's own inputs (AllocatorPool, AllocatorService); documentation address ranges only. */
import type { LabelSelectorLike } from '../../src/config/selectors.js';
import { parsePoolEntry } from '../../src/net/ip.js';
import type {
  AllocationResult,
  AllocatorPool,
  AllocatorService,
  Assigned,
  Refused,
} from '../../src/controller/allocator/types.js';

export function allocatorPool(
  name: string,
  addresses: readonly string[],
  options: Partial<Omit<AllocatorPool, 'name' | 'ranges'>> = {},
): AllocatorPool {
  return {
    name,
    ranges: addresses.map((entry) => {
      const parsed = parsePoolEntry(entry);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.range;
    }),
    autoAssign: options.autoAssign ?? true,
    avoidBuggyIPs: options.avoidBuggyIPs ?? false,
    allocation: options.allocation,
  };
}

export function allocation(
  options: {
    priority?: number;
    namespaces?: string[];
    namespaceSelectors?: LabelSelectorLike[];
    serviceSelectors?: LabelSelectorLike[];
  } = {},
): NonNullable<AllocatorPool['allocation']> {
  return {
    priority: options.priority,
    namespaces: new Set(options.namespaces ?? []),
    namespaceSelectors: options.namespaceSelectors ?? [],
    serviceSelectors: options.serviceSelectors ?? [],
  };
}

/** A single-stack IPv4 LoadBalancer service in namespace "default" serving TCP/80, unless overridden. */
export function allocatorService(name: string, overrides: Partial<AllocatorService> = {}): AllocatorService {
  return {
    namespace: 'default',
    name,
    labels: {},
    namespaceLabels: {},
    annotations: {},
    type: 'LoadBalancer',
    ipFamilies: [4],
    ipFamilyPolicy: 'SingleStack',
    ports: [{ protocol: 'TCP', port: 80 }],
    externalTrafficPolicy: 'Cluster',
    selector: { app: name },
    ...overrides,
  };
}

export const dualStack = { ipFamilies: [4, 6], ipFamilyPolicy: 'RequireDualStack' } as const;
export const preferDualStack = { ipFamilies: [4, 6], ipFamilyPolicy: 'PreferDualStack' } as const;

export function shared(key: string, ...ports: number[]): Partial<AllocatorService> {
  return {
    annotations: { 'metallb.io/allow-shared-ip': key },
    ports: ports.map((port) => ({ protocol: 'TCP', port })),
  };
}

export function requesting(ips: string): Partial<AllocatorService> {
  return { annotations: { 'metallb.io/loadBalancerIPs': ips } };
}

export function expectAssigned(result: AllocationResult | undefined): Assigned {
  if (!result) throw new Error('expected an assignment, got nothing');
  if (!result.ok) throw new Error(`expected an assignment, got refusal (${result.code}): ${result.reason}`);
  return result;
}

export function expectRefused(result: AllocationResult | undefined): Refused {
  if (!result) throw new Error('expected a refusal, got nothing');
  if (result.ok) throw new Error(`expected a refusal, got ${result.ips.join(', ')} from ${result.pool}`);
  return result;
}
