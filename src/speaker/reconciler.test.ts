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
  ServiceBGPStatus,
} from '../api/types.generated.js';
import type { EventType, ObjectReference } from '../runtime/events.js';
import type { KubeObject } from '../runtime/kube-object.js';
import { FakeCache } from '../../test/support/fake-cache.js';
import { SpeakerMetrics } from './metrics.js';
import { NodeReconciler, type SpeakerCaches } from './reconciler.js';
import { serviceBgpStatusName } from './status.js';
import {
  basicAuthSecret,
  endpointSlice,
  node as nodeObject,
  service,
} from '../../test/support/kube-objects.js';
import { bgpAd, ns, peer, pool } from '../../test/support/metallb-objects.js';

interface RecordedEvent {
  readonly regarding: string;
  readonly type: EventType;
  readonly reason: string;
  readonly note: string;
}

function setup({ statusesSynced = true, ...options }: { lbClass?: string; statusesSynced?: boolean } = {}) {
  const node: V1Node = {
    ...nodeObject('node-1', { zone: 'a' }),
    metadata: { name: 'node-1', uid: 'uid-node-1', labels: { zone: 'a' } },
  };
  const caches = {
    services: new FakeCache<V1Service>([
      service('web', { ingress: ['198.51.100.10'], pool: 'public' }),
      {
        ...service('other-class', { ingress: ['198.51.100.11'], pool: 'public' }),
        spec: { type: 'LoadBalancer', loadBalancerClass: 'example.com/other' },
      },
    ]),
    endpointSlices: new FakeCache<V1EndpointSlice>([
      endpointSlice('web', { ready: ['node-1'] }),
      endpointSlice('other-class', { ready: ['node-1'] }),
    ]),
    nodes: new FakeCache<V1Node>([node]),
    pools: new FakeCache<IPAddressPool>([pool('public', { addresses: ['198.51.100.0/24'] })]),
    l2Advertisements: new FakeCache<L2Advertisement>(),
    bgpAdvertisements: new FakeCache<BGPAdvertisement>([bgpAd('all', { ipAddressPools: ['public'] })]),
    peers: new FakeCache<BGPPeer>([
      peer('router', { passwordSecret: { name: 'router-password', namespace: ns } }),
    ]),
    bfdProfiles: new FakeCache<BFDProfile>(),
    communities: new FakeCache<Community>(),
    secrets: new FakeCache<V1Secret>([basicAuthSecret('router-password', 'not-for-logs')]),
    statuses: new FakeCache<ServiceBGPStatus>([], statusesSynced),
  } satisfies SpeakerCaches;
  const desiredTexts: string[] = [];
  const synced: Map<string, ServiceBGPStatus>[] = [];
  const events: RecordedEvent[] = [];
  const registry = new Registry();
  const reconciler = new NodeReconciler({
    node: 'node-1',
    namespace: ns,
    ...options,
    caches,
    frr: { setDesired: (text) => desiredTexts.push(text) },
    statusWriter: {
      sync: async (desired) => {
        synced.push(new Map(desired));
      },
    },
    events: {
      event: (
        regarding: KubeObject | ObjectReference,
        type: EventType,
        reason: string,
        _action: string,
        note: string,
      ) => {
        const ref = regarding as ObjectReference;
        events.push({ regarding: `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`, type, reason, note });
      },
    },
    metrics: new SpeakerMetrics(registry),
  });
  return { caches, reconciler, desiredTexts, synced, events, registry };
}

