import { describe, expect, it } from '@jest/globals';
import { PeerNamer, bgpAdvertisementName, isObjectName, l2AdvertisementName } from './names.js';

describe('migrated object names', () => {
  it('derives peer names Kubernetes accepts from IPv4 and IPv6 addresses', () => {
    const namer = new PeerNamer();
    const names = ['192.0.2.1', '2001:db8::1', '2001:DB8::', 'fe80::1%eth0'].map((address, index) =>
      namer.name(address, index + 1),
    );
    expect(names).toEqual(['peer-192-0-2-1', 'peer-2001-db8--1', 'peer-2001-db8', 'peer-fe80--1-eth0']);
    expect(names.every(isObjectName)).toBe(true);
  });

  it('numbers a peer without an address by its position and never hands out a name twice', () => {
    const namer = new PeerNamer();
    expect([namer.name(undefined, 1), namer.name('192.0.2.1', 2), namer.name('192.0.2.1', 3)]).toEqual([
      'peer-1',
      'peer-192-0-2-1',
      'peer-192-0-2-1-2',
    ]);
  });

  it('suffixes advertisements -l2, -bgp, or -bgp-N when a pool has several', () => {
    expect(l2AdvertisementName('web')).toBe('web-l2');
    expect(bgpAdvertisementName('web', 0, 1)).toBe('web-bgp');
    expect([0, 1].map((index) => bgpAdvertisementName('web', index, 2))).toEqual(['web-bgp-1', 'web-bgp-2']);
  });
});
