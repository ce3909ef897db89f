import { describe, expect, it } from '@jest/globals';
import { configOf, findingsOf, problemsOf, warningFindingsOf } from '../../test/support/config.js';
import { node } from '../../test/support/kube-objects.js';
import { bfd, bgpAd, l2Ad, peer, pool } from '../../test/support/metallb-objects.js';

const pools = [
  pool('web', { addresses: ['192.0.2.0/24'] }, { labels: { tier: 'web' } }),
  pool('db', { addresses: ['198.51.100.0/26', '2001:db8:1::/64'] }, { labels: { tier: 'db' } }),
];

describe('L2Advertisement', () => {
  const where = 'L2Advertisement/metallb-system/l2';

  it('announces every pool when it names none and selects none', () => {
    const config = configOf({ pools, l2Advertisements: [l2Ad('l2', {})] });
    expect(config.l2Advertisements.get('l2')).toMatchObject({
      pools: ['db', 'web'],
      interfaces: [],
      nodeSelectors: [],
    });
    expect(config.pools.get('web')?.l2Advertisements).toEqual(['l2']);
  });

  it('announces the pools it names plus those its selectors match', () => {
    const config = configOf({
      pools: [...pools, pool('other', { addresses: ['203.0.113.0/28'] })],
      l2Advertisements: [
        l2Ad('l2', { ipAddressPools: ['other'], ipAddressPoolSelectors: [{ matchLabels: { tier: 'db' } }] }),
      ],
    });
    expect(config.l2Advertisements.get('l2')?.pools).toEqual(['db', 'other']);
  });

  it('resolves nodes, interfaces and preferred nodes', () => {
    const config = configOf({
      pools,
      nodes: [node('n1', { zone: 'a' }), node('n2', { zone: 'b' })],
      l2Advertisements: [
        l2Ad('l2', {
          nodeSelectors: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }],
          interfaces: ['eth1'],
          preferredNodeSelectors: [{ weight: 50, preference: { matchLabels: { zone: 'a' } } }],
        }),
      ],
    });
    expect(config.l2Advertisements.get('l2')).toMatchObject({
      nodes: ['n1'],
      interfaces: ['eth1'],
      preferredNodes: [
        { weight: 50, selector: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
      ],
    });
  });

  it('rejects a pool named twice', () => {
    expect(
      problemsOf({ pools, l2Advertisements: [l2Ad('l2', { ipAddressPools: ['web', 'db', 'web'] })] }),
    ).toEqual([
      `${where}: spec.ipAddressPools[2]: IPAddressPool "web" is already listed at ipAddressPools[0]; list it once`,
    ]);
  });

  it.each(['ipAddressPoolSelectors', 'nodeSelectors', 'serviceSelectors'] as const)(
    'rejects a repeated %s entry',
    (field) => {
      const selector = { matchLabels: { tier: 'web' } };
      expect(
        problemsOf({ pools, l2Advertisements: [l2Ad('l2', { [field]: [selector, selector] })] }),
      ).toEqual([`${where}: spec.${field}[1]: selects the same as ${field}[0]; list each selector once`]);
    },
  );

  it('rejects an invalid preferred node selector', () => {
    const l2 = l2Ad('l2', {
      preferredNodeSelectors: [
        { weight: 10, preference: { matchExpressions: [{ key: 'zone', operator: 'in', values: ['a'] }] } },
      ],
    });
    expect(findingsOf({ pools, l2Advertisements: [l2] })).toEqual([
      'selector.invalidOperator L2Advertisement/metallb-system/l2 spec.preferredNodeSelectors[0].preference.matchExpressions[0].operator',
    ]);
  });

  it('warns about a pool that does not exist, without rejecting', () => {
    const input = { pools, l2Advertisements: [l2Ad('l2', { ipAddressPools: ['ghost'] })] };
    expect(problemsOf(input)).toEqual([]);
    expect(warningFindingsOf(input)).toEqual([
      'ad.poolMissing L2Advertisement/metallb-system/l2 spec.ipAddressPools[0]',
    ]);
  });
});

