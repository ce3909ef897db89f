import { beforeEach, describe, expect, it } from '@jest/globals';
import type { MetalLB } from '../api/types.generated.js';
import type { InformerFactory, InformerRequest } from '../runtime/informer-factory.js';
import { keyOf, objectKey, type KubeObject } from '../runtime/kube-object.js';
import { silentLogger } from '../runtime/logging.js';
import { ApiError } from '../runtime/raw-client.js';
import { resourceTypeOf } from '../runtime/resources.js';
import type { ObjectTarget } from '../runtime/ssa.js';
import { FakeCache } from '../../test/support/fake-cache.js';
import { OperatorCaches } from './caches.js';
import { cleanupFinalizer } from './cleanup.js';
import type { Condition } from './conditions.js';
import { defaultOperatorEnv } from './env.js';
import { MetalLBReconciler, rolloutPollMs } from './reconciler.js';
import { noCapabilities, type ClusterCapabilities } from './render/index.js';

type Mutable = Record<string, unknown> & {
  metadata: Record<string, unknown> & { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

const namespace = defaultOperatorEnv.namespace;

/**
 * Just enough of an API server behind informer caches: applies store the object (with server-side
 * additions, a new resourceVersion when something changed) and the cache sees it at once, as after a watch
 * event. Every write is recorded.
 */
class FakeWorld {
  readonly caches: OperatorCaches;
  readonly writes: string[] = [];
  readonly events: { type: string; reason: string; note: string }[] = [];
  failApplies: Error | undefined;
  /** What a list returns, by "path?labelSelector&fieldSelector"; nothing otherwise. */
  readonly onServer = new Map<string, KubeObject[]>();
  conflictOnNextPatch = false;
  private readonly byResource = new Map<string, FakeCache<KubeObject>>();
  private version = 100;

  constructor(capabilities: ClusterCapabilities = noCapabilities) {
    const factory = {
      informer: (request: InformerRequest): FakeCache<KubeObject> => {
        const cache = new FakeCache<KubeObject>();
        this.byResource.set(request.resource.plural, cache);
        return cache;
      },
    };
    this.caches = new OperatorCaches(
      factory as unknown as Pick<InformerFactory, 'informer'>,
      namespace,
      capabilities,
    );
  }

  cache(plural: string): FakeCache<KubeObject> {
    const cache = this.byResource.get(plural);
    if (!cache) throw new Error(`no cache for ${plural}`);
    return cache;
  }

  nextVersion(): string {
    this.version += 1;
    return String(this.version);
  }

  putMetalLB(
    name: string,
    spec: Record<string, unknown> = {},
    extra: Partial<Mutable['metadata']> = {},
  ): MetalLB {
    const cr = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'MetalLB',
      metadata: {
        name,
        namespace,
        uid: `uid-${name}`,
        generation: 1,
        resourceVersion: this.nextVersion(),
        ...extra,
      },
      spec,
    } as unknown as MetalLB;
    this.cache('metallbs').set(cr);
    return cr;
  }

  metallb(name: string): MetalLB {
    return this.cache('metallbs').get(keyOf(namespace, name)) as MetalLB;
  }

  conditions(name: string): Record<string, string> {
    const conditions = (this.metallb(name).status?.conditions ?? []) as Condition[];
    return Object.fromEntries(conditions.map((c) => [c.type, `${c.status}/${c.reason}`]));
  }

  private cacheFor(object: KubeObject): FakeCache<KubeObject> {
    return this.cache(resourceTypeOf(object.apiVersion ?? '', object.kind ?? '').plural);
  }

  readonly applier = {
    apply: async <T extends KubeObject>(object: T): Promise<T> => {
      if (this.failApplies) throw this.failApplies;
      this.writes.push(`apply ${object.kind}/${object.metadata?.name}`);
      const cache = this.cacheFor(object);
      const existing = cache.get(objectKey(object)) as Mutable | undefined;
      const stored = {
        ...structuredClone(object),
        metadata: {
          ...structuredClone(object.metadata),
          uid: existing?.metadata.uid ?? `uid-${object.metadata?.name}`,
          generation: (Number(existing?.metadata.generation ?? 0) || 0) + 1,
          resourceVersion: this.nextVersion(),
          creationTimestamp: '2026-01-01T00:00:00Z',
        },
        ...(existing?.status ? { status: existing.status } : {}),
      } as unknown as Mutable;
      cache.set(stored as unknown as KubeObject);
      return stored as unknown as T;
    },
    applyStatus: async <T extends KubeObject & { readonly status?: unknown }>(object: T): Promise<T> => {
      this.writes.push(`status ${object.kind}/${object.metadata?.name}`);
      const cache = this.cache('metallbs');
      const existing = cache.get(objectKey(object)) as Mutable;
      const stored = {
        ...existing,
        metadata: { ...existing.metadata, resourceVersion: this.nextVersion() },
        status: object.status,
      };
      cache.set(stored as unknown as KubeObject);
      return stored as unknown as T;
    },
    deleteIfExists: async (target: ObjectTarget): Promise<boolean> => {
      this.writes.push(`delete ${target.kind}/${target.name}`);
      return true;
    },
  };

  readonly client = {
    patch: async <T>(path: string, patch: unknown): Promise<T> => {
      this.writes.push(`patch ${path}`);
      if (this.conflictOnNextPatch) {
        this.conflictOnNextPatch = false;
        throw new ApiError(409, 'Conflict', 'the object has been modified', {});
      }
      const name = path.split('/').pop() as string;
      const existing = this.metallb(name) as unknown as Mutable;
      const finalizers = (patch as { metadata: { finalizers: string[] } }).metadata.finalizers;
      const stored = {
        ...existing,
        metadata: { ...existing.metadata, finalizers, resourceVersion: this.nextVersion() },
      };
      this.cache('metallbs').set(stored as unknown as KubeObject);
      return stored as unknown as T;
    },
    list: async <T>(
      path: string,
      options: { labelSelector?: string; fieldSelector?: string } = {},
    ): Promise<{ items: T[]; resourceVersion: string }> => ({
      items: (this.onServer.get(`${path}?${options.labelSelector ?? ''}&${options.fieldSelector ?? ''}`) ??
        []) as T[],
      resourceVersion: '1',
    }),
    get: async <T>(path: string): Promise<T> => {
      this.writes.push(`get ${path}`);
      return this.metallb(path.split('/').pop() as string) as unknown as T;
    },
  };

  readonly recorder = {
    normal: (_regarding: unknown, reason: string, _action: string, note: string) =>
      this.events.push({ type: 'Normal', reason, note }),
    warning: (_regarding: unknown, reason: string, _action: string, note: string) =>
      this.events.push({ type: 'Warning', reason, note }),
  };

  /** The workloads as Kubernetes reports them once every pod runs. */
  makeWorkloadsReady(): void {
    const deployment = this.cache('deployments').get(keyOf(namespace, 'controller')) as Mutable;
    this.cache('deployments').set({
      ...deployment,
      status: {
        observedGeneration: deployment.metadata.generation,
        replicas: 1,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
      },
    } as unknown as KubeObject);
    const daemonSet = this.cache('daemonsets').get(keyOf(namespace, 'speaker')) as Mutable;
    this.cache('daemonsets').set({
      ...daemonSet,
      status: {
        observedGeneration: daemonSet.metadata.generation,
        desiredNumberScheduled: 3,
        currentNumberScheduled: 3,
        updatedNumberScheduled: 3,
        numberReady: 3,
        numberAvailable: 3,
      },
    } as unknown as KubeObject);
  }
}

let world: FakeWorld;
let reconciler: MetalLBReconciler;
const context = () => ({ signal: new AbortController().signal, log: silentLogger() });

beforeEach(() => {
  world = new FakeWorld();
  reconciler = new MetalLBReconciler({
    env: defaultOperatorEnv,
    caches: world.caches,
    client: world.client,
    applier: world.applier,
    recorder: world.recorder,
    now: () => Date.UTC(2026, 0, 1),
  });
});

const metallbKey = keyOf(namespace, 'metallb');

describe('reconciling the MetalLB resource', () => {
  it('adds the finalizer first, applies every rendered object, and polls while the rollout runs', async () => {
    world.putMetalLB('metallb', { nodeSelector: { 'node-role.kubernetes.io/worker': '' } });
    const result = await reconciler.reconcile(metallbKey, context());
    expect(world.writes[0]).toBe(`patch /apis/metallb.io/v1beta1/namespaces/${namespace}/metallbs/metallb`);
    expect(world.metallb('metallb').metadata.finalizers).toEqual([cleanupFinalizer]);
    expect(world.writes.filter((w) => w.startsWith('apply'))).toHaveLength(16);
    expect(world.writes.at(-1)).toBe('status MetalLB/metallb');
    expect(world.conditions('metallb')).toMatchObject({
      Available: 'False/PodsNotReady',
      Progressing: 'True/RollingOut',
    });
    expect(result).toEqual({ requeueAfter: rolloutPollMs });
  });

  it('becomes Available once the workloads report every pod ready, then stops polling', async () => {
    world.putMetalLB('metallb');
    await reconciler.reconcile(metallbKey, context());
    world.makeWorkloadsReady();
    const result = await reconciler.reconcile(metallbKey, context());
    expect(world.conditions('metallb')).toEqual({
      Available: 'True/AllPodsReady',
      Progressing: 'False/RolloutComplete',
      Degraded: 'False/AsExpected',
      Upgradeable: 'True/AsExpected',
    });
    expect(result).toBeUndefined();
    expect(world.events.map((e) => e.reason)).toContain('AllPodsReady');
  });

  it('writes nothing at all on a pass where nothing changed', async () => {
    world.putMetalLB('metallb');
    await reconciler.reconcile(metallbKey, context());
    world.makeWorkloadsReady();
    await reconciler.reconcile(metallbKey, context());
    const before = world.writes.length;
    const eventsBefore = world.events.length;
    await reconciler.reconcile(metallbKey, context());
    await reconciler.reconcile(metallbKey, context());
    expect(world.writes.slice(before)).toEqual([]);
    expect(world.events.length).toBe(eventsBefore);
  });

  it('reverts a hand edit of the DaemonSet, and applies nothing else', async () => {
    world.putMetalLB('metallb', { nodeSelector: { 'node-role.kubernetes.io/worker': '' } });
    await reconciler.reconcile(metallbKey, context());
    world.makeWorkloadsReady();
    await reconciler.reconcile(metallbKey, context());
    const daemonSets = world.cache('daemonsets');
    const live = structuredClone(daemonSets.get(keyOf(namespace, 'speaker'))) as unknown as {
      metadata: { resourceVersion: string };
      spec: { template: { spec: { nodeSelector: Record<string, string>; tolerations: unknown[] } } };
    };
    live.spec.template.spec.nodeSelector = { 'kubernetes.io/os': 'linux' };
    live.spec.template.spec.tolerations.shift();
    live.metadata.resourceVersion = world.nextVersion();
    daemonSets.set(live as unknown as KubeObject);
    const before = world.writes.length;
    await reconciler.reconcile(metallbKey, context());
    expect(world.writes.slice(before).filter((w) => w.startsWith('apply'))).toEqual([
      'apply DaemonSet/speaker',
    ]);
    const reverted = daemonSets.get(keyOf(namespace, 'speaker')) as unknown as typeof live;
    expect(reverted.spec.template.spec.nodeSelector).toEqual({
      'node-role.kubernetes.io/worker': '',
      'kubernetes.io/os': 'linux',
    });
  });

  it('rolls a changed CR field out to the workload it concerns', async () => {
    world.putMetalLB('metallb');
    await reconciler.reconcile(metallbKey, context());
    world.makeWorkloadsReady();
    await reconciler.reconcile(metallbKey, context());
    const cr = world.metallb('metallb') as unknown as Mutable;
    world.cache('metallbs').set({
      ...cr,
      metadata: { ...cr.metadata, generation: 2, resourceVersion: world.nextVersion() },
      spec: { speakerConfig: { annotations: { 'example.com/rev': '2' } } },
    } as unknown as KubeObject);
    const before = world.writes.length;
    const result = await reconciler.reconcile(metallbKey, context());
    expect(world.writes.slice(before)).toEqual(['apply DaemonSet/speaker', 'status MetalLB/metallb']);
    // The DaemonSet the server returned has a generation its controller has not observed yet.
    expect(world.conditions('metallb')).toMatchObject({ Progressing: 'True/RollingOut' });
    expect(result).toEqual({ requeueAfter: rolloutPollMs });
  });

  it('deletes an object it owns that the render no longer produces', async () => {
    world.putMetalLB('metallb');
    await reconciler.reconcile(metallbKey, context());
    world.cache('configmaps').set({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'left-over',
        namespace,
        uid: 'uid-left-over',
        ownerReferences: [
          {
            apiVersion: 'metallb.io/v1beta1',
            kind: 'MetalLB',
            name: 'metallb',
            uid: 'uid-metallb',
            controller: true,
          },
        ],
      },
    });
    world
      .cache('configmaps')
      .set({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'someone-elses', namespace } });
    const before = world.writes.length;
    await reconciler.reconcile(metallbKey, context());
    expect(world.writes.slice(before).filter((w) => w.startsWith('delete'))).toEqual([
      'delete ConfigMap/left-over',
    ]);
  });

  it('reports a spec the operator cannot apply as Degraded, applying nothing', async () => {
    world.putMetalLB('metallb', {
      speakerTolerations: [{ key: 'a', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 30 }],
    });
    await reconciler.reconcile(metallbKey, context());
    expect(world.writes.filter((w) => !w.startsWith('status'))).toEqual([]);
    expect(world.conditions('metallb')).toMatchObject({ Degraded: 'True/InvalidSpec' });
    const warning = world.events.find((e) => e.type === 'Warning');
    expect(warning?.reason).toBe('InvalidSpec');
    expect(warning?.note).toMatch(/spec\.speakerTolerations\[0\]\.tolerationSeconds/);
  });

  it('reports objects the API server refuses as Degraded, and fails the pass so it is retried', async () => {
    world.putMetalLB('metallb');
    world.failApplies = new ApiError(403, 'Forbidden', 'daemonsets.apps is forbidden', {});
    await expect(reconciler.reconcile(metallbKey, context())).rejects.toThrow(/forbidden/);
    expect(world.conditions('metallb')).toMatchObject({ Degraded: 'True/ApplyFailed' });
    expect(world.events.find((e) => e.type === 'Warning')?.note).toMatch(/refused.*forbidden/);
  });

  it('retries an outage without calling the resource Degraded', async () => {
    world.putMetalLB('metallb');
    world.failApplies = new Error('connect ECONNREFUSED 127.0.0.1:6443');
    await expect(reconciler.reconcile(metallbKey, context())).rejects.toThrow(/ECONNREFUSED/);
    expect(world.writes.filter((w) => w.startsWith('status'))).toEqual([]);
  });

  it('adds the finalizer from the stored resource when the cached one is behind', async () => {
    world.putMetalLB('metallb');
    world.conflictOnNextPatch = true;
    await reconciler.reconcile(metallbKey, context());
    const path = `/apis/metallb.io/v1beta1/namespaces/${namespace}/metallbs/metallb`;
    expect(world.writes.slice(0, 3)).toEqual([`patch ${path}`, `get ${path}`, `patch ${path}`]);
    expect(world.metallb('metallb').metadata.finalizers).toEqual([cleanupFinalizer]);
  });
});

