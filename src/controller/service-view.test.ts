import { describe, expect, it } from '@jest/globals';
import type { V1Service } from '@kubernetes/client-node';
import { convergeOrder, isOwnEcho } from './service-view.js';
import { service } from '../../test/support/kube-objects.js';

function withStatus(service: V1Service, ips: readonly string[], resourceVersion: string): V1Service {
  return {
    ...service,
    metadata: { ...service.metadata, resourceVersion },
    status: { loadBalancer: { ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' })) } },
  };
}

describe('recognising the echo of our own writes', () => {
  const before = service('web', { resourceVersion: '10' });

  it('skips a status write that shows what the controller holds', () => {
    expect(isOwnEcho(before, withStatus(before, ['192.0.2.1'], '11'), ['192.0.2.1'])).toBe(true);
  });

  it('skips the pool annotation being set or removed', () => {
    const annotated: V1Service = {
      ...before,
      metadata: {
        ...before.metadata,
        resourceVersion: '12',
        annotations: { 'metallb.io/ip-allocated-from-pool': 'main' },
      },
    };
    expect(isOwnEcho(before, annotated, [])).toBe(true);
    expect(isOwnEcho(annotated, before, [])).toBe(true);
  });

  it('reconciles when someone sets the status to something the controller does not hold', () => {
    expect(isOwnEcho(before, withStatus(before, ['192.0.2.77'], '11'), ['192.0.2.1'])).toBe(false);
    expect(
      isOwnEcho(withStatus(before, ['192.0.2.1'], '11'), withStatus(before, [], '12'), ['192.0.2.1']),
    ).toBe(false);
  });

  it('reconciles any change to spec, labels or other annotations', () => {
    const retyped = { ...before, spec: { ...before.spec, type: 'ClusterIP' } };
    const relabelled = { ...before, metadata: { ...before.metadata, labels: { tier: 'gold' } } };
    const requested = {
      ...before,
      metadata: { ...before.metadata, annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.9' } },
    };
    for (const changed of [retyped, relabelled, requested])
      expect(isOwnEcho(before, changed, [])).toBe(false);
  });

  it('reconciles a service deleted and recreated under the same name', () => {
    const recreated = service('web', { resourceVersion: '20', uid: 'another' });
    expect(isOwnEcho(before, recreated, [])).toBe(false);
  });
});

describe('the order in which all services are converged', () => {
  it('puts services holding addresses first (dual-stack first), then waiting ones oldest first', () => {
    const services = [
      service('new-late', { created: '2026-01-03T00:00:00Z' }),
      service('single', { ingress: ['192.0.2.1'], created: '2026-01-05T00:00:00Z' }),
      service('new-early', { created: '2026-01-02T00:00:00Z' }),
      service('dual', { ingress: ['192.0.2.2', '2001:db8::2'], created: '2026-01-09T00:00:00Z' }),
      service('single-older', { ingress: ['192.0.2.3'], created: '2026-01-04T00:00:00Z' }),
    ];
    expect(convergeOrder(services)).toEqual([
      'default/dual',
      'default/single-older',
      'default/single',
      'default/new-early',
      'default/new-late',
    ]);
  });
});
