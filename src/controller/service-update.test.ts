import { describe, expect, it } from '@jest/globals';
import { Allocator, convergeService } from './allocator/index.js';
import {
  allocatorPool,
  allocatorService,
  preferDualStack,
  requesting,
} from '../../test/support/allocator.js';
import { deprecationWarning, planServiceUpdate } from './service-update.js';

function plan(
  allocator: Allocator,
  target: ReturnType<typeof allocatorService>,
  currentIps: readonly string[],
  currentPoolAnnotation?: string,
  loadBalancerClass?: string,
) {
  const convergence = convergeService(allocator, target, currentIps, { loadBalancerClass });
  return planServiceUpdate({
    convergence,
    currentPoolAnnotation,
    servedClass: (target.loadBalancerClass ?? '') === (loadBalancerClass ?? ''),
  });
}

describe('what a convergence writes to the Service', () => {
  it('writes the new address to status, names the pool in the annotation and records IPAllocated', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    const update = plan(allocator, allocatorService('web'), []);
    expect(update).toMatchObject({ ingress: ['192.0.2.0'], poolAnnotation: 'main', waiting: false });
    expect(update.events).toEqual([
      {
        type: 'Normal',
        reason: 'IPAllocated',
        action: 'Allocate',
        note: 'Assigned IP 192.0.2.0 from IPAddressPool "main"',
      },
    ]);
  });

  it('writes nothing and says nothing for a service whose status and annotation already agree', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    allocator.rebuild([{ service: allocatorService('web'), ips: ['192.0.2.3'] }]);
    const update = plan(allocator, allocatorService('web'), ['192.0.2.3'], 'main');
    expect(update).toEqual({
      ingress: undefined,
      poolAnnotation: undefined,
      events: [],
      waiting: false,
      releasedAddresses: false,
    });
  });

  it('repairs only the pool annotation when that is all that is missing or wrong', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    expect(plan(allocator, allocatorService('web'), ['192.0.2.3'])).toMatchObject({
      ingress: undefined,
      poolAnnotation: 'main',
      events: [],
    });
    expect(plan(allocator, allocatorService('web'), ['192.0.2.3'], 'old-name')).toMatchObject({
      ingress: undefined,
      poolAnnotation: 'main',
    });
  });

  it('clears status and removes the annotation when the service is no longer a LoadBalancer', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    allocator.rebuild([{ service: allocatorService('web'), ips: ['192.0.2.3'] }]);
    const update = plan(allocator, allocatorService('web', { type: 'ClusterIP' }), ['192.0.2.3'], 'main');
    expect(update).toEqual({
      ingress: [],
      poolAnnotation: null,
      events: [],
      waiting: false,
      releasedAddresses: true,
    });
    expect(allocator.holdersOf('192.0.2.3')).toEqual([]);
  });

  it('never touches a service of another load-balancer class, but forgets what it held', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    allocator.rebuild([{ service: allocatorService('web'), ips: ['192.0.2.3'] }]);
    const update = plan(
      allocator,
      allocatorService('web', { loadBalancerClass: 'other' }),
      ['192.0.2.3'],
      'main',
    );
    expect(update).toEqual({ events: [], waiting: false, releasedAddresses: true });
    expect(allocator.holdersOf('192.0.2.3')).toEqual([]);
  });

  it('serves only its own class when started with --lb-class', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    expect(plan(allocator, allocatorService('plain'), [], undefined, 'mine')).toEqual({
      events: [],
      waiting: false,
      releasedAddresses: false,
    });
    expect(
      plan(allocator, allocatorService('mine', { loadBalancerClass: 'mine' }), [], undefined, 'mine'),
    ).toMatchObject({ ingress: ['192.0.2.0'], poolAnnotation: 'main' });
  });

  it('says why an address that left the pools was cleared, then announces the new one', () => {
    const allocator = new Allocator([allocatorPool('main', ['198.51.100.0/29'])]);
    const update = plan(allocator, allocatorService('web'), ['192.0.2.9'], 'old');
    expect(update.ingress).toEqual(['198.51.100.0']);
    expect(update.poolAnnotation).toBe('main');
    expect(update.releasedAddresses).toBe(true);
    expect(update.events.map((event) => event.reason)).toEqual(['ClearAssignment', 'IPAllocated']);
    expect(update.events[0]?.note).toMatch(/^Current IP 192\.0\.2\.9 not allowed by config/);
    expect(update.events[0]?.note).toContain('no IPAddressPool contains it');
    expect(update.events[1]).toMatchObject({
      action: 'Reallocate',
      note: 'Assigned IP 198.51.100.0 from IPAddressPool "main" in place of 192.0.2.9',
    });
  });

  it('warns AllocationFailed with the reason when a requested address is in no pool, and the service waits', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    const update = plan(allocator, allocatorService('web', requesting('203.0.113.50')), []);
    expect(update).toMatchObject({ ingress: undefined, poolAnnotation: undefined, waiting: true });
    expect(update.events).toHaveLength(1);
    expect(update.events[0]).toMatchObject({ type: 'Warning', reason: 'AllocationFailed' });
    expect(update.events[0]?.note).toContain('203.0.113.50');
    expect(update.events[0]?.note).toContain('no IPAddressPool contains it');
  });

  it('clears the status and the annotation of a service that lost its address and got no other', () => {
    const allocator = new Allocator([allocatorPool('main', ['198.51.100.0/32'])]);
    allocator.allocate(allocatorService('first'));
    const update = plan(allocator, allocatorService('web'), ['192.0.2.9'], 'old');
    expect(update).toMatchObject({
      ingress: [],
      poolAnnotation: null,
      waiting: true,
      releasedAddresses: true,
    });
    expect(update.events.map((event) => event.reason)).toEqual(['ClearAssignment', 'AllocationFailed']);
  });

  it('reports AdditionalAssignFailed when a PreferDualStack service keeps only one family', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/32', '2001:db8::/127'])]);
    allocator.allocate(allocatorService('v6-a', { ipFamilies: [6] }));
    allocator.allocate(allocatorService('v6-b', { ipFamilies: [6] }));
    const update = plan(allocator, allocatorService('web', preferDualStack), ['192.0.2.0'], 'main');
    expect(update.ingress).toBeUndefined();
    expect(update.events.map((event) => event.reason)).toEqual(['AdditionalAssignFailed']);
    expect(update.events[0]?.note).toContain('no free IPv6 address');
  });
});

describe('the deprecated-annotation warning', () => {
  it('comes once per distinct set of metallb.universe.tf annotations and names the replacement', () => {
    const first = deprecationWarning(['metallb.universe.tf/allow-shared-ip'], '');
    expect(first.event).toMatchObject({ type: 'Warning', reason: 'DeprecatedAnnotation' });
    expect(first.event?.note).toContain('use metallb.io/allow-shared-ip instead');
    expect(deprecationWarning(['metallb.universe.tf/allow-shared-ip'], first.warned).event).toBeUndefined();
    const more = deprecationWarning(
      ['metallb.universe.tf/address-pool', 'metallb.universe.tf/allow-shared-ip'],
      first.warned,
    );
    expect(more.event).toBeDefined();
    expect(deprecationWarning([], more.warned)).toEqual({ warned: '' });
  });
});
