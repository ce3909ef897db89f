import { describe, expect, it } from '@jest/globals';
import type { ServiceL2Status } from '../api/types.generated.js';
import type { L2ClaimState } from './l2/announcer.js';
import {
  ANNOUNCED_IPS_ANNOTATION,
  announcedAddresses,
  desiredServiceL2Statuses,
  l2StatusChanges,
  serviceL2StatusName,
} from './l2-status.js';
import type { L2Plan } from './plan/index.js';
import { STATUS_NODE_LABEL, STATUS_SERVICE_NAMESPACE_LABEL, STATUS_SERVICE_NAME_LABEL } from './status.js';

const ns = 'metallb-system';
const web = { namespace: 'default', name: 'web' };

function planWith(node: string): L2Plan {
  return {
    node,
    notLive: false,
    claims: [],
    announced: [{ service: web, ips: ['198.51.100.10', '2001:db8:1::10'], interfaces: [] }],
    owners: new Map([['default/web', node]]),
    withheld: [],
  };
}

function existing(node: string, service = web, ips = '198.51.100.10'): ServiceL2Status {
  return {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'ServiceL2Status',
    metadata: {
      name: serviceL2StatusName(node, service),
      namespace: ns,
      labels: {
        [STATUS_NODE_LABEL]: node,
        [STATUS_SERVICE_NAME_LABEL]: service.name,
        [STATUS_SERVICE_NAMESPACE_LABEL]: service.namespace,
      },
      annotations: { [ANNOUNCED_IPS_ANNOTATION]: ips },
    },
    status: {
      node,
      serviceName: service.name,
      serviceNamespace: service.namespace,
      interfaces: [{ name: 'eth0' }],
    },
  };
}

describe('ServiceL2Status', () => {
  it('names objects per node and Service, deterministically', () => {
    expect(serviceL2StatusName('node-a', web)).toMatch(/^l2-node-a-[0-9a-f]{10}$/);
    expect(serviceL2StatusName('node-a', web)).toBe(serviceL2StatusName('node-a', web));
    expect(serviceL2StatusName('node-b', web)).not.toBe(serviceL2StatusName('node-a', web));
  });

  it('lists the interfaces the announcements went out on, once an address is announced', () => {
    const states = new Map<string, L2ClaimState>([
      ['198.51.100.10', { phase: 'announcing', interfaces: ['eth1', 'eth0'] }],
      ['2001:db8:1::10', { phase: 'probing' }],
    ]);
    const desired = desiredServiceL2Statuses(planWith('node-a'), (ip) => states.get(ip), ns);
    const [object] = [...desired.values()];
    expect(object?.status).toEqual({
      node: 'node-a',
      serviceName: 'web',
      serviceNamespace: 'default',
      interfaces: [{ name: 'eth0' }, { name: 'eth1' }],
    });
    expect(object?.metadata.annotations?.[ANNOUNCED_IPS_ANNOTATION]).toBe('198.51.100.10');
    expect(desiredServiceL2Statuses(planWith('node-a'), () => ({ phase: 'probing' }), ns).size).toBe(0);
  });

  it('writes nothing when the object already says the same', () => {
    const states = (): L2ClaimState => ({ phase: 'announcing', interfaces: ['eth0'] });
    const plan = {
      ...planWith('node-a'),
      announced: [{ service: web, ips: ['198.51.100.10'], interfaces: [] }],
    };
    const desired = desiredServiceL2Statuses(plan, states, ns);
    const changes = l2StatusChanges('node-a', desired, [existing('node-a')], new Set(['node-a']));
    expect(changes).toEqual({ applyMetadata: [], applyStatus: [], remove: [] });
  });

  it("removes this node's stale objects, and a dead node's object for a Service this node took over", () => {
    const states = (): L2ClaimState => ({ phase: 'announcing', interfaces: ['eth0'] });
    const desired = desiredServiceL2Statuses(planWith('node-a'), states, ns);
    const other = { namespace: 'default', name: 'gone' };
    const changes = l2StatusChanges(
      'node-a',
      desired,
      [existing('node-a', other), existing('node-b'), existing('node-c', other)],
      new Set(['node-a', 'node-c']),
    );
    expect(changes.remove.map((object) => object.metadata.name)).toEqual([
      serviceL2StatusName('node-a', other),
      serviceL2StatusName('node-b', web),
    ]);
  });

  it('collects the addresses every node says it announced', () => {
    expect([
      ...announcedAddresses([existing('node-a'), existing('node-b', web, '192.0.2.1,2001:db8::1')]),
    ]).toEqual(['198.51.100.10', '192.0.2.1', '2001:db8::1']);
  });
});
