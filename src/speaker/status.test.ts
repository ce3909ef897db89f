import { describe, expect, it } from '@jest/globals';
import type { ServiceBGPStatus } from '../api/types.generated.js';
import type { KubeObject } from '../runtime/kube-object.js';
import { FakeCache } from '../../test/support/fake-cache.js';
import type { BgpPlan } from './plan/index.js';
import {
  ServiceBgpStatusWriter,
  desiredServiceBgpStatuses,
  serviceBgpStatusName,
  statusChanges,
} from './status.js';

function plan(announced: BgpPlan['announced'], node = 'node-1'): BgpPlan {
  return { node, vrfs: [], announced, refused: [], withheld: [], skippedPeers: [] };
}

const web = { namespace: 'default', name: 'web' };
const dns = { namespace: 'kube-system', name: 'dns' };

describe('ServiceBGPStatus', () => {
  it('names objects after the node and a hash of the service, the same way every time', () => {
    const name = serviceBgpStatusName('node-1', web);
    expect(name).toMatch(/^bgp-node-1-[0-9a-f]{10}$/);
    expect(serviceBgpStatusName('node-1', web)).toBe(name);
    expect(serviceBgpStatusName('node-2', web)).not.toBe(name);
    expect(serviceBgpStatusName('node-1', dns)).not.toBe(name);
    const long = serviceBgpStatusName(`${'a'.repeat(240)}.example`, web);
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long).toMatch(/^bgp-a+-[0-9a-f]{10}$/);
  });

  it('wants one object per service this node sends to at least one peer, labelled and owned by the node', () => {
    const desired = desiredServiceBgpStatuses(
      plan([
        { service: web, peers: ['router-a', 'router-b'] },
        { service: dns, peers: [] },
      ]),
      'metallb-system',
      { name: 'node-1', uid: 'uid-1' },
    );
    expect([...desired.values()]).toEqual([
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'ServiceBGPStatus',
        metadata: {
          name: serviceBgpStatusName('node-1', web),
          namespace: 'metallb-system',
          labels: {
            'metallb.io/node': 'node-1',
            'metallb.io/service-name': 'web',
            'metallb.io/service-namespace': 'default',
          },
          ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'node-1', uid: 'uid-1' }],
        },
        status: {
          node: 'node-1',
          serviceName: 'web',
          serviceNamespace: 'default',
          peers: ['router-a', 'router-b'],
        },
      },
    ]);
  });

  it('writes only what differs and deletes what no longer applies', () => {
    const desired = desiredServiceBgpStatuses(
      plan([{ service: web, peers: ['router-a'] }]),
      'metallb-system',
      {
        name: 'node-1',
        uid: 'uid-1',
      },
    );
    const current = desired.get(serviceBgpStatusName('node-1', web)) as ServiceBGPStatus;
    const stale: ServiceBGPStatus = {
      ...current,
      metadata: { ...current.metadata, name: serviceBgpStatusName('node-1', dns), uid: 'stale-uid' },
    };
    expect(
      statusChanges(desired, [{ ...current, metadata: { ...current.metadata, uid: 'x' } }, stale]),
    ).toEqual({
      applyMetadata: [],
      applyStatus: [],
      remove: [stale],
    });
    const otherPeers = { ...current, status: { ...current.status, peers: ['router-b'] } };
    expect(statusChanges(desired, [otherPeers]).applyStatus).toEqual([current]);
    expect(statusChanges(desired, [otherPeers]).applyMetadata).toEqual([]);
    expect(statusChanges(desired, [])).toEqual({
      applyMetadata: [current],
      applyStatus: [current],
      remove: [],
    });
  });

  it('creates, updates and deletes through server-side apply, and fails the pass if a write failed', async () => {
    const calls: string[] = [];
    const applier = {
      apply: async <T extends KubeObject>(object: T): Promise<T> => {
        calls.push(`apply ${object.metadata?.name}`);
        return object;
      },
      applyStatus: async <T extends KubeObject>(object: T): Promise<T> => {
        calls.push(`status ${object.metadata?.name}`);
        if (object.metadata?.name === serviceBgpStatusName('node-1', dns)) throw new Error('500');
        return object;
      },
      deleteIfExists: async (target: { name: string }, options?: { uid?: string }) => {
        calls.push(`delete ${target.name} ${options?.uid}`);
        return true;
      },
    };
    const leftover: ServiceBGPStatus = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'ServiceBGPStatus',
      metadata: {
        name: 'bgp-node-1-old',
        namespace: 'metallb-system',
        uid: 'u-old',
        labels: { 'metallb.io/node': 'node-1' },
      },
    };
    const otherNode: ServiceBGPStatus = {
      ...leftover,
      metadata: { ...leftover.metadata, name: 'bgp-node-2-x', labels: { 'metallb.io/node': 'node-2' } },
    };
    const writer = new ServiceBgpStatusWriter({
      applier,
      cache: new FakeCache<ServiceBGPStatus>([leftover, otherNode]),
      node: 'node-1',
    });
    const desired = desiredServiceBgpStatuses(
      plan([
        { service: web, peers: ['router-a'] },
        { service: dns, peers: ['router-a'] },
      ]),
      'metallb-system',
    );
    await expect(writer.sync(desired)).rejects.toThrow('1 ServiceBGPStatus write(s) failed');
    const webName = serviceBgpStatusName('node-1', web);
    const dnsName = serviceBgpStatusName('node-1', dns);
    expect(calls).toEqual([
      `apply ${webName}`,
      `status ${webName}`,
      `apply ${dnsName}`,
      `status ${dnsName}`,
      'delete bgp-node-1-old u-old',
    ]);
  });
});
