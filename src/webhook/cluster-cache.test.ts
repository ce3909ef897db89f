import { describe, expect, it } from '@jest/globals';
import { trimConfigObject, trimSecret, trimToLabels } from './cluster-cache.js';

const identity = { name: 'x', namespace: 'metallb-system', uid: 'u', resourceVersion: '5' };

describe("the webhook caches' trims", () => {
  it('keep of a configuration object its identity, labels, own annotations and spec', () => {
    const trimmed = trimConfigObject({
      apiVersion: 'metallb.io/v1beta2',
      kind: 'BGPPeer',
      metadata: {
        ...identity,
        labels: { team: 'net' },
        annotations: { note: 'kept', 'kubectl.kubernetes.io/last-applied-configuration': '{"huge":1}' },
        managedFields: [{ manager: 'kubectl' }],
      },
      spec: { peerASN: 64512 },
      status: { anything: true },
    } as never);
    expect(trimmed).toEqual({
      apiVersion: 'metallb.io/v1beta2',
      kind: 'BGPPeer',
      metadata: { ...identity, labels: { team: 'net' }, annotations: { note: 'kept' } },
      spec: { peerASN: 64512 },
    });
  });

  it('keep of a Secret only its type and password, whatever else it holds', () => {
    expect(
      trimSecret({
        metadata: { ...identity, annotations: { a: 'b' } },
        type: 'kubernetes.io/basic-auth',
        data: { password: 'cA==', 'tls.key': 'c2VjcmV0' },
      } as never),
    ).toEqual({ metadata: identity, type: 'kubernetes.io/basic-auth', data: { password: 'cA==' } });
    expect(trimSecret({ metadata: identity, type: 'Opaque', data: { other: 'eA==' } } as never)).toEqual({
      metadata: identity,
      type: 'Opaque',
    });
  });

  it('keep of Nodes and Namespaces names and labels, not their status', () => {
    expect(
      trimToLabels({
        metadata: { name: 'node-1', uid: 'n', resourceVersion: '9', labels: { zone: 'a' } },
        status: { images: [{ names: ['big'] }] },
      } as never),
    ).toEqual({ metadata: { name: 'node-1', uid: 'n', resourceVersion: '9', labels: { zone: 'a' } } });
  });
});
