import { describe, expect, it } from '@jest/globals';
import { Allocator } from './allocator.js';
import {
  allocation,
  allocatorPool,
  allocatorService,
  expectAssigned,
  expectRefused,
} from '../../../test/support/allocator.js';

describe('which pool a service gets its address from', () => {
  it('uses autoAssign false pools only when asked by name or address', () => {
    const allocator = new Allocator([
      allocatorPool('reserved', ['192.0.2.0/29'], { autoAssign: false }),
      allocatorPool('general', ['198.51.100.0/29']),
    ]);
    expect(expectAssigned(allocator.allocate(allocatorService('auto'))).pool).toBe('general');
    const named = allocatorService('named', { annotations: { 'metallb.io/address-pool': 'reserved' } });
    expect(expectAssigned(allocator.allocate(named)).ips).toEqual(['192.0.2.0']);
  });

  it('refuses automatic allocation when every pool has autoAssign false, and says how to ask', () => {
    const allocator = new Allocator([allocatorPool('reserved', ['192.0.2.0/29'], { autoAssign: false })]);
    const refusal = expectRefused(allocator.allocate(allocatorService('web')));
    expect(refusal.code).toBe('no-eligible-pool');
    expect(refusal.reason).toContain('IPAddressPool "reserved" has autoAssign: false');
    expect(refusal.reason).toContain('metallb.io/address-pool');
  });

  it('takes addresses only from the pool the address-pool annotation names, legacy prefix included', () => {
    const allocator = new Allocator([
      allocatorPool('a', ['192.0.2.0/29']),
      allocatorPool('b', ['198.51.100.0/29']),
    ]);
    const legacy = allocatorService('web', { annotations: { 'metallb.universe.tf/address-pool': 'b' } });
    expect(expectAssigned(allocator.allocate(legacy))).toMatchObject({ pool: 'b', ips: ['198.51.100.0'] });
  });

  it('refuses an unknown pool name and lists the pools that exist', () => {
    const allocator = new Allocator([
      allocatorPool('a', ['192.0.2.0/29']),
      allocatorPool('b', ['198.51.100.0/29']),
    ]);
    const refusal = expectRefused(
      allocator.allocate(allocatorService('web', { annotations: { 'metallb.io/address-pool': 'gold' } })),
    );
    expect(refusal.code).toBe('unknown-pool');
    expect(refusal.reason).toContain('IPAddressPool "gold"');
    expect(refusal.reason).toContain('"a" and "b"');
  });

  it('refuses a named pool whose serviceAllocation does not admit the service', () => {
    const allocator = new Allocator([
      allocatorPool('premium', ['192.0.2.0/29'], {
        allocation: allocation({ serviceSelectors: [{ matchLabels: { tier: 'premium' } }] }),
      }),
    ]);
    const refusal = expectRefused(
      allocator.allocate(allocatorService('web', { annotations: { 'metallb.io/address-pool': 'premium' } })),
    );
    expect(refusal.code).toBe('pool-not-allowed');
    expect(refusal.reason).toContain('admits only services labelled tier=premium');
  });

  it('tries pools selecting the service by priority, lower positive first and 0 or unset last', () => {
    const allocator = new Allocator([
      allocatorPool('unset', ['192.0.2.0/30'], { allocation: allocation({ namespaces: ['default'] }) }),
      allocatorPool('second', ['198.51.100.0/30'], {
        allocation: allocation({ priority: 20, namespaces: ['default'] }),
      }),
      allocatorPool('first', ['203.0.113.0/30'], {
        allocation: allocation({ priority: 10, namespaces: ['default'] }),
      }),
      allocatorPool('zero', ['192.0.2.128/30'], {
        allocation: allocation({ priority: 0, namespaces: ['default'] }),
      }),
      allocatorPool('open', ['192.0.2.64/30']),
    ]);
    const order = Array.from(
      { length: 17 },
      (_, index) => expectAssigned(allocator.allocate(allocatorService(`s${index}`))).pool,
    );
    expect(order).toEqual([
      ...Array<string>(4).fill('first'),
      ...Array<string>(4).fill('second'),
      // 0 and unset tie after the positives; the name breaks the tie.
      ...Array<string>(4).fill('unset'),
      ...Array<string>(4).fill('zero'),
      'open',
    ]);
  });

  it('prefers a pool whose serviceAllocation selects the service over pools without one', () => {
    const allocator = new Allocator([
      allocatorPool('aaa-open', ['192.0.2.0/29']),
      allocatorPool('team', ['198.51.100.0/29'], { allocation: allocation({ namespaces: ['team-a'] }) }),
    ]);
    expect(expectAssigned(allocator.allocate(allocatorService('web', { namespace: 'team-a' }))).pool).toBe(
      'team',
    );
    expect(expectAssigned(allocator.allocate(allocatorService('web', { namespace: 'other' }))).pool).toBe(
      'aaa-open',
    );
  });

  it('admits by namespace name or namespace labels', () => {
    const allocator = new Allocator([
      allocatorPool('prod', ['192.0.2.0/29'], {
        allocation: allocation({
          namespaces: ['payments'],
          namespaceSelectors: [{ matchLabels: { env: 'prod' } }],
        }),
      }),
    ]);
    expect(expectAssigned(allocator.allocate(allocatorService('a', { namespace: 'payments' }))).pool).toBe(
      'prod',
    );
    expect(
      expectAssigned(
        allocator.allocate(allocatorService('b', { namespace: 'shop', namespaceLabels: { env: 'prod' } })),
      ).pool,
    ).toBe('prod');
    const refusal = expectRefused(
      allocator.allocate(allocatorService('c', { namespace: 'dev', namespaceLabels: { env: 'dev' } })),
    );
    expect(refusal.code).toBe('no-pool-for-namespace');
    expect(refusal.reason).toContain('admits only namespace payments and namespaces labelled env=prod');
  });

  it('admits by service labels, with match expressions', () => {
    const allocator = new Allocator([
      allocatorPool('edge', ['192.0.2.0/29'], {
        allocation: allocation({
          serviceSelectors: [
            { matchExpressions: [{ key: 'tier', operator: 'In', values: ['edge', 'api'] }] },
          ],
        }),
      }),
    ]);
    expect(
      expectAssigned(allocator.allocate(allocatorService('api', { labels: { tier: 'api' } }))).pool,
    ).toBe('edge');
    const refusal = expectRefused(allocator.allocate(allocatorService('db', { labels: { tier: 'db' } })));
    // The namespace is admitted; the service's labels are what keep it out.
    expect(refusal.code).toBe('no-eligible-pool');
    expect(refusal.reason).toContain('admits only services labelled tier in (api,edge)');
  });

  it('requires both the namespace and the service selector when a pool sets both', () => {
    const allocator = new Allocator([
      allocatorPool('strict', ['192.0.2.0/29'], {
        allocation: allocation({
          namespaces: ['team-a'],
          serviceSelectors: [{ matchLabels: { expose: 'yes' } }],
        }),
      }),
    ]);
    expectRefused(allocator.allocate(allocatorService('a', { namespace: 'team-a' })));
    expectRefused(allocator.allocate(allocatorService('b', { labels: { expose: 'yes' } })));
    expectAssigned(
      allocator.allocate(allocatorService('c', { namespace: 'team-a', labels: { expose: 'yes' } })),
    );
  });

  it('never falls back to a pool whose serviceAllocation excludes the service, even when others are full', () => {
    const allocator = new Allocator([
      allocatorPool('tiny', ['192.0.2.1/32']),
      allocatorPool('team', ['198.51.100.0/29'], { allocation: allocation({ namespaces: ['team-a'] }) }),
    ]);
    expectAssigned(allocator.allocate(allocatorService('first')));
    const refusal = expectRefused(allocator.allocate(allocatorService('second')));
    expect(refusal.code).toBe('exhausted');
    expect(refusal.reason).toContain('IPAddressPool "tiny": IPv4 1 of 1 in use');
  });

  it('treats a serviceAllocation with only a priority as admitting every service', () => {
    const allocator = new Allocator([
      allocatorPool('aaa', ['192.0.2.0/29']),
      allocatorPool('preferred', ['198.51.100.0/29'], { allocation: allocation({ priority: 5 }) }),
    ]);
    expect(expectAssigned(allocator.allocate(allocatorService('web', { namespace: 'anywhere' }))).pool).toBe(
      'preferred',
    );
  });

  it('hands out the lowest free address, walking ranges in declared order', () => {
    const allocator = new Allocator([allocatorPool('main', ['198.51.100.10-198.51.100.11', '192.0.2.0/31'])]);
    const ips = ['a', 'b', 'c', 'd'].map(
      (name) => expectAssigned(allocator.allocate(allocatorService(name))).ips[0],
    );
    expect(ips).toEqual(['198.51.100.10', '198.51.100.11', '192.0.2.0', '192.0.2.1']);
  });

  it('hands out network and broadcast addresses unless the pool avoids buggy addresses', () => {
    const plain = new Allocator([allocatorPool('plain', ['192.0.2.0/31'])]);
    expect(expectAssigned(plain.allocate(allocatorService('a'))).ips).toEqual(['192.0.2.0']);
  });

  it('skips addresses ending in .0 and .255 when avoidBuggyIPs is set', () => {
    const allocator = new Allocator([
      allocatorPool('careful', ['192.0.2.254-192.0.4.1'], { avoidBuggyIPs: true }),
    ]);
    const ips: string[] = [];
    for (let index = 0; index < 3; index += 1)
      ips.push(expectAssigned(allocator.allocate(allocatorService(`s${index}`))).ips[0] as string);
    expect(ips).toEqual(['192.0.2.254', '192.0.3.1', '192.0.3.2']);
    // 192.0.3.255 and 192.0.4.0 are skipped on the way to 192.0.4.1.
    for (let index = 3; index < 255; index += 1)
      expectAssigned(allocator.allocate(allocatorService(`s${index}`)));
    expect(expectAssigned(allocator.allocate(allocatorService('last'))).ips).toEqual(['192.0.4.1']);
    expect(expectRefused(allocator.allocate(allocatorService('none'))).code).toBe('exhausted');
  });

  it('explains an exhausted pool with its use and what would fix it', () => {
    const allocator = new Allocator([allocatorPool('small', ['192.0.2.0/31'])]);
    expectAssigned(allocator.allocate(allocatorService('a')));
    expectAssigned(allocator.allocate(allocatorService('b')));
    const refusal = expectRefused(allocator.allocate(allocatorService('c')));
    expect(refusal.reason).toBe(
      'Service default/c cannot get an IPv4 address: every pool it may use ("small") is full ' +
        '(IPAddressPool "small": IPv4 2 of 2 in use). Add addresses to a pool, or delete services that no longer need one.',
    );
  });

  it('explains a full pool named by the address-pool annotation', () => {
    const allocator = new Allocator([allocatorPool('one', ['192.0.2.1/32'], { autoAssign: false })]);
    const named = (name: string) =>
      allocatorService(name, { annotations: { 'metallb.io/address-pool': 'one' } });
    expectAssigned(allocator.allocate(named('a')));
    expect(expectRefused(allocator.allocate(named('b'))).reason).toContain(
      'cannot get an IPv4 address: IPAddressPool "one", which metallb.io/address-pool asks for, is full',
    );
  });

  it('says so when no pool exists at all', () => {
    const refusal = expectRefused(new Allocator().allocate(allocatorService('web')));
    expect(refusal.code).toBe('no-pool');
    expect(refusal.reason).toBe(
      'Service default/web cannot get an address: no IPAddressPool exists; create one',
    );
  });

  it('tells a namespace no pool admits apart from a service only its labels keep out', () => {
    const allocator = new Allocator([
      allocatorPool('team', ['192.0.2.0/29'], { allocation: allocation({ namespaces: ['team-a'] }) }),
      allocatorPool('reserved', ['198.51.100.0/29'], { autoAssign: false }),
    ]);
    // "reserved" admits every namespace, by name only: the namespace is not what keeps the service out.
    expect(expectRefused(allocator.allocate(allocatorService('web', { namespace: 'shop' }))).code).toBe(
      'no-eligible-pool',
    );
    const closed = new Allocator([
      allocatorPool('team', ['192.0.2.0/29'], { allocation: allocation({ namespaces: ['team-a'] }) }),
    ]);
    expect(expectRefused(closed.allocate(allocatorService('web', { namespace: 'shop' }))).code).toBe(
      'no-pool-for-namespace',
    );
  });

  it('says so when the pools a service may use have no address of its family', () => {
    const allocator = new Allocator([allocatorPool('v4', ['192.0.2.0/29'])]);
    const refusal = expectRefused(allocator.allocate(allocatorService('six', { ipFamilies: [6] })));
    expect(refusal.code).toBe('no-pool-of-family');
    expect(refusal.reason).toContain('needs an IPv6 address, but IPAddressPool "v4" has IPv4 addresses only');
  });
});
