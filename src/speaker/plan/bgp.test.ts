import { describe, expect, it } from '@jest/globals';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { Config, ConfigInput } from '../../config/index.js';
import { formatCidr } from '../../net/ip.js';
import { EXCLUDE_FROM_LOAD_BALANCERS_LABEL, planBgp, planNodeFromObject } from './index.js';
import type { BgpPlan, PlanNode } from './index.js';
import { configOf } from '../../../test/support/config.js';
import { endpointSlice, node as nodeObject, service } from '../../../test/support/kube-objects.js';
import { bgpAd, community, peer, pool } from '../../../test/support/metallb-objects.js';
import { planNode } from '../../../test/support/speaker.js';

const worker0 = planNode('worker-0', { 'node-role.kubernetes.io/worker': '' });
const worker1 = planNode('worker-1', { 'node-role.kubernetes.io/worker': '' });
const publicPool = pool('public', { addresses: ['198.51.100.0/24'] });

function plan(
  config: Config,
  node: PlanNode,
  services: readonly V1Service[],
  endpointSlices: readonly V1EndpointSlice[],
  ignoreExcludeLabel = false,
): BgpPlan {
  return planBgp({ config, node, services, endpointSlices, ignoreExcludeLabel });
}

/** peer name → announced prefixes with their attributes, in the plan's order. */
function routesOf(result: BgpPlan): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const vrf of result.vrfs) {
    for (const peerPlan of vrf.peers) {
      out[peerPlan.peer] = peerPlan.routes.map((route) =>
        [
          formatCidr(route.prefix),
          ...(route.localPref !== undefined ? [`lp=${route.localPref}`] : []),
          ...route.communities.map((c) => c.text),
        ].join(' '),
      );
    }
  }
  return out;
}

function noticesOf(list: BgpPlan['withheld']): string[] {
  return list.map((notice) => `${notice.service.namespace}/${notice.service.name}: ${notice.code}`);
}

function simpleConfig(extra: Partial<Omit<ConfigInput, 'metallbNamespace'>> = {}): Config {
  return configOf({
    pools: [publicPool],
    peers: [peer('tor', {})],
    bgpAdvertisements: [bgpAd('all')],
    ...extra,
  });
}

const web = service('web', { ingress: ['198.51.100.10'], pool: 'public' });
const webLocal = service('web', { ingress: ['198.51.100.10'], pool: 'public', local: true });

describe('externalTrafficPolicy', () => {
  it('announces a Local service only from nodes with a ready endpoint', () => {
    const config = simpleConfig();
    const slices = [endpointSlice('web', { ready: ['worker-0'], notReady: ['worker-1'] })];
    expect(routesOf(plan(config, worker0, [webLocal], slices))).toEqual({ tor: ['198.51.100.10/32'] });
    const fromWorker1 = plan(config, worker1, [webLocal], slices);
    expect(routesOf(fromWorker1)).toEqual({ tor: [] });
    expect(fromWorker1.withheld).toEqual([
      {
        service: { namespace: 'default', name: 'web' },
        code: 'noLocalEndpoints',
        reason: 'externalTrafficPolicy is Local and no ready endpoint runs on node worker-1',
      },
    ]);
    expect(fromWorker1.announced).toEqual([]);
  });

  it('moves the announcement with the endpoints when a Local service is scaled', () => {
    const config = simpleConfig();
    const before = [endpointSlice('web', { ready: ['worker-0'] })];
    const after = [endpointSlice('web', { ready: ['worker-1'] })];
    const announcing = (slices: V1EndpointSlice[]) =>
      [worker0, worker1]
        .filter((node) => plan(config, node, [webLocal], slices).announced.length > 0)
        .map((n) => n.name);
    expect(announcing(before)).toEqual(['worker-0']);
    expect(announcing(after)).toEqual(['worker-1']);
    expect(announcing([...before, endpointSlice('web', { ready: ['worker-1'] })])).toEqual([
      'worker-0',
      'worker-1',
    ]);
    expect(announcing([])).toEqual([]);
  });

  it('counts a terminating endpoint that still serves, and not one that is neither ready nor serving', () => {
    const config = simpleConfig();
    const slice = endpointSlice('web', {});
    const terminating: V1EndpointSlice = {
      ...slice,
      endpoints: [
        {
          addresses: ['203.0.113.201'],
          nodeName: 'worker-0',
          conditions: { ready: false, serving: true, terminating: true },
        },
        { addresses: ['203.0.113.202'], nodeName: 'worker-1', conditions: { ready: false } },
      ],
    };
    expect(plan(config, worker0, [webLocal], [terminating]).announced).toHaveLength(1);
    expect(plan(config, worker1, [webLocal], [terminating]).announced).toEqual([]);
  });

  it('announces a Cluster service from every eligible node, wherever its endpoints run', () => {
    const config = simpleConfig();
    const slices = [endpointSlice('web', { ready: ['worker-5'] })];
    for (const node of [worker0, worker1]) {
      expect(routesOf(plan(config, node, [web], slices))).toEqual({ tor: ['198.51.100.10/32'] });
    }
  });

  it('withholds a Cluster service that has no ready endpoint at all', () => {
    const config = simpleConfig();
    const result = plan(config, worker0, [web], [endpointSlice('web', { notReady: ['worker-0'] })]);
    expect(noticesOf(result.withheld)).toEqual(['default/web: noEndpoints']);
    expect(routesOf(result)).toEqual({ tor: [] });
  });

  it('matches endpoint slices to services by namespace as well as name', () => {
    const config = simpleConfig();
    const slices = [endpointSlice('web', { ready: ['worker-0'], namespace: 'other' })];
    expect(noticesOf(plan(config, worker0, [webLocal], slices).withheld)).toEqual([
      'default/web: noLocalEndpoints',
    ]);
  });
});