describe('the speaker reconcile', () => {
  it("renders the node's frr.conf, writes ServiceBGPStatus, sets metrics and reports each decision once", async () => {
    const { reconciler, desiredTexts, synced, events, registry } = setup();
    await reconciler.reconcile();
    expect(desiredTexts).toHaveLength(1);
    const text = desiredTexts[0] as string;
    expect(text).toContain('router bgp 64512');
    expect(text).toContain('neighbor 192.0.2.254 remote-as 64513');
    expect(text).toContain('neighbor 192.0.2.254 password not-for-logs');
    expect(text).toContain('network 198.51.100.10/32');
    expect(text).not.toContain('198.51.100.11');
    expect(text).toContain('hostname node-1');

    const statuses = synced[0] as Map<string, ServiceBGPStatus>;
    expect([...statuses.keys()]).toEqual([
      serviceBgpStatusName('node-1', { namespace: 'default', name: 'web' }),
    ]);
    expect([...statuses.values()][0]?.status).toEqual({
      node: 'node-1',
      serviceName: 'web',
      serviceNamespace: 'default',
      peers: ['router'],
    });
    expect([...statuses.values()][0]?.metadata.ownerReferences?.[0]?.uid).toBe('uid-node-1');

    expect(reconciler.configuredSessions()).toEqual([
      { peer: 'router', vrf: 'default', neighbor: '192.0.2.254', port: 179, bfd: false },
    ]);
    const metrics = await registry.metrics();
    expect(metrics).toContain(
      'metallb_speaker_announced{node="node-1",service="default/web",protocol="bgp",ip="198.51.100.10"} 1',
    );
    expect(metrics).toContain('metallb_k8s_client_config_loaded_bool 1');
    expect(metrics).toContain('metallb_k8s_client_config_stale_bool 0');
    expect(events).toEqual([
      {
        regarding: 'Service/default/web',
        type: 'Normal',
        reason: 'nodeAssigned',
        note: 'announcing from node "node-1" with protocol "bgp"',
      },
    ]);

    await reconciler.reconcile();
    expect(events).toHaveLength(1);
    expect(desiredTexts[1]).toBe(text);
  });

  it('serves the Services of its loadBalancerClass only', async () => {
    const { reconciler, desiredTexts } = setup({ lbClass: 'example.com/other' });
    await reconciler.reconcile();
    expect(desiredTexts[0]).toContain('network 198.51.100.11/32');
    expect(desiredTexts[0]).not.toContain('198.51.100.10/');
  });

  it('keeps the last valid configuration when the current one is invalid, and says so once', async () => {
    const { caches, reconciler, desiredTexts, events, registry } = setup();
    await reconciler.reconcile();
    caches.secrets.delete(`${ns}/router-password`);
    await reconciler.reconcile();
    await reconciler.reconcile();
    expect(desiredTexts).toHaveLength(3);
    expect(desiredTexts[2]).toBe(desiredTexts[0]);
    const stale = events.filter((event) => event.reason === 'ConfigStale');
    expect(stale).toHaveLength(1);
    expect(stale[0]).toMatchObject({ regarding: 'Node//node-1', type: 'Warning' });
    expect(stale[0]?.note).toContain('keeping the last valid configuration');
    expect(stale[0]?.note).not.toContain('not-for-logs');
    expect(await registry.metrics()).toContain('metallb_k8s_client_config_stale_bool 1');
  });

  it('announces without writing ServiceBGPStatus while those objects are not listed (no CRD yet)', async () => {
    const { reconciler, desiredTexts, synced } = setup({ statusesSynced: false });
    await reconciler.reconcile();
    expect(desiredTexts[0]).toContain('network 198.51.100.10/32');
    expect(synced).toEqual([]);
  });

  it('leaves FRR alone while the configuration has never been valid', async () => {
    const { caches, reconciler, desiredTexts, synced } = setup();
    caches.secrets.delete(`${ns}/router-password`);
    await reconciler.reconcile();
    expect(desiredTexts).toEqual([]);
    expect(synced).toEqual([]);
    expect(reconciler.hasConfig()).toBe(false);
  });

  it('withdraws from a node labelled exclude-from-external-load-balancers and says why on the Node', async () => {
    const { caches, reconciler, desiredTexts, events, synced } = setup();
    caches.nodes.set({
      metadata: {
        name: 'node-1',
        uid: 'uid-node-1',
        labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' },
      },
    });
    await reconciler.reconcile();
    expect(desiredTexts[0]).not.toContain('network 198.51.100.10/32');
    expect(desiredTexts[0]).toContain('neighbor 192.0.2.254 remote-as 64513');
    expect(events).toEqual([
      expect.objectContaining({ regarding: 'Node//node-1', reason: 'nodeLabeledExcludeBalancers' }),
    ]);
    expect(synced[0]?.size).toBe(0);
  });
});
