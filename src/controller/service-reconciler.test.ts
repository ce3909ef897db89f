import { afterEach, describe, expect, it } from '@jest/globals';
import type { V1Condition, V1Namespace, V1Service } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { EventRecorder, type EventSink, type EventV1 } from '../runtime/events.js';
import { ApiError } from '../runtime/raw-client.js';
import { silentLogger } from '../runtime/logging.js';
import { FakeCache } from '../../test/support/fake-cache.js';
import { Allocator } from './allocator/index.js';
import { allocatorPool } from '../../test/support/allocator.js';
import { existingAssignments } from './allocation-session.js';
import { ControllerMetrics } from './metrics.js';
import { ServiceReconciler } from './service-reconciler.js';
import { service } from '../../test/support/kube-objects.js';
import { FakeClock } from '../../test/support/fake-clock.js';

interface Patch {
  readonly path: string;
  readonly body: unknown;
}

class RecordingSink implements EventSink {
  readonly events: EventV1[] = [];
  async create(event: EventV1): Promise<unknown> {
    this.events.push(event);
    return event;
  }
  async updateSeries(): Promise<unknown> {
    return undefined;
  }
}

const recorders: EventRecorder[] = [];
afterEach(async () => {
  await Promise.all(recorders.splice(0).map((recorder) => recorder.stop()));
});

function harness(
  services: readonly V1Service[],
  pools = [allocatorPool('main', ['192.0.2.0/30'])],
  failures: ApiError[] = [],
) {
  const cache = new FakeCache<V1Service>(services);
  // 2026-11-25T08:00:00Z
  const clock = new FakeClock();
  const allocator = new Allocator(pools);
  const patches: Patch[] = [];
  const requeued: string[] = [];
  const sink = new RecordingSink();
  const events = new EventRecorder({ sink, reportingController: 'test', reportingInstance: 'test' });
  recorders.push(events);
  const registry = new Registry();
  const metrics = new ControllerMetrics(registry);
  const reconciler = new ServiceReconciler({
    services: cache,
    namespaces: new FakeCache<V1Namespace>(),
    allocator,
    client: {
      patch: async <T>(path: string, body: unknown): Promise<T> => {
        const failure = failures.shift();
        if (failure) throw failure;
        patches.push({ path, body });
        return {} as T;
      },
    },
    events,
    fieldManager: 'metallb-controller',
    metrics,
    requeue: (key) => requeued.push(key),
    poolUsageChanged: () => undefined,
    log: silentLogger(),
    clock,
  });
  const context = { signal: new AbortController().signal, log: silentLogger() };
  const reconcile = (key: string) => reconciler.reconcile(key, context);
  metrics.readPendingFrom(() => reconciler.pendingByReason());
  return { cache, allocator, patches, requeued, sink, events, reconciler, reconcile, registry, clock };
}