describe('BGPAdvertisement on its own', () => {
  it('defaults aggregation to the address itself and reads localPref 0 as unset', () => {
    const config = configOf({ pools, bgpAdvertisements: [bgpAd('ad', { localPref: 0 })] });
    const ad = config.bgpAdvertisements.get('ad');
    expect(ad).toMatchObject({
      aggregationLength: 32,
      aggregationLengthV6: 128,
      peers: [],
      pools: ['db', 'web'],
    });
    expect(ad?.localPref).toBeUndefined();
  });

  it('rejects a peer named twice', () => {
    expect(
      findingsOf({
        pools,
        peers: [peer('r1', {})],
        bgpAdvertisements: [bgpAd('ad', { peers: ['r1', 'r1'] })],
      }),
    ).toEqual(['list.duplicate BGPAdvertisement/metallb-system/ad spec.peers[1]']);
  });

  it('warns about a peer that does not exist, without rejecting', () => {
    const input = { pools, bgpAdvertisements: [bgpAd('ad', { peers: ['ghost'] })] };
    expect(problemsOf(input)).toEqual([]);
    expect(warningFindingsOf(input)).toEqual([
      'ad.peerMissing BGPAdvertisement/metallb-system/ad spec.peers[0]',
    ]);
  });

  it('rejects serviceSelectors with aggregation, once', () => {
    const ad = bgpAd('ad', {
      ipAddressPools: ['web'],
      aggregationLength: 24,
      serviceSelectors: [{ matchLabels: { app: 'x' } }],
    });
    expect(findingsOf({ pools, bgpAdvertisements: [ad] })).toEqual([
      'schema.rule BGPAdvertisement/metallb-system/ad spec.serviceSelectors',
    ]);
  });

  it('accepts serviceSelectors with the default aggregation', () => {
    const ad = bgpAd('ad', { aggregationLength: 32, serviceSelectors: [{ matchLabels: { app: 'x' } }] });
    expect(problemsOf({ pools, bgpAdvertisements: [ad] })).toEqual([]);
  });

  it('rejects an IPv4 aggregation length above 32', () => {
    expect(findingsOf({ pools, bgpAdvertisements: [bgpAd('ad', { aggregationLength: 33 })] })).toEqual([
      'schema.range BGPAdvertisement/metallb-system/ad spec.aggregationLength',
    ]);
  });
});

describe('BGPAdvertisement aggregation against its pools', () => {
  it('rejects an IPv4 aggregation wider than a pool CIDR', () => {
    expect(
      findingsOf({
        pools,
        bgpAdvertisements: [bgpAd('ad', { ipAddressPools: ['web'], aggregationLength: 16 })],
      }),
    ).toEqual(['ad.aggregationShorterThanPool BGPAdvertisement/metallb-system/ad spec.aggregationLength']);
  });

  it('rejects an IPv6 aggregation wider than a pool CIDR', () => {
    expect(
      findingsOf({
        pools,
        bgpAdvertisements: [bgpAd('ad', { ipAddressPools: ['db'], aggregationLengthV6: 48 })],
      }),
    ).toEqual(['ad.aggregationShorterThanPool BGPAdvertisement/metallb-system/ad spec.aggregationLengthV6']);
  });

  it('judges a range by its widest block', () => {
    const ranged = [pool('r', { addresses: ['203.0.113.0-203.0.113.130'] })];
    expect(
      findingsOf({ pools: ranged, bgpAdvertisements: [bgpAd('ad', { aggregationLength: 24 })] }),
    ).toEqual(['ad.aggregationShorterThanPool BGPAdvertisement/metallb-system/ad spec.aggregationLength']);
    expect(
      problemsOf({ pools: ranged, bgpAdvertisements: [bgpAd('ad', { aggregationLength: 25 })] }),
    ).toEqual([]);
  });

  it('asks for the longest prefix any selected pool needs', () => {
    const selected = [
      pool('wide', { addresses: ['192.0.2.0/24'] }),
      pool('narrow', { addresses: ['198.51.100.0/28'] }),
    ];
    expect(
      findingsOf({ pools: selected, bgpAdvertisements: [bgpAd('ad', { aggregationLength: 24 })] }),
    ).toEqual(['ad.aggregationShorterThanPool BGPAdvertisement/metallb-system/ad spec.aggregationLength']);
  });

  it('accepts aggregation equal to or longer than each pool prefix', () => {
    const ads = [
      bgpAd('exact', { ipAddressPools: ['web'], aggregationLength: 24 }),
      bgpAd('longer', { ipAddressPools: ['db'], aggregationLength: 28, aggregationLengthV6: 64 }),
    ];
    expect(problemsOf({ pools, bgpAdvertisements: ads })).toEqual([]);
  });
});

