import { describe, expect, it } from '@jest/globals';
import { FakeClock, flushMicrotasks } from '../../test/support/fake-clock.js';
import { WorkQueue } from './work-queue.js';
import {
  ItemExponentialRateLimiter,
  TokenBucketRateLimiter,
  defaultControllerRateLimiter,
} from './rate-limiter.js';

function newQueue(): { queue: WorkQueue<string>; clock: FakeClock } {
  const clock = new FakeClock();
  return { queue: new WorkQueue<string>({ clock }), clock };
}

/** Takes every key queued right now, without blocking. */
async function takeAll(queue: WorkQueue<string>): Promise<string[]> {
  const keys: string[] = [];
  while (queue.len() > 0) keys.push((await queue.get()) as string);
  return keys;
}

describe('WorkQueue', () => {
  it('queues a key once however often it is added, in first-add order', async () => {
    const { queue } = newQueue();
    queue.add('ns/a');
    queue.add('ns/b');
    queue.add('ns/a');
    expect(queue.len()).toBe(2);
    expect(await takeAll(queue)).toEqual(['ns/a', 'ns/b']);
  });

  it('never hands a key to a second worker while the first still holds it', async () => {
    const { queue } = newQueue();
    queue.add('ns/a');
    expect(await queue.get()).toBe('ns/a');
    queue.add('ns/a');
    expect(queue.len()).toBe(0);
    let secondWorkerGot: string | undefined;
    void queue.get().then((key) => (secondWorkerGot = key));
    await flushMicrotasks();
    expect(secondWorkerGot).toBeUndefined();
    queue.done('ns/a');
    await flushMicrotasks();
    expect(secondWorkerGot).toBe('ns/a');
  });

  it('collapses any number of adds during a pass into exactly one more pass', async () => {
    const { queue } = newQueue();
    queue.add('ns/a');
    const key = (await queue.get()) as string;
    for (let i = 0; i < 5; i++) queue.add(key);
    queue.done(key);
    expect(await takeAll(queue)).toEqual(['ns/a']);
    queue.done('ns/a');
    expect(queue.len()).toBe(0);
  });

  it('does not requeue a key that was not added again during its pass', async () => {
    const { queue } = newQueue();
    queue.add('ns/a');
    queue.done((await queue.get()) as string);
    expect(queue.len()).toBe(0);
    expect(queue.inFlight()).toBe(0);
  });

  it('wakes a blocked worker when a key arrives', async () => {
    const { queue } = newQueue();
    const next = queue.get();
    queue.add('ns/a');
    expect(await next).toBe('ns/a');
    expect(queue.inFlight()).toBe(1);
  });

  it('dedupes adds made in the same tick even while a worker is waiting', async () => {
    const { queue } = newQueue();
    const next = queue.get();
    queue.add('ns/a');
    queue.add('ns/a');
    expect(await next).toBe('ns/a');
    queue.done('ns/a');
    expect(queue.len()).toBe(0);
  });

  it('adds a delayed key once its time comes', () => {
    const { queue, clock } = newQueue();
    queue.addAfter('ns/a', 1000);
    expect(queue.len()).toBe(0);
    expect(queue.waiting()).toBe(1);
    clock.advance(999);
    expect(queue.len()).toBe(0);
    clock.advance(1);
    expect(queue.len()).toBe(1);
    expect(queue.waiting()).toBe(0);
  });

  it('keeps the earliest time when a waiting key is delayed again', () => {
    const { queue, clock } = newQueue();
    queue.addAfter('ns/a', 5000);
    queue.addAfter('ns/a', 1000);
    queue.addAfter('ns/a', 3000);
    clock.advance(1000);
    expect(queue.len()).toBe(1);
    expect(queue.waiting()).toBe(0);
  });

  it('releases delayed keys in time order', async () => {
    const { queue, clock } = newQueue();
    queue.addAfter('ns/late', 300);
    queue.addAfter('ns/early', 100);
    queue.addAfter('ns/middle', 200);
    clock.advance(300);
    expect(await takeAll(queue)).toEqual(['ns/early', 'ns/middle', 'ns/late']);
  });

  it('adds at once for a zero or negative delay', () => {
    const { queue } = newQueue();
    queue.addAfter('ns/a', 0);
    queue.addAfter('ns/b', -5);
    expect(queue.len()).toBe(2);
  });

  it('lets a direct add through while the same key waits on a delay', () => {
    const { queue, clock } = newQueue();
    queue.addAfter('ns/a', 1000);
    queue.add('ns/a');
    expect(queue.len()).toBe(1);
    clock.advance(1000);
    expect(queue.len()).toBe(1); // still deduplicated while queued
  });

  it('backs off a failing key exponentially and forgets its failures after a success', () => {
    const clock = new FakeClock();
    const queue = new WorkQueue<string>({ clock, rateLimiter: new ItemExponentialRateLimiter(5, 1_000_000) });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      queue.addRateLimited('ns/a');
      delays.push(clock.pendingDelays()[0] as number);
      clock.advance(delays[i] as number);
    }
    expect(delays).toEqual([5, 10, 20, 40]);
    expect(queue.numRequeues('ns/a')).toBe(4);
    queue.forget('ns/a');
    expect(queue.numRequeues('ns/a')).toBe(0);
    queue.addRateLimited('ns/a');
    expect(clock.pendingDelays()).toEqual([5]);
  });

  it('ignores adds after shutdown but still hands out what was queued', async () => {
    const { queue } = newQueue();
    queue.add('ns/a');
    queue.addAfter('ns/b', 10);
    queue.shutDown();
    queue.add('ns/c');
    queue.addAfter('ns/d', 10);
    expect(queue.waiting()).toBe(0);
    expect(await queue.get()).toBe('ns/a');
    expect(await queue.get()).toBeUndefined();
  });

  it('releases blocked workers on shutdown', async () => {
    const { queue } = newQueue();
    const blocked = [queue.get(), queue.get()];
    queue.shutDown();
    expect(await Promise.all(blocked)).toEqual([undefined, undefined]);
  });

  it('drains: shutDownWithDrain waits until every held key is done', async () => {
    const { queue } = newQueue();
    queue.add('ns/a');
    queue.add('ns/b');
    const a = (await queue.get()) as string;
    const b = (await queue.get()) as string;
    let drained = false;
    const drain = queue.shutDownWithDrain().then(() => (drained = true));
    queue.done(a);
    await Promise.resolve();
    expect(drained).toBe(false);
    queue.done(b);
    await drain;
    expect(drained).toBe(true);
  });

  it('drains at once when nothing is held', async () => {
    const { queue } = newQueue();
    await expect(queue.shutDownWithDrain()).resolves.toBeUndefined();
  });
});

