/**
 * How long a failed key waits before its next try: client-go's DefaultControllerRateLimiter, the larger of a
 * per-key exponential delay and one token bucket shared by all keys (so a mass failure can't spin the API).
 */
import { systemClock, type Clock } from './clock.js';

export interface RateLimiter<K> {
  /** The delay for this key's next retry; counts as one more failure. */
  when(key: K): number;
  /** Clears the key's failure history (after a success). */
  forget(key: K): void;
  /** Failures recorded for the key since it was last forgotten. */
  numRequeues(key: K): number;
}

/** 5 ms · 2^failures, capped at 1000 s: client-go's per-item defaults. */
export class ItemExponentialRateLimiter<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();

  constructor(
    private readonly baseDelayMs = 5,
    private readonly maxDelayMs = 1_000_000,
  ) {}

  when(key: K): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    // 2 ** failures turns to Infinity long before it matters; min() still caps it.
    return Math.min(this.baseDelayMs * 2 ** failures, this.maxDelayMs);
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * A token bucket like golang.org/x/time/rate's Reserve: tokens refill at `qps` up to `burst`; a retry that
 * finds the bucket empty borrows a future token and waits for it.
 */
export class TokenBucketRateLimiter<K> implements RateLimiter<K> {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly qps = 10,
    private readonly burst = 100,
    private readonly clock: Clock = systemClock,
  ) {
    this.tokens = burst;
    this.updatedAt = clock.now();
  }

  when(_key: K): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.qps) / 1000);
    this.updatedAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }

  forget(_key: K): void {}

  numRequeues(_key: K): number {
    return 0;
  }
}

export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  private readonly limiters: readonly RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    this.limiters = limiters;
  }

  when(key: K): number {
    // Every limiter must see the failure, so no short-circuiting.
    return this.limiters.map((limiter) => limiter.when(key)).reduce((a, b) => Math.max(a, b), 0);
  }

  forget(key: K): void {
    for (const limiter of this.limiters) limiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.limiters.map((limiter) => limiter.numRequeues(key)).reduce((a, b) => Math.max(a, b), 0);
  }
}

/** Per key 5 ms doubling to 1000 s, and overall 10 qps with a burst of 100. */
export function defaultControllerRateLimiter<K>(clock: Clock = systemClock): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(
    new ItemExponentialRateLimiter<K>(5, 1_000_000),
    new TokenBucketRateLimiter<K>(10, 100, clock),
  );
}
