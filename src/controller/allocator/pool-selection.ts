/**
 * Which pools may serve a service, and in which order automatic allocation tries them
 * (IPAddressPool.spec.autoAssign and spec.serviceAllocation).
 */
import { formatSelector, selectsAny } from '../../config/selectors.js';
import { describePool, joinWords } from './describe.js';
import type { AllocatorPool, AllocatorService } from './types.js';

/**
 * Why the pool's serviceAllocation keeps the service out, or undefined when it admits it. A pool without
 * serviceAllocation, or with a priority only, admits every service.
 */
export function allocationRefusal(pool: AllocatorPool, service: AllocatorService): string | undefined {
  const allocation = pool.allocation;
  if (!allocation) return undefined;
  if (!admitsNamespace(pool, service)) {
    const admitted = [
      ...[...allocation.namespaces].sort().map((namespace) => `namespace ${namespace}`),
      ...allocation.namespaceSelectors.map((selector) => `namespaces labelled ${formatSelector(selector)}`),
    ];
    return (
      `${describePool(pool.name)} admits only ${joinWords(admitted)} (spec.serviceAllocation), and namespace ` +
      `${service.namespace} is not one of them`
    );
  }
  if (allocation.serviceSelectors.length > 0 && !selectsAny(allocation.serviceSelectors, service.labels)) {
    const admitted = allocation.serviceSelectors.map((selector) => formatSelector(selector));
    return (
      `${describePool(pool.name)} admits only services labelled ${joinWords(admitted)} ` +
      '(spec.serviceAllocation.serviceSelectors), and the service does not match'
    );
  }
  return undefined;
}

/** Whether the pool's serviceAllocation lets services of the service's namespace in (by name or labels). */
export function admitsNamespace(pool: AllocatorPool, service: AllocatorService): boolean {
  const allocation = pool.allocation;
  if (!allocation) return true;
  const namespaceRestricted = allocation.namespaces.size > 0 || allocation.namespaceSelectors.length > 0;
  return (
    !namespaceRestricted ||
    allocation.namespaces.has(service.namespace) ||
    selectsAny(allocation.namespaceSelectors, service.namespaceLabels)
  );
}

/** A positive priority, or Infinity for 0, unset and negative values, which come after every positive one. */
function priorityRank(pool: AllocatorPool): number {
  const priority = pool.allocation?.priority;
  return priority !== undefined && priority > 0 ? priority : Number.POSITIVE_INFINITY;
}

function byName(a: AllocatorPool, b: AllocatorPool): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export interface AutomaticCandidates {
  /**
   * Tiers tried in turn: pools whose serviceAllocation selects the service (by priority), then pools
   * without serviceAllocation. A dual-stack service takes both families from the first pool that has them
   * within a tier before falling back to one family in that tier.
   */
  readonly tiers: readonly (readonly AllocatorPool[])[];
  /** Why each other pool was not considered, for the refusal message. */
  readonly skipped: readonly string[];
}

export function automaticCandidates(
  pools: Iterable<AllocatorPool>,
  service: AllocatorService,
): AutomaticCandidates {
  const pinned: AllocatorPool[] = [];
  const open: AllocatorPool[] = [];
  const skipped: string[] = [];
  for (const pool of pools) {
    if (!pool.autoAssign) {
      skipped.push(
        `${describePool(pool.name)} has autoAssign: false (ask for it with the metallb.io/address-pool annotation)`,
      );
      continue;
    }
    const refusal = allocationRefusal(pool, service);
    if (refusal) skipped.push(refusal);
    else if (pool.allocation) pinned.push(pool);
    else open.push(pool);
  }
  // Ties in priority have no defined order upstream; the name makes ours stable across restarts.
  pinned.sort((a, b) => priorityRank(a) - priorityRank(b) || byName(a, b));
  open.sort(byName);
  return { tiers: [pinned, open].filter((tier) => tier.length > 0), skipped };
}
