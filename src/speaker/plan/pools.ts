/** Which pool an announced address belongs to: both the BGP and the layer-2 plan ask. */
import type { Config, Pool } from '../../config/index.js';
import { rangeContains, type Address } from '../../net/ip.js';

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
