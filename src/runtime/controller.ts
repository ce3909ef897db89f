/**
 * A controller: informers feed keys into a work queue; workers take keys and call `reconcile(key)`.
 *
 * The contract is controller-runtime's: reconcile is level-based (read the informer caches, never an event's
 * payload); a key is never reconciled by two workers at once; a thrown error retries the key with per-key
 * exponential backoff; `{ requeueAfter }` forgets the failures and comes back after that delay; a plain
 * return forgets them. TerminalError is logged and not retried (until the next change to the object).
 * Workers start only after every watched informer has synced, so the first pass sees a complete cache.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { systemClock, type Clock, type Timer } from './clock.js';
import type { InformerHandler, ObjectCache } from './informer.js';
import { groupOf, objectKey, keyOf, type KubeObject } from './kube-object.js';
import { loggerFor, silentLogger, type Logger } from './logging.js';
import type { RateLimiter } from './rate-limiter.js';
import { WorkQueue } from './work-queue.js';

export type ReconcileResult = void | undefined | { readonly requeueAfter?: number };

export interface ReconcileContext {
  /** Aborted when the controller stops; long reconciles should give up at the next await. */
  readonly signal: AbortSignal;
  /** A logger whose lines carry `object: key`. */
  readonly log: Logger;
}

export type Reconcile = (key: string, context: ReconcileContext) => Promise<ReconcileResult>;

/** An error that retrying cannot fix (invalid spec, say): logged, not requeued. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** Decides whether an update is worth a reconcile; the default passes every update. */
export type UpdateFilter<T> = (oldObject: T, newObject: T) => boolean;

export interface ControllerOptions {
  /** Names the controller in logs and metrics. */
  readonly name: string;
  readonly reconcile: Reconcile;
  /** Concurrent reconciles, across different keys. Default 1. */
  readonly workers?: number;
  /** Re-enqueue every key of the primary informers this often; 0 turns it off. Default 10 min. */
  readonly resyncPeriodMs?: number;
  readonly clock?: Clock;
  readonly rateLimiter?: RateLimiter<string>;
  readonly logger?: Logger;
  /** Registers controller-runtime-style reconcile and queue metrics here when given. */
  readonly metrics?: Registry;
}

export interface OwnerKind {
  /** The owner's API group ("" for core); versions don't matter for ownership. */
  readonly group: string;
  readonly kind: string;
  /** Whether the owner is namespaced (then it lives in the owned object's namespace). Default true. */
  readonly namespaced?: boolean;
}

/**
 * Keys of an object's owners of the given kind: by default only the `controller: true` reference, like
 * controller-runtime's Owns().
 */
export function ownerKeys(object: KubeObject, owner: OwnerKind, onlyController = true): string[] {
  const namespace = owner.namespaced === false ? undefined : object.metadata?.namespace;
  return (object.metadata?.ownerReferences ?? [])
    .filter((ref) => ref.kind === owner.kind && groupOf(ref.apiVersion) === owner.group)
    .filter((ref) => !onlyController || ref.controller === true)
    .map((ref) => keyOf(namespace, ref.name));
}

/** Passes updates that changed metadata.generation: spec edits, not status writes (for kinds that have it). */
export function generationChanged<T extends KubeObject>(oldObject: T, newObject: T): boolean {
  return (
    oldObject.metadata?.generation === undefined ||
    oldObject.metadata.generation !== newObject.metadata?.generation
  );
}

/** Passes updates that changed more than status and bookkeeping metadata, for kinds without a generation. */
export function notStatusOnly<T extends KubeObject>(oldObject: T, newObject: T): boolean {
  return !deepEqual(withoutStatus(oldObject), withoutStatus(newObject));
}

function withoutStatus(object: KubeObject): unknown {
  const { status: _status, metadata, ...rest } = object as KubeObject & { status?: unknown };
  const {
    resourceVersion: _rv,
    managedFields: _mf,
    ...meta
  } = (metadata ?? {}) as Record<string, unknown> & { resourceVersion?: unknown; managedFields?: unknown };
  return { ...rest, metadata: meta };
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  const aKeys = Object.keys(aRecord).filter((k) => aRecord[k] !== undefined);
  const bKeys = Object.keys(bRecord).filter((k) => bRecord[k] !== undefined);
  return aKeys.length === bKeys.length && aKeys.every((k) => deepEqual(aRecord[k], bRecord[k]));
}

