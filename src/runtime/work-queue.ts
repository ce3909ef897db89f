/**
 * A keyed work queue with client-go's semantics:
 * - a key waits in the queue at most once (adds while it waits are deduplicated);
 * - a key handed to a worker is "processing" until done(); adds meanwhile only mark it dirty, and done()
 *   puts it back once, so no two workers ever hold the same key and N changes during a pass cause exactly
 *   one more pass;
 * - delayed adds (addAfter, addRateLimited) wait on a timer; for a key already waiting, the earlier time wins;
 * - after shutDown, adds are ignored, get() hands out what is still queued and then undefined.
 */
import { systemClock, type Clock, type Timer } from './clock.js';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.js';

export interface WorkQueueOptions<K> {
  readonly clock?: Clock;
  readonly rateLimiter?: RateLimiter<K>;
}

interface Delayed<K> {
  readonly key: K;
  readonly readyAt: number;
}

/** A binary min-heap on readyAt; stale entries are skipped when popped rather than removed in place. */
class DelayHeap<K> {
  private readonly items: Delayed<K>[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Delayed<K> | undefined {
    return this.items[0];
  }

  push(item: Delayed<K>): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as Delayed<K>).readyAt <= item.readyAt) break;
      items[i] = items[parent] as Delayed<K>;
      i = parent;
    }
    items[i] = item;
  }

  pop(): Delayed<K> | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child =
        right < items.length && (items[right] as Delayed<K>).readyAt < (items[left] as Delayed<K>).readyAt
          ? right
          : left;
      if ((items[child] as Delayed<K>).readyAt >= last.readyAt) break;
      items[i] = items[child] as Delayed<K>;
      i = child;
    }
    items[i] = last;
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}

export class WorkQueue<K = string> {
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter<K>;
  // A Set keeps insertion order, and a key is queued at most once, so it serves as the FIFO.
  private readonly queue = new Set<K>();
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly waitingUntil = new Map<K, number>();
  private readonly delayHeap = new DelayHeap<K>();
  private delayTimer: { readonly at: number; readonly timer: Timer } | undefined;
  private readonly getters: ((key: K | undefined) => void)[] = [];
  private readonly drainWaiters: (() => void)[] = [];
  private shuttingDown = false;
  private wakeScheduled = false;

  constructor(options: WorkQueueOptions<K> = {}) {
    this.clock = options.clock ?? systemClock;
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter<K>(this.clock);
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // done() will queue it again
    this.enqueue(key);
  }

  /** Adds the key after `delayMs`; a key already waiting keeps the earlier of the two times. */
  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + delayMs;
    const current = this.waitingUntil.get(key);
    if (current !== undefined && current <= readyAt) return;
    this.waitingUntil.set(key, readyAt);
    this.delayHeap.push({ key, readyAt });
    this.armDelayTimer();
  }

  /** Adds the key after its rate-limited delay, counting one more failure for it. */
  addRateLimited(key: K): void {
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Clears the key's failure count; it does not remove the key from the queue. */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** The next key to work on, marked processing until done(); undefined once shut down and empty. */
  get(): Promise<K | undefined> {
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Ends a worker's pass on the key; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    if (!this.processing.delete(key)) return;
    if (this.dirty.has(key)) this.enqueue(key);
    if (this.processing.size === 0) {
      for (const resolve of this.drainWaiters.splice(0)) resolve();
    }
  }

  /** Keys queued and not yet handed to a worker. */
  len(): number {
    return this.queue.size;
  }

  /** Keys a worker currently holds. */
  inFlight(): number {
    return this.processing.size;
  }

  /** Keys waiting on a delay. */
  waiting(): number {
    return this.waitingUntil.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Ignores further adds and drops delayed keys; blocked get() calls return undefined. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.delayTimer?.timer.cancel();
    this.delayTimer = undefined;
    this.delayHeap.clear();
    this.waitingUntil.clear();
    this.scheduleWake();
  }

  /** shutDown, then resolves once every key handed out has been marked done. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private enqueue(key: K): void {
    this.queue.add(key);
    this.scheduleWake();
  }

  /**
   * Hands queued keys to blocked workers on a microtask rather than inside add(): like client-go, where the
   * woken goroutine runs later, several adds of one key in the same tick then dedupe into one pass.
   */
  private scheduleWake(): void {
    if (this.wakeScheduled || this.getters.length === 0) return;
    this.wakeScheduled = true;
    queueMicrotask(() => {
      this.wakeScheduled = false;
      while (this.getters.length > 0) {
        const key = this.take();
        if (key === undefined && !this.shuttingDown) return;
        (this.getters.shift() as (key: K | undefined) => void)(key);
      }
    });
  }

  private take(): K | undefined {
    const first = this.queue.values().next();
    if (first.done) return undefined;
    const key = first.value;
    this.queue.delete(key);
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  private armDelayTimer(): void {
    const next = this.delayHeap.peek();
    if (!next) return;
    if (this.delayTimer && this.delayTimer.at <= next.readyAt) return;
    this.delayTimer?.timer.cancel();
    const at = next.readyAt;
    this.delayTimer = { at, timer: this.clock.setTimer(at - this.clock.now(), () => this.releaseDue()) };
  }

  private releaseDue(): void {
    this.delayTimer = undefined;
    const now = this.clock.now();
    for (let next = this.delayHeap.peek(); next && next.readyAt <= now; next = this.delayHeap.peek()) {
      this.delayHeap.pop();
      // An entry superseded by an earlier addAfter, or already released, is stale.
      if (this.waitingUntil.get(next.key) !== next.readyAt) continue;
      this.waitingUntil.delete(next.key);
      this.add(next.key);
    }
    this.armDelayTimer();
  }
}
