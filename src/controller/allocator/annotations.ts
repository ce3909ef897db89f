/**
 * What a service asks of the allocator through its annotations and spec.loadBalancerIP. Both annotation
 * prefixes are read; metallb.io/ wins when both are set.
 */
import type { Address } from '../../net/ip.js';
import { formatAddress, parseAddress } from '../../net/ip.js';
import { describeService } from './describe.js';
import type { AllocatorService, Refused } from './types.js';

export const ANNOTATION_PREFIX = 'metallb.io/';
export const LEGACY_ANNOTATION_PREFIX = 'metallb.universe.tf/';

export const LOAD_BALANCER_IPS_ANNOTATION = 'metallb.io/loadBalancerIPs';
export const ADDRESS_POOL_ANNOTATION = 'metallb.io/address-pool';
export const ALLOW_SHARED_IP_ANNOTATION = 'metallb.io/allow-shared-ip';
/** Written by the controller next to status.loadBalancer: the pool the addresses came from. */
export const IP_ALLOCATED_FROM_POOL_ANNOTATION = 'metallb.io/ip-allocated-from-pool';

export interface AnnotationValue {
  /** The key actually found, so messages quote what the user wrote. */
  readonly key: string;
  readonly value: string;
}

/** Reads `metallb.io/<name>`, falling back to `metallb.universe.tf/<name>`; empty values count as unset. */
export function readMetalLBAnnotation(service: AllocatorService, name: string): AnnotationValue | undefined {
  for (const key of [ANNOTATION_PREFIX + name, LEGACY_ANNOTATION_PREFIX + name]) {
    const value = service.annotations[key];
    if (value !== undefined && value.trim() !== '') return { key, value: value.trim() };
  }
  return undefined;
}

/** The deprecated metallb.universe.tf/ annotations on the service, for a warning event. */
export function legacyAnnotationsOf(service: AllocatorService): string[] {
  return Object.keys(service.annotations)
    .filter((key) => key.startsWith(LEGACY_ANNOTATION_PREFIX))
    .sort();
}

export interface RequestedAddresses {
  readonly addresses: readonly Address[];
  /** Where the request came from, as the user would look for it: an annotation key or spec.loadBalancerIP. */
  readonly source: string;
}

export interface ServiceIntent {
  readonly requested?: RequestedAddresses | undefined;
  readonly pool?: AnnotationValue | undefined;
  /** The allow-shared-ip value; undefined when the service does not share. */
  readonly sharingKey?: string | undefined;
}

function invalid(reason: string): Refused {
  return { ok: false, code: 'invalid-request', reason };
}

function readRequested(service: AllocatorService): RequestedAddresses | Refused | undefined {
  const annotation = readMetalLBAnnotation(service, 'loadBalancerIPs');
  const specIP = service.loadBalancerIP?.trim() ? service.loadBalancerIP.trim() : undefined;
  const who = describeService(service);
  if (annotation && specIP) {
    return invalid(
      `${who} sets both the ${annotation.key} annotation and spec.loadBalancerIP; keep only the annotation ` +
        '(spec.loadBalancerIP is deprecated by Kubernetes)',
    );
  }
  if (!annotation && !specIP) return undefined;
  const source = annotation ? annotation.key : 'spec.loadBalancerIP';
  const texts = annotation ? annotation.value.split(',').map((part) => part.trim()) : [specIP as string];
  const addresses: Address[] = [];
  for (const text of texts) {
    const address = parseAddress(text);
    if (!address) {
      return invalid(
        `${who}: ${source} "${annotation ? annotation.value : specIP}" holds "${text}", which is not an IP ` +
          'address; write one address, or one IPv4 and one IPv6 address separated by a comma',
      );
    }
    addresses.push(address);
  }
  if (addresses.length > 2) {
    return invalid(
      `${who}: ${source} lists ${addresses.length} addresses; a service takes at most one IPv4 and one IPv6 address`,
    );
  }
  const [first, second] = addresses;
  if (first && second && first.family === second.family) {
    return invalid(
      `${who}: ${source} lists two IPv${first.family} addresses (${formatAddress(first)}, ` +
        `${formatAddress(second)}); a dual-stack service takes one IPv4 and one IPv6 address`,
    );
  }
  return { addresses, source };
}

/** Reads the requested addresses, pool and sharing key, or says what is malformed. */
export function readServiceIntent(service: AllocatorService): { ok: true; intent: ServiceIntent } | Refused {
  const requested = readRequested(service);
  if (requested && 'ok' in requested) return requested;
  return {
    ok: true,
    intent: {
      requested,
      pool: readMetalLBAnnotation(service, 'address-pool'),
      sharingKey: readMetalLBAnnotation(service, 'allow-shared-ip')?.value,
    },
  };
}
