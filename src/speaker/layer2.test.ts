import { describe, expect, it } from '@jest/globals';
import type { V1EndpointSlice, V1Node, V1Secret, V1Service } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import type {
  BFDProfile,
  BGPAdvertisement,
  BGPPeer,
  Community,
  IPAddressPool,
  L2Advertisement,
  ServiceL2Status,
} from '../api/types.generated.js';
import type { ObjectReference } from '../runtime/events.js';
import type { KubeObject } from '../runtime/kube-object.js';
import { ApiError } from '../runtime/raw-client.js';
import { FakeCache } from '../../test/support/fake-cache.js';
import { FakeClock, flushMicrotasks } from '../../test/support/fake-clock.js';
import type { L2Announcer, L2Claim, L2ClaimState, L2StateListener } from './l2/announcer.js';
import {
  INTERFACES_ANNOTATION,
  LEAVING_ANNOTATION,
  LIVENESS_LABEL,
  LIVENESS_NODE_LABEL,
  type LivenessLease,
} from './l2/liveness.js';
import { ANNOUNCED_IPS_ANNOTATION, CONFLICT_ANNOTATION, serviceL2StatusName } from './l2-status.js';
import { Layer2Speaker } from './layer2.js';
import { SpeakerMetrics } from './metrics.js';
import { STATUS_NODE_LABEL } from './status.js';
import { endpointSlice, node as nodeObject, service } from '../../test/support/kube-objects.js';
import { l2Ad, ns, pool } from '../../test/support/metallb-objects.js';

/** Records claims and lets the test say how each address is doing. */
class FakeAnnouncer implements L2Announcer {
  readonly history: L2Claim[][] = [];
  readonly states = new Map<string, L2ClaimState>();
  private readonly listeners: L2StateListener[] = [];
  closed = false;

