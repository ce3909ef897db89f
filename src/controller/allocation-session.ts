/**
 * One leadership term of the controller: everything that hands out addresses, built fresh when this replica
 * becomes leader and torn down when it stops leading, so no state outlives the term that built it.
 *
 * Order matters and is the point of this module:
 *   1. the pools are loaded from the (synced) cache; nothing is converged before a valid pool set exists,
 *      since with no pools every address would be dropped;
 *   2. the allocator is rebuilt from every served Service's status, before anything is allocated, so a
 *      restart never moves an address;
 *   3. then the service and pool-status controllers start, services that have addresses first.
 * A later valid pool set is handed to the allocator, which releases what left the pools, and every service
 * is re-converged (those with addresses first). An invalid pool set keeps the last good one in force.
 */
import type { V1Namespace, V1Service } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { IPAddressPool } from '../api/types.generated.js';
import { formatProblem, type Problem } from '../api/problem.js';
import type { Labels } from '../config/selectors.js';
import { Controller, generationChanged } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import type { ObjectCache } from '../runtime/informer.js';
import { keyOf } from '../runtime/kube-object.js';
import type { Logger } from '../runtime/logging.js';
import type { RawClient } from '../runtime/raw-client.js';
import {
  Allocator,
  ingressIPsOf,
  serviceFromKubernetes,
  servesLoadBalancerClass,
  type AllocatorPool,
  type ExistingAssignment,
  type PoolStats,
  type RefusalCode,
} from './allocator/index.js';
import { PoolConfigTracker, loadAllocationPools } from './config-loader.js';
import type { ControllerMetrics } from './metrics.js';
import { PoolStatusReconciler } from './pool-status.js';
import { ServiceReconciler } from './service-reconciler.js';
import { EVENT_REASONS } from './service-update.js';
import { convergeOrder } from './service-view.js';

export interface AllocationSessionOptions {
  readonly services: ObjectCache<V1Service>;
  readonly namespaces: ObjectCache<V1Namespace>;
  readonly pools: ObjectCache<IPAddressPool>;
  /** Where the pools live (--namespace). */
  readonly namespace: string;
  readonly loadBalancerClass?: string | undefined;
  readonly client: Pick<RawClient, 'patch'>;
  readonly events: EventRecorder;
  readonly metrics: ControllerMetrics;
  readonly registry: Registry;
  readonly fieldManager: string;
  /** Concurrent service reconciles (different services; one service is never reconciled twice at once). */
  readonly workers: number;
  readonly log: Logger;
}

/**
 * Pool status is written at most about once a second per pool while many Services change at once: it is
 * read by people and alerts, and a shorter delay made it an eighth of the controller's writes in a burst.
 */
const poolStatusDelayMs = 1_000;

/** The served LoadBalancer services that have addresses in their status: the state to rebuild from. */
export function existingAssignments(
  services: readonly V1Service[],
  namespaceLabels: (namespace: string) => Labels,
  loadBalancerClass: string | undefined,
): ExistingAssignment[] {
  const existing: ExistingAssignment[] = [];
  for (const object of services) {
    const ips = ingressIPsOf(object);
    if (ips.length === 0) continue;
    const service = serviceFromKubernetes(object, namespaceLabels(object.metadata?.namespace ?? ''));
    if (service.type !== 'LoadBalancer' || !servesLoadBalancerClass(service, loadBalancerClass)) continue;
    existing.push({ service, ips });
  }
  return existing;
}