describe('reconciling a Service', () => {
  it('writes status through the status subresource, guarded by the version it decided from', async () => {
    const { patches, reconcile } = harness([service('web', { resourceVersion: '42', generation: 2 })]);
    await reconcile('default/web');
    expect(patches).toEqual([
      {
        path: '/api/v1/namespaces/default/services/web/status?fieldManager=metallb-controller',
        body: {
          metadata: { resourceVersion: '42', annotations: { 'metallb.io/ip-allocated-from-pool': 'main' } },
          status: {
            loadBalancer: { ingress: [{ ip: '192.0.2.0' }] },
            conditions: [
              {
                type: 'metallb.io/AddressAssigned',
                status: 'True',
                observedGeneration: 2,
                lastTransitionTime: '2026-11-25T08:00:00Z',
                reason: 'Assigned',
                message: 'Assigned 192.0.2.0 from IPAddressPool "main"',
              },
            ],
          },
        },
      },
    ]);
  });

  it('keeps the address it just wrote even when reconciled again before the cache caught up', async () => {
    const { cache, patches, reconcile } = harness([
      service('old', {
        ingress: ['192.0.2.0'],
        annotations: { 'metallb.io/ip-allocated-from-pool': 'main' },
      }),
      service('web'),
    ]);
    await reconcile('default/old');
    await reconcile('default/web');
    expect(patches.map((patch) => patch.body)).toContainEqual({
      metadata: { resourceVersion: '1', annotations: { 'metallb.io/ip-allocated-from-pool': 'main' } },
      status: {
        loadBalancer: { ingress: [{ ip: '192.0.2.1' }] },
        conditions: [
          expect.objectContaining({ status: 'True', message: expect.stringContaining('192.0.2.1') }),
        ],
      },
    });
    patches.length = 0;
    // 192.0.2.0 becomes free, lower than web's address; the cache still shows web without one.
    cache.delete('default/old');
    await reconcile('default/old');
    await reconcile('default/web');
    expect(patches).toEqual([]);
  });

  it('clears status and annotation of a service that stops being a LoadBalancer and retries waiting services', async () => {
    const { cache, patches, requeued, reconcile, allocator } = harness(
      [
        service('a', {
          ingress: ['192.0.2.0'],
          annotations: { 'metallb.io/ip-allocated-from-pool': 'main' },
        }),
        service('b', { annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.0' } }),
      ],
      [allocatorPool('main', ['192.0.2.0/32'])],
    );
    await reconcile('default/a');
    await reconcile('default/b');
    expect(allocator.holdersOf('192.0.2.0')).toEqual(['default/a']);
    patches.length = 0;
    cache.set(
      service('a', {
        type: 'ClusterIP',
        ingress: ['192.0.2.0'],
        resourceVersion: '2',
        annotations: { 'metallb.io/ip-allocated-from-pool': 'main' },
      }),
    );
    await reconcile('default/a');
    expect(patches.map((patch) => patch.body)).toEqual([
      {
        metadata: { resourceVersion: '2', annotations: { 'metallb.io/ip-allocated-from-pool': null } },
        status: { loadBalancer: { ingress: null } },
      },
    ]);
    expect(requeued).toEqual(['default/b']);
  });

  it('releases a deleted service and retries the services waiting for an address', async () => {
    const { cache, requeued, reconcile, allocator, events, sink } = harness(
      [service('a', { ingress: ['192.0.2.0'] }), service('b')],
      [allocatorPool('main', ['192.0.2.0/32'])],
    );
    await reconcile('default/a');
    await reconcile('default/b');
    await events.flush();
    expect(sink.events.find((event) => event.regarding.name === 'b')).toMatchObject({
      type: 'Warning',
      reason: 'AllocationFailed',
    });
    cache.delete('default/a');
    await reconcile('default/a');
    expect(allocator.holdersOf('192.0.2.0')).toEqual([]);
    expect(requeued).toEqual(['default/b']);
    await reconcile('default/b');
    expect(allocator.holdersOf('192.0.2.0')).toEqual(['default/b']);
  });

  it('counts the services waiting for an address per refusal reason, until they get one', async () => {
    const { cache, reconcile, registry } = harness(
      [
        service('a'),
        service('b'),
        service('c'),
        service('pinned', { annotations: { 'metallb.io/loadBalancerIPs': '198.51.100.7' } }),
      ],
      [allocatorPool('main', ['192.0.2.0/32'])],
    );
    const pending = async (): Promise<Record<string, number>> => {
      const metric = await registry.getSingleMetric('metallb_allocator_services_pending')?.get();
      return Object.fromEntries(
        (metric?.values ?? []).filter((v) => v.value > 0).map((v) => [String(v.labels.reason), v.value]),
      );
    };
    for (const name of ['a', 'b', 'c', 'pinned']) await reconcile(`default/${name}`);
    expect(await pending()).toEqual({ exhausted: 2, 'not-in-any-pool': 1 });
    const series = await registry.getSingleMetric('metallb_allocator_services_pending')?.get();
    expect(series?.values.find((v) => v.labels.reason === 'sharing-conflict')?.value).toBe(0);

    cache.delete('default/a');
    await reconcile('default/a');
    await reconcile('default/b');
    expect(await pending()).toEqual({ exhausted: 1, 'not-in-any-pool': 1 });
    cache.delete('default/pinned');
    await reconcile('default/pinned');
    expect(await pending()).toEqual({ exhausted: 1 });
  });

  it('decides again after a conflict, and announces the address only once it is written', async () => {
    const conflict = new ApiError(409, 'Conflict', 'the object has been modified', {});
    const { reconcile, patches, events, sink } = harness([service('web')], undefined, [conflict]);
    expect(await reconcile('default/web')).toEqual({ requeueAfter: 200 });
    await events.flush();
    expect(sink.events).toEqual([]);
    expect(await reconcile('default/web')).toBeUndefined();
    await events.flush();
    expect(patches).toHaveLength(1);
    expect(sink.events.map((event) => [event.reason, event.note])).toEqual([
      ['IPAllocated', 'Assigned IP 192.0.2.0 from IPAddressPool "main"'],
    ]);
  });

  it('does not reconcile the echo of its own status write', async () => {
    const { cache, reconcile, reconciler } = harness([service('web')]);
    await reconcile('default/web');
    const before = cache.get('default/web') as V1Service;
    const echo = service('web', { ingress: ['192.0.2.0'], resourceVersion: '2', conditions: [assignedMain] });
    expect(reconciler.needsReconcile(before, echo)).toBe(false);
    const tampered = service('web', { ingress: ['192.0.2.3'], resourceVersion: '3' });
    expect(reconciler.needsReconcile(echo, tampered)).toBe(true);
  });
});

const ADDRESS_ASSIGNED = 'metallb.io/AddressAssigned';

/** A condition as the API server returns it. */
function condition(fields: Partial<V1Condition> & { type: string; status: string }): V1Condition {
  return {
    lastTransitionTime: '2026-01-01T00:00:00Z' as unknown as Date,
    reason: 'Fine',
    message: '',
    ...fields,
  };
}

const assignedMain = condition({
  type: ADDRESS_ASSIGNED,
  status: 'True',
  observedGeneration: 1,
  reason: 'Assigned',
  message: 'Assigned 192.0.2.0 from IPAddressPool "main"',
});
const othersCondition = condition({ type: 'example.com/Reachable', status: 'False', reason: 'Probing' });

describe("a Service's metallb.io/AddressAssigned condition", () => {
  it('says why a pending service has no address, in the one status write, and flips to True when a pool comes', async () => {
    const { cache, allocator, patches, reconcile, clock, events, sink } = harness(
      [service('web', { generation: 1 })],
      [],
    );
    await reconcile('default/web');
    const pending = {
      type: ADDRESS_ASSIGNED,
      status: 'False',
      observedGeneration: 1,
      lastTransitionTime: '2026-11-25T08:00:00Z',
      reason: 'NoIPAddressPool',
      message: 'Service default/web cannot get an address: no IPAddressPool exists; create one',
    };
    expect(patches).toEqual([
      {
        path: '/api/v1/namespaces/default/services/web/status?fieldManager=metallb-controller',
        body: { metadata: { resourceVersion: '1' }, status: { conditions: [pending] } },
      },
    ]);
    // Events stay as they were.
    await events.flush();
    expect(sink.events.map((event) => [event.reason, event.note])).toEqual([
      ['AllocationFailed', `Failed to allocate IP: ${pending.message}`],
    ]);

    // Reconciled again, before and after the cache shows the write: nothing more to say.
    patches.length = 0;
    clock.advance(60_000);
    await reconcile('default/web');
    cache.set(
      service('web', {
        generation: 1,
        resourceVersion: '2',
        conditions: [pending as unknown as V1Condition],
      }),
    );
    await reconcile('default/web');
    expect(patches).toEqual([]);

    allocator.setPools([allocatorPool('main', ['192.0.2.0/30'])]);
    await reconcile('default/web');
    expect(patches.map((patch) => patch.body)).toEqual([
      {
        metadata: { resourceVersion: '2', annotations: { 'metallb.io/ip-allocated-from-pool': 'main' } },
        status: {
          loadBalancer: { ingress: [{ ip: '192.0.2.0' }] },
          conditions: [
            {
              ...pending,
              status: 'True',
              lastTransitionTime: '2026-11-25T08:01:00Z',
              reason: 'Assigned',
              message: 'Assigned 192.0.2.0 from IPAddressPool "main"',
            },
          ],
        },
      },
    ]);
  });

  it('names the allocator refusal in the reason: a requested address another service holds', async () => {
    const { patches, reconcile } = harness([
      service('first', { annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.2' } }),
      service('second', { annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.2' } }),
    ]);
    await reconcile('default/first');
    patches.length = 0;
    await reconcile('default/second');
    expect(patches.map((patch) => patch.body)).toEqual([
      {
        metadata: { resourceVersion: '1' },
        status: {
          conditions: [
            expect.objectContaining({
              status: 'False',
              reason: 'RequestedAddressInUse',
              message: expect.stringContaining('held by Service default/first, which does not allow sharing'),
            }),
          ],
        },
      },
    ]);
  });

  it('writes nothing for a service whose condition already says what it has', async () => {
    const { patches, reconcile } = harness([
      service('web', {
        generation: 1,
        ingress: ['192.0.2.0'],
        pool: 'main',
        conditions: [othersCondition, assignedMain],
      }),
    ]);
    await reconcile('default/web');
    expect(patches).toEqual([]);
  });

  it('records a new generation it observed, keeping the transition time', async () => {
    const { patches, reconcile } = harness([
      service('web', { generation: 2, ingress: ['192.0.2.0'], pool: 'main', conditions: [assignedMain] }),
    ]);
    await reconcile('default/web');
    expect(patches.map((patch) => patch.body)).toEqual([
      {
        metadata: { resourceVersion: '1' },
        status: { conditions: [{ ...assignedMain, observedGeneration: 2 }] },
      },
    ]);
  });

  it('removes only its own condition when the service stops being a LoadBalancer', async () => {
    const { cache, patches, reconcile } = harness([
      service('web', {
        generation: 1,
        ingress: ['192.0.2.0'],
        pool: 'main',
        conditions: [othersCondition, assignedMain],
      }),
    ]);
    await reconcile('default/web');
    cache.set(
      service('web', {
        type: 'ClusterIP',
        generation: 2,
        resourceVersion: '2',
        ingress: ['192.0.2.0'],
        pool: 'main',
        conditions: [othersCondition, assignedMain],
      }),
    );
    await reconcile('default/web');
    expect(patches.map((patch) => patch.body)).toEqual([
      {
        metadata: { resourceVersion: '2', annotations: { 'metallb.io/ip-allocated-from-pool': null } },
        status: { loadBalancer: { ingress: null }, conditions: [othersCondition] },
      },
    ]);
  });

  it('never touches the condition of a service of another load-balancer class', async () => {
    const { patches, reconcile } = harness([
      service('web', {
        loadBalancerClass: 'example.com/other',
        conditions: [{ ...assignedMain, status: 'False', reason: 'TheirReason' }],
      }),
    ]);
    await reconcile('default/web');
    expect(patches).toEqual([]);
  });
});

describe('the state rebuilt at start-up', () => {
  it('takes the addresses of served LoadBalancer services only', () => {
    const existing = existingAssignments(
      [
        service('lb', { ingress: ['192.0.2.1'] }),
        service('pending'),
        service('other-class', { ingress: ['192.0.2.2'], loadBalancerClass: 'other' }),
        service('was-lb', { ingress: ['192.0.2.3'], type: 'ClusterIP' }),
      ],
      () => ({}),
      undefined,
    );
    expect(existing.map((entry) => [entry.service.name, entry.ips])).toEqual([['lb', ['192.0.2.1']]]);
    const ofClass = existingAssignments(
      [service('other-class', { ingress: ['192.0.2.2'], loadBalancerClass: 'other' })],
      () => ({}),
      'other',
    );
    expect(ofClass).toHaveLength(1);
  });
});