describe('the node itself', () => {
  const slices = [endpointSlice('web', { ready: ['worker-0'] })];

  it('runs sessions only with peers whose nodeSelectors pick the node', () => {
    const config = configOf({
      pools: [publicPool],
      peers: [
        peer('everywhere', {}),
        peer('workers', {
          peerAddress: '192.0.2.253',
          nodeSelectors: [{ matchLabels: { 'node-role.kubernetes.io/worker': '' } }],
        }),
        peer('edge', {
          peerAddress: '192.0.2.252',
          nodeSelectors: [{ matchLabels: { 'example.com/edge': 'true' } }],
        }),
      ],
      bgpAdvertisements: [bgpAd('all')],
    });
    const result = plan(config, worker0, [web], slices);
    expect(routesOf(result)).toEqual({ everywhere: ['198.51.100.10/32'], workers: ['198.51.100.10/32'] });
    expect(result.announced).toEqual([
      { service: { namespace: 'default', name: 'web' }, peers: ['everywhere', 'workers'] },
    ]);
    expect(routesOf(plan(config, planNode('plain'), [web], slices))).toEqual({
      everywhere: ['198.51.100.10/32'],
    });
  });

  it('announces nothing from a node labelled exclude-from-external-load-balancers, but keeps its sessions', () => {
    const config = simpleConfig();
    const excluded = planNode('worker-0', { [EXCLUDE_FROM_LOAD_BALANCERS_LABEL]: '' });
    const result = plan(config, excluded, [web], slices);
    expect(result.excluded?.code).toBe('nodeLabeledExcludeBalancers');
    expect(routesOf(result)).toEqual({ tor: [] });
    expect(result.announced).toEqual([]);
    expect(routesOf(plan(config, excluded, [web], slices, true))).toEqual({ tor: ['198.51.100.10/32'] });
  });

  it('announces nothing from a node whose network is unavailable', () => {
    const config = simpleConfig();
    const node = planNodeFromObject({
      ...nodeObject('worker-0'),
      status: { conditions: [{ type: 'NetworkUnavailable', status: 'True' }] },
    });
    const result = plan(config, node, [web], slices, true);
    expect(result.excluded).toEqual({
      code: 'nodeNetworkUnavailable',
      reason:
        'node worker-0 has the condition NetworkUnavailable=True, so it announces nothing until its network is ready',
    });
    expect(routesOf(result)).toEqual({ tor: [] });
    const recovered = planNodeFromObject({
      ...nodeObject('worker-0'),
      status: { conditions: [{ type: 'NetworkUnavailable', status: 'False' }] },
    });
    expect(routesOf(plan(config, recovered, [web], slices))).toEqual({ tor: ['198.51.100.10/32'] });
  });

  it('leaves out a peer whose AS number contradicts an earlier peer on the same node, naming both', () => {
    // Valid when built (no known node had both labels), contradictory once a node gets both.
    const config = configOf({
      pools: [publicPool],
      nodes: [nodeObject('a', { rackA: 'yes' }), nodeObject('b', { rackB: 'yes' })],
      peers: [
        peer('rack-a', { nodeSelectors: [{ matchExpressions: [{ key: 'rackA', operator: 'Exists' }] }] }),
        peer('rack-b', {
          myASN: 64600,
          peerAddress: '192.0.2.253',
          nodeSelectors: [{ matchExpressions: [{ key: 'rackB', operator: 'Exists' }] }],
        }),
      ],
      bgpAdvertisements: [bgpAd('all')],
    });
    const relabelled = plan(config, planNode('a', { rackA: 'yes', rackB: 'yes' }), [web], slices);
    expect(relabelled.skippedPeers).toEqual([
      {
        peer: 'rack-b',
        reason:
          'its myASN 64600 differs from myASN 64512 of BGPPeer "rack-a", which also selects node a in the default VRF; FRR runs one BGP instance per VRF, so such peers need the same myASN',
      },
    ]);
    expect(routesOf(relabelled)).toEqual({ 'rack-a': ['198.51.100.10/32'] });
  });
});

