/**
 * How the controller reads Services from the informer cache: which updates are only the echo of its own
 * writes (so a status write never triggers another reconcile), and in which order services are converged
 * when all of them must be (start-up, pool changes).
 */
import type { V1Service } from '@kubernetes/client-node';
import { deepEqual } from '../runtime/controller.js';
import { objectKey } from '../runtime/kube-object.js';
import { IP_ALLOCATED_FROM_POOL_ANNOTATION, ingressIPsOf } from './allocator/index.js';

export function poolAnnotationOf(service: V1Service): string | undefined {
  return service.metadata?.annotations?.[IP_ALLOCATED_FROM_POOL_ANNOTATION];
}

/** The service without what the controller itself writes and what the server changes on every write. */
function withoutOwnFields(service: V1Service): unknown {
  const { status: _status, metadata, ...rest } = service;
  const {
    resourceVersion: _resourceVersion,
    managedFields: _managedFields,
    annotations,
    ...meta
  } = metadata ?? {};
  const { [IP_ALLOCATED_FROM_POOL_ANNOTATION]: _pool, ...otherAnnotations } = annotations ?? {};
  return { ...rest, metadata: { ...meta, annotations: otherAnnotations } };
}

function sameAddressSet(a: readonly string[], b: readonly string[]): boolean {
  const sorted = (list: readonly string[]): string[] => [...list].sort();
  return deepEqual(sorted(a), sorted(b));
}

/**
 * True when the update changed nothing but the status and the pool annotation, and the status now says
 * what the controller holds for the service (`held`: its addresses, empty for none): the echo of our own
 * write. Anything else, including someone editing the status away from what we hold, needs a reconcile.
 */
export function isOwnEcho(oldService: V1Service, newService: V1Service, held: readonly string[]): boolean {
  if (oldService.metadata?.uid !== newService.metadata?.uid) return false;
  if (!deepEqual(withoutOwnFields(oldService), withoutOwnFields(newService))) return false;
  return sameAddressSet(ingressIPsOf(newService), held);
}

function createdAt(service: V1Service): number {
  const created = service.metadata?.creationTimestamp as Date | string | undefined;
  const ms = created === undefined ? Number.NaN : new Date(created).getTime();
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/**
 * The order to converge many services in: those that already have addresses first (dual-stack before
 * single), so they keep them before anything new is handed out, then the waiting ones oldest first, so the
 * first come is the first served.
 */
export function convergeOrder(services: readonly V1Service[]): string[] {
  return services
    .map((service) => ({
      key: objectKey(service),
      ips: ingressIPsOf(service).length,
      created: createdAt(service),
    }))
    .sort((a, b) => b.ips - a.ips || a.created - b.created || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((entry) => entry.key);
}
