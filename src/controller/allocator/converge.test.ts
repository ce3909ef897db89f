import { describe, expect, it } from '@jest/globals';
import { Allocator } from './allocator.js';
import { convergeService, servesLoadBalancerClass } from './converge.js';
import {
  allocatorPool,
  allocatorService,
  preferDualStack,
  requesting,
} from '../../../test/support/allocator.js';

describe('reconciling one service', () => {
  it('allocates for a new LoadBalancer service and asks for a status write', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    expect(convergeService(allocator, allocatorService('web'), [])).toEqual({
      kind: 'assigned',
      pool: 'main',
      ips: ['192.0.2.0'],
      changed: true,
      extended: false,
      dropped: undefined,
    });
  });

  it('keeps a service address across a controller restart without writing status', () => {
    const before = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    convergeService(before, allocatorService('a'), []);
    const second = convergeService(before, allocatorService('b'), []);
    expect(second.ips).toEqual(['192.0.2.1']);

    const after = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    after.rebuild([{ service: allocatorService('b'), ips: ['192.0.2.1'] }]);
    expect(convergeService(after, allocatorService('new'), []).ips).toEqual(['192.0.2.0']);
    const kept = convergeService(after, allocatorService('b'), ['192.0.2.1']);
    expect(kept).toMatchObject({ kind: 'kept', ips: ['192.0.2.1'], changed: false });
  });

  it('replaces an address that left every pool and says why the old one was dropped', () => {
    const allocator = new Allocator([allocatorPool('main', ['198.51.100.0/29'])]);
    const result = convergeService(allocator, allocatorService('web'), ['192.0.2.9']);
    expect(result).toMatchObject({ kind: 'assigned', ips: ['198.51.100.0'], changed: true });
    if (result.kind !== 'assigned') throw new Error('unreachable');
    expect(result.dropped?.ips).toEqual(['192.0.2.9']);
    expect(result.dropped?.reason).toContain('no IPAddressPool contains it');
  });

  it('moves a service to the address it now requests', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    convergeService(allocator, allocatorService('web'), []);
    const result = convergeService(allocator, allocatorService('web', requesting('192.0.2.7')), [
      '192.0.2.0',
    ]);
    expect(result).toMatchObject({ kind: 'assigned', ips: ['192.0.2.7'] });
    expect(allocator.holdersOf('192.0.2.0')).toEqual([]);
  });

  it('gives up the current address and reports failure when nothing else fits', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    const result = convergeService(allocator, allocatorService('web', requesting('203.0.113.1')), [
      '192.0.2.0',
    ]);
    expect(result).toMatchObject({ kind: 'failed', ips: [], changed: true });
    if (result.kind !== 'failed') throw new Error('unreachable');
    expect(result.refusal.code).toBe('not-in-any-pool');
    expect(allocator.assignmentOf(allocatorService('web'))).toBeUndefined();
  });

  it('releases the address of a service that is no longer a LoadBalancer', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    convergeService(allocator, allocatorService('web'), []);
    const result = convergeService(allocator, allocatorService('web', { type: 'ClusterIP' }), ['192.0.2.0']);
    expect(result).toMatchObject({ kind: 'ignored', ips: [], changed: true });
    expect(allocator.assignmentOf(allocatorService('web'))).toBeUndefined();
  });

  it('leaves services of another load-balancer class alone', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    const foreign = allocatorService('web', { loadBalancerClass: 'example.com/other' });
    expect(convergeService(allocator, foreign, ['203.0.113.1'])).toMatchObject({
      kind: 'ignored',
      ips: ['203.0.113.1'],
      changed: false,
    });
    expect(convergeService(allocator, foreign, [], { loadBalancerClass: 'example.com/other' }).kind).toBe(
      'assigned',
    );
    expect(servesLoadBalancerClass(allocatorService('plain'), 'example.com/other')).toBe(false);
    expect(servesLoadBalancerClass(allocatorService('plain'), undefined)).toBe(true);
  });

  it('adds the second family to a PreferDualStack service when its pool gains it', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    const web = allocatorService('web', preferDualStack);
    const first = convergeService(allocator, web, []);
    expect(first.ips).toEqual(['192.0.2.0']);
    const stillSingle = convergeService(allocator, web, first.ips);
    expect(stillSingle.kind).toBe('kept');
    if (stillSingle.kind !== 'kept') throw new Error('unreachable');
    expect(stillSingle.extendRefused?.code).toBe('exhausted');
    allocator.setPools([allocatorPool('main', ['192.0.2.0/29', '2001:db8::/64'])]);
    expect(convergeService(allocator, web, first.ips)).toMatchObject({
      kind: 'assigned',
      ips: ['192.0.2.0', '2001:db8::'],
      extended: true,
      changed: true,
    });
  });

  it('does not rewrite status when only the spelling of an address differs', () => {
    const allocator = new Allocator([allocatorPool('v6', ['2001:db8::/64'])]);
    const web = allocatorService('web', { ipFamilies: [6] });
    expect(convergeService(allocator, web, ['2001:DB8:0::5'])).toMatchObject({
      kind: 'kept',
      ips: ['2001:db8::5'],
      changed: false,
    });
  });
});