describe('advertisements', () => {
  const slices = [endpointSlice('web', { ready: ['worker-0'] })];

  it('announce only from the nodes their nodeSelectors pick', () => {
    const config = simpleConfig({
      bgpAdvertisements: [
        bgpAd('edge', { nodeSelectors: [{ matchLabels: { 'example.com/edge': 'true' } }] }),
      ],
    });
    const result = plan(config, worker0, [web], slices);
    expect(noticesOf(result.withheld)).toEqual(['default/web: notOwner']);
    expect(routesOf(result)).toEqual({ tor: [] });
    const edge = planNode('edge-0', { 'example.com/edge': 'true' });
    expect(routesOf(plan(config, edge, [web], slices))).toEqual({ tor: ['198.51.100.10/32'] });
  });

  it('announce only the services their serviceSelectors pick', () => {
    const config = simpleConfig({
      bgpAdvertisements: [bgpAd('gold', { serviceSelectors: [{ matchLabels: { tier: 'gold' } }] })],
    });
    const gold = service('gold', { ingress: ['198.51.100.11'], labels: { tier: 'gold' } });
    const result = plan(
      config,
      worker0,
      [web, gold],
      [...slices, endpointSlice('gold', { ready: ['worker-0'] })],
    );
    expect(routesOf(result)).toEqual({ tor: ['198.51.100.11/32'] });
    expect(noticesOf(result.withheld)).toEqual(['default/web: noMatchingAdvertisement']);
  });

  it('announce only to the peers they name, every peer when they name none', () => {
    const config = configOf({
      pools: [publicPool, pool('internal', { addresses: ['203.0.113.0/28'] })],
      peers: [peer('tor-a', {}), peer('tor-b', { peerAddress: '192.0.2.253' })],
      bgpAdvertisements: [
        bgpAd('public-to-all', { ipAddressPools: ['public'] }),
        bgpAd('internal-to-b', { ipAddressPools: ['internal'], peers: ['tor-b'] }),
      ],
    });
    const db = service('db', { ingress: ['203.0.113.5'] });
    const result = plan(
      config,
      worker0,
      [web, db],
      [...slices, endpointSlice('db', { ready: ['worker-0'] })],
    );
    expect(routesOf(result)).toEqual({
      'tor-a': ['198.51.100.10/32'],
      'tor-b': ['198.51.100.10/32', '203.0.113.5/32'],
    });
    expect(result.announced).toEqual([
      { service: { namespace: 'default', name: 'db' }, peers: ['tor-b'] },
      { service: { namespace: 'default', name: 'web' }, peers: ['tor-a', 'tor-b'] },
    ]);
  });

  it('aggregate addresses to aggregationLength and announce each prefix once', () => {
    const config = configOf({
      pools: [publicPool, pool('v6', { addresses: ['2001:db8:1::/64'] })],
      peers: [peer('tor', { dualStackAddressFamily: true })],
      bgpAdvertisements: [
        bgpAd('aggregated', { aggregationLength: 24, aggregationLengthV6: 64 }),
        bgpAd('hosts', { communities: ['64512:1'] }),
      ],
    });
    const services = [
      service('a', { ingress: ['198.51.100.10'] }),
      service('b', { ingress: ['198.51.100.200'] }),
      service('c', { ingress: ['2001:db8:1::7'] }),
    ];
    const endpoints = ['a', 'b', 'c'].map((name) => endpointSlice(name, { ready: ['worker-0'] }));
    expect(routesOf(plan(config, worker0, services, endpoints))).toEqual({
      tor: [
        '198.51.100.0/24',
        '198.51.100.10/32 64512:1',
        '198.51.100.200/32 64512:1',
        '2001:db8:1::/64',
        '2001:db8:1::7/128 64512:1',
      ],
    });
  });

  it('send LOCAL_PREF to iBGP peers only', () => {
    const config = configOf({
      pools: [publicPool],
      peers: [
        peer('ibgp', { peerASN: 64512 }),
        peer('ebgp', { peerAddress: '192.0.2.253' }),
        peer('internal', { peerAddress: '192.0.2.252', peerASN: undefined, dynamicASN: 'internal' }),
      ],
      bgpAdvertisements: [bgpAd('preferred', { localPref: 300 })],
    });
    expect(routesOf(plan(config, worker0, [web], slices))).toEqual({
      ebgp: ['198.51.100.10/32'],
      ibgp: ['198.51.100.10/32 lp=300'],
      internal: ['198.51.100.10/32 lp=300'],
    });
  });

  it('merge the communities of every advertisement that announces a prefix, aliases resolved', () => {
    const config = configOf({
      pools: [publicPool],
      peers: [peer('tor', {})],
      communities: [community('names', { communities: [{ name: 'east', value: 'large:64512:1:100' }] })],
      bgpAdvertisements: [
        bgpAd('one', { communities: ['64512:300', 'east'] }),
        bgpAd('two', {
          communities: ['64512:20', '64512:300'],
          nodeSelectors: [{ matchLabels: { 'node-role.kubernetes.io/worker': '' } }],
        }),
      ],
    });
    expect(routesOf(plan(config, worker0, [web], slices))).toEqual({
      tor: ['198.51.100.10/32 64512:20 64512:300 large:64512:1:100'],
    });
  });
});

