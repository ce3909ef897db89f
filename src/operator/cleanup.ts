/**
 * The `metallb.io/cleanup` finalizer. Garbage collection follows ownerReferences, but cluster-scoped objects
 * cannot have a namespaced owner, so without a finalizer they would outlive the MetalLB resource (upstream's
 * operator leaves them behind). With it, deleting the resource makes the operator delete every object it
 * rendered, wait until they are gone, and only then let the resource go.
 */
import type { MetalLB } from '../api/types.generated.js';
import { apiStatus, type RawClient } from '../runtime/raw-client.js';
import { objectPath, resourceTypeOf } from '../runtime/resources.js';
import { metallbKind } from './caches.js';

export const cleanupFinalizer = 'metallb.io/cleanup';

export function hasFinalizer(cr: MetalLB): boolean {
  return (cr.metadata.finalizers ?? []).includes(cleanupFinalizer);
}

/** The finalizer list with ours added (at the end) or removed, other finalizers kept in place. */
export function finalizersWith(current: readonly string[] | undefined, present: boolean): string[] {
  const others = (current ?? []).filter((name) => name !== cleanupFinalizer);
  return present ? [...others, cleanupFinalizer] : others;
}

export class Finalizer {
  constructor(private readonly client: Pick<RawClient, 'patch' | 'get'>) {}

  /** Adds the finalizer unless present; returns the resource as stored. */
  async ensure(cr: MetalLB, signal: AbortSignal): Promise<MetalLB> {
    if (hasFinalizer(cr)) return cr;
    try {
      return await this.set(cr, true, signal);
    } catch (error) {
      if (apiStatus(error) !== 409) throw error;
      // The cached copy is behind (right after a watch outage, typically): decide on the stored one.
      const stored = await this.client.get<MetalLB>(this.pathOf(cr), { signal });
      return hasFinalizer(stored) ? stored : this.set(stored, true, signal);
    }
  }

  /** Removes the finalizer, letting the API server finish deleting the resource. */
  async release(cr: MetalLB, signal: AbortSignal): Promise<void> {
    if (!hasFinalizer(cr)) return;
    await this.set(cr, false, signal);
  }

  private pathOf(cr: MetalLB): string {
    return objectPath(
      resourceTypeOf(metallbKind.apiVersion, metallbKind.kind),
      cr.metadata.namespace,
      cr.metadata.name ?? '',
    );
  }

  private set(cr: MetalLB, present: boolean, signal: AbortSignal): Promise<MetalLB> {
    const path = this.pathOf(cr);
    // A merge patch replaces the whole list, so it carries the resourceVersion it was computed from: a
    // finalizer someone else added meanwhile makes it fail with 409 and the reconcile retries.
    const patch = {
      metadata: {
        finalizers: finalizersWith(cr.metadata.finalizers, present),
        resourceVersion: cr.metadata.resourceVersion,
      },
    };
    return this.client.patch<MetalLB>(path, patch, 'application/merge-patch+json', { signal });
  }
}
