/**
 * When two services may hold the same address (metallb.io/allow-shared-ip): both carry the same non-empty
 * key, their (protocol, port) pairs are disjoint, and, with externalTrafficPolicy Local, their pod selectors
 * are equal, since the address is announced only from nodes with local endpoints of that one backend.
 */
import { formatLabels } from '../../config/selectors.js';
import type { Address } from '../../net/ip.js';
import { formatAddress } from '../../net/ip.js';
import { describeService, serviceKey } from './describe.js';
import type { AllocatorService, Refused } from './types.js';

export interface SharingIdentity {
  /** The allow-shared-ip value; undefined when the service does not share. */
  readonly key: string | undefined;
  /** The pod selector for externalTrafficPolicy Local, '' otherwise. */
  readonly backend: string;
  /** `TCP/80` style keys of the service's ports. */
  readonly ports: readonly string[];
}

export function portKey(protocol: string | undefined, port: number): string {
  return `${protocol && protocol !== '' ? protocol.toUpperCase() : 'TCP'}/${port}`;
}

export function sharingIdentity(service: AllocatorService, key: string | undefined): SharingIdentity {
  return {
    key,
    backend: service.externalTrafficPolicy === 'Local' ? formatLabels(service.selector) : '',
    ports: [...new Set(service.ports.map((port) => portKey(port.protocol, port.port)))],
  };
}

/** Everyone currently on one address: they agree on key and backend (the allocator never lets them differ). */
export interface AddressHolders {
  readonly key: string | undefined;
  readonly backend: string;
  /** Port key → the service (namespace/name) using it on this address. */
  readonly ports: ReadonlyMap<string, string>;
  readonly services: ReadonlySet<string>;
}

/**
 * Why `service` may not join the current holders of `address`, or undefined when it may. The service's own
 * holding is ignored, so a sole holder may change its key or ports in place.
 */
export function sharingRefusal(
  address: Address,
  holders: AddressHolders,
  service: AllocatorService,
  identity: SharingIdentity,
): Refused | undefined {
  const self = serviceKey(service);
  const others = [...holders.services].filter((holder) => holder !== self).sort();
  if (others.length === 0) return undefined;
  const ip = formatAddress(address);
  const who = describeService(service);
  const them = others.map((holder) => `Service ${holder}`).join(', ');
  const refuse = (why: string, code: Refused['code'] = 'sharing-conflict'): Refused => ({
    ok: false,
    code,
    reason: `${who} cannot use ${ip}: ${why}`,
    heldBy: others,
  });
  // One side does not ask to share at all: the address is simply taken.
  if (holders.key === undefined) {
    return refuse(
      `it is held by ${them}, which does not allow sharing; set the same metallb.io/allow-shared-ip value on both services, or pick another address`,
      'address-in-use',
    );
  }
  if (identity.key === undefined) {
    return refuse(
      `it is held by ${them}; to share it, set metallb.io/allow-shared-ip: "${holders.key}" on ${who} as well`,
      'address-in-use',
    );
  }
  if (identity.key !== holders.key) {
    return refuse(
      `it is held by ${them} with metallb.io/allow-shared-ip "${holders.key}", but this service uses "${identity.key}"; ` +
        'services share an address only with equal keys',
    );
  }
  if (identity.backend !== holders.backend) {
    return refuse(
      `it is held by ${them}, and services with externalTrafficPolicy Local share an address only with the same ` +
        `pod selector and policy (theirs: "${holders.backend || 'policy Cluster'}", this one: "${identity.backend || 'policy Cluster'}")`,
    );
  }
  for (const port of identity.ports) {
    const user = holders.ports.get(port);
    if (user !== undefined && user !== self) {
      return refuse(
        `port ${port} is already used on ${ip} by Service ${user}; give the services different ports, or ` +
          'remove metallb.io/allow-shared-ip so this one gets its own address',
      );
    }
  }
  return undefined;
}