describe('a MetalLB resource that is not the one', () => {
  it('is Degraded with IncorrectMetalLBResourceName and a warning, and gets nothing deployed', async () => {
    world.putMetalLB('my-metallb');
    await reconciler.reconcile(keyOf(namespace, 'my-metallb'), context());
    expect(world.writes).toEqual(['status MetalLB/my-metallb']);
    expect(world.conditions('my-metallb')).toMatchObject({ Degraded: 'True/IncorrectMetalLBResourceName' });
    expect(world.events).toEqual([
      expect.objectContaining({ type: 'Warning', reason: 'IncorrectMetalLBResourceName' }),
    ]);
  });

  it('is told it is a duplicate when metallb exists', async () => {
    world.putMetalLB('metallb');
    world.putMetalLB('second');
    await reconciler.reconcile(keyOf(namespace, 'second'), context());
    expect(world.conditions('second')).toMatchObject({ Degraded: 'True/DuplicateMetalLBResource' });
    expect(world.metallb('second').metadata.finalizers).toBeUndefined();
  });
});

describe('a MetalLB resource in another namespace', () => {
  const conditionsIn = (ns: string): Record<string, string> => {
    const cr = world.cache('metallbs').get(keyOf(ns, 'metallb')) as unknown as Mutable;
    const conditions = ((cr.status?.conditions ?? []) as Condition[]).map((c) => [
      c.type,
      `${c.status}/${c.reason}`,
    ]);
    return Object.fromEntries(conditions);
  };

  it('is Degraded with WrongNamespace and a warning, with nothing deployed and no finalizer', async () => {
    world.putMetalLB('metallb', {}, { namespace: 'elsewhere' });
    await reconciler.reconcile(keyOf('elsewhere', 'metallb'), context());
    expect(world.writes).toEqual(['status MetalLB/metallb']);
    expect(conditionsIn('elsewhere')).toMatchObject({
      Degraded: 'True/WrongNamespace',
      Available: 'False/WrongNamespace',
    });
    expect(world.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'WrongNamespace' })]);
  });

  it("is left alone when another install's operator manages it (it carries the cleanup finalizer), even while it is deleted", async () => {
    world.putMetalLB('metallb', {}, { namespace: 'other-install', finalizers: [cleanupFinalizer] });
    await reconciler.reconcile(keyOf('other-install', 'metallb'), context());
    world.putMetalLB(
      'metallb',
      {},
      {
        namespace: 'other-install',
        finalizers: [cleanupFinalizer],
        deletionTimestamp: '2026-01-01T00:00:00Z',
      },
    );
    await reconciler.reconcile(keyOf('other-install', 'metallb'), context());
    expect(world.writes).toEqual([]);
    expect(world.events).toEqual([]);
  });
});

