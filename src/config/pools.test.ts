import { describe, expect, it } from '@jest/globals';
import { formatCidr } from '../net/ip.js';
import { everything } from './selectors.js';
import { configOf, findingsOf, problemsOf } from '../../test/support/config.js';
import { namespace } from '../../test/support/kube-objects.js';
import { pool } from '../../test/support/metallb-objects.js';

const where = 'IPAddressPool/metallb-system';

describe('IPAddressPool addresses', () => {
  it('rejects a pool without addresses', () => {
    expect(problemsOf({ pools: [pool('empty', { addresses: [] })] })).toEqual([
      `${where}/empty: spec.addresses: the pool has no addresses; list at least one entry: a CIDR (192.0.2.0/24), a single address as /32 or /128 (192.0.2.7/32), or a range (192.0.2.10-192.0.2.20)`,
    ]);
  });

  it('rejects an IPv4 CIDR with a prefix longer than 32', () => {
    expect(findingsOf({ pools: [pool('a', { addresses: ['192.0.2.0/33'] })] })).toEqual([
      'pool.invalidAddress IPAddressPool/metallb-system/a spec.addresses[0]',
    ]);
  });

  it('rejects an IPv6 CIDR with a malformed address', () => {
    expect(findingsOf({ pools: [pool('a', { addresses: ['192.0.2.0/24', '2001:db8:::/64'] })] })).toEqual([
      'pool.invalidAddress IPAddressPool/metallb-system/a spec.addresses[1]',
    ]);
  });

  it('rejects a range whose start is after its end', () => {
    expect(findingsOf({ pools: [pool('a', { addresses: ['198.51.100.20-198.51.100.10'] })] })).toEqual([
      'pool.invalidAddress IPAddressPool/metallb-system/a spec.addresses[0]',
    ]);
  });

  it('rejects a reversed IPv6 range', () => {
    expect(findingsOf({ pools: [pool('a', { addresses: ['2001:db8::9-2001:db8::1'] })] })).toEqual([
      'pool.invalidAddress IPAddressPool/metallb-system/a spec.addresses[0]',
    ]);
  });

  it('rejects a range whose start is not an address', () => {
    expect(findingsOf({ pools: [pool('a', { addresses: ['198.51.100.x-198.51.100.10'] })] })).toEqual([
      'pool.invalidAddress IPAddressPool/metallb-system/a spec.addresses[0]',
    ]);
  });

  it('rejects a range mixing IPv4 and IPv6', () => {
    expect(findingsOf({ pools: [pool('a', { addresses: ['198.51.100.1-2001:db8::1'] })] })).toEqual([
      'pool.invalidAddress IPAddressPool/metallb-system/a spec.addresses[0]',
    ]);
  });

  it('rejects a bare address, which needs /32 or /128', () => {
    expect(findingsOf({ pools: [pool('a', { addresses: ['192.0.2.7'] })] })).toEqual([
      'pool.invalidAddress IPAddressPool/metallb-system/a spec.addresses[0]',
    ]);
  });

  it('rejects a CIDR that overlaps a CIDR of another pool', () => {
    const pools = [
      pool('other', { addresses: ['192.0.2.0/24'] }),
      pool('mine', { addresses: ['192.0.2.0/25'] }),
    ];
    expect(findingsOf({ pools })).toEqual([
      'pool.overlap IPAddressPool/metallb-system/mine spec.addresses[0]',
    ]);
  });

  it('reports an overlap on the pool listed later, whichever starts first', () => {
    const pools = [
      pool('first', { addresses: ['192.0.2.128/25'] }),
      pool('second', { addresses: ['192.0.2.0/24'] }),
    ];
    expect(findingsOf({ pools })).toEqual([
      'pool.overlap IPAddressPool/metallb-system/second spec.addresses[0]',
    ]);
  });

  it('rejects a range that overlaps a CIDR of another pool', () => {
    const pools = [
      pool('other', { addresses: ['198.51.100.0/28'] }),
      pool('mine', { addresses: ['198.51.100.15-198.51.100.20'] }),
    ];
    expect(findingsOf({ pools })).toEqual([
      'pool.overlap IPAddressPool/metallb-system/mine spec.addresses[0]',
    ]);
  });

  it('rejects overlapping IPv6 entries across pools', () => {
    const pools = [
      pool('other', { addresses: ['2001:db8:1::/64'] }),
      pool('mine', { addresses: ['2001:db8:1::10/124'] }),
    ];
    expect(findingsOf({ pools })).toEqual([
      'pool.overlap IPAddressPool/metallb-system/mine spec.addresses[0]',
    ]);
  });

  it('rejects two overlapping entries within one pool', () => {
    expect(
      findingsOf({ pools: [pool('a', { addresses: ['203.0.113.0/24', '203.0.113.10-203.0.113.20'] })] }),
    ).toEqual(['pool.duplicateEntry IPAddressPool/metallb-system/a spec.addresses[1]']);
  });

  it('rejects the same entry listed twice in one pool', () => {
    expect(findingsOf({ pools: [pool('a', { addresses: ['203.0.113.0/28', '203.0.113.0/28'] })] })).toEqual([
      'pool.duplicateEntry IPAddressPool/metallb-system/a spec.addresses[1]',
    ]);
  });

  it('rejects a second pool with the same name', () => {
    const pools = [pool('a', { addresses: ['192.0.2.0/28'] }), pool('a', { addresses: ['198.51.100.0/28'] })];
    expect(findingsOf({ pools })).toEqual([
      'object.duplicateName IPAddressPool/metallb-system/a metadata.name',
    ]);
  });

  it('accepts adjacent pools that do not share an address', () => {
    const pools = [
      pool('low', { addresses: ['192.0.2.0/25'] }),
      pool('high', { addresses: ['192.0.2.128/25'] }),
      pool('range', { addresses: ['198.51.100.0-198.51.100.9', '198.51.100.10-198.51.100.19'] }),
      pool('v6', { addresses: ['2001:db8::/127', '2001:db8::2/127'] }),
    ];
    expect(problemsOf({ pools })).toEqual([]);
  });

  it('accepts a /32 and a /128 that no other pool contains', () => {
    const pools = [
      pool('wide', { addresses: ['192.0.2.0/25', '2001:db8::/64'] }),
      pool('single', { addresses: ['192.0.2.200/32', '2001:db8:1::1/128'] }),
    ];
    expect(problemsOf({ pools })).toEqual([]);
  });

  it('accepts a dual-stack pool and a CIDR with host bits set, as upstream does', () => {
    const config = configOf({ pools: [pool('dual', { addresses: ['192.0.2.77/24', '2001:db8::/120'] })] });
    const dual = config.pools.get('dual');
    expect(dual?.families).toEqual([4, 6]);
    expect(dual?.entries.map((entry) => entry.cidrs.map(formatCidr))).toEqual([
      ['192.0.2.0/24'],
      ['2001:db8::/120'],
    ]);
  });
});