describe('services', () => {
  const config = simpleConfig();

  it('ignores Services that are not of type LoadBalancer', () => {
    const clusterIP: V1Service = { ...web, spec: { ...web.spec, type: 'ClusterIP' } };
    const result = plan(config, worker0, [clusterIP], []);
    expect([result.announced, result.withheld, result.refused]).toEqual([[], [], []]);
  });

  it('withholds a service the controller has not given an IP yet', () => {
    const pending = service('pending', { ingress: [] });
    expect(noticesOf(plan(config, worker0, [pending], []).withheld)).toEqual([
      'default/pending: noIPAllocated',
    ]);
  });

  it('withholds a service whose IP is in no pool, whatever its annotation says', () => {
    const stray = service('stray', { ingress: ['203.0.113.9'], pool: 'public' });
    expect(
      plan(config, worker0, [stray], [endpointSlice('stray', { ready: ['worker-0'] })]).withheld,
    ).toEqual([
      {
        service: { namespace: 'default', name: 'stray' },
        code: 'ipNotAllowed',
        reason: '203.0.113.9 is in no IPAddressPool, so it is not announced',
      },
    ]);
  });

  it('finds the pool by address when the annotation is missing or stale', () => {
    const config2 = configOf({
      pools: [publicPool, pool('other', { addresses: ['203.0.113.0/28'] })],
      peers: [peer('tor', {})],
      bgpAdvertisements: [bgpAd('other-only', { ipAddressPools: ['other'] })],
    });
    const stale = service('db', { ingress: ['203.0.113.5'], pool: 'public' });
    expect(routesOf(plan(config2, worker0, [stale], [endpointSlice('db', { ready: ['worker-0'] })]))).toEqual(
      {
        tor: ['203.0.113.5/32'],
      },
    );
  });

  it('leaves services of pools without BGPAdvertisements to L2, without a notice', () => {
    const config2 = configOf({ pools: [publicPool], peers: [peer('tor', {})] });
    const result = plan(config2, worker0, [web], [endpointSlice('web', { ready: ['worker-0'] })]);
    expect([result.announced, result.withheld, result.refused]).toEqual([[], [], []]);
  });
});

