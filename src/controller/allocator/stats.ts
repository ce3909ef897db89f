/** Pool statistics in the shapes their consumers take: IPAddressPool.status and Prometheus gauges. */
import type { IPAddressPoolStatus } from '../../api/types.generated.js';
import { saturateToInt64, saturateToSafeInteger } from '../../net/ip-math.js';
import type { PoolStats } from './types.js';

/**
 * IPAddressPool.status. Counts beyond Number.MAX_SAFE_INTEGER (a /64 has 2^64 addresses) saturate there:
 * a JSON number above it is not exact, and rounding int64's maximum up would overflow the field.
 */
export function poolStatusOf(stats: PoolStats): Required<IPAddressPoolStatus> {
  return {
    assignedIPv4: stats.inUse.ipv4,
    assignedIPv6: stats.inUse.ipv6,
    availableIPv4: saturateToSafeInteger(stats.available.ipv4),
    availableIPv6: saturateToSafeInteger(stats.available.ipv6),
  };
}

/** Values of the metallb_allocator_* gauges for one pool (label pool=stats.pool). */
export interface PoolGauges {
  /** metallb_allocator_addresses_total */
  readonly addressesTotal: number;
  readonly ipv4AddressesTotal: number;
  readonly ipv6AddressesTotal: number;
  /** metallb_allocator_addresses_in_use_total */
  readonly addressesInUseTotal: number;
  readonly ipv4AddressesInUseTotal: number;
  readonly ipv6AddressesInUseTotal: number;
}

/** Gauges are float64: totals saturate at int64's maximum as upstream's do, then become the nearest double. */
export function poolGaugesOf(stats: PoolStats): PoolGauges {
  const total = (value: bigint): number => Number(saturateToInt64(value));
  return {
    addressesTotal: total(stats.capacity.ipv4 + stats.capacity.ipv6),
    ipv4AddressesTotal: total(stats.capacity.ipv4),
    ipv6AddressesTotal: total(stats.capacity.ipv6),
    addressesInUseTotal: stats.inUse.ipv4 + stats.inUse.ipv6,
    ipv4AddressesInUseTotal: stats.inUse.ipv4,
    ipv6AddressesInUseTotal: stats.inUse.ipv6,
  };
}