describe('deleting the MetalLB resource', () => {
  it('deletes everything it deployed, waits until it is gone, then releases the finalizer', async () => {
    world.putMetalLB('metallb');
    await reconciler.reconcile(metallbKey, context());
    const cr = world.metallb('metallb') as unknown as Mutable;
    world.cache('metallbs').set({
      ...cr,
      metadata: {
        ...cr.metadata,
        deletionTimestamp: '2026-01-01T00:01:00Z',
        resourceVersion: world.nextVersion(),
      },
    } as unknown as KubeObject);
    const before = world.writes.length;
    const first = await reconciler.reconcile(metallbKey, context());
    const deletes = world.writes.slice(before);
    expect(deletes).toHaveLength(16);
    expect(deletes.every((w) => w.startsWith('delete'))).toBe(true);
    expect(deletes).toEqual(
      expect.arrayContaining([
        'delete ClusterRole/metallb-system:speaker',
        'delete ValidatingAdmissionPolicy/metallb-lease-owners.metallb-system',
        'delete DaemonSet/speaker',
      ]),
    );
    expect(first).toEqual({ requeueAfter: expect.any(Number) });
    expect(world.metallb('metallb').metadata.finalizers).toEqual([cleanupFinalizer]);

    for (const { cache } of world.caches.owned) {
      for (const key of cache.keys()) (cache as FakeCache<KubeObject>).delete(key);
    }
    const second = await reconciler.reconcile(metallbKey, context());
    expect(second).toBeUndefined();
    expect(world.metallb('metallb').metadata.finalizers).toEqual([]);
  });
});