  reconcile(claims: readonly L2Claim[]): void {
    this.history.push([...claims]);
    const wanted = new Set(claims.map((claim) => claim.ip));
    for (const ip of this.states.keys()) if (!wanted.has(ip)) this.states.delete(ip);
  }
  get current(): L2Claim[] {
    return this.history.at(-1) ?? [];
  }
  set(ip: string, state: L2ClaimState): void {
    this.states.set(ip, state);
    for (const listener of this.listeners) listener(ip, state);
  }
  state(ip: string): L2ClaimState | undefined {
    return this.states.get(ip);
  }
  onStateChange(listener: L2StateListener): void {
    this.listeners.push(listener);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

function otherLease(node: string, version: number, extra: Record<string, string> = {}): LivenessLease {
  return {
    metadata: {
      name: `metallb-speaker-${node}`,
      namespace: ns,
      resourceVersion: String(version),
      labels: { [LIVENESS_LABEL]: 'true', [LIVENESS_NODE_LABEL]: node },
      annotations: { [INTERFACES_ANNOTATION]: 'eth0', ...extra },
    },
    spec: { holderIdentity: node },
  };
}

const ips = Array.from({ length: 8 }, (_, i) => `198.51.100.${i + 1}`);

function setup({ withAd = true } = {}) {
  const clock = new FakeClock();
  const services = ips.map((ip, i) => service(`web-${i}`, { ingress: [ip] }));
  const caches = {
    services: new FakeCache<V1Service>(services),
    endpointSlices: new FakeCache<V1EndpointSlice>(
      services.map((s) => endpointSlice(s.metadata?.name ?? '', { ready: ['node-a'] })),
    ),
    nodes: new FakeCache<V1Node>([
      { ...nodeObject('node-a'), metadata: { name: 'node-a', uid: 'uid-a' } },
      nodeObject('node-b'),
    ]),
    pools: new FakeCache<IPAddressPool>([pool('public', { addresses: ['198.51.100.0/24'] })]),
    l2Advertisements: new FakeCache<L2Advertisement>(withAd ? [l2Ad('l2')] : []),
    bgpAdvertisements: new FakeCache<BGPAdvertisement>(),
    peers: new FakeCache<BGPPeer>(),
    bfdProfiles: new FakeCache<BFDProfile>(),
    communities: new FakeCache<Community>(),
    secrets: new FakeCache<V1Secret>(),
  };
  const leases = new FakeCache<LivenessLease & KubeObject>();
  const statuses = new FakeCache<ServiceL2Status>();
  const leaseWrites: unknown[] = [];
  let leaseExists = false;
  let refuseWrites = false;
  const leaseClient = {
    patch: async (_path: string, body: unknown) => {
      if (refuseWrites) throw new ApiError(503, 'ServiceUnavailable', 'down', undefined);
      if (!leaseExists) throw new ApiError(404, 'NotFound', 'none', undefined);
      leaseWrites.push(body);
      return body;
    },
    create: async (_path: string, body: unknown) => {
      leaseExists = true;
      leaseWrites.push(body);
      return body;
    },
    delete: async () => undefined,
  };
  const applied: ServiceL2Status[] = [];
  const deleted: string[] = [];
  const applier = {
    apply: async <T extends KubeObject>(object: T) => {
      const status = object as unknown as ServiceL2Status;
      applied.push(status);
      statuses.set({ ...(statuses.get(`${ns}/${status.metadata.name}`) ?? {}), ...status });
      return object;
    },
    applyStatus: async <T extends KubeObject>(object: T) => object,
    deleteIfExists: async (target: { name: string }) => {
      deleted.push(target.name);
      statuses.delete(`${ns}/${target.name}`);
      return true;
    },
  };
  const events: { type: string; reason: string; note: string; service: string }[] = [];
  const announcer = new FakeAnnouncer();
  let created = 0;
  const registry = new Registry();
  const layer2 = new Layer2Speaker({
    node: 'node-a',
    namespace: ns,
    ignoreExcludeLabel: false,
    caches,
    leases,
    statuses,
    leaseClient,
    applier,
    createAnnouncer: () => {
      created += 1;
      return announcer;
    },
    events: {
      event: (regarding, type, reason, _action, note) =>
        events.push({
          type,
          reason,
          note,
          service: `${(regarding as ObjectReference).namespace}/${(regarding as ObjectReference).name}`,
        }),
    },
    metrics: new SpeakerMetrics(registry),
    clock,
    upInterfaces: () => ['eth0'],
  });
  return {
    clock,
    caches,
    leases,
    statuses,
    leaseWrites,
    applied,
    deleted,
    events,
    announcer,
    layer2,
    registry,
    created: () => created,
    refuseWrites: () => {
      refuseWrites = true;
    },
  };
}

/** Lets the debounce fire and async work settle. */
async function settle(clock: FakeClock, ms = 60): Promise<void> {
  await clock.advanceAsync(ms);
  await flushMicrotasks();
}

const claimedIPs = (announcer: FakeAnnouncer) => announcer.current.map((claim) => claim.ip);

describe('layer-2 speaker', () => {
  it('starts nothing, not even a heartbeat, while no L2Advertisement exists', async () => {
    const { clock, layer2, leaseWrites, created } = setup({ withAd: false });
    layer2.start();
    await settle(clock, 2000);
    expect(created()).toBe(0);
    expect(leaseWrites).toEqual([]);
    await layer2.stop();
  });

  it('answers for every address while it is the only live speaker, probing first', async () => {
    const { clock, layer2, announcer } = setup();
    layer2.start();
    await settle(clock);
    await settle(clock);
    expect(claimedIPs(announcer)).toEqual(ips);
    expect(announcer.current.every((claim) => claim.probe && claim.interfaces.length === 0)).toBe(true);
    await layer2.stop();
  });

  it('gives addresses to a speaker that comes alive within 50 ms, and takes them back when it dies', async () => {
    const { clock, layer2, announcer, leases } = setup();
    layer2.start();
    await settle(clock);
    await settle(clock);
    leases.set(otherLease('node-b', 1));
    await settle(clock, 50);
    const shared = claimedIPs(announcer);
    expect(shared.length).toBeGreaterThan(0);
    expect(shared.length).toBeLessThan(ips.length);
    // node-b's Lease stops changing: dead after 1.2 s, and its addresses come back.
    await settle(clock, 1200);
    expect(claimedIPs(announcer)).toEqual(ips);
    const retaken = announcer.current.filter((claim) => !shared.includes(claim.ip));
    // Addresses this node never announced are probed; none was announced by node-b in this test.
    expect(retaken.every((claim) => claim.probe)).toBe(true);
    await layer2.stop();
  });

  it('skips the probe for addresses another node announced before', async () => {
    const { clock, layer2, announcer, statuses } = setup();
    statuses.set({
      apiVersion: 'metallb.io/v1beta1',
      kind: 'ServiceL2Status',
      metadata: {
        name: 'l2-node-b-x',
        namespace: ns,
        labels: { [STATUS_NODE_LABEL]: 'node-b' },
        annotations: { [ANNOUNCED_IPS_ANNOTATION]: '198.51.100.1' },
      },
      status: { node: 'node-b', serviceName: 'web-0', serviceNamespace: 'default' },
    });
    layer2.start();
    await settle(clock);
    await settle(clock);
    expect(announcer.current.find((claim) => claim.ip === '198.51.100.1')?.probe).toBe(false);
    // node-b is dead and this node answers for web-0 now: node-b's stale status goes.
    announcer.set('198.51.100.1', { phase: 'announcing', interfaces: ['eth0'] });
    await settle(clock);
    expect(statuses.get(`${ns}/l2-node-b-x`)).toBeUndefined();
    await layer2.stop();
  });

  it('writes ServiceL2Status and a nodeAssigned event once an address is announced', async () => {
    const { clock, layer2, announcer, applied, events } = setup();
    layer2.start();
    await settle(clock);
    await settle(clock);
    announcer.set('198.51.100.1', { phase: 'announcing', interfaces: ['eth0'] });
    await settle(clock);
    const name = serviceL2StatusName('node-a', { namespace: 'default', name: 'web-0' });
    expect(applied.find((status) => status.metadata.name === name)).toMatchObject({
      metadata: {
        annotations: { [ANNOUNCED_IPS_ANNOTATION]: '198.51.100.1' },
        ownerReferences: [{ kind: 'Node', name: 'node-a', uid: 'uid-a' }],
      },
      status: {
        node: 'node-a',
        serviceName: 'web-0',
        serviceNamespace: 'default',
        interfaces: [{ name: 'eth0' }],
      },
    });
    expect(events).toContainEqual({
      type: 'Normal',
      reason: 'nodeAssigned',
      service: 'default/web-0',
      note: 'announcing 198.51.100.1 from node "node-a" with protocol "layer2"',
    });
    const count = applied.length;
    announcer.set('198.51.100.1', { phase: 'announcing', interfaces: ['eth0'] });
    await settle(clock);
    expect(applied.length).toBe(count);
    await layer2.stop();
  });

  it('reports a duplicate address with a Warning event and in the status object', async () => {
    const { clock, layer2, announcer, applied, events, registry } = setup();
    layer2.start();
    await settle(clock);
    await settle(clock);
    announcer.set('198.51.100.2', { phase: 'conflict', holderMac: '02:00:00:00:00:99', interface: 'eth0' });
    await settle(clock);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'Warning', reason: 'addressConflict', service: 'default/web-1' }),
    );
    expect(applied.at(-1)?.metadata.annotations?.[CONFLICT_ANNOTATION]).toBe(
      '198.51.100.2 is already held by 02:00:00:00:00:99 on eth0',
    );
    expect(await registry.getSingleMetricAsString('metallb_layer2_address_conflicts')).toContain(
      'metallb_layer2_address_conflicts{node="node-a"} 1',
    );
    await layer2.stop();
  });

