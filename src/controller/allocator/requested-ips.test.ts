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

describe('requested addresses', () => {
  it('gives a service the address it requests with metallb.io/loadBalancerIPs', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/24'])]);
    const result = expectAssigned(allocator.allocate(allocatorService('web', requesting('192.0.2.77'))));
    expect(result).toMatchObject({ ips: ['192.0.2.77'], pool: 'main' });
  });

  it('honours the legacy metallb.universe.tf annotation and spec.loadBalancerIP', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/24'])]);
    const legacy = allocatorService('legacy', {
      annotations: { 'metallb.universe.tf/loadBalancerIPs': '192.0.2.5' },
    });
    expect(expectAssigned(allocator.allocate(legacy)).ips).toEqual(['192.0.2.5']);
    const spec = allocatorService('spec', { loadBalancerIP: '192.0.2.6' });
    expect(expectAssigned(allocator.allocate(spec)).ips).toEqual(['192.0.2.6']);
  });

  it('prefers the metallb.io annotation over the legacy one when both are set', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/24'])]);
    const both = allocatorService('web', {
      annotations: {
        'metallb.io/loadBalancerIPs': '192.0.2.9',
        'metallb.universe.tf/loadBalancerIPs': '192.0.2.8',
      },
    });
    expect(expectAssigned(allocator.allocate(both)).ips).toEqual(['192.0.2.9']);
  });

  it('refuses a requested address outside every pool, naming the service, the address and the fix', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/24'])]);
    const refusal = expectRefused(allocator.allocate(allocatorService('web', requesting('203.0.113.7'))));
    expect(refusal.code).toBe('not-in-any-pool');
    expect(refusal.reason).toContain('Service default/web');
    expect(refusal.reason).toContain('203.0.113.7');
    expect(refusal.reason).toContain('no IPAddressPool contains it');
    expect(refusal.reason).toContain('spec.addresses');
    expect(allocator.assignmentOf(allocatorService('web'))).toBeUndefined();
  });

  it('refuses a requested address from a pool whose serviceAllocation does not admit the service', () => {
    const allocator = new Allocator([
      allocatorPool('team-a', ['192.0.2.0/28'], { allocation: allocation({ namespaces: ['team-a'] }) }),
    ]);
    const refusal = expectRefused(allocator.allocate(allocatorService('web', requesting('192.0.2.3'))));
    expect(refusal.code).toBe('pool-not-allowed');
    expect(refusal.reason).toContain('IPAddressPool "team-a" admits only namespace team-a');
    expect(refusal.reason).toContain('namespace default is not one of them');
  });

  it('gives a requested address from a pool with autoAssign false', () => {
    const allocator = new Allocator([allocatorPool('reserved', ['198.51.100.0/28'], { autoAssign: false })]);
    expect(expectAssigned(allocator.allocate(allocatorService('web', requesting('198.51.100.4')))).pool).toBe(
      'reserved',
    );
  });

  it('refuses a request set both in the annotation and in spec.loadBalancerIP', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/24'])]);
    const refusal = expectRefused(
      allocator.allocate(
        allocatorService('web', { ...requesting('192.0.2.1'), loadBalancerIP: '192.0.2.2' }),
      ),
    );
    expect(refusal.code).toBe('invalid-request');
    expect(refusal.reason).toContain(
      'both the metallb.io/loadBalancerIPs annotation and spec.loadBalancerIP',
    );
  });

  it('refuses malformed requests: not an address, three addresses, two of one family', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/24', '2001:db8::/64'])]);
    for (const ips of [
      '192.0.2.300',
      '192.0.2.1,2001:db8::1,192.0.2.2',
      '192.0.2.1, 192.0.2.2',
      '192.0.2.1,',
    ]) {
      expect(expectRefused(allocator.allocate(allocatorService('web', requesting(ips)))).code).toBe(
        'invalid-request',
      );
    }
  });

  it('refuses a requested address whose family the service does not have', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/24', '2001:db8::/64'])]);
    const refusal = expectRefused(allocator.allocate(allocatorService('web', requesting('2001:db8::5'))));
    expect(refusal.code).toBe('family-mismatch');
    expect(refusal.reason).toContain("service's ipFamilies are IPv4");
  });

  it('refuses a requested address from another pool than the address-pool annotation names', () => {
    const allocator = new Allocator([
      allocatorPool('a', ['192.0.2.0/28']),
      allocatorPool('b', ['198.51.100.0/28']),
    ]);
    const refusal = expectRefused(
      allocator.allocate(
        allocatorService('web', {
          annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.1', 'metallb.io/address-pool': 'b' },
        }),
      ),
    );
    expect(refusal.code).toBe('pool-mismatch');
    expect(refusal.reason).toContain('IPAddressPool "b"');
    expect(allocator.holdersOf('192.0.2.1')).toEqual([]);
  });

  it('refuses a requested address another service holds without a sharing key', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/24'])]);
    expectAssigned(allocator.allocate(allocatorService('first', requesting('192.0.2.10'))));
    const refusal = expectRefused(allocator.allocate(allocatorService('second', requesting('192.0.2.10'))));
    expect(refusal.code).toBe('address-in-use');
    expect(refusal.heldBy).toEqual(['default/first']);
    expect(refusal.reason).toContain('held by Service default/first, which does not allow sharing');
  });

  it('refuses a requested .0 address from a pool that avoids buggy addresses', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/24'], { avoidBuggyIPs: true })]);
    const refusal = expectRefused(allocator.allocate(allocatorService('web', requesting('192.0.2.0'))));
    expect(refusal.code).toBe('avoided-address');
    expect(refusal.reason).toContain('avoidBuggyIPs');
  });

  it('lets two services request one address when they share it on different ports', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/24'])]);
    const request = (name: string, port: number) =>
      allocatorService(name, {
        ...shared('k', port),
        annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.20', 'metallb.io/allow-shared-ip': 'k' },
      });
    expectAssigned(allocator.allocate(request('dns-tcp', 53)));
    expectAssigned(allocator.allocate(request('http', 80)));
    expect(allocator.holdersOf('192.0.2.20')).toEqual(['default/dns-tcp', 'default/http']);
  });
});
