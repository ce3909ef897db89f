import { describe, expect, it } from '@jest/globals';
import type { V1Service } from '@kubernetes/client-node';
import type { IPAddressPool } from '../../api/types.generated.js';
import { legacyAnnotationsOf, readServiceIntent } from './annotations.js';
import { ingressIPsOf, poolFromResource, serviceFromKubernetes } from './from-kubernetes.js';
import { allocatorService } from '../../../test/support/allocator.js';

const dualStackService: V1Service = {
  metadata: {
    namespace: 'shop',
    name: 'web',
    labels: { app: 'web' },
    annotations: { 'metallb.universe.tf/allow-shared-ip': 'front' },
    creationTimestamp: new Date('2024-01-02T03:04:05Z'),
  },
  spec: {
    type: 'LoadBalancer',
    ipFamilies: ['IPv6', 'IPv4'],
    ipFamilyPolicy: 'PreferDualStack',
    ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }],
    externalTrafficPolicy: 'Local',
    selector: { app: 'web' },
  },
  status: {
    loadBalancer: { ingress: [{ ip: '2001:db8::1' }, { hostname: 'lb.example.com' }, { ip: '192.0.2.1' }] },
  },
};

describe('building allocator inputs from Kubernetes objects', () => {
  it('reads a Service with its namespace labels', () => {
    expect(serviceFromKubernetes(dualStackService, { env: 'prod' })).toEqual({
      namespace: 'shop',
      name: 'web',
      labels: { app: 'web' },
      namespaceLabels: { env: 'prod' },
      annotations: { 'metallb.universe.tf/allow-shared-ip': 'front' },
      type: 'LoadBalancer',
      loadBalancerClass: undefined,
      loadBalancerIP: undefined,
      ipFamilies: [6, 4],
      ipFamilyPolicy: 'PreferDualStack',
      ports: [
        { protocol: 'TCP', port: 80 },
        { protocol: 'UDP', port: 53 },
      ],
      externalTrafficPolicy: 'Local',
      selector: { app: 'web' },
      createdAt: Date.parse('2024-01-02T03:04:05Z'),
    });
  });

  it('derives the families from the cluster IPs when ipFamilies is missing, and defaults the rest', () => {
    const bare = serviceFromKubernetes({ metadata: { name: 'x' }, spec: { clusterIPs: ['2001:db8::a'] } });
    expect(bare).toMatchObject({
      namespace: 'default',
      type: 'ClusterIP',
      ipFamilies: [6],
      ipFamilyPolicy: 'SingleStack',
      externalTrafficPolicy: 'Cluster',
    });
  });

  it('lists only the IP entries of status.loadBalancer.ingress', () => {
    expect(ingressIPsOf(dualStackService)).toEqual(['2001:db8::1', '192.0.2.1']);
    expect(ingressIPsOf({})).toEqual([]);
  });

  it('reads an IPAddressPool with its defaults and serviceAllocation', () => {
    const resource: IPAddressPool = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { namespace: 'metallb-system', name: 'main' },
      spec: {
        addresses: ['192.0.2.0/24', '198.51.100.10 - 198.51.100.20'],
        serviceAllocation: { priority: 5, namespaces: ['shop'] },
      },
    };
    const result = poolFromResource(resource);
    if (!result.ok) throw new Error(result.problems.map((problem) => problem.message).join('; '));
    expect(result.pool).toMatchObject({ name: 'main', autoAssign: true, avoidBuggyIPs: false });
    expect(result.pool.ranges).toHaveLength(2);
    expect(result.pool.allocation?.namespaces.has('shop')).toBe(true);
    expect(result.pool.allocation?.priority).toBe(5);
  });

  it('reports the field path of an address entry it cannot read', () => {
    const result = poolFromResource({
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { namespace: 'metallb-system', name: 'bad' },
      spec: { addresses: ['192.0.2.0/24', '192.0.2.300/32'] },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems[0]).toMatchObject({
      object: { kind: 'IPAddressPool', namespace: 'metallb-system', name: 'bad' },
      field: 'spec.addresses[1]',
    });
  });
});

describe('service annotations', () => {
  it('lists the deprecated metallb.universe.tf annotations a service still uses', () => {
    expect(legacyAnnotationsOf(serviceFromKubernetes(dualStackService))).toEqual([
      'metallb.universe.tf/allow-shared-ip',
    ]);
  });

  it('treats an empty annotation as unset', () => {
    const result = readServiceIntent(
      allocatorService('web', {
        annotations: { 'metallb.io/allow-shared-ip': ' ', 'metallb.io/address-pool': '' },
      }),
    );
    expect(result).toEqual({
      ok: true,
      intent: { requested: undefined, pool: undefined, sharingKey: undefined },
    });
  });
});
