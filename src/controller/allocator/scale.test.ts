import { describe, expect, it } from '@jest/globals';
import { Allocator } from './allocator.js';
import { poolGaugesOf, poolStatusOf } from './stats.js';
import {
  allocatorPool,
  allocatorService,
  expectAssigned,
  requesting,
  shared,
} from '../../../test/support/allocator.js';

describe('large pools', () => {
  it('allocates the lowest addresses of an IPv6 /64 without enumerating it', () => {
    const allocator = new Allocator([allocatorPool('v6', ['2001:db8:0:1::/64'])]);
    const ips = Array.from(
      { length: 1000 },
      (_, index) =>
        expectAssigned(allocator.allocate(allocatorService(`s${index}`, { ipFamilies: [6] }))).ips[0],
    );
    expect(ips[0]).toBe('2001:db8:0:1::');
    expect(ips[999]).toBe('2001:db8:0:1::3e7');
  });

  it('allocates the lowest addresses of a /8 and reuses the lowest hole', () => {
    // No documentation range is a /8; a private one stands in.
    const allocator = new Allocator([allocatorPool('big', ['10.0.0.0/8'])]);
    for (let index = 0; index < 1000; index += 1)
      expectAssigned(allocator.allocate(allocatorService(`s${index}`)));
    expect(allocator.assignmentOf(allocatorService('s999'))?.ips).toEqual(['10.0.3.231']);
    allocator.release(allocatorService('s500'));
    allocator.release(allocatorService('s10'));
    expect(expectAssigned(allocator.allocate(allocatorService('hole'))).ips).toEqual(['10.0.0.10']);
    expect(expectAssigned(allocator.allocate(allocatorService('hole2'))).ips).toEqual(['10.0.1.244']);
    expect(expectAssigned(allocator.allocate(allocatorService('after'))).ips).toEqual(['10.0.3.232']);
  });

  it('finds the lowest free address above a requested one far into a /64', () => {
    const allocator = new Allocator([allocatorPool('v6', ['2001:db8::/64'])]);
    expectAssigned(
      allocator.allocate(
        allocatorService('far', { ipFamilies: [6], ...requesting('2001:db8::ffff:ffff:ffff:ffff') }),
      ),
    );
    expect(expectAssigned(allocator.allocate(allocatorService('low', { ipFamilies: [6] }))).ips).toEqual([
      '2001:db8::',
    ]);
  });

  it('shares within a /64 by looking only at addresses under the same key', () => {
    const allocator = new Allocator([allocatorPool('v6', ['2001:db8::/64'])]);
    for (let index = 0; index < 200; index += 1)
      expectAssigned(allocator.allocate(allocatorService(`s${index}`, { ipFamilies: [6] })));
    const first = expectAssigned(
      allocator.allocate(allocatorService('a', { ipFamilies: [6], ...shared('k', 80) })),
    );
    const second = expectAssigned(
      allocator.allocate(allocatorService('b', { ipFamilies: [6], ...shared('k', 81) })),
    );
    expect(second.ips).toEqual(first.ips);
  });
});

describe('pool statistics', () => {
  it('counts capacity and use per family; a shared address counts once', () => {
    const allocator = new Allocator([
      allocatorPool('mixed', ['192.0.2.0/24', '2001:db8::/120'], { avoidBuggyIPs: true }),
    ]);
    expectAssigned(allocator.allocate(allocatorService('a', shared('k', 80))));
    expectAssigned(allocator.allocate(allocatorService('b', shared('k', 81))));
    expectAssigned(allocator.allocate(allocatorService('c', { ipFamilies: [6] })));
    expect(allocator.stats()).toEqual([
      {
        pool: 'mixed',
        capacity: { ipv4: 254n, ipv6: 256n },
        inUse: { ipv4: 1, ipv6: 1 },
        available: { ipv4: 253n, ipv6: 255n },
      },
    ]);
    expect(poolStatusOf(allocator.stats()[0]!)).toEqual({
      assignedIPv4: 1,
      assignedIPv6: 1,
      availableIPv4: 253,
      availableIPv6: 255,
    });
  });

  it('saturates the counts of a /64 for status and metrics', () => {
    const allocator = new Allocator([allocatorPool('v6', ['2001:db8::/64'])]);
    expectAssigned(allocator.allocate(allocatorService('a', { ipFamilies: [6] })));
    const stats = allocator.poolStats('v6');
    if (!stats) throw new Error('missing stats');
    expect(stats.capacity.ipv6).toBe(1n << 64n);
    expect(poolStatusOf(stats).availableIPv6).toBe(Number.MAX_SAFE_INTEGER);
    const gauges = poolGaugesOf(stats);
    expect(gauges.ipv6AddressesTotal).toBe(Number((1n << 63n) - 1n));
    expect(gauges.addressesInUseTotal).toBe(1);
  });
});
