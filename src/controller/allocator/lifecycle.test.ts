import { describe, expect, it } from '@jest/globals';
import { Allocator } from './allocator.js';
import {
  allocation,
  allocatorPool,
  allocatorService,
  expectAssigned,
  expectRefused,
  requesting,
  shared,
} from '../../../test/support/allocator.js';

describe('releasing and re-validating assignments', () => {
  it('frees a released address for the next service', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/30'])]);
    for (const name of ['a', 'b', 'c']) expectAssigned(allocator.allocate(allocatorService(name)));
    expect(allocator.release(allocatorService('b'))).toEqual({
      service: 'default/b',
      ips: ['192.0.2.1'],
      pool: 'main',
    });
    expect(allocator.release(allocatorService('b'))).toBeUndefined();
    expect(expectAssigned(allocator.allocate(allocatorService('d'))).ips).toEqual(['192.0.2.1']);
  });

  it('keeps what a service held when a new allocation for it is refused', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/30'])]);
    expectAssigned(allocator.allocate(allocatorService('web')));
    expectRefused(allocator.allocate(allocatorService('web', requesting('203.0.113.1'))));
    expect(allocator.assignmentOf(allocatorService('web'))?.ips).toEqual(['192.0.2.0']);
  });

  it('releases an assignment whose address left every pool, and says why', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    for (const name of ['a', 'b', 'c']) expectAssigned(allocator.allocate(allocatorService(name)));
    const change = allocator.setPools([allocatorPool('main', ['192.0.2.0/31'])]);
    expect(change.released).toEqual([
      {
        service: 'default/c',
        ips: ['192.0.2.2'],
        pool: 'main',
        reason:
          'Service default/c holds 192.0.2.2, but no IPAddressPool contains it; it will get a new address',
      },
    ]);
    expect(allocator.assignmentOf(allocatorService('a'))?.ips).toEqual(['192.0.2.0']);
    expect(allocator.poolStats('main')?.inUse.ipv4).toBe(2);
  });

  it('keeps and re-homes an assignment when its pool is renamed or split', () => {
    const allocator = new Allocator([allocatorPool('old', ['192.0.2.0/29'])]);
    expectAssigned(allocator.allocate(allocatorService('a')));
    expectAssigned(allocator.allocate(allocatorService('b', requesting('192.0.2.6'))));
    const change = allocator.setPools([
      allocatorPool('low', ['192.0.2.0/30']),
      allocatorPool('high', ['192.0.2.4/30']),
    ]);
    expect(change.released).toEqual([]);
    expect(change.rehomed).toEqual([
      { service: 'default/a', from: 'old', to: 'low' },
      { service: 'default/b', from: 'old', to: 'high' },
    ]);
    expect(allocator.poolStats('high')?.inUse.ipv4).toBe(1);
    expect(allocator.poolStats('old')).toBeUndefined();
  });

  it('releases a .0 address when its pool starts avoiding buggy addresses', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/24'])]);
    expectAssigned(allocator.allocate(allocatorService('a')));
    const change = allocator.setPools([allocatorPool('main', ['192.0.2.0/24'], { avoidBuggyIPs: true })]);
    expect(change.released.map((released) => released.ips)).toEqual([['192.0.2.0']]);
    expect(expectAssigned(allocator.allocate(allocatorService('a'))).ips).toEqual(['192.0.2.1']);
  });

  it('tells whether a current assignment is still valid, and why not', () => {
    const allocator = new Allocator([
      allocatorPool('team', ['192.0.2.0/29'], { allocation: allocation({ namespaces: ['a'] }) }),
    ]);
    const inA = allocatorService('web', { namespace: 'a' });
    expectAssigned(allocator.check(inA, ['192.0.2.1']));
    const moved = expectRefused(allocator.check(allocatorService('web', { namespace: 'b' }), ['192.0.2.1']));
    expect(moved.code).toBe('pool-not-allowed');
    expect(moved.reason).toContain('holds 192.0.2.1, but IPAddressPool "team" admits only namespace a');
    expect(expectRefused(allocator.check(inA, ['203.0.113.1'])).code).toBe('not-in-any-pool');
    expect(expectRefused(allocator.check(inA, ['not-an-ip'])).code).toBe('invalid-request');
    const otherRequest = allocatorService('web', { namespace: 'a', ...requesting('192.0.2.2') });
    expect(expectRefused(allocator.check(otherRequest, ['192.0.2.1'])).code).toBe('request-mismatch');
    const otherPool = allocatorService('web', {
      namespace: 'a',
      annotations: { 'metallb.io/address-pool': 'gold' },
    });
    expect(expectRefused(allocator.check(otherPool, ['192.0.2.1'])).code).toBe('pool-mismatch');
    const v6 = allocatorService('web', { namespace: 'a', ipFamilies: [6] });
    expect(expectRefused(allocator.check(v6, ['192.0.2.1'])).code).toBe('family-mismatch');
    expect(allocator.assignmentOf(inA)).toBeUndefined();
  });

  it('keeps an existing address from a pool that was switched to autoAssign false', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'], { autoAssign: false })]);
    expectAssigned(allocator.assign(allocatorService('web'), ['192.0.2.3']));
  });
});

