import { describe, expect, it } from '@jest/globals';
import { Allocator } from './allocator.js';
import {
  allocatorPool,
  allocatorService,
  dualStack,
  expectAssigned,
  expectRefused,
  preferDualStack,
  requesting,
} from '../../../test/support/allocator.js';

describe('IP families', () => {
  it('gives a single-stack IPv6 service an IPv6 address from a mixed pool', () => {
    const allocator = new Allocator([allocatorPool('mixed', ['192.0.2.0/29', '2001:db8::/64'])]);
    expect(expectAssigned(allocator.allocate(allocatorService('v6', { ipFamilies: [6] }))).ips).toEqual([
      '2001:db8::',
    ]);
  });

  it('gives a RequireDualStack service one address of each family from one pool', () => {
    const allocator = new Allocator([allocatorPool('mixed', ['192.0.2.0/29', '2001:db8::/64'])]);
    expect(expectAssigned(allocator.allocate(allocatorService('web', dualStack)))).toMatchObject({
      ips: ['192.0.2.0', '2001:db8::'],
      pool: 'mixed',
    });
  });

  it('lists the addresses in the order of the service ipFamilies', () => {
    const allocator = new Allocator([allocatorPool('mixed', ['192.0.2.0/29', '2001:db8::/64'])]);
    const v6First = allocatorService('web', { ipFamilies: [6, 4], ipFamilyPolicy: 'RequireDualStack' });
    expect(expectAssigned(allocator.allocate(v6First)).ips).toEqual(['2001:db8::', '192.0.2.0']);
  });

  it('fails RequireDualStack cleanly when the only pool has one family', () => {
    const allocator = new Allocator([allocatorPool('v4only', ['192.0.2.0/29'])]);
    const refusal = expectRefused(allocator.allocate(allocatorService('web', dualStack)));
    expect(refusal.code).toBe('no-dual-stack-pool');
    expect(refusal.reason).toBe(
      'Service default/web has ipFamilyPolicy RequireDualStack and needs one IPv4 and one IPv6 address from one ' +
        'pool, but IPAddressPool "v4only" has IPv4 addresses only; add the missing family to the pool\'s ' +
        'spec.addresses, or set ipFamilyPolicy PreferDualStack',
    );
    expect(allocator.poolStats('v4only')?.inUse.ipv4).toBe(0);
  });

  it('does not assemble RequireDualStack from two single-family pools', () => {
    const allocator = new Allocator([
      allocatorPool('v4', ['192.0.2.0/29']),
      allocatorPool('v6', ['2001:db8::/64']),
    ]);
    expect(expectRefused(allocator.allocate(allocatorService('web', dualStack))).code).toBe(
      'no-dual-stack-pool',
    );
  });

  it('refuses RequireDualStack when the service has cluster IPs of one family only', () => {
    const allocator = new Allocator([allocatorPool('mixed', ['192.0.2.0/29', '2001:db8::/64'])]);
    const refusal = expectRefused(
      allocator.allocate(allocatorService('web', { ipFamilies: [4], ipFamilyPolicy: 'RequireDualStack' })),
    );
    expect(refusal.code).toBe('family-mismatch');
    expect(refusal.reason).toContain('only IPv4 cluster IPs');
  });

  it('falls back to one family for PreferDualStack when no pool has both', () => {
    const allocator = new Allocator([
      allocatorPool('v6', ['2001:db8::/64']),
      allocatorPool('v4', ['192.0.2.0/29']),
    ]);
    expect(expectAssigned(allocator.allocate(allocatorService('web', preferDualStack)))).toMatchObject({
      ips: ['192.0.2.0'],
      pool: 'v4',
    });
  });

  it('falls back to the secondary family for PreferDualStack when only that one is available', () => {
    const allocator = new Allocator([allocatorPool('v6', ['2001:db8::/64'])]);
    expect(expectAssigned(allocator.allocate(allocatorService('web', preferDualStack))).ips).toEqual([
      '2001:db8::',
    ]);
  });

  it('prefers a dual-stack pool for PreferDualStack over an earlier single-family pool', () => {
    const allocator = new Allocator([
      allocatorPool('a-v4', ['192.0.2.0/29']),
      allocatorPool('b-mixed', ['198.51.100.0/29', '2001:db8::/64']),
    ]);
    expect(expectAssigned(allocator.allocate(allocatorService('web', preferDualStack)))).toMatchObject({
      ips: ['198.51.100.0', '2001:db8::'],
      pool: 'b-mixed',
    });
  });

  it('gives PreferDualStack one family when the service has only one cluster IP family', () => {
    const allocator = new Allocator([allocatorPool('mixed', ['192.0.2.0/29', '2001:db8::/64'])]);
    const single = allocatorService('web', { ipFamilies: [4], ipFamilyPolicy: 'PreferDualStack' });
    expect(expectAssigned(allocator.allocate(single)).ips).toEqual(['192.0.2.0']);
  });

  it('adds the missing family to a PreferDualStack service once its pool has one', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    const web = allocatorService('web', preferDualStack);
    expect(expectAssigned(allocator.allocate(web)).ips).toEqual(['192.0.2.0']);
    expect(expectRefused(allocator.extend(web)).reason).toContain('has no free IPv6 address to add');
    allocator.setPools([allocatorPool('main', ['192.0.2.0/29', '2001:db8::/64'])]);
    expect(expectAssigned(allocator.extend(web)).ips).toEqual(['192.0.2.0', '2001:db8::']);
    expect(allocator.extend(web)).toBeUndefined();
  });

  it('accepts a dual-stack request of one IPv4 and one IPv6 address', () => {
    const allocator = new Allocator([allocatorPool('mixed', ['192.0.2.0/29', '2001:db8::/64'])]);
    expect(
      expectAssigned(
        allocator.allocate(
          allocatorService('web', { ...dualStack, ...requesting('2001:db8::9, 192.0.2.3') }),
        ),
      ).ips,
    ).toEqual(['192.0.2.3', '2001:db8::9']);
  });

  it('refuses a dual-stack request whose addresses lie in two pools', () => {
    const allocator = new Allocator([
      allocatorPool('v4', ['192.0.2.0/29']),
      allocatorPool('v6', ['2001:db8::/64']),
    ]);
    const refusal = expectRefused(
      allocator.allocate(allocatorService('web', { ...dualStack, ...requesting('192.0.2.3,2001:db8::9') })),
    );
    expect(refusal.code).toBe('split-across-pools');
  });

  it('refuses a single address for a RequireDualStack request', () => {
    const allocator = new Allocator([allocatorPool('mixed', ['192.0.2.0/29', '2001:db8::/64'])]);
    expect(
      expectRefused(allocator.allocate(allocatorService('web', { ...dualStack, ...requesting('192.0.2.3') })))
        .code,
    ).toBe('family-mismatch');
  });

  it('waits for a cluster IP before allocating', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    expect(expectRefused(allocator.allocate(allocatorService('web', { ipFamilies: [] }))).code).toBe(
      'no-ip-family',
    );
  });
});