export class AllocationSession {
  private readonly tracker = new PoolConfigTracker();
  private readonly configController: Controller;
  private allocator: Allocator | undefined;
  private serviceController: Controller | undefined;
  private poolStatusController: Controller | undefined;
  private serviceReconciler: ServiceReconciler | undefined;
  private unsubscribeNamespaces: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly options: AllocationSessionOptions) {
    this.configController = new Controller({
      name: 'ipaddresspools',
      reconcile: () => this.reloadPools(),
      logger: options.log,
      metrics: options.registry,
      // The pool watch is the trigger; a periodic reload would only repeat the same answer.
      resyncPeriodMs: 0,
    }).watches(options.pools, () => ['pools'], generationChanged);
  }

  /** The allocator's counters, per pool; empty until the pools are loaded. */
  stats(): readonly PoolStats[] {
    return this.allocator?.stats() ?? [];
  }

  /** Services waiting for an address, per refusal code; undefined until addresses are handed out. */
  pendingServices(): ReadonlyMap<RefusalCode, number> | undefined {
    return this.serviceReconciler?.pendingByReason();
  }

  /** Whether addresses are being handed out (a valid pool set was loaded). */
  get allocating(): boolean {
    return this.serviceController?.isRunning() ?? false;
  }

  async start(): Promise<void> {
    // With no pools there is no pool event: load once regardless.
    this.configController.enqueue('pools');
    await this.configController.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // First: a pool load in flight may still be starting the other controllers.
    await this.configController.stop();
    this.unsubscribeNamespaces?.();
    await Promise.all([this.serviceController?.stop(), this.poolStatusController?.stop()]);
  }

  private namespaceLabels = (namespace: string): Labels =>
    this.options.namespaces.get(namespace)?.metadata?.labels ?? {};

  private async reloadPools(): Promise<void> {
    const { log, metrics } = this.options;
    const change = this.tracker.update(
      loadAllocationPools(this.options.pools.list(), this.options.namespace),
    );
    metrics.setConfigState(this.tracker.loaded, this.tracker.stale);
    switch (change.kind) {
      case 'invalid':
        this.reportInvalidPools(change.problems);
        return;
      case 'unchanged':
        return;
      case 'loaded':
        await this.startAllocating(change.pools);
        return;
      case 'changed': {
        const allocator = this.allocator as Allocator;
        const report = allocator.setPools(change.pools);
        log.info(
          {
            pools: change.pools.map((pool) => pool.name),
            released: report.released.map((entry) => ({ service: entry.service, ips: entry.ips })),
            rehomed: report.rehomed,
          },
          'pools changed; re-converging every service',
        );
        this.convergeAll();
        for (const key of this.options.pools.keys()) this.poolStatusController?.enqueue(key);
        return;
      }
    }
  }

  private reportInvalidPools(problems: readonly Problem[]): void {
    const { log, events } = this.options;
    log.error(
      {
        problems: problems.map(formatProblem),
        keepingLastGood: this.tracker.loaded,
      },
      this.tracker.loaded
        ? 'the IPAddressPools are invalid; keeping the last valid pools until they are fixed'
        : 'the IPAddressPools are invalid; no address is assigned until they are fixed',
    );
    const byObject = new Map<string, Problem[]>();
    for (const problem of problems) {
      const key = keyOf(problem.object.namespace, problem.object.name ?? '');
      byObject.set(key, [...(byObject.get(key) ?? []), problem]);
    }
    for (const [key, objectProblems] of byObject) {
      const pool = this.options.pools.get(key);
      if (!pool) continue;
      events.warning(
        pool,
        EVENT_REASONS.invalidConfig,
        'LoadConfiguration',
        `${objectProblems.map(formatProblem).join('; ')}. ` +
          (this.tracker.loaded
            ? 'The controller keeps the last valid pools until this is fixed.'
            : 'The controller assigns no address until this is fixed.'),
      );
    }
  }

  private async startAllocating(pools: readonly AllocatorPool[]): Promise<void> {
    const { log, loadBalancerClass } = this.options;
    const allocator = new Allocator(pools);
    const rebuilt = allocator.rebuild(
      existingAssignments(this.options.services.list(), this.namespaceLabels, loadBalancerClass),
    );
    this.allocator = allocator;
    log.info(
      {
        pools: pools.map((pool) => pool.name),
        kept: rebuilt.kept.length,
        refused: rebuilt.refused.map((entry) => ({
          service: entry.service,
          ips: entry.ips,
          reason: entry.refusal.reason,
        })),
      },
      'pools loaded; state rebuilt from Service status',
    );
    if (this.stopped) return;

    const poolStatus = new PoolStatusReconciler({
      pools: this.options.pools,
      client: this.options.client,
      statsOf: (pool) => allocator.poolStats(pool),
      fieldManager: this.options.fieldManager,
    });
    const poolStatusController = new Controller({
      name: 'ipaddresspool-status',
      reconcile: (key, context) => poolStatus.reconcile(key, context),
      logger: log,
      metrics: this.options.registry,
    }).primary(this.options.pools, generationChanged);

    const serviceController = new Controller({
      name: 'service',
      reconcile: (key, context) => reconciler.reconcile(key, context),
      workers: this.options.workers,
      logger: log,
      metrics: this.options.registry,
    });
    const reconciler = new ServiceReconciler({
      services: this.options.services,
      namespaces: this.options.namespaces,
      allocator,
      client: this.options.client,
      events: this.options.events,
      loadBalancerClass,
      fieldManager: this.options.fieldManager,
      metrics: this.options.metrics,
      requeue: (key) => serviceController.enqueue(key),
      poolUsageChanged: (names) => {
        for (const name of names) {
          poolStatusController.enqueueAfter(keyOf(this.options.namespace, name), poolStatusDelayMs);
        }
      },
      log,
    });
    // Queued before the watch replays the cache, so the first pass runs in this order.
    for (const key of convergeOrder(this.options.services.list())) serviceController.enqueue(key);
    serviceController.primary(this.options.services, reconciler.needsReconcile);
    this.unsubscribeNamespaces = this.options.namespaces.addHandler({
      onUpdate: (oldNamespace, newNamespace) => {
        if (sameLabels(oldNamespace.metadata?.labels, newNamespace.metadata?.labels)) return;
        this.convergeNamespace(newNamespace.metadata?.name ?? '');
      },
    });
    this.serviceController = serviceController;
    this.serviceReconciler = reconciler;
    this.poolStatusController = poolStatusController;
    await Promise.all([serviceController.start(), poolStatusController.start()]);
  }

  /** Every service, those with addresses first. */
  private convergeAll(): void {
    const controller = this.serviceController;
    if (!controller) return;
    for (const key of convergeOrder(this.options.services.list())) controller.enqueue(key);
  }

  /** Pools may select services by their namespace's labels. */
  private convergeNamespace(namespace: string): void {
    const controller = this.serviceController;
    if (!controller) return;
    const inNamespace = this.options.services.list().filter((s) => s.metadata?.namespace === namespace);
    for (const key of convergeOrder(inNamespace)) controller.enqueue(key);
  }
}

function sameLabels(a: Labels | undefined, b: Labels | undefined): boolean {
  const left = Object.entries(a ?? {});
  return left.length === Object.keys(b ?? {}).length && left.every(([key, value]) => b?.[key] === value);
}
