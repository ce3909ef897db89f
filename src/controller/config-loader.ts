/**
 * The allocation part of the configuration: the IPAddressPools, validated by src/config and turned into the
 * allocator's pools. Only pools go into buildConfig, so an invalid BGPPeer or advertisement never blocks IP
 * assignment. Invalid pools do not replace a good pool set: the last good one stays in force (and the
 * configuration is reported stale) until the pools are fixed.
 */
import type { IPAddressPool } from '../api/types.generated.js';
import type { Problem } from '../api/problem.js';
import { buildConfig, type Pool } from '../config/index.js';
import type { AllocatorPool } from './allocator/index.js';

export type PoolLoad =
  | { readonly ok: true; readonly pools: readonly AllocatorPool[]; readonly warnings: readonly Problem[] }
  | { readonly ok: false; readonly problems: readonly Problem[] };

/**
 * The allocator's view of a validated pool. Namespace selectors stay selectors: the allocator matches them
 * against the service's namespace labels at allocation time, so a relabelled namespace needs no reload.
 */
export function allocatorPoolOf(pool: Pool): AllocatorPool {
  const allocation = pool.serviceAllocation;
  return {
    name: pool.name,
    ranges: pool.entries.map((entry) => entry.range),
    autoAssign: pool.autoAssign,
    avoidBuggyIPs: pool.avoidBuggyIPs,
    allocation: allocation && {
      priority: allocation.priority,
      namespaces: new Set(allocation.namespaces),
      namespaceSelectors: allocation.namespaceSelectors,
      serviceSelectors: allocation.serviceSelectors,
    },
  };
}

export function loadAllocationPools(objects: readonly IPAddressPool[], metallbNamespace: string): PoolLoad {
  const built = buildConfig({ pools: objects, metallbNamespace });
  if (!built.ok) return { ok: false, problems: built.problems };
  return {
    ok: true,
    pools: [...built.config.pools.values()].map(allocatorPoolOf),
    warnings: built.warnings,
  };
}

/** A canonical text of a pool set: equal texts mean the allocator would behave the same. */
export function poolsFingerprint(pools: readonly AllocatorPool[]): string {
  const canonical = [...pools]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((pool) => ({
      ...pool,
      allocation: pool.allocation && {
        ...pool.allocation,
        namespaces: [...pool.allocation.namespaces].sort(),
      },
    }));
  return JSON.stringify(canonical, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
}

export type PoolConfigChange =
  /** The first valid pool set: the allocator can be built and state rebuilt from Service status. */
  | { readonly kind: 'loaded'; readonly pools: readonly AllocatorPool[] }
  /** A new valid pool set: every service must be re-converged against it. */
  | { readonly kind: 'changed'; readonly pools: readonly AllocatorPool[] }
  | { readonly kind: 'unchanged' }
  /** The pools are invalid; the last good set (if any) stays in force. */
  | { readonly kind: 'invalid'; readonly problems: readonly Problem[] };

/** Remembers the last good pool set and whether what the cluster holds now is worse than it. */
export class PoolConfigTracker {
  private fingerprint: string | undefined;
  private staleNow = false;

  /** Whether a valid pool set has ever been loaded. */
  get loaded(): boolean {
    return this.fingerprint !== undefined;
  }

  /** Whether the pools in the cluster are invalid, so an older (or no) pool set is in force. */
  get stale(): boolean {
    return this.staleNow;
  }

  update(load: PoolLoad): PoolConfigChange {
    if (!load.ok) {
      this.staleNow = true;
      return { kind: 'invalid', problems: load.problems };
    }
    this.staleNow = false;
    const fingerprint = poolsFingerprint(load.pools);
    const first = this.fingerprint === undefined;
    if (!first && fingerprint === this.fingerprint) return { kind: 'unchanged' };
    this.fingerprint = fingerprint;
    return { kind: first ? 'loaded' : 'changed', pools: load.pools };
  }
}
