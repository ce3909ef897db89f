/**
 * Reconciles one Service against the allocator: converge (src/controller/allocator), then write what
 * changed: status.loadBalancer.ingress, the metallb.io/AddressAssigned condition and the
 * ip-allocated-from-pool annotation in one patch of the status subresource, and events.
 * Everything is read from the informer caches.
 *
 * Status writes carry the resourceVersion the decision was made from, so a decision taken on a stale cache
 * fails with a conflict and is retried on fresh data instead of overwriting newer state. And since the cache
 * lags behind our own writes, what we last wrote is remembered until the cache shows a newer version: a
 * service reconciled again in that window is judged on what it really has, so its address never moves
 * because of a stale read.
 */
import type { V1Condition, V1Namespace, V1Service } from '@kubernetes/client-node';
import { systemClock, type Clock } from '../runtime/clock.js';
import type { ReconcileContext, ReconcileResult } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import type { ObjectCache } from '../runtime/informer.js';
import { splitKey } from '../runtime/kube-object.js';
import type { Logger } from '../runtime/logging.js';
import { apiStatus, withQuery, type RawClient } from '../runtime/raw-client.js';
import { objectPath, resourceTypeOf } from '../runtime/resources.js';
import {
  IP_ALLOCATED_FROM_POOL_ANNOTATION,
  convergeService,
  ingressIPsOf,
  legacyAnnotationsOf,
  serviceFromKubernetes,
  servesLoadBalancerClass,
  type Allocator,
  type AllocatorService,
  type Convergence,
  type RefusalCode,
} from './allocator/index.js';
import {
  addressConditionFor,
  addressConditionOf,
  conditionsWith,
  nextAddressCondition,
} from './address-condition.js';
import type { ControllerMetrics } from './metrics.js';
import { deprecationWarning, planServiceUpdate, type ServiceEvent } from './service-update.js';
import { isOwnEcho, poolAnnotationOf } from './service-view.js';

const serviceType = resourceTypeOf('v1', 'Service');
const conflictRetryMs = 200;

/** What we last wrote to a service, and the version of it our decision was based on. */
interface Written {
  readonly uid: string | undefined;
  readonly baseResourceVersion: string | undefined;
  readonly ingress: readonly string[];
  readonly poolAnnotation: string | undefined;
  readonly condition: V1Condition | undefined;
}

interface ServiceState {
  readonly ingress: readonly string[];
  readonly poolAnnotation: string | undefined;
  /** Our metallb.io/AddressAssigned condition. */
  readonly condition: V1Condition | undefined;
}

/** What to write through the status subresource; undefined fields are left alone. */
interface StatusChange {
  readonly ingress: readonly string[] | undefined;
  /** The condition to set, null to remove it. */
  readonly condition: V1Condition | null | undefined;
}

export interface ServiceReconcilerOptions {
  readonly services: ObjectCache<V1Service>;
  readonly namespaces: ObjectCache<V1Namespace>;
  readonly allocator: Allocator;
  readonly client: Pick<RawClient, 'patch'>;
  readonly events: EventRecorder;
  /** The --lb-class flag: serve only services of this class; unset serves services without a class. */
  readonly loadBalancerClass?: string | undefined;
  /** Field manager of the status and annotation writes. */
  readonly fieldManager: string;
  readonly metrics: ControllerMetrics;
  /** Reconcile this service again (a waiting service, after addresses were released). */
  readonly requeue: (key: string) => void;
  /** The usage of these pools may have changed (for IPAddressPool.status). */
  readonly poolUsageChanged: (pools: readonly string[]) => void;
  readonly log: Logger;
  /** Stamps the condition's lastTransitionTime. */
  readonly clock?: Clock;
}

export class ServiceReconciler {
  /** Services that could not get an address, with why: retried whenever addresses are released. */
  private readonly waiting = new Map<string, RefusalCode>();
  private readonly written = new Map<string, Written>();
  /** The legacy annotations last warned about, per service, so the warning comes once per change. */
  private readonly warnedLegacy = new Map<string, string>();

  constructor(private readonly options: ServiceReconcilerOptions) {}

