/** Which pool an announced address belongs to: both the BGP and the layer-2 plan ask. */
import type { Config, Pool } from '../../config/index.js';
import { formatAddress, parseAddress, rangeContains, type Address } from '../../net/ip.js';

export interface PoolIndex {
  poolFor(address: Address, recorded: string | undefined): Pool | undefined;
}

export function indexPools(config: Config): PoolIndex {
  const contains = (pool: Pool, address: Address): boolean =>
    pool.entries.some((entry) => rangeContains(entry.range, address));
  const pools = [...config.pools.values()];
  return {
    poolFor(address, recorded) {
      // Pools never overlap, so the recorded pool is only a shortcut: the address decides.
      const named = recorded === undefined ? undefined : config.pools.get(recorded);
      if (named && contains(named, address)) return named;
      return pools.find((pool) => contains(pool, address));
    },
  };
}

/** Why a Service's addresses are not announced at all, before any advertisement is looked at. */
export interface Withheld {
  readonly kind: 'withheld';
  readonly code: 'noIPAllocated' | 'ipNotAllowed';
  readonly reason: string;
}

export interface AddressInPool {
  readonly address: Address;
  readonly pool: Pool;
}

/**
 * Each of the Service's ingress addresses with its pool, in ingress order; or why none is announced: no
 * address yet, a text that is not an address, or an address outside every pool (both plans withhold then).
 */
export function addressesInPools(
  ingressIPs: readonly string[],
  recordedPool: string | undefined,
  pools: PoolIndex,
): readonly AddressInPool[] | Withheld {
  if (ingressIPs.length === 0) {
    return {
      kind: 'withheld',
      code: 'noIPAllocated',
      reason: 'status.loadBalancer.ingress has no IP yet; the controller assigns one',
    };
  }
  const found: AddressInPool[] = [];
  for (const text of ingressIPs) {
    const address = parseAddress(text);
    if (!address) {
      return {
        kind: 'withheld',
        code: 'ipNotAllowed',
        reason: `status.loadBalancer.ingress holds ${JSON.stringify(text)}, which is not an IP address`,
      };
    }
    const pool = pools.poolFor(address, recordedPool);
    if (!pool) {
      return {
        kind: 'withheld',
        code: 'ipNotAllowed',
        reason: `${formatAddress(address)} is in no IPAddressPool, so it is not announced`,
      };
    }
    found.push({ address, pool });
  }
  return found;
}