interface Watched {
  readonly informer: ObjectCache<KubeObject>;
  unsubscribe: (() => void) | undefined;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue<string>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly watched: Watched[] = [];
  private readonly primaries: ObjectCache<KubeObject>[] = [];
  private readonly metrics: ControllerMetrics | undefined;
  private readonly stopController = new AbortController();
  private workers: Promise<void>[] = [];
  private resyncTimer: Timer | undefined;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';

  constructor(private readonly options: ControllerOptions) {
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this.queue = new WorkQueue<string>({
      clock: this.clock,
      ...(options.rateLimiter ? { rateLimiter: options.rateLimiter } : {}),
    });
    this.log = (options.logger ?? silentLogger()).child({ controller: options.name });
    this.metrics = options.metrics && new ControllerMetrics(options.metrics, options.name, this.queue);
  }

  /** The controller's own kind: every event enqueues the object's key, and resync revisits every key. */
  primary<T extends KubeObject>(informer: ObjectCache<T>, updateFilter?: UpdateFilter<T>): this {
    this.primaries.push(informer as unknown as ObjectCache<KubeObject>);
    return this.watches(informer, (object) => [objectKey(object)], updateFilter);
  }

  /** Objects this controller creates: an event on one enqueues its controlling owner of `owner` kind. */
  owns<T extends KubeObject>(
    informer: ObjectCache<T>,
    owner: OwnerKind,
    updateFilter?: UpdateFilter<T>,
  ): this {
    return this.watches(informer, (object) => ownerKeys(object, owner), updateFilter);
  }