describe('conflicting advertisements', () => {
  const gold = { tier: 'gold' };
  const selectGold = [{ matchLabels: gold }];
  const slices = [
    endpointSlice('web', { ready: ['worker-0'] }),
    endpointSlice('api', { ready: ['worker-0'] }),
  ];

  it('refuses, whole, a service that two advertisements send with different LOCAL_PREFs', () => {
    // serviceSelectors keep the webhook from judging these two, so the speaker must.
    const config = configOf({
      pools: [publicPool],
      peers: [peer('tor', { peerASN: 64512 })],
      bgpAdvertisements: [
        bgpAd('gold-100', { localPref: 100, serviceSelectors: selectGold }),
        bgpAd('gold-200', { localPref: 200, serviceSelectors: selectGold }),
        bgpAd('everyone', { localPref: 100, communities: ['64512:1'] }),
      ],
    });
    const goldWeb = service('web', { ingress: ['198.51.100.10'], labels: gold });
    const api = service('api', { ingress: ['198.51.100.11'] });
    const result = plan(config, worker0, [goldWeb, api], slices);
    expect(result.refused).toEqual([
      {
        service: { namespace: 'default', name: 'web' },
        code: 'conflictingAdvertisements',
        reason:
          'BGPAdvertisements "everyone" (localPref 100) and "gold-200" (localPref 200) both announce 198.51.100.10 as 198.51.100.10/32 to the same peers, and a route carries one LOCAL_PREF; give them the same localPref, or make them differ in aggregation length, peers, nodeSelectors or serviceSelectors',
      },
    ]);
    expect(routesOf(result)).toEqual({ tor: ['198.51.100.11/32 lp=100 64512:1'] });
    expect(result.announced.map((a) => a.service.name)).toEqual(['api']);
  });

  it('accepts different LOCAL_PREFs for different peers', () => {
    const config = configOf({
      pools: [publicPool],
      peers: [peer('rr-a', { peerASN: 64512 }), peer('rr-b', { peerASN: 64512, peerAddress: '192.0.2.253' })],
      bgpAdvertisements: [
        bgpAd('to-a', { localPref: 100, peers: ['rr-a'], serviceSelectors: selectGold }),
        bgpAd('to-b', { localPref: 200, peers: ['rr-b'], serviceSelectors: selectGold }),
      ],
    });
    const goldWeb = service('web', { ingress: ['198.51.100.10'], labels: gold });
    const result = plan(config, worker0, [goldWeb], slices);
    expect(result.refused).toEqual([]);
    expect(routesOf(result)).toEqual({
      'rr-a': ['198.51.100.10/32 lp=100'],
      'rr-b': ['198.51.100.10/32 lp=200'],
    });
  });

  it('refuses the later of two services sharing an IP that would carry different LOCAL_PREFs', () => {
    const config = configOf({
      pools: [publicPool],
      peers: [peer('rr', { peerASN: 64512 })],
      bgpAdvertisements: [
        bgpAd('gold', { localPref: 200, serviceSelectors: selectGold }),
        bgpAd('silver', { localPref: 100, serviceSelectors: [{ matchLabels: { tier: 'silver' } }] }),
      ],
    });
    const a = service('api', { ingress: ['198.51.100.10'], labels: gold });
    const b = service('web', { ingress: ['198.51.100.10'], labels: { tier: 'silver' } });
    const result = plan(config, worker0, [b, a], slices);
    expect(result.refused).toEqual([
      {
        service: { namespace: 'default', name: 'web' },
        code: 'conflictingAdvertisements',
        reason:
          'its advertisements send 198.51.100.10/32 to BGPPeer "rr" with localPref 100, but Service default/api sends the same route with localPref 200, and a route carries one LOCAL_PREF; align the localPref of the BGPAdvertisements that select the two Services',
      },
    ]);
    expect(routesOf(result)).toEqual({ rr: ['198.51.100.10/32 lp=200'] });
  });
});