  /** Services waiting for an address, for tests and logs. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /** How many services wait for an address, per refusal code (for the pending-services gauge). */
  pendingByReason(): ReadonlyMap<RefusalCode, number> {
    const counts = new Map<RefusalCode, number>();
    for (const code of this.waiting.values()) counts.set(code, (counts.get(code) ?? 0) + 1);
    return counts;
  }

  /**
   * The update filter of the service watch: skips the echo of our own writes (status and pool annotation
   * now saying what the allocator holds), so a status write never comes back as a reconcile.
   */
  readonly needsReconcile = (oldService: V1Service, newService: V1Service): boolean => {
    const { namespace = '', name = '' } = newService.metadata ?? {};
    const held = this.options.allocator.assignmentOf({ namespace, name })?.ips ?? [];
    return !isOwnEcho(oldService, newService, held);
  };

  async reconcile(key: string, context: ReconcileContext): Promise<ReconcileResult> {
    const { allocator, metrics } = this.options;
    const cached = this.options.services.get(key);
    const { namespace = '', name } = splitKey(key);
    if (!cached) {
      this.forget(key);
      const released = allocator.release({ namespace, name });
      if (released) {
        context.log.info({ ips: released.ips, pool: released.pool }, 'service deleted; addresses released');
        this.options.poolUsageChanged([released.pool]);
        this.retryWaiting(key);
      }
      metrics.countUpdate(false);
      return;
    }

    const state = this.currentState(key, cached);
    const namespaceLabels = this.options.namespaces.get(namespace)?.metadata?.labels ?? {};
    const service = serviceFromKubernetes(cached, namespaceLabels);
    const poolBefore = allocator.assignmentOf(service)?.pool;
    const convergence = convergeService(allocator, service, state.ingress, {
      loadBalancerClass: this.options.loadBalancerClass,
    });
    const servedClass = servesLoadBalancerClass(service, this.options.loadBalancerClass);
    const update = planServiceUpdate({
      convergence,
      currentPoolAnnotation: state.poolAnnotation,
      servedClass,
    });
    const poolAfter = allocator.assignmentOf(service)?.pool;
    const condition = nextAddressCondition({
      current: state.condition,
      wish: addressConditionFor(convergence, servedClass),
      generation: cached.metadata?.generation,
      now: (this.options.clock ?? systemClock).now(),
    });

    // Bookkeeping happens now, in step with the allocator; the writes below may take a while.
    if (update.waiting && convergence.kind === 'failed') this.waiting.set(key, convergence.refusal.code);
    else this.waiting.delete(key);
    if (poolBefore !== poolAfter || update.ingress !== undefined) {
      this.options.poolUsageChanged(
        [poolBefore, poolAfter].filter((pool): pool is string => pool !== undefined),
      );
    }
    if (update.releasedAddresses) this.retryWaiting(key);
    this.logConvergence(context.log, convergence, update.ingress);

    try {
      await this.write(
        key,
        cached,
        state,
        { ingress: update.ingress, condition },
        update.poolAnnotation,
        context.signal,
      );
    } catch (error) {
      const status = apiStatus(error);
      // Deleted meanwhile: its delete event releases what it held.
      if (status === 404) return;
      if (status === 409) {
        // Decided on a version that has moved on: decide again once the cache has the newer one.
        context.log.debug({ err: error }, 'service changed while writing its status; retrying');
        return { requeueAfter: conflictRetryMs };
      }
      metrics.countUpdate(true);
      throw error;
    }
    metrics.countUpdate(false);
    // Only now: an event must not announce what a failed write never made true (a retry says it again).
    for (const event of this.eventsFor(key, service, servedClass, update.events)) {
      this.options.events.event(cached, event.type, event.reason, event.action, event.note);
    }
  }

  private eventsFor(
    key: string,
    service: AllocatorService,
    servedClass: boolean,
    planned: readonly ServiceEvent[],
  ): ServiceEvent[] {
    const events = [...planned];
    if (servedClass && service.type === 'LoadBalancer') {
      const deprecation = deprecationWarning(legacyAnnotationsOf(service), this.warnedLegacy.get(key) ?? '');
      if (deprecation.warned) this.warnedLegacy.set(key, deprecation.warned);
      else this.warnedLegacy.delete(key);
      if (deprecation.event) events.push(deprecation.event);
    }
    return events;
  }

