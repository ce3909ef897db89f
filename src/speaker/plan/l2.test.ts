import { describe, expect, it } from '@jest/globals';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { Config } from '../../config/index.js';
import { configOf } from '../../../test/support/config.js';
import { endpointSlice, service } from '../../../test/support/kube-objects.js';
import { l2Ad, pool } from '../../../test/support/metallb-objects.js';
import { planNode } from '../../../test/support/speaker.js';
import { EXCLUDE_FROM_LOAD_BALANCERS_LABEL, planL2 } from './index.js';
import type { L2Plan, LiveSpeaker, PlanNode } from './index.js';

const nodes: PlanNode[] = [
  planNode('node-a', { zone: 'a' }),
  planNode('node-b', { zone: 'b' }),
  planNode('node-c', { zone: 'c' }),
];
const allUp = (names: readonly string[], interfaces: readonly string[] = ['eth0', 'eth1']): LiveSpeaker[] =>
  names.map((node) => ({ node, interfaces }));

const publicPool = pool('public', { addresses: ['198.51.100.0/24', '2001:db8:1::/120'] });
const basic = configOf({
  pools: [publicPool],
  l2Advertisements: [l2Ad('l2', { ipAddressPools: ['public'] })],
});

interface Scenario {
  config?: Config;
  node?: string;
  nodes?: PlanNode[];
  live?: LiveSpeaker[];
  resting?: LiveSpeaker[];
  services: V1Service[];
  slices?: V1EndpointSlice[];
  announcedBefore?: string[];
  ignoreExcludeLabel?: boolean;
}

function plan(scenario: Scenario): L2Plan {
  return planL2({
    config: scenario.config ?? basic,
    node: scenario.node ?? 'node-a',
    nodes: scenario.nodes ?? nodes,
    live: scenario.live ?? allUp(['node-a', 'node-b', 'node-c']),
    resting: scenario.resting ?? [],
    services: scenario.services,
    endpointSlices:
      scenario.slices ??
      scenario.services.map((s) => endpointSlice(s.metadata?.name ?? '', { ready: ['node-a'] })),
    announcedBefore: new Set(scenario.announcedBefore ?? []),
    ignoreExcludeLabel: scenario.ignoreExcludeLabel ?? false,
  });
}

/** The node every speaker would pick for the Service. */
function ownerOf(scenario: Scenario, name: string, namespace = 'default'): string | undefined {
  return plan(scenario).owners.get(`${namespace}/${name}`);
}

