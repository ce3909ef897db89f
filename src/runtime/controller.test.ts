import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import {
  Controller,
  TerminalError,
  generationChanged,
  notStatusOnly,
  ownerKeys,
  type ControllerOptions,
  type Reconcile,
} from './controller.js';
import type { KubeObject } from './kube-object.js';
import { createLogger } from './logging.js';
import { ItemExponentialRateLimiter } from './rate-limiter.js';
import { FakeCache } from '../../test/support/fake-cache.js';
import { FakeClock, flushMicrotasks } from '../../test/support/fake-clock.js';

interface Thing extends KubeObject {
  metadata: {
    name: string;
    namespace?: string;
    generation?: number;
    resourceVersion?: string;
    ownerReferences?: { apiVersion: string; kind: string; name: string; controller?: boolean }[];
  };
  spec?: { size?: number };
  status?: { ready?: boolean };
}

function thing(name: string, extra: Partial<Thing['metadata']> = {}): Thing {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'MetalLB', metadata: { name, namespace: 'ns', ...extra } };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function setup(
  reconcile: Reconcile,
  options: Partial<ControllerOptions> = {},
  initial: Thing[] = [],
): { controller: Controller; clock: FakeClock; cache: FakeCache<Thing> } {
  const clock = new FakeClock();
  const cache = new FakeCache<Thing>(initial);
  const controller = new Controller({
    name: 'test',
    reconcile,
    clock,
    rateLimiter: new ItemExponentialRateLimiter(5, 1_000_000),
    resyncPeriodMs: 0, // its timer would show up among the pending delays the tests inspect
    ...options,
  });
  controller.primary(cache);
  return { controller, clock, cache };
}

