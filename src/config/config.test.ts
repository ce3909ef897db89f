import { describe, expect, it } from '@jest/globals';
import { formatAddress, formatCidr } from '../net/ip.js';
import { buildConfig } from './index.js';
import { configOf } from '../../test/support/config.js';
import { node, secret } from '../../test/support/kube-objects.js';
import { bfd, bgpAd, community, l2Ad, ns, peer, pool } from '../../test/support/metallb-objects.js';

const objects = {
  pools: [
    pool(
      'production',
      { addresses: ['192.0.2.0/24', '2001:db8:1::/64'], avoidBuggyIPs: true },
      { labels: { tier: 'prod' } },
    ),
    pool('reserved', { addresses: ['203.0.113.0/28'], autoAssign: false }),
  ],
  peers: [
    peer('tor', {
      peerAddress: '198.51.100.254',
      holdTime: '90s',
      bfdProfile: 'fast',
      routerID: '192.0.2.250',
      passwordSecret: { name: 'bgp' },
      nodeSelectors: [{ matchLabels: { 'node-role.kubernetes.io/worker': '' } }],
    }),
  ],
  bfdProfiles: [bfd('fast', { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3 })],
  communities: [community('names', { communities: [{ name: 'no-advertise', value: '65535:65282' }] })],
  bgpAdvertisements: [
    bgpAd('aggregated', {
      ipAddressPools: ['production'],
      aggregationLength: 24,
      aggregationLengthV6: 64,
      localPref: 100,
      communities: ['no-advertise', 'large:64512:2:300'],
      peers: ['tor'],
    }),
    bgpAd('hosts', { ipAddressPoolSelectors: [{ matchLabels: { tier: 'prod' } }] }),
  ],
  l2Advertisements: [l2Ad('reserved-l2', { ipAddressPools: ['reserved'], interfaces: ['eth1'] })],
  secrets: [secret('bgp', { type: 'kubernetes.io/basic-auth', stringData: { password: 'p' } })],
  nodes: [node('worker-1', { 'node-role.kubernetes.io/worker': '' }), node('control-1')],
};

describe('the Config', () => {
  it('holds every object parsed, defaulted and cross-referenced', () => {
    const config = configOf(objects);
    expect([...config.pools.keys()]).toEqual(['production', 'reserved']);
    const production = config.pools.get('production');
    expect(production).toMatchObject({
      autoAssign: true,
      avoidBuggyIPs: true,
      families: [4, 6],
      l2Advertisements: [],
      bgpAdvertisements: ['aggregated', 'hosts'],
    });
    expect(production?.entries.map((entry) => entry.cidrs.map(formatCidr))).toEqual([
      ['192.0.2.0/24'],
      ['2001:db8:1::/64'],
    ]);
    expect(config.pools.get('reserved')).toMatchObject({
      autoAssign: false,
      l2Advertisements: ['reserved-l2'],
    });

    const tor = config.peers.get('tor');
    expect(tor).toMatchObject({
      myASN: 64512,
      remoteAS: 64513,
      ibgp: false,
      identifier: '198.51.100.254',
      port: 179,
      timers: { holdSeconds: 90, keepaliveSeconds: 30 },
      bfdProfile: 'fast',
      vrf: '',
      nodes: ['worker-1'],
    });
    expect(tor?.routerID && formatAddress(tor.routerID)).toBe('192.0.2.250');
    expect(tor?.password?.reveal()).toBe('p');

    expect(config.bgpAdvertisements.get('aggregated')).toMatchObject({
      pools: ['production'],
      aggregationLength: 24,
      aggregationLengthV6: 64,
      localPref: 100,
      peers: ['tor'],
      nodes: ['control-1', 'worker-1'],
      communities: [
        { kind: 'standard', text: '65535:65282', asn: 65535, value: 65282 },
        {
          kind: 'large',
          text: 'large:64512:2:300',
          globalAdministrator: 64512,
          localData1: 2,
          localData2: 300,
        },
      ],
    });
    expect(config.l2Advertisements.get('reserved-l2')).toMatchObject({
      pools: ['reserved'],
      interfaces: ['eth1'],
    });
    expect(config.bfdProfiles.get('fast')).toMatchObject({ receiveInterval: 300, detectMultiplier: 3 });
    expect(config.communityAliases.get('no-advertise')?.text).toBe('65535:65282');
  });

  it('is the same for the same objects in any order', () => {
    const reversed = Object.fromEntries(
      Object.entries(objects).map(([key, list]) => [key, [...list].reverse()]),
    );
    const a = buildConfig({ metallbNamespace: ns, ...objects });
    const b = buildConfig({ metallbNamespace: ns, ...reversed });
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) {
      expect([...b.config.pools.keys()]).toEqual([...a.config.pools.keys()]);
      expect(b.config).toEqual(a.config);
    }
  });

  it('accepts an empty configuration', () => {
    expect(buildConfig({ metallbNamespace: ns })).toMatchObject({ ok: true, warnings: [] });
  });
});
