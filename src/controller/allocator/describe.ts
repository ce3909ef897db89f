/** How services, pools and addresses are named in reasons, so every message reads the same way. */
import type { Address } from '../../net/ip.js';
import { formatAddress } from '../../net/ip.js';
import type { AllocatorService } from './types.js';

/** The key the allocator files a service under: `namespace/name`. */
export function serviceKey(service: Pick<AllocatorService, 'namespace' | 'name'>): string {
  return `${service.namespace}/${service.name}`;
}

export function describeService(service: Pick<AllocatorService, 'namespace' | 'name'>): string {
  return `Service ${serviceKey(service)}`;
}

export function describePool(name: string): string {
  return `IPAddressPool "${name}"`;
}

export function formatAddresses(addresses: readonly Address[]): string {
  return addresses.map(formatAddress).join(', ');
}

/** `a`, `a and b`, `a, b and c`. */
export function joinWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1] as string}`;
}