describe('Controller', () => {
  it('starts reconciling only once its caches have synced, then visits every cached key', async () => {
    const reconciled: string[] = [];
    const clock = new FakeClock();
    const cache = new FakeCache<Thing>([thing('a'), thing('b')], false);
    const controller = new Controller({
      name: 'test',
      clock,
      reconcile: async (key) => void reconciled.push(key),
    }).primary(cache);
    const started = controller.start();
    await flushMicrotasks();
    expect(reconciled).toEqual([]);
    cache.markSynced();
    await started;
    await flushMicrotasks();
    expect(reconciled).toEqual(['ns/a', 'ns/b']);
    await controller.stop();
  });

  it('retries a failing key with growing backoff and forgets its failures once it succeeds', async () => {
    let failuresLeft = 3;
    let passes = 0;
    const { controller, clock } = setup(
      async () => {
        passes++;
        if (failuresLeft-- > 0) throw new Error('API unavailable');
      },
      {},
      [thing('a')],
    );
    await controller.start();
    await flushMicrotasks();
    const delays: number[] = [];
    while (clock.pendingDelays().length > 0) {
      const delay = clock.pendingDelays()[0] as number;
      delays.push(delay);
      await clock.advanceAsync(delay);
    }
    expect(delays).toEqual([5, 10, 20]);
    expect(passes).toBe(4);
    expect(controller.queue.numRequeues('ns/a')).toBe(0);
    await controller.stop();
  });

  it('comes back after requeueAfter, forgetting earlier failures', async () => {
    let pass = 0;
    const { controller, clock } = setup(
      async () => {
        pass++;
        if (pass === 1) throw new Error('transient');
        if (pass === 2) return { requeueAfter: 30_000 };
        return undefined;
      },
      {},
      [thing('a')],
    );
    await controller.start();
    await flushMicrotasks();
    await clock.advanceAsync(5);
    expect(pass).toBe(2);
    expect(controller.queue.numRequeues('ns/a')).toBe(0);
    expect(clock.pendingDelays()).toEqual([30_000]);
    await clock.advanceAsync(30_000);
    expect(pass).toBe(3);
    expect(clock.pendingTimers()).toBe(0);
    await controller.stop();
  });

  it('does not retry a TerminalError', async () => {
    let passes = 0;
    const { controller, clock } = setup(
      async () => {
        passes++;
        throw new TerminalError('spec.size must be positive');
      },
      {},
      [thing('a')],
    );
    await controller.start();
    await flushMicrotasks();
    expect(passes).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
    await controller.stop();
  });

  it('revisits every primary key at the resync period', async () => {
    const reconciled: string[] = [];
    const { controller, clock } = setup(
      async (key) => void reconciled.push(key),
      { resyncPeriodMs: 60_000 },
      [thing('a'), thing('b')],
    );
    await controller.start();
    await flushMicrotasks();
    reconciled.length = 0;
    await clock.advanceAsync(60_000);
    expect(reconciled.sort()).toEqual(['ns/a', 'ns/b']);
    reconciled.length = 0;
    await clock.advanceAsync(60_000);
    expect(reconciled.sort()).toEqual(['ns/a', 'ns/b']);
    await controller.stop();
  });

  it("enqueues an owned object's controlling owner, not other owners or kinds", async () => {
    const reconciled: string[] = [];
    const { controller, cache } = setup(async (key) => void reconciled.push(key));
    const owned = new FakeCache<Thing>();
    controller.owns(owned, { group: 'metallb.io', kind: 'MetalLB' });
    await controller.start();
    owned.set(
      thing('speaker', {
        ownerReferences: [
          { apiVersion: 'metallb.io/v1beta1', kind: 'MetalLB', name: 'metallb', controller: true },
          { apiVersion: 'metallb.io/v1beta1', kind: 'MetalLB', name: 'not-the-controller' },
          { apiVersion: 'apps/v1', kind: 'Deployment', name: 'other-kind', controller: true },
        ],
      }),
    );
    await flushMicrotasks();
    expect(reconciled).toEqual(['ns/metallb']);
    expect(cache.list()).toEqual([]);
    await controller.stop();
  });

  it('maps both the old and the new object on update, so a dropped reference is revisited', async () => {
    const reconciled: string[] = [];
    const { controller } = setup(async (key) => void reconciled.push(key));
    const pointers = new FakeCache<Thing & { target?: string }>();
    controller.watches(pointers, (object) => (object.target ? [`ns/${object.target}`] : []));
    await controller.start();
    pointers.set({ ...thing('p'), target: 'first' });
    await flushMicrotasks();
    pointers.set({ ...thing('p'), target: 'second' });
    await flushMicrotasks();
    expect(reconciled.sort()).toEqual(['ns/first', 'ns/first', 'ns/second']);
    await controller.stop();
  });

  it('skips updates the filter rejects, such as status-only writes', async () => {
    const reconciled: string[] = [];
    const clock = new FakeClock();
    const cache = new FakeCache<Thing>();
    const controller = new Controller({
      name: 'test',
      clock,
      reconcile: async (key) => void reconciled.push(key),
    }).primary(cache, generationChanged);
    await controller.start();
    cache.set({ ...thing('a', { generation: 1 }), spec: { size: 1 } });
    await flushMicrotasks();
    cache.set({ ...thing('a', { generation: 1 }), spec: { size: 1 }, status: { ready: true } });
    await flushMicrotasks();
    cache.set({ ...thing('a', { generation: 2 }), spec: { size: 2 }, status: { ready: true } });
    await flushMicrotasks();
    expect(reconciled).toEqual(['ns/a', 'ns/a']);
    await controller.stop();
  });

  it('never runs one key on two workers, and folds changes during a pass into one more pass', async () => {
    const gate = deferred();
    let running = 0;
    let mostAtOnce = 0;
    let passes = 0;
    const { controller, cache } = setup(
      async () => {
        passes++;
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        if (passes === 1) await gate.promise;
        running--;
      },
      { workers: 4 },
      [thing('a')],
    );
    await controller.start();
    await flushMicrotasks();
    for (let size = 1; size <= 5; size++) cache.set({ ...thing('a'), spec: { size } });
    await flushMicrotasks();
    expect(passes).toBe(1);
    gate.resolve();
    await flushMicrotasks();
    expect(passes).toBe(2);
    expect(mostAtOnce).toBe(1);
    await controller.stop();
  });

  it('stops after the reconcile in flight finishes, aborting its signal and leaving the backlog', async () => {
    const gate = deferred();
    const reconciled: string[] = [];
    let sawAbort = false;
    const { controller } = setup(
      async (key, { signal }) => {
        reconciled.push(key);
        if (key === 'ns/a') {
          await gate.promise;
          sawAbort = signal.aborted;
        }
      },
      {},
      [thing('a'), thing('b')],
    );
    await controller.start();
    await flushMicrotasks();
    let stopped = false;
    const stopping = controller.stop().then(() => (stopped = true));
    await flushMicrotasks();
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(sawAbort).toBe(true);
    expect(reconciled).toEqual(['ns/a']);
  });

  it('logs a failed reconcile with the key and the error', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const logger = createLogger({ component: 'controller', destination });
    const { controller } = setup(
      async () => {
        throw new Error('pool "blue" is full');
      },
      { logger },
      [thing('a')],
    );
    await controller.start();
    await flushMicrotasks();
    await controller.stop();
    const failure = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.level === 'error');
    expect(failure).toMatchObject({
      component: 'controller',
      controller: 'test',
      object: 'ns/a',
      err: { message: 'pool "blue" is full' },
    });
  });

  it('counts reconcile outcomes in controller-runtime metrics', async () => {
    const registry = new Registry();
    let pass = 0;
    const { controller, clock } = setup(
      async () => {
        if (++pass === 1) throw new Error('first pass fails');
      },
      { metrics: registry },
      [thing('a')],
    );
    await controller.start();
    await flushMicrotasks();
    await clock.advanceAsync(5);
    const text = await registry.metrics();
    expect(text).toContain('controller_runtime_reconcile_total{controller="test",result="error"} 1');
    expect(text).toContain('controller_runtime_reconcile_total{controller="test",result="success"} 1');
    expect(text).toContain('controller_runtime_reconcile_errors_total{controller="test"} 1');
    expect(text).toContain('workqueue_depth{name="test"} 0');
    await controller.stop();
  });
});

describe('owner and update helpers', () => {
  it('keys a cluster-scoped owner by name alone', () => {
    const owned = thing('x', {
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', controller: true }],
    });
    expect(ownerKeys(owned, { group: '', kind: 'Node', namespaced: false })).toEqual(['n1']);
  });

  it('tells status-only changes from real ones for kinds without a generation', () => {
    const before = { ...thing('a', { resourceVersion: '1' }), spec: { size: 1 } };
    expect(notStatusOnly(before, { ...before, metadata: { ...before.metadata, resourceVersion: '2' } })).toBe(
      false,
    );
    expect(notStatusOnly(before, { ...before, status: { ready: true } })).toBe(false);
    expect(notStatusOnly(before, { ...before, spec: { size: 2 } })).toBe(true);
  });
});
