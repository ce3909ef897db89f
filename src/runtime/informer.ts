/**
 * A list+watch informer over RawClient, keeping a cache of raw API objects keyed "namespace/name".
 *
 * Lifecycle, after client-go's reflector: LIST (paged) → replace the cache → WATCH from the list's
 * resourceVersion with bookmarks and a randomised server-side timeout. A 410 (HTTP status or in-stream ERROR
 * event) means our resourceVersion is too old: relist at once. Any other failure reconnects from the last
 * resourceVersion seen after an exponential backoff, which resets once a watch has stayed up for a healthy
 * while; a watch the server closes after a healthy while reconnects at once. A watchdog restarts a watch that
 * has gone silent (bookmarks normally arrive about once a minute). A relist reports objects that vanished
 * while we were away as deletes with `finalStateUnknown`. `relistNow()` forces a fresh list (cutting a watch or
 * a backoff short) for callers that must not act on a cache that may lag the API, such as a new leader.
 *
 * Handlers run synchronously after the cache changed and must only enqueue: reconcilers read the cache.
 * Cached objects are shared; never mutate them. A `transform` trims each object before it is cached (and
 * before handlers see it), so a cache holds only the fields its readers use.
 */
import { Backoff, reflectorBackoff, type BackoffOptions } from './backoff.js';
import { sleep, systemClock, type Clock, type Timer } from './clock.js';
import { objectKey, type KubeObject } from './kube-object.js';
import { silentLogger, type Logger } from './logging.js';
import { ApiError, apiStatus, withQuery, type RawClient, type WatchEvent } from './raw-client.js';
import { collectionPath, type ResourceType } from './resources.js';

export interface InformerHandler<T> {
  onAdd?(object: T): void;
  onUpdate?(oldObject: T, newObject: T): void;
  /**
   * `finalStateUnknown`: the object disappeared while the watch was down and a relist noticed; `object` is
   * the last state the cache had, not the state it was deleted in.
   */
  onDelete?(object: T, details: { readonly finalStateUnknown: boolean }): void;
}

/** What consumers of an informer need: reads, handlers, sync. Controllers depend on this, tests fake it. */
export interface ObjectCache<T> {
  get(key: string): T | undefined;
  list(): T[];
  keys(): string[];
  addHandler(handler: InformerHandler<T>): () => void;
  hasSynced(): boolean;
  waitForSync(signal?: AbortSignal): Promise<void>;
}

export interface InformerOptions {
  readonly client: Pick<RawClient, 'list' | 'watch'>;
  /** What to list and watch: a resource type, or a ready collection path such as "/api/v1/services". */
  readonly resource: ResourceType | string;
  /** Limits a namespaced resource type to one namespace (ignored when `resource` is a path). */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /**
   * Applied to every listed or watched object before it is cached or handed to handlers, e.g. to drop
   * managedFields or a status nobody reads. It must keep metadata.name, namespace, uid and resourceVersion,
   * which the informer itself uses, and may return the object it was given, changed.
   */
  readonly transform?: (object: KubeObject) => KubeObject;
  /** List page size; default 500. */
  readonly pageSize?: number;
  /** Reconnect backoff; default 800 ms doubling to 30 s with jitter. */
  readonly backoff?: BackoffOptions;
  /** A watch that stayed up this long resets the backoff; default 2 min. */
  readonly healthyAfterMs?: number;
  /** The server-side timeout asked for on each watch; default random between 5 and 10 min. */
  readonly watchTimeoutSeconds?: () => number;
  /** Restart a watch that delivered nothing, not even a bookmark, for this long; default 3 min. */
  readonly watchdogMs?: number;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly logger?: Logger;
}

interface WatchStatus {
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
}

type WatchOutcome = 'expired' | 'ended' | 'silent';

interface SyncWaiter {
  resolve(): void;
  reject(error: Error): void;
}