describe('BGPAdvertisements against each other', () => {
  it('rejects an advertisement identical to another on a common pool', () => {
    const ads = [
      bgpAd('first', { ipAddressPools: ['web', 'db'], localPref: 100, communities: ['64512:1'] }),
      bgpAd('second', { ipAddressPools: ['web'], localPref: 100, communities: ['64512:1'] }),
    ];
    expect(findingsOf({ pools, bgpAdvertisements: ads })).toEqual([
      'ad.duplicate BGPAdvertisement/metallb-system/second spec',
    ]);
  });

  it('accepts identical attributes on different pools, and different attributes on one pool', () => {
    const ads = [
      bgpAd('web', { ipAddressPools: ['web'], communities: ['64512:1'] }),
      bgpAd('db', { ipAddressPools: ['db'], communities: ['64512:1'] }),
      bgpAd('web-extra', { ipAddressPools: ['web'], communities: ['64512:2'] }),
    ];
    expect(problemsOf({ pools, bgpAdvertisements: ads })).toEqual([]);
  });

  it('rejects two localPrefs for the same routes', () => {
    const ads = [
      bgpAd('first', { ipAddressPools: ['web'], localPref: 100 }),
      bgpAd('second', { ipAddressPools: ['web'], localPref: 200 }),
    ];
    expect(findingsOf({ pools, bgpAdvertisements: ads })).toEqual([
      'ad.localPrefConflict BGPAdvertisement/metallb-system/second spec.localPref',
    ]);
  });

  it('counts an unset localPref as different from a set one', () => {
    const ads = [
      bgpAd('first', { ipAddressPools: ['web'] }),
      bgpAd('second', { ipAddressPools: ['web'], localPref: 50 }),
    ];
    expect(problemsOf({ pools, bgpAdvertisements: ads })[0]).toContain(
      'localPref 50 contradicts no localPref of',
    );
  });

  it('accepts different localPrefs when the peers are disjoint', () => {
    const ads = [
      bgpAd('first', { ipAddressPools: ['web'], localPref: 100, peers: ['r1'] }),
      bgpAd('second', { ipAddressPools: ['web'], localPref: 200, peers: ['r2'] }),
    ];
    const peers = [peer('r1', {}), peer('r2', { peerAddress: '192.0.2.2' })];
    expect(problemsOf({ pools, peers, bgpAdvertisements: ads })).toEqual([]);
  });

  it('accepts different localPrefs when the aggregation differs', () => {
    const ads = [
      bgpAd('hosts', { ipAddressPools: ['web'], localPref: 100 }),
      bgpAd('aggregate', { ipAddressPools: ['web'], localPref: 200, aggregationLength: 24 }),
    ];
    expect(problemsOf({ pools, bgpAdvertisements: ads })).toEqual([]);
  });

  it('on a dual-stack pool, needs both aggregation lengths to differ', () => {
    const ads = [
      bgpAd('hosts', { ipAddressPools: ['db'], localPref: 100 }),
      bgpAd('aggregate', { ipAddressPools: ['db'], localPref: 200, aggregationLength: 26 }),
    ];
    expect(problemsOf({ pools, bgpAdvertisements: ads })).toHaveLength(1);
    const both = [
      ads[0],
      bgpAd('aggregate', {
        ipAddressPools: ['db'],
        localPref: 200,
        aggregationLength: 26,
        aggregationLengthV6: 64,
      }),
    ];
    expect(problemsOf({ pools, bgpAdvertisements: both as typeof ads })).toEqual([]);
  });

  it('accepts different localPrefs from disjoint nodes', () => {
    const ads = [
      bgpAd('a', {
        ipAddressPools: ['web'],
        localPref: 100,
        nodeSelectors: [{ matchLabels: { zone: 'a' } }],
      }),
      bgpAd('b', {
        ipAddressPools: ['web'],
        localPref: 200,
        nodeSelectors: [{ matchLabels: { zone: 'b' } }],
      }),
    ];
    const nodes = [node('n1', { zone: 'a' }), node('n2', { zone: 'b' })];
    expect(problemsOf({ pools, nodes, bgpAdvertisements: ads })).toEqual([]);
    // Without Node objects, the selectors alone show that no node can match both.
    expect(problemsOf({ pools, bgpAdvertisements: ads })).toEqual([]);
  });

  it('rejects different localPrefs from nodes that both select', () => {
    const ads = [
      bgpAd('a', {
        ipAddressPools: ['web'],
        localPref: 100,
        nodeSelectors: [{ matchLabels: { zone: 'a' } }],
      }),
      bgpAd('b', {
        ipAddressPools: ['web'],
        localPref: 200,
        nodeSelectors: [{ matchLabels: { rack: '1' } }],
      }),
    ];
    expect(problemsOf({ pools, bgpAdvertisements: ads })).toHaveLength(1);
    const nodes = [node('n1', { zone: 'a' }), node('n2', { rack: '1' })];
    expect(problemsOf({ pools, nodes, bgpAdvertisements: ads })).toEqual([]);
    const shared = [...nodes, node('n3', { zone: 'a', rack: '1' })];
    expect(problemsOf({ pools, nodes: shared, bgpAdvertisements: ads })).toHaveLength(1);
  });

  it('leaves localPref conflicts of advertisements with serviceSelectors to the speaker', () => {
    const ads = [
      bgpAd('a', {
        ipAddressPools: ['web'],
        localPref: 100,
        serviceSelectors: [{ matchLabels: { app: 'x' } }],
      }),
      bgpAd('b', { ipAddressPools: ['web'], localPref: 200 }),
    ];
    expect(problemsOf({ pools, bgpAdvertisements: ads })).toEqual([]);
  });
});

describe('BFD echo mode and IPv6', () => {
  const echo = bfd('echo', { echoMode: true });

  it('rejects an echo-mode peer that receives an IPv6 pool', () => {
    const input = {
      pools,
      bfdProfiles: [echo],
      peers: [peer('r1', { bfdProfile: 'echo' })],
      bgpAdvertisements: [bgpAd('ad', { ipAddressPools: ['db'] })],
    };
    expect(findingsOf(input)).toEqual(['bfd.echoWithIPv6 BGPPeer/metallb-system/r1 spec.bfdProfile']);
  });

  it('accepts echo mode for peers that receive only IPv4 pools', () => {
    const input = {
      pools,
      bfdProfiles: [echo],
      peers: [peer('r1', { bfdProfile: 'echo' }), peer('r2', { peerAddress: '192.0.2.2' })],
      bgpAdvertisements: [
        bgpAd('v4', { ipAddressPools: ['web'] }),
        bgpAd('v6', { ipAddressPools: ['db'], peers: ['r2'] }),
      ],
    };
    expect(problemsOf(input)).toEqual([]);
  });
});
