/**
 * The allocator's own inputs and outputs. Deliberately small and independent of the typed Config and of the
 * Kubernetes object shapes (it shares only the label selector engine): the controller shell converts into
 * these (see from-kubernetes.ts).
 */
import type { LabelSelectorLike, Labels } from '../../config/selectors.js';
import type { Address, AddressRange, Family } from '../../net/ip.js';

/** Which services may use a pool, and in what order pools are tried (IPAddressPool.spec.serviceAllocation). */
export interface ServiceAllocation {
  /** Lower positive numbers are tried first; 0, unset or negative are tried after every positive priority. */
  readonly priority?: number | undefined;
  readonly namespaces: ReadonlySet<string>;
  /** Matched against the labels of the service's namespace. */
  readonly namespaceSelectors: readonly LabelSelectorLike[];
  readonly serviceSelectors: readonly LabelSelectorLike[];
}

export interface AllocatorPool {
  readonly name: string;
  /** In declared order; the allocator walks them in this order, lowest address first within each. */
  readonly ranges: readonly AddressRange[];
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  readonly allocation?: ServiceAllocation | undefined;
}

export type IpFamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

export interface ServicePort {
  /** TCP, UDP or SCTP. */
  readonly protocol: string;
  readonly port: number;
}

export interface AllocatorService {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly namespaceLabels: Labels;
  readonly annotations: Labels;
  /** spec.type; only LoadBalancer services hold addresses. */
  readonly type: string;
  readonly loadBalancerClass?: string | undefined;
  /** spec.loadBalancerIP (deprecated by Kubernetes, still honoured). */
  readonly loadBalancerIP?: string | undefined;
  /** spec.ipFamilies, the families of the cluster IPs, primary first. */
  readonly ipFamilies: readonly Family[];
  readonly ipFamilyPolicy: IpFamilyPolicy;
  readonly ports: readonly ServicePort[];
  readonly externalTrafficPolicy: 'Cluster' | 'Local';
  /** spec.selector: services with externalTrafficPolicy Local share an address only with equal selectors. */
  readonly selector: Labels;
  /** metadata.creationTimestamp in ms; on a rebuild the older of two services claiming one address keeps it. */
  readonly createdAt?: number | undefined;
}

/** Why the allocator refused, for tests, event reasons and metrics; the reason sentence is for people. */
export type RefusalCode =
  | 'invalid-request'
  | 'no-ip-family'
  | 'family-mismatch'
  | 'not-in-any-pool'
  | 'split-across-pools'
  | 'avoided-address'
  | 'pool-not-allowed'
  | 'unknown-pool'
  | 'pool-mismatch'
  | 'request-mismatch'
  /** A requested address is held by a service, and the two do not both ask to share it. */
  | 'address-in-use'
  /** Both ask to share the address, but keys, ports or backends do not allow it. */
  | 'sharing-conflict'
  /** No IPAddressPool exists at all. */
  | 'no-pool'
  /** No pool admits the service's namespace (spec.serviceAllocation). */
  | 'no-pool-for-namespace'
  /** Pools admit the namespace, but none may serve the service automatically (autoAssign, selectors). */
  | 'no-eligible-pool'
  /** The pools the service may use have no addresses of its family. */
  | 'no-pool-of-family'
  | 'no-dual-stack-pool'
  | 'exhausted';

export interface Assigned {
  readonly ok: true;
  /** Formatted addresses, in the order of the service's ipFamilies: what goes into status.loadBalancer. */
  readonly ips: readonly string[];
  readonly addresses: readonly Address[];
  readonly pool: string;
}

export interface Refused {
  readonly ok: false;
  readonly code: RefusalCode;
  /** A sentence naming the service, the pool and what would fix it. */
  readonly reason: string;
  /** Services (namespace/name) already holding a contested address, for sharing conflicts. */
  readonly heldBy?: readonly string[] | undefined;
}

export type AllocationResult = Assigned | Refused;

export interface FamilyCounts<T> {
  readonly ipv4: T;
  readonly ipv6: T;
}

export interface PoolStats {
  readonly pool: string;
  /** Exact number of addresses the pool may hand out (buggy ones excluded when avoidBuggyIPs). */
  readonly capacity: FamilyCounts<bigint>;
  /** Addresses held by at least one service; a shared address counts once. */
  readonly inUse: FamilyCounts<number>;
  /** capacity − inUse, exact. */
  readonly available: FamilyCounts<bigint>;
}