export class Informer<T extends KubeObject = KubeObject> implements ObjectCache<T> {
  readonly path: string;
  private readonly cache = new Map<string, T>();
  private readonly handlers = new Set<InformerHandler<T>>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private lastResourceVersion = '';
  private synced = false;
  private syncWaiters: SyncWaiter[] = [];
  /** Callers of relistNow() waiting for a list that starts after their call. */
  private relistWaiters: SyncWaiter[] = [];
  private relistRequested = false;
  /** Aborted by relistNow() to end the current watch or backoff early; renewed at each list. */
  private interrupt = new AbortController();
  private stopController: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: InformerOptions) {
    this.path =
      typeof options.resource === 'string'
        ? options.resource
        : collectionPath(options.resource, options.namespace);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.backoff = new Backoff(options.backoff ?? reflectorBackoff, this.random);
    this.log = (options.logger ?? silentLogger()).child({ informer: this.path });
  }

  /** Registers a handler; objects already cached are replayed to it as adds. Returns an unsubscribe. */
  addHandler(handler: InformerHandler<T>): () => void {
    this.handlers.add(handler);
    for (const object of this.cache.values()) this.call('onAdd', () => handler.onAdd?.(object));
    return () => this.handlers.delete(handler);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  get size(): number {
    return this.cache.size;
  }

  /** The resourceVersion the next watch resumes from. */
  get resourceVersion(): string {
    return this.lastResourceVersion;
  }

  /** Whether the first list has filled the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list has filled the cache; rejects if the informer stops first or `signal` aborts. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: SyncWaiter = { resolve, reject };
      this.syncWaiters.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          this.syncWaiters = this.syncWaiters.filter((w) => w !== waiter);
          reject(new Error(`stopped waiting for ${this.path} to sync`));
        },
        { once: true },
      );
    });
  }

  /**
   * Lists afresh, now, and resolves once a list that started after this call has replaced the cache (it
   * rejects if the informer stops first or `signal` aborts). What was cached before may lag the API by an
   * outage; what is cached when this resolves is at least as new as the API was at the call.
   */
  relistNow(signal?: AbortSignal): Promise<void> {
    if (!this.loop) return Promise.reject(new Error(`informer for ${this.path} is not running`));
    return new Promise((resolve, reject) => {
      const waiter: SyncWaiter = { resolve, reject };
      this.relistWaiters.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          this.relistWaiters = this.relistWaiters.filter((w) => w !== waiter);
          reject(new Error(`stopped waiting for ${this.path} to relist`));
        },
        { once: true },
      );
      this.relistRequested = true;
      this.interrupt.abort();
    });
  }

  /** Starts listing and watching in the background; a second call does nothing. */
  start(): void {
    if (this.loop) return;
    this.stopController = new AbortController();
    const signal = this.stopController.signal;
    this.loop = this.run(signal).catch((error: unknown) => {
      // run() handles its own failures; reaching here is a bug, and the informer would be dead.
      this.log.error({ err: error }, 'informer loop crashed');
    });
  }

  /** Stops the watch and waits for the loop to finish. The cache keeps its last contents. */
  async stop(): Promise<void> {
    this.stopController?.abort();
    await this.loop;
    for (const waiter of this.syncWaiters.splice(0)) {
      waiter.reject(new Error(`informer for ${this.path} stopped before its cache synced`));
    }
    for (const waiter of this.relistWaiters.splice(0)) {
      waiter.reject(new Error(`informer for ${this.path} stopped before it relisted`));
    }
  }

  private async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    let expiredInARow = 0;
    while (!signal.aborted) {
      if (this.relistRequested) {
        this.log.info('relisting on request');
        needList = true;
      }
      if (needList) {
        // Those who asked before this list started are answered by it; later askers by the next one.
        const answered = this.relistWaiters.splice(0);
        this.relistRequested = false;
        this.interrupt = new AbortController();
        try {
          await this.relist(signal);
          needList = false;
          for (const waiter of answered) waiter.resolve();
        } catch (error) {
          this.relistWaiters.unshift(...answered);
          if (signal.aborted) break;
          const delay = this.backoff.next();
          this.log.warn({ err: error, retryInMs: Math.round(delay) }, 'list failed; retrying');
          await sleep(this.clock, delay, AbortSignal.any([signal, this.interrupt.signal]));
          continue;
        }
      }
      const interrupted = AbortSignal.any([signal, this.interrupt.signal]);
      const startedAt = this.clock.now();
      let outcome: WatchOutcome;
      try {
        outcome = await this.watchOnce(interrupted);
      } catch (error) {
        if (signal.aborted) break;
        if (this.relistRequested) continue;
        if (apiStatus(error) === 410) {
          outcome = 'expired';
        } else {
          if (this.clock.now() - startedAt >= this.healthyAfterMs) this.backoff.reset();
          const delay = this.backoff.next();
          this.log.warn({ err: error, retryInMs: Math.round(delay) }, 'watch failed; reconnecting');
          await sleep(this.clock, delay, interrupted);
          continue;
        }
      }
      if (signal.aborted) break;
      if (outcome === 'expired') {
        this.log.info({ resourceVersion: this.lastResourceVersion }, 'resourceVersion expired; relisting');
        needList = true;
        // An expiry straight after a fresh list should not happen; if it keeps happening, don't spin.
        if (++expiredInARow > 1) await sleep(this.clock, this.backoff.next(), signal);
        continue;
      }
      expiredInARow = 0;
      if (outcome === 'silent') {
        this.log.warn({ silentForMs: this.watchdogMs }, 'watch went silent; restarting it');
        continue;
      }
      if (this.clock.now() - startedAt >= this.healthyAfterMs) {
        this.backoff.reset();
        continue;
      }
      const delay = this.backoff.next();
      this.log.debug({ retryInMs: Math.round(delay) }, 'watch closed early; reconnecting after backoff');
      await sleep(this.clock, delay, interrupted);
    }
  }

  private get healthyAfterMs(): number {
    return this.options.healthyAfterMs ?? 120_000;
  }

  private get watchdogMs(): number {
    return this.options.watchdogMs ?? 180_000;
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const { items, resourceVersion } = await this.options.client.list<T>(this.path, {
      signal,
      limit: this.options.pageSize ?? 500,
      ...(this.options.labelSelector ? { labelSelector: this.options.labelSelector } : {}),
      ...(this.options.fieldSelector ? { fieldSelector: this.options.fieldSelector } : {}),
    });
    if (signal.aborted) return;
    const fresh = new Map(items.map((item) => [objectKey(item), this.trim(item)]));
    for (const [key, cached] of this.cache) {
      if (fresh.has(key)) continue;
      this.cache.delete(key);
      this.notify('onDelete', (h) => h.onDelete?.(cached, { finalStateUnknown: true }));
    }
    for (const item of fresh.values()) this.upsert(item, true);
    this.lastResourceVersion = resourceVersion;
    if (!this.synced) {
      this.synced = true;
      this.log.debug({ objects: this.cache.size }, 'cache synced');
      for (const waiter of this.syncWaiters.splice(0)) waiter.resolve();
    }
  }

  private async watchOnce(signal: AbortSignal): Promise<WatchOutcome> {
    const watchdog = new AbortController();
    let lastEventAt = this.clock.now();
    let silent = false;
    let timer: Timer | undefined;
    const check = (): void => {
      const quietFor = this.clock.now() - lastEventAt;
      if (quietFor >= this.watchdogMs) {
        silent = true;
        watchdog.abort();
      } else {
        timer = this.clock.setTimer(this.watchdogMs - quietFor, check);
      }
    };
    timer = this.clock.setTimer(this.watchdogMs, check);
    const timeoutSeconds = this.options.watchTimeoutSeconds?.() ?? 300 + Math.floor(this.random() * 300);
    const path = withQuery(this.path, {
      watch: 1,
      resourceVersion: this.lastResourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds,
      labelSelector: this.options.labelSelector || undefined,
      fieldSelector: this.options.fieldSelector || undefined,
    });
    try {
      for await (const event of this.options.client.watch<unknown>(path, {
        signal: AbortSignal.any([signal, watchdog.signal]),
      })) {
        lastEventAt = this.clock.now();
        if (this.apply(event) === 'expired') return 'expired';
      }
      return 'ended';
    } catch (error) {
      if (silent && !signal.aborted) return 'silent';
      throw error;
    } finally {
      timer.cancel();
    }
  }

  private apply(event: WatchEvent<unknown>): 'expired' | undefined {
    if (event.type === 'ERROR') {
      const status = (event.object ?? {}) as WatchStatus;
      if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') return 'expired';
      throw new ApiError(
        status.code ?? 500,
        status.reason ?? 'Unknown',
        `watch ${this.path}: ${status.message ?? 'error event'}`,
        status,
      );
    }
    const received = event.object as T | undefined;
    const resourceVersion = received?.metadata?.resourceVersion;
    const object = received && event.type !== 'BOOKMARK' ? this.trim(received) : received;
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
        if (object?.metadata?.name) this.upsert(object, false);
        break;
      case 'DELETED':
        if (object?.metadata?.name) this.remove(object);
        break;
      case 'BOOKMARK':
        break;
      default:
        this.log.debug({ type: String(event.type) }, 'ignoring watch event of unknown type');
    }
    if (resourceVersion) this.lastResourceVersion = resourceVersion;
    return undefined;
  }

  private trim(object: T): T {
    // managedFields go always (see withoutManagedFields); the cache holds what the transform returns after
    // that, T being the caller's claim about that shape.
    const lean = withoutManagedFields(object);
    return this.options.transform ? (this.options.transform(lean) as T) : lean;
  }

  private upsert(object: T, fromList: boolean): void {
    const key = objectKey(object);
    const cached = this.cache.get(key);
    this.cache.set(key, object);
    if (!cached) {
      this.notify('onAdd', (h) => h.onAdd?.(object));
      return;
    }
    if (cached.metadata?.uid && object.metadata?.uid && cached.metadata.uid !== object.metadata.uid) {
      // Deleted and recreated under the same name while we looked away: two objects, not one update.
      this.notify('onDelete', (h) => h.onDelete?.(cached, { finalStateUnknown: fromList }));
      this.notify('onAdd', (h) => h.onAdd?.(object));
      return;
    }
    if (cached.metadata?.resourceVersion === object.metadata?.resourceVersion) return;
    this.notify('onUpdate', (h) => h.onUpdate?.(cached, object));
  }

  private remove(object: T): void {
    const key = objectKey(object);
    this.cache.delete(key);
    this.notify('onDelete', (h) => h.onDelete?.(object, { finalStateUnknown: false }));
  }

  private notify(what: string, deliver: (handler: InformerHandler<T>) => void): void {
    for (const handler of this.handlers) this.call(what, () => deliver(handler));
  }

  private call(what: string, deliver: () => void): void {
    try {
      deliver();
    } catch (error) {
      // A throwing handler must not take the informer down or starve the other handlers.
      this.log.error({ err: error, handler: what }, 'informer handler threw');
    }
  }
}

/**
 * The cache keeps objects without metadata.managedFields: nothing here reads them, and on a Service written
 * by a few managers they are larger than the rest of the object (at 5,000 Services, tens of MiB).
 */
function withoutManagedFields<T extends KubeObject>(object: T): T {
  if (!object.metadata || !('managedFields' in object.metadata)) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata as typeof object.metadata & {
    managedFields?: unknown;
  };
  return { ...object, metadata };
}