  /** The service's addresses and pool annotation: the cache's, unless it has not caught up with our write. */
  private currentState(key: string, cached: V1Service): ServiceState {
    const written = this.written.get(key);
    if (
      written &&
      written.uid === cached.metadata?.uid &&
      written.baseResourceVersion === cached.metadata?.resourceVersion
    ) {
      return written;
    }
    this.written.delete(key);
    return {
      ingress: ingressIPsOf(cached),
      poolAnnotation: poolAnnotationOf(cached),
      condition: addressConditionOf(cached),
    };
  }

  private async write(
    key: string,
    cached: V1Service,
    state: ServiceState,
    status: StatusChange,
    poolAnnotation: string | null | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const { namespace, name } = splitKey(key);
    const path = objectPath(serviceType, namespace, name);
    const fieldManager = this.options.fieldManager;
    const metadata = cached.metadata ?? {};
    const { ingress, condition } = status;
    if (ingress === undefined && condition === undefined && poolAnnotation === undefined) return;
    // One request for all three: the API server keeps metadata changes made through a Service's status
    // subresource (only spec is reset there), so the pool annotation rides along with the status instead of
    // costing a second write per assigned address. A merge patch replaces the whole conditions list: the
    // others go back as the decision saw them, and the resourceVersion guard turns a concurrent change to
    // them into a conflict, never a lost write.
    await this.options.client.patch(
      withQuery(`${path}/status`, { fieldManager }),
      {
        metadata: {
          resourceVersion: metadata.resourceVersion,
          ...(poolAnnotation !== undefined
            ? { annotations: { [IP_ALLOCATED_FROM_POOL_ANNOTATION]: poolAnnotation } }
            : {}),
        },
        ...(ingress !== undefined || condition !== undefined
          ? {
              status: {
                ...(ingress !== undefined
                  ? {
                      loadBalancer:
                        ingress.length > 0 ? { ingress: ingress.map((ip) => ({ ip })) } : { ingress: null },
                    }
                  : {}),
                ...(condition !== undefined
                  ? { conditions: conditionsWith(cached.status?.conditions, condition) }
                  : {}),
              },
            }
          : {}),
      },
      'application/merge-patch+json',
      { signal },
    );
    this.remember(key, cached, {
      ...state,
      ...(ingress !== undefined ? { ingress } : {}),
      ...(condition !== undefined ? { condition: condition ?? undefined } : {}),
      ...(poolAnnotation !== undefined ? { poolAnnotation: poolAnnotation ?? undefined } : {}),
    });
  }

  private remember(key: string, cached: V1Service, state: ServiceState): void {
    this.written.set(key, {
      uid: cached.metadata?.uid,
      baseResourceVersion: cached.metadata?.resourceVersion,
      ingress: state.ingress,
      poolAnnotation: state.poolAnnotation,
      condition: state.condition,
    });
  }

  private forget(key: string): void {
    this.waiting.delete(key);
    this.written.delete(key);
    this.warnedLegacy.delete(key);
  }

  private retryWaiting(except: string): void {
    for (const key of this.waiting.keys()) if (key !== except) this.options.requeue(key);
  }

  private logConvergence(
    log: Logger,
    convergence: Convergence,
    ingress: readonly string[] | undefined,
  ): void {
    switch (convergence.kind) {
      case 'assigned':
        log.info(
          { ips: convergence.ips, pool: convergence.pool, dropped: convergence.dropped?.ips },
          'addresses assigned',
        );
        return;
      case 'failed':
        log.warn(
          {
            reason: convergence.refusal.reason,
            code: convergence.refusal.code,
            dropped: convergence.dropped?.ips,
          },
          'no address assigned',
        );
        return;
      case 'ignored':
        if (convergence.released || ingress !== undefined) {
          log.info({ reason: convergence.reason, released: convergence.released?.ips }, 'not ours; released');
        }
        return;
      default:
        log.debug({ ips: convergence.ips, pool: convergence.pool }, 'addresses kept');
    }
  }
}