  it('stops claiming when its own heartbeat cannot be written', async () => {
    const { clock, layer2, announcer, refuseWrites } = setup();
    layer2.start();
    await settle(clock);
    await settle(clock);
    expect(claimedIPs(announcer)).toEqual(ips);
    refuseWrites();
    await settle(clock, 1300);
    expect(claimedIPs(announcer)).toEqual([]);
    await layer2.stop();
  });

  it('on handover marks its Lease leaving, waits for the others to announce, then stops answering', async () => {
    const { clock, layer2, announcer, leaseWrites, statuses } = setup();
    layer2.start();
    await settle(clock);
    await settle(clock);
    const handing = layer2.handOver();
    await flushMicrotasks();
    expect(leaseWrites.at(-1)).toMatchObject({ metadata: { annotations: { [LEAVING_ANNOTATION]: 'true' } } });
    await settle(clock, 100);
    expect(claimedIPs(announcer)).toEqual(ips);
    statuses.set({
      apiVersion: 'metallb.io/v1beta1',
      kind: 'ServiceL2Status',
      metadata: {
        name: 'l2-node-b-all',
        namespace: ns,
        labels: { [STATUS_NODE_LABEL]: 'node-b' },
        annotations: { [ANNOUNCED_IPS_ANNOTATION]: ips.join(',') },
      },
    });
    await settle(clock, 40);
    await handing;
    expect(claimedIPs(announcer)).toEqual([]);
    await layer2.stop();
    expect(announcer.closed).toBe(true);
  });

  it('on handover stops answering as soon as it hears the new owners announce, before their status', async () => {
    const { clock, layer2, announcer } = setup();
    layer2.start();
    await settle(clock);
    await settle(clock);
    const handing = layer2.handOver();
    await settle(clock, 100);
    expect(claimedIPs(announcer)).toEqual(ips);
    for (const ip of ips)
      announcer.set(ip, { phase: 'conflict', holderMac: '02:00:00:00:00:02', interface: 'eth0' });
    await settle(clock, 40);
    await handing;
    expect(claimedIPs(announcer)).toEqual([]);
    expect(clock.now()).toBeLessThan(Date.UTC(2026, 10, 25, 8, 0, 0) + 1_000);
    await layer2.stop();
  });
});