  /**
   * Any other input: `map` names the keys an object's change affects. On update both the old and the new
   * object are mapped, so a key the object stopped pointing at is revisited too.
   */
  watches<T extends KubeObject>(
    informer: ObjectCache<T>,
    map: (object: T) => Iterable<string>,
    updateFilter?: UpdateFilter<T>,
  ): this {
    const enqueueAll = (object: T): void => {
      for (const key of map(object)) this.queue.add(key);
    };
    const handler: InformerHandler<T> = {
      onAdd: enqueueAll,
      onUpdate: (oldObject, newObject) => {
        if (updateFilter && !updateFilter(oldObject, newObject)) return;
        enqueueAll(oldObject);
        enqueueAll(newObject);
      },
      onDelete: enqueueAll,
    };
    this.watched.push({
      informer: informer as unknown as ObjectCache<KubeObject>,
      unsubscribe: this.state === 'stopped' ? undefined : informer.addHandler(handler),
    });
    return this;
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  enqueueAfter(key: string, delayMs: number): void {
    this.queue.addAfter(key, delayMs);
  }

  isRunning(): boolean {
    return this.state === 'running';
  }

  /**
   * Waits for the watched informers to sync (starting them is the binary's job, usually through an
   * InformerFactory), then starts the workers and the resync timer. Rejects if stopped before that.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`controller ${this.name} was already started`);
    this.state = 'starting';
    const signal = this.stopController.signal;
    await Promise.all(this.watched.map((w) => w.informer.waitForSync(signal)));
    if (signal.aborted) throw new Error(`controller ${this.name} stopped before its caches synced`);
    this.state = 'running';
    const workers = Math.max(1, this.options.workers ?? 1);
    this.workers = Array.from({ length: workers }, () => this.work(signal));
    this.armResync();
    this.log.info({ workers }, 'controller started');
  }

  /** Stops taking keys, lets reconciles in flight finish (their signal is aborted), then resolves. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.stopController.abort();
    this.resyncTimer?.cancel();
    for (const watched of this.watched) watched.unsubscribe?.();
    await this.queue.shutDownWithDrain();
    await Promise.all(this.workers);
    this.log.info('controller stopped');
  }

  private armResync(): void {
    const period = this.options.resyncPeriodMs ?? 600_000;
    if (period <= 0 || this.primaries.length === 0) return;
    this.resyncTimer = this.clock.setTimer(period, () => {
      for (const informer of this.primaries) for (const key of informer.keys()) this.queue.add(key);
      this.armResync();
    });
  }

  private async work(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      if (signal.aborted) {
        // Shutting down: leave the backlog to whoever runs next (a new leader, the restarted pod).
        this.queue.done(key);
        return;
      }
      await this.reconcileOne(key, signal);
    }
  }

  private async reconcileOne(key: string, signal: AbortSignal): Promise<void> {
    const log = loggerFor(this.log, key);
    const startedAt = this.clock.now();
    try {
      const result = await this.options.reconcile(key, { signal, log });
      const requeueAfter = result?.requeueAfter ?? 0;
      this.queue.forget(key);
      if (requeueAfter > 0) {
        this.queue.addAfter(key, requeueAfter);
        this.metrics?.count('requeue_after');
      } else {
        this.metrics?.count('success');
      }
    } catch (error) {
      if (error instanceof TerminalError) {
        this.queue.forget(key);
        log.error({ err: error }, 'reconcile failed and will not be retried until the object changes');
        this.metrics?.count('error');
      } else if (signal.aborted) {
        log.debug({ err: error }, 'reconcile interrupted by shutdown');
      } else {
        this.queue.addRateLimited(key);
        log.error({ err: error, retries: this.queue.numRequeues(key) }, 'reconcile failed; will retry');
        this.metrics?.count('error');
      }
    } finally {
      this.metrics?.observe((this.clock.now() - startedAt) / 1000);
      this.queue.done(key);
    }
  }
}

type ReconcileOutcome = 'success' | 'error' | 'requeue_after';

/** controller-runtime's metric names, so existing dashboards and alerts keep working. */
class ControllerMetrics {
  private readonly total: Counter<'controller' | 'result'>;
  private readonly errors: Counter<'controller'>;
  private readonly duration: Histogram<'controller'>;

  constructor(
    registry: Registry,
    private readonly controller: string,
    queue: WorkQueue<string>,
  ) {
    this.total = metric(registry, 'controller_runtime_reconcile_total', () => {
      return new Counter({
        name: 'controller_runtime_reconcile_total',
        help: 'Total number of reconciliations per controller',
        labelNames: ['controller', 'result'],
        registers: [registry],
      });
    });
    this.errors = metric(registry, 'controller_runtime_reconcile_errors_total', () => {
      return new Counter({
        name: 'controller_runtime_reconcile_errors_total',
        help: 'Total number of reconciliation errors per controller',
        labelNames: ['controller'],
        registers: [registry],
      });
    });
    this.duration = metric(registry, 'controller_runtime_reconcile_time_seconds', () => {
      return new Histogram({
        name: 'controller_runtime_reconcile_time_seconds',
        help: 'Length of time per reconciliation per controller',
        labelNames: ['controller'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers: [registry],
      });
    });
    queueDepthSources(registry).set(controller, queue);
    for (const result of ['success', 'error', 'requeue_after'] as const)
      this.total.inc({ controller, result }, 0);
    this.errors.inc({ controller }, 0);
  }

  count(result: ReconcileOutcome): void {
    this.total.inc({ controller: this.controller, result });
    if (result === 'error') this.errors.inc({ controller: this.controller });
  }

  observe(seconds: number): void {
    this.duration.observe({ controller: this.controller }, seconds);
  }
}

function metric<M>(registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}

// One workqueue_depth gauge per registry, reading every controller's queue at scrape time.
const depthSourcesByRegistry = new WeakMap<Registry, Map<string, WorkQueue<string>>>();

function queueDepthSources(registry: Registry): Map<string, WorkQueue<string>> {
  const existing = depthSourcesByRegistry.get(registry);
  if (existing) return existing;
  const created = new Map<string, WorkQueue<string>>();
  depthSourcesByRegistry.set(registry, created);
  metric(
    registry,
    'workqueue_depth',
    () =>
      new Gauge({
        name: 'workqueue_depth',
        help: 'Current depth of workqueue',
        labelNames: ['name'],
        registers: [registry],
        collect() {
          for (const [name, queue] of created) this.set({ name }, queue.len());
        },
      }),
  );
  return created;
}