describe('deleting the MetalLB resource, once its workloads are gone', () => {
  it('deletes the status objects and Leases the operands wrote before releasing the finalizer', async () => {
    world.putMetalLB(
      'metallb',
      {},
      { finalizers: [cleanupFinalizer], deletionTimestamp: '2026-01-01T00:01:00Z' },
    );
    const item = (name: string): KubeObject => ({ metadata: { name, namespace } });
    world.onServer.set(`/apis/metallb.io/v1beta1/namespaces/${namespace}/servicebgpstatuses?&`, [
      item('web-a1'),
    ]);
    world.onServer.set(`/apis/metallb.io/v1beta1/namespaces/${namespace}/servicel2statuses?&`, [
      item('web-b2'),
    ]);
    world.onServer.set(`/apis/metallb.io/v1beta1/namespaces/${namespace}/bgpsessionstates?&`, [
      item('w0-peer'),
    ]);
    world.onServer.set(
      `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases?metallb.io/speaker-liveness=true&`,
      [item('metallb-speaker-worker-0')],
    );
    world.onServer.set(
      `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases?&metadata.name=metallb-controller`,
      [item('metallb-controller')],
    );
    const first = await reconciler.reconcile(metallbKey, context());
    expect(first).toEqual({ requeueAfter: expect.any(Number) });
    expect(world.writes.filter((w) => w.startsWith('delete')).sort()).toEqual([
      'delete BGPSessionState/w0-peer',
      'delete Lease/metallb-controller',
      'delete Lease/metallb-speaker-worker-0',
      'delete ServiceBGPStatus/web-a1',
      'delete ServiceL2Status/web-b2',
    ]);
    expect(world.metallb('metallb').metadata.finalizers).toEqual([cleanupFinalizer]);

    world.onServer.clear();
    expect(await reconciler.reconcile(metallbKey, context())).toBeUndefined();
    expect(world.metallb('metallb').metadata.finalizers).toEqual([]);
  });
});

