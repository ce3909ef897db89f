import { afterEach, describe, expect, it } from '@jest/globals';
import type { V1Namespace, V1Service } from '@kubernetes/client-node';
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
  });
  const context = { signal: new AbortController().signal, log: silentLogger() };
  const reconcile = (key: string) => reconciler.reconcile(key, context);
  metrics.readPendingFrom(() => reconciler.pendingByReason());
  return { cache, allocator, patches, requeued, sink, events, reconciler, reconcile, registry };
}

describe('reconciling a Service', () => {
  it('writes status through the status subresource, guarded by the version it decided from', async () => {
    const { patches, reconcile } = harness([service('web', { resourceVersion: '42' })]);
    await reconcile('default/web');
    expect(patches).toEqual([
      {
        path: '/api/v1/namespaces/default/services/web/status?fieldManager=metallb-controller',
        body: {
          metadata: { resourceVersion: '42' },
          status: { loadBalancer: { ingress: [{ ip: '192.0.2.0' }] } },
        },
      },
      {
        path: '/api/v1/namespaces/default/services/web?fieldManager=metallb-controller',
        body: { metadata: { annotations: { 'metallb.io/ip-allocated-from-pool': 'main' } } },
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
    expect(patches.map((patch) => JSON.stringify(patch.body))).toContain(
      JSON.stringify({
        metadata: { resourceVersion: '1' },
        status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } },
      }),
    );
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
      { metadata: { resourceVersion: '2' }, status: { loadBalancer: { ingress: null } } },
      { metadata: { annotations: { 'metallb.io/ip-allocated-from-pool': null } } },
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
    expect(patches).toHaveLength(2);
    expect(sink.events.map((event) => [event.reason, event.note])).toEqual([
      ['IPAllocated', 'Assigned IP 192.0.2.0 from IPAddressPool "main"'],
    ]);
  });

  it('does not reconcile the echo of its own status write', async () => {
    const { cache, reconcile, reconciler } = harness([service('web')]);
    await reconcile('default/web');
    const before = cache.get('default/web') as V1Service;
    const echo = service('web', { ingress: ['192.0.2.0'], resourceVersion: '2' });
    expect(reconciler.needsReconcile(before, echo)).toBe(false);
    const tampered = service('web', { ingress: ['192.0.2.3'], resourceVersion: '3' });
    expect(reconciler.needsReconcile(echo, tampered)).toBe(true);
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
