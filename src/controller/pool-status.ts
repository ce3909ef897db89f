/**
 * IPAddressPool.status (assigned and available addresses per family), from the allocator's counters.
 * Written through the status subresource only when it differs from what the pool shows, so the steady
 * state costs no writes; and since status writes do not bump metadata.generation, they never come back as
 * reconciles.
 */
import type { IPAddressPool, IPAddressPoolStatus } from '../api/types.generated.js';
import { TerminalError, type ReconcileContext, type ReconcileResult } from '../runtime/controller.js';
import type { ObjectCache } from '../runtime/informer.js';
import { splitKey } from '../runtime/kube-object.js';
import { apiStatus, withQuery, type RawClient } from '../runtime/raw-client.js';
import { apiResourceType, objectPath } from '../runtime/resources.js';
import { poolStatusOf, type PoolStats } from './allocator/index.js';

const poolType = apiResourceType('IPAddressPool');
const statusFields = ['assignedIPv4', 'assignedIPv6', 'availableIPv4', 'availableIPv6'] as const;

/** The status to write, or undefined when the pool already shows it. */
export function poolStatusUpdate(
  current: IPAddressPoolStatus | undefined,
  stats: PoolStats,
): Required<IPAddressPoolStatus> | undefined {
  const desired = poolStatusOf(stats);
  const same = statusFields.every((field) => current?.[field] === desired[field]);
  return same ? undefined : desired;
}

export interface PoolStatusReconcilerOptions {
  readonly pools: ObjectCache<IPAddressPool>;
  readonly client: Pick<RawClient, 'patch'>;
  /** The pool's counters; undefined for a pool the allocator does not use (invalid, or not loaded yet). */
  readonly statsOf: (pool: string) => PoolStats | undefined;
  readonly fieldManager: string;
}

export class PoolStatusReconciler {
  constructor(private readonly options: PoolStatusReconcilerOptions) {}

  async reconcile(key: string, context: ReconcileContext): Promise<ReconcileResult> {
    const pool = this.options.pools.get(key);
    if (!pool) return;
    const stats = this.options.statsOf(pool.metadata.name ?? '');
    if (!stats) return;
    const status = poolStatusUpdate(pool.status, stats);
    if (!status) return;
    const { namespace, name } = splitKey(key);
    const path = withQuery(`${objectPath(poolType, namespace, name)}/status`, {
      fieldManager: this.options.fieldManager,
    });
    try {
      await this.options.client.patch(path, { status }, 'application/merge-patch+json', {
        signal: context.signal,
      });
    } catch (error) {
      // Deleted since the cache saw it: its delete event ends the matter.
      if (apiStatus(error) === 404) return;
      if (apiStatus(error) === 422) throw new TerminalError(`cannot write ${key} status`, { cause: error });
      throw error;
    }
    context.log.debug({ status }, 'pool status written');
  }
}