describe('rebuilding state after a restart', () => {
  it('keeps every address services already have, before allocating anything new', () => {
    const allocator = new Allocator([
      allocatorPool('main', ['192.0.2.0/29']),
      allocatorPool('v6', ['2001:db8::/64']),
    ]);
    const report = allocator.rebuild([
      { service: allocatorService('b'), ips: ['192.0.2.0'] },
      { service: allocatorService('a'), ips: ['192.0.2.5'] },
      { service: allocatorService('http', shared('front', 80)), ips: ['192.0.2.2'] },
      { service: allocatorService('https', shared('front', 443)), ips: ['192.0.2.2'] },
      { service: allocatorService('v6', { ipFamilies: [6] }), ips: ['2001:db8::ffff:1'] },
      { service: allocatorService('pending'), ips: [] },
    ]);
    expect(report.refused).toEqual([]);
    expect(report.kept.map((kept) => [kept.service, ...kept.assignment.ips])).toEqual([
      ['default/a', '192.0.2.5'],
      ['default/b', '192.0.2.0'],
      ['default/http', '192.0.2.2'],
      ['default/https', '192.0.2.2'],
      ['default/v6', '2001:db8::ffff:1'],
    ]);
    expect(expectAssigned(allocator.allocate(allocatorService('pending'))).ips).toEqual(['192.0.2.1']);
    expect(expectAssigned(allocator.allocate(allocatorService('next'))).ips).toEqual(['192.0.2.3']);
    expect(expectAssigned(allocator.allocate(allocatorService('v6-new', { ipFamilies: [6] }))).ips).toEqual([
      '2001:db8::',
    ]);
  });

  it('reports two services claiming one address without a compatible key; the older keeps it', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    const report = allocator.rebuild([
      { service: allocatorService('young', { createdAt: 2000 }), ips: ['192.0.2.4'] },
      { service: allocatorService('old', { createdAt: 1000 }), ips: ['192.0.2.4'] },
    ]);
    expect(report.kept.map((kept) => kept.service)).toEqual(['default/old']);
    expect(report.refused).toHaveLength(1);
    expect(report.refused[0]?.service).toBe('default/young');
    expect(report.refused[0]?.refusal.code).toBe('address-in-use');
    expect(report.refused[0]?.refusal.heldBy).toEqual(['default/old']);
  });

  it('reports addresses that no longer belong to any pool instead of keeping them', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    const report = allocator.rebuild([{ service: allocatorService('web'), ips: ['198.51.100.1'] }]);
    expect(report.refused[0]?.refusal.code).toBe('not-in-any-pool');
  });
});
