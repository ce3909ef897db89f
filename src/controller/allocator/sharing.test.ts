import { describe, expect, it } from '@jest/globals';
import { Allocator } from './allocator.js';
import {
  allocatorPool,
  allocatorService,
  expectAssigned,
  expectRefused,
  requesting,
  shared,
} from '../../../test/support/allocator.js';
import type { AllocatorService } from './types.js';

function sharing(name: string, key: string, ports: number[], extra: Partial<AllocatorService> = {}) {
  const base = shared(key, ...ports);
  return allocatorService(name, {
    ...base,
    ...extra,
    annotations: { ...base.annotations, ...extra.annotations },
  });
}

describe('sharing an address between services', () => {
  it('gives services with the same allow-shared-ip key and other ports the same address', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    const http = expectAssigned(allocator.allocate(sharing('http', 'front', [80])));
    const https = expectAssigned(allocator.allocate(sharing('https', 'front', [443])));
    expect(https.ips).toEqual(http.ips);
    expect(allocator.holdersOf('192.0.2.0')).toEqual(['default/http', 'default/https']);
  });

  it('reads the legacy metallb.universe.tf/allow-shared-ip key', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    expectAssigned(allocator.allocate(sharing('a', 'k', [80])));
    const legacy = allocatorService('b', {
      ports: [{ protocol: 'TCP', port: 81 }],
      annotations: { 'metallb.universe.tf/allow-shared-ip': 'k' },
    });
    expect(expectAssigned(allocator.allocate(legacy)).ips).toEqual(['192.0.2.0']);
  });

  it('refuses to share a requested address on a port clash, naming the port and the holder', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    expectAssigned(allocator.allocate(sharing('a', 'k', [80], requesting('192.0.2.3'))));
    const refusal = expectRefused(allocator.allocate(sharing('b', 'k', [443, 80], requesting('192.0.2.3'))));
    expect(refusal.code).toBe('sharing-conflict');
    expect(refusal.reason).toBe(
      'Service default/b cannot use 192.0.2.3: port TCP/80 is already used on 192.0.2.3 by Service default/a; ' +
        'give the services different ports, or remove metallb.io/allow-shared-ip so this one gets its own address',
    );
  });

  it('gives a clashing sharer the next free address when it did not request one', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    expectAssigned(allocator.allocate(sharing('a', 'k', [80])));
    expect(expectAssigned(allocator.allocate(sharing('b', 'k', [80]))).ips).toEqual(['192.0.2.1']);
  });

  it('refuses sharing when the pool is full and every shared address clashes', () => {
    const allocator = new Allocator([allocatorPool('one', ['192.0.2.1/32'])]);
    expectAssigned(allocator.allocate(sharing('a', 'k', [80])));
    const refusal = expectRefused(allocator.allocate(sharing('b', 'k', [80])));
    expect(refusal.code).toBe('exhausted');
    expect(refusal.reason).toContain('No address shared under metallb.io/allow-shared-ip "k"');
  });

  it('treats the same port number over TCP and UDP as different ports', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    expectAssigned(allocator.allocate(sharing('dns-tcp', 'dns', [53])));
    const udp = allocatorService('dns-udp', {
      annotations: { 'metallb.io/allow-shared-ip': 'dns' },
      ports: [{ protocol: 'UDP', port: 53 }],
    });
    expect(expectAssigned(allocator.allocate(udp)).ips).toEqual(['192.0.2.0']);
  });

  it('does not share between different keys, nor with a service without a key', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    expectAssigned(allocator.allocate(sharing('a', 'one', [80], requesting('192.0.2.5'))));
    const otherKey = expectRefused(allocator.allocate(sharing('b', 'two', [81], requesting('192.0.2.5'))));
    expect(otherKey.reason).toContain('services share an address only with equal keys');
    const noKey = expectRefused(
      allocator.allocate(allocatorService('c', { ...requesting('192.0.2.5'), ports: [] })),
    );
    expect(noKey.reason).toContain('set metallb.io/allow-shared-ip: "one" on Service default/c');
  });

  it('shares under externalTrafficPolicy Local only with the same pod selector', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    const local = (name: string, port: number, app: string) =>
      sharing(name, 'k', [port], { externalTrafficPolicy: 'Local', selector: { app } });
    const first = expectAssigned(allocator.allocate(local('a', 80, 'web')));
    expect(expectAssigned(allocator.allocate(local('b', 443, 'web'))).ips).toEqual(first.ips);
    expect(expectAssigned(allocator.allocate(local('c', 8080, 'other'))).ips).not.toEqual(first.ips);
    const refusal = expectRefused(
      allocator.allocate(
        sharing('d', 'k', [9090], {
          externalTrafficPolicy: 'Local',
          selector: { app: 'other' },
          annotations: { 'metallb.io/loadBalancerIPs': first.ips[0] as string },
        }),
      ),
    );
    expect(refusal.reason).toContain('same pod selector');
  });

  it('does not share between a Local and a Cluster service', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    expectAssigned(allocator.allocate(sharing('a', 'k', [80], requesting('192.0.2.1'))));
    const local = sharing('b', 'k', [81], { ...requesting('192.0.2.1'), externalTrafficPolicy: 'Local' });
    const refusal = expectRefused(allocator.allocate(local));
    expect(refusal.code).toBe('sharing-conflict');
    expect(refusal.reason).toContain('same pod selector and policy');
  });

  it('keeps a shared address for the remaining service and frees it when the last one leaves', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    expectAssigned(allocator.allocate(sharing('a', 'k', [80])));
    expectAssigned(allocator.allocate(sharing('b', 'k', [81])));
    expect(allocator.poolStats('main')?.inUse.ipv4).toBe(1);
    allocator.release(allocatorService('a'));
    expect(allocator.holdersOf('192.0.2.0')).toEqual(['default/b']);
    expect(expectAssigned(allocator.allocate(allocatorService('plain'))).ips).toEqual(['192.0.2.1']);
    allocator.release(allocatorService('b'));
    expect(allocator.poolStats('main')?.inUse.ipv4).toBe(1);
    expect(expectAssigned(allocator.allocate(allocatorService('next'))).ips).toEqual(['192.0.2.0']);
  });

  it('lets the only holder of an address change its sharing key in place', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    expectAssigned(allocator.allocate(sharing('a', 'old', [80])));
    expect(expectAssigned(allocator.assign(sharing('a', 'new', [80]), ['192.0.2.0'])).ips).toEqual([
      '192.0.2.0',
    ]);
    expect(expectAssigned(allocator.allocate(sharing('b', 'new', [81]))).ips).toEqual(['192.0.2.0']);
  });
});