describe('rate limiters', () => {
  it('doubles the per-key delay from 5 ms and caps it at 1000 s', () => {
    const limiter = new ItemExponentialRateLimiter<string>();
    const delays = Array.from({ length: 30 }, () => limiter.when('k'));
    expect(delays.slice(0, 5)).toEqual([5, 10, 20, 40, 80]);
    expect(Math.max(...delays)).toBe(1_000_000);
    expect(delays.at(-1)).toBe(1_000_000);
    expect(limiter.when('other')).toBe(5);
  });

  it('lets a burst of 100 through the token bucket, then paces at 10 per second', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucketRateLimiter<string>(10, 100, clock);
    const burst = Array.from({ length: 100 }, (_, i) => bucket.when(`k${i}`));
    expect(burst.every((d) => d === 0)).toBe(true);
    expect(bucket.when('k100')).toBe(100);
    expect(bucket.when('k101')).toBe(200);
    clock.advance(1000);
    // 10 tokens refilled, 2 of them already borrowed: 8 go through at once, the 9th waits.
    const afterRefill = Array.from({ length: 9 }, (_, i) => bucket.when(`r${i}`));
    expect(afterRefill).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 100]);
  });

  it('combines both by taking the larger delay', () => {
    const clock = new FakeClock();
    const limiter = defaultControllerRateLimiter<string>(clock);
    for (let i = 0; i < 100; i++) limiter.when(`burst${i}`);
    expect(limiter.when('fresh')).toBe(100); // bucket empty: 100 ms beats the 5 ms first retry
    clock.advance(60_000);
    expect(limiter.when('fresh')).toBe(10); // bucket full again; the key's own backoff rules
  });
});