describe('a MetalLB resource that is gone', () => {
  it('leaves no cluster object labelled for it, e.g. after its finalizer was removed by hand', async () => {
    world.cache('clusterroles').set({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'metallb-system:speaker', labels: { 'metallb.io/owner': 'metallb-system.metallb' } },
    });
    world.cache('clusterroles').set({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'other:speaker', labels: { 'metallb.io/owner': 'other.metallb' } },
    });
    await reconciler.reconcile(metallbKey, context());
    expect(world.writes).toEqual(['delete ClusterRole/metallb-system:speaker']);
    world.writes.length = 0;
    await reconciler.reconcile(keyOf('other', 'metallb'), context());
    expect(world.writes).toEqual([]);
  });
});

describe('where the cluster serves ServiceMonitors', () => {
  const monitoring: ClusterCapabilities = { serviceMonitors: true, prometheusRules: true, openShift: false };

  function monitoredWorld(): { world: FakeWorld; reconciler: MetalLBReconciler } {
    const monitored = new FakeWorld(monitoring);
    return {
      world: monitored,
      reconciler: new MetalLBReconciler({
        env: defaultOperatorEnv,
        capabilities: monitoring,
        caches: monitored.caches,
        client: monitored.client,
        applier: monitored.applier,
        recorder: monitored.recorder,
        now: () => Date.UTC(2026, 0, 1),
      }),
    };
  }

  it('applies the metrics Services, ServiceMonitors and the metrics-reader ClusterRole, then writes nothing more', async () => {
    const { world: monitored, reconciler: monitoredReconciler } = monitoredWorld();
    monitored.putMetalLB('metallb');
    await monitoredReconciler.reconcile(metallbKey, context());
    expect(monitored.writes).toEqual(
      expect.arrayContaining([
        'apply ClusterRole/metallb-metrics-reader',
        'apply Service/controller-monitor-service',
        'apply Service/speaker-monitor-service',
        'apply ServiceMonitor/controller-monitor',
        'apply ServiceMonitor/speaker-monitor',
        'apply PrometheusRule/metallb-alerts',
      ]),
    );
    monitored.makeWorkloadsReady();
    await monitoredReconciler.reconcile(metallbKey, context());
    const before = monitored.writes.length;
    await monitoredReconciler.reconcile(metallbKey, context());
    expect(monitored.writes.slice(before)).toEqual([]);
  });

  it('deletes the monitoring objects with everything else when the MetalLB resource goes', async () => {
    const { world: monitored, reconciler: monitoredReconciler } = monitoredWorld();
    monitored.putMetalLB('metallb');
    await monitoredReconciler.reconcile(metallbKey, context());
    const cr = monitored.metallb('metallb') as unknown as Mutable;
    monitored.cache('metallbs').set({
      ...cr,
      metadata: { ...cr.metadata, deletionTimestamp: '2026-01-01T00:01:00Z', resourceVersion: '999' },
    } as unknown as KubeObject);
    const before = monitored.writes.length;
    await monitoredReconciler.reconcile(metallbKey, context());
    expect(monitored.writes.slice(before)).toEqual(
      expect.arrayContaining([
        'delete ClusterRole/metallb-metrics-reader',
        'delete Service/controller-monitor-service',
        'delete Service/speaker-monitor-service',
        'delete ServiceMonitor/controller-monitor',
        'delete ServiceMonitor/speaker-monitor',
        'delete PrometheusRule/metallb-alerts',
      ]),
    );
  });

  it('deletes the monitoring objects once the cluster no longer serves the monitoring kinds', async () => {
    const { world: monitored, reconciler: monitoredReconciler } = monitoredWorld();
    monitored.putMetalLB('metallb');
    await monitoredReconciler.reconcile(metallbKey, context());
    // A fresh term renders without them but still sees the Services and the ClusterRole it made.
    const plain = new MetalLBReconciler({
      env: defaultOperatorEnv,
      caches: monitored.caches,
      client: monitored.client,
      applier: monitored.applier,
      recorder: monitored.recorder,
      now: () => Date.UTC(2026, 0, 1),
    });
    const before = monitored.writes.length;
    await plain.reconcile(metallbKey, context());
    expect(monitored.writes.slice(before).filter((w) => w.startsWith('delete'))).toEqual(
      expect.arrayContaining([
        'delete ClusterRole/metallb-metrics-reader',
        'delete Service/controller-monitor-service',
        'delete Service/speaker-monitor-service',
        'delete PrometheusRule/metallb-alerts',
      ]),
    );
  });
});