describe('IPAddressPool defaults and serviceAllocation', () => {
  it('defaults autoAssign to true and avoidBuggyIPs to false, and summarises ranges', () => {
    const config = configOf({ pools: [pool('a', { addresses: ['198.51.100.1-198.51.100.3'] })] });
    const a = config.pools.get('a');
    expect(a?.autoAssign).toBe(true);
    expect(a?.avoidBuggyIPs).toBe(false);
    expect(a?.entries[0]?.cidrs.map(formatCidr)).toEqual(['198.51.100.1/32', '198.51.100.2/31']);
    expect(a?.serviceAllocation).toBeUndefined();
  });

  it('resolves namespaceSelectors against the Namespaces and keeps the listed ones', () => {
    const config = configOf({
      pools: [
        pool('a', {
          addresses: ['192.0.2.0/28'],
          serviceAllocation: {
            priority: 5,
            namespaces: ['listed'],
            namespaceSelectors: [{ matchLabels: { team: 'red' } }],
          },
        }),
      ],
      namespaces: [namespace('red-1', { team: 'red' }), namespace('blue', { team: 'blue' })],
    });
    expect(config.pools.get('a')?.serviceAllocation).toMatchObject({
      priority: 5,
      namespaces: ['listed'],
      resolvedNamespaces: ['listed', 'red-1'],
      restrictsNamespaces: true,
      serviceSelectors: [],
    });
  });

  it('lets a priority-only serviceAllocation serve every Service, as upstream does', () => {
    const config = configOf({
      pools: [pool('a', { addresses: ['192.0.2.0/28'], serviceAllocation: { priority: 1 } })],
    });
    expect(config.pools.get('a')?.serviceAllocation?.serviceSelectors).toEqual([everything]);
  });

  it('rejects a namespace listed twice', () => {
    const pools = [
      pool('a', { addresses: ['192.0.2.0/28'], serviceAllocation: { namespaces: ['web', 'db', 'web'] } }),
    ];
    expect(findingsOf({ pools })).toEqual([
      'list.duplicate IPAddressPool/metallb-system/a spec.serviceAllocation.namespaces[2]',
    ]);
  });

  it('rejects a serviceSelector that repeats another', () => {
    const pools = [
      pool('a', {
        addresses: ['192.0.2.0/28'],
        serviceAllocation: {
          serviceSelectors: [
            { matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] },
            { matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }] },
          ],
        },
      }),
    ];
    expect(findingsOf({ pools })).toEqual([
      'selector.duplicate IPAddressPool/metallb-system/a spec.serviceAllocation.serviceSelectors[1]',
    ]);
  });

  it('rejects a namespaceSelector that repeats another', () => {
    const pools = [
      pool('a', {
        addresses: ['192.0.2.0/28'],
        serviceAllocation: {
          namespaceSelectors: [{ matchLabels: { team: 'red' } }, { matchLabels: { team: 'red' } }],
        },
      }),
    ];
    expect(findingsOf({ pools })).toEqual([
      'selector.duplicate IPAddressPool/metallb-system/a spec.serviceAllocation.namespaceSelectors[1]',
    ]);
  });

  it('accepts selectors that differ only in one value', () => {
    const pools = [
      pool('a', {
        addresses: ['192.0.2.0/28'],
        serviceAllocation: {
          serviceSelectors: [{ matchLabels: { tier: 'gold' } }, { matchLabels: { tier: 'silver' } }],
        },
      }),
    ];
    expect(problemsOf({ pools })).toEqual([]);
  });
});