describe('layer-2 plan', () => {
  describe('when a speaker dies and comes back', () => {
    const services = Array.from({ length: 60 }, (_, i) =>
      service(`web-${i}`, { ingress: [`198.51.100.${i + 1}`] }),
    );
    const slices = services.map((s) => endpointSlice(s.metadata?.name ?? '', { ready: ['node-a'] }));
    const owners = (scenario: Partial<Scenario>) => plan({ services, slices, ...scenario }).owners;

    it.each(['node-a', 'node-b', 'node-c'])(
      'moves only the addresses of %s while its Lease has expired, and takes exactly those back',
      (dead) => {
        const healthy = owners({});
        const others = ['node-a', 'node-b', 'node-c'].filter((node) => node !== dead);
        const without = owners({ live: allUp(others), resting: allUp([dead]) });
        for (const [key, owner] of healthy) {
          if (owner === dead) expect(others).toContain(without.get(key));
          else expect(without.get(key)).toBe(owner);
        }
        expect(owners({ live: allUp(['node-a', 'node-b', 'node-c']), resting: [] })).toEqual(healthy);
      },
    );

    it('moves only the addresses of a node whose links are down, spreading them over the others', () => {
      const healthy = owners({});
      const cut = owners({ live: [...allUp(['node-a', 'node-c']), { node: 'node-b', interfaces: [] }] });
      const moved = [...healthy].filter(([key, owner]) => cut.get(key) !== owner);
      expect(moved.length).toBe([...healthy.values()].filter((owner) => owner === 'node-b').length);
      const taken = new Map<string, number>();
      for (const [key] of moved) taken.set(cut.get(key) ?? '', (taken.get(cut.get(key) ?? '') ?? 0) + 1);
      expect([...taken.keys()].sort()).toEqual(['node-a', 'node-c']);
    });

    it('lets a node absent from every Lease reshuffle the base placement (it was never part of it)', () => {
      const two = owners({ live: allUp(['node-a', 'node-b']) });
      for (const owner of two.values()) expect(['node-a', 'node-b']).toContain(owner);
    });
  });

  it('gives each Service exactly one answering node, the same one whichever speaker computes it', () => {
    const services = Array.from({ length: 12 }, (_, i) =>
      service(`web-${i}`, { ingress: [`198.51.100.${i + 1}`] }),
    );
    const plans = ['node-a', 'node-b', 'node-c'].map((node) => plan({ node, services }));
    expect(plans[1]?.owners).toEqual(plans[0]?.owners);
    expect(plans[2]?.owners).toEqual(plans[0]?.owners);
    const claimed = plans.flatMap((p) => p.claims.map((claim) => claim.ip)).sort();
    expect(claimed).toEqual(services.map((_, i) => `198.51.100.${i + 1}`).sort());
  });

  it('answers for both addresses of a dual-stack Service from one node', () => {
    const services = Array.from({ length: 9 }, (_, i) =>
      service(`dual-${i}`, { ingress: [`198.51.100.${i + 1}`, `2001:db8:1::${i + 1}`] }),
    );
    for (const node of ['node-a', 'node-b', 'node-c']) {
      for (const announcement of plan({ node, services }).announced) expect(announcement.ips).toHaveLength(2);
    }
  });

  it('answers for an address shared by two Services from one node', () => {
    const services = [
      service('dns-tcp', { ingress: ['198.51.100.53'] }),
      service('dns-udp', { ingress: ['198.51.100.53'] }),
    ];
    const owners = plan({ services }).owners;
    expect(owners.get('default/dns-tcp')).toBe(owners.get('default/dns-udp'));
  });

  it('claims only on the interfaces the advertisement names, and only on nodes where one is up', () => {
    const config = configOf({
      pools: [publicPool],
      l2Advertisements: [l2Ad('l2', { ipAddressPools: ['public'], interfaces: ['eth1'] })],
    });
    const live = [
      { node: 'node-a', interfaces: ['eth0', 'eth1'] },
      { node: 'node-b', interfaces: ['eth0'] },
      { node: 'node-c', interfaces: ['eth0'] },
    ];
    const services = [service('web', { ingress: ['198.51.100.10'] })];
    const result = plan({ config, live, services });
    expect(result.claims).toEqual([{ ip: '198.51.100.10', interfaces: ['eth1'], probe: true }]);
  });

  it('claims every interface when the advertisement lists none', () => {
    const result = plan({
      live: allUp(['node-a']),
      services: [service('web', { ingress: ['198.51.100.10'] })],
    });
    expect(result.claims).toEqual([{ ip: '198.51.100.10', interfaces: [], probe: true }]);
  });

  it('skips the duplicate-address probe for an address another speaker announced before', () => {
    const result = plan({
      live: allUp(['node-a']),
      services: [service('web', { ingress: ['198.51.100.10'] })],
      announcedBefore: ['198.51.100.10'],
    });
    expect(result.claims).toEqual([{ ip: '198.51.100.10', interfaces: [], probe: false }]);
  });

  it('honours nodeSelectors', () => {
    const config = configOf({
      pools: [publicPool],
      l2Advertisements: [
        l2Ad('l2', { ipAddressPools: ['public'], nodeSelectors: [{ matchLabels: { zone: 'c' } }] }),
      ],
    });
    const services = Array.from({ length: 5 }, (_, i) =>
      service(`web-${i}`, { ingress: [`198.51.100.${i + 1}`] }),
    );
    for (const s of services) expect(ownerOf({ config, services }, s.metadata?.name ?? '')).toBe('node-c');
  });

  it('leaves out excluded, network-unavailable and dead nodes', () => {
    const services = Array.from({ length: 6 }, (_, i) =>
      service(`web-${i}`, { ingress: [`198.51.100.${i + 1}`] }),
    );
    const scenario: Scenario = {
      nodes: [
        planNode('node-a', { [EXCLUDE_FROM_LOAD_BALANCERS_LABEL]: '' }),
        planNode('node-b', {}, true),
        planNode('node-c'),
        planNode('node-d'),
      ],
      live: allUp(['node-a', 'node-b', 'node-c']),
      services,
    };
    for (const s of services) expect(ownerOf(scenario, s.metadata?.name ?? '')).toBe('node-c');
    const ignoring = { ...scenario, ignoreExcludeLabel: true };
    const owners = new Set(services.map((s) => ownerOf(ignoring, s.metadata?.name ?? '')));
    expect([...owners].sort()).toEqual(['node-a', 'node-c']);
  });

  it('with externalTrafficPolicy Local answers only from a node with a ready endpoint', () => {
    const services = Array.from({ length: 6 }, (_, i) =>
      service(`web-${i}`, { ingress: [`198.51.100.${i + 1}`], local: true }),
    );
    const slices = services.map((s) =>
      endpointSlice(s.metadata?.name ?? '', { ready: ['node-b'], notReady: ['node-c'] }),
    );
    for (const s of services) expect(ownerOf({ services, slices }, s.metadata?.name ?? '')).toBe('node-b');
  });

  it('says why a Service is not answered for', () => {
    const config = configOf({
      pools: [publicPool, pool('bgp-only', { addresses: ['203.0.113.0/24'] })],
      l2Advertisements: [
        l2Ad('l2', { ipAddressPools: ['public'], serviceSelectors: [{ matchLabels: { l2: 'yes' } }] }),
      ],
    });
    const services = [
      service('pending', { ingress: [] }),
      service('unselected', { ingress: ['198.51.100.1'] }),
      service('bgp', { ingress: ['203.0.113.1'] }),
      service('no-endpoints', { ingress: ['198.51.100.2'], labels: { l2: 'yes' } }),
      service('local-elsewhere', { ingress: ['198.51.100.3'], labels: { l2: 'yes' }, local: true }),
    ];
    const slices = [endpointSlice('local-elsewhere', { ready: ['node-z'] })];
    const codes = Object.fromEntries(
      plan({ config, services, slices }).withheld.map((n) => [n.service.name, n.code]),
    );
    expect(codes).toEqual({
      pending: 'noIPAllocated',
      unselected: 'noMatchingAdvertisement',
      'no-endpoints': 'noEndpoints',
      'local-elsewhere': 'noLocalEndpoints',
    });
  });

  it('names the answering node to the others', () => {
    const services = [service('web', { ingress: ['198.51.100.10'] })];
    const owner = ownerOf({ services }, 'web');
    const other = ['node-a', 'node-b', 'node-c'].find((n) => n !== owner) as string;
    expect(plan({ node: other, services }).withheld).toEqual([
      {
        service: { namespace: 'default', name: 'web' },
        code: 'notOwner',
        reason: `node "${owner}" answers for its addresses`,
      },
    ]);
  });

  it('claims nothing while its own heartbeat is not current', () => {
    const result = plan({
      live: allUp(['node-b']),
      services: [service('web', { ingress: ['198.51.100.10'] })],
    });
    expect(result.notLive).toBe(true);
    expect(result.claims).toEqual([]);
    expect(result.owners.get('default/web')).toBe('node-b');
  });

  it('prefers the nodes of the highest preferredNodeSelectors weight', () => {
    const config = configOf({
      pools: [publicPool],
      l2Advertisements: [
        l2Ad('l2', {
          ipAddressPools: ['public'],
          preferredNodeSelectors: [{ weight: 10, preference: { matchLabels: { zone: 'b' } } }],
        }),
      ],
    });
    const services = Array.from({ length: 5 }, (_, i) =>
      service(`web-${i}`, { ingress: [`198.51.100.${i + 1}`] }),
    );
    for (const s of services) expect(ownerOf({ config, services }, s.metadata?.name ?? '')).toBe('node-b');
  });
});
