import { describe, expect, it } from '@jest/globals';
import { convertBgpPeer, reviewConversion, stashAnnotation } from './conversion.js';

const v1beta2Peer = {
  apiVersion: 'metallb.io/v1beta2',
  kind: 'BGPPeer',
  metadata: { name: 'r1', namespace: 'metallb-system', labels: { a: 'b' } },
  spec: {
    myASN: 64512,
    dynamicASN: 'external',
    peerAddress: '192.0.2.1',
    peerPort: 180,
    holdTime: '90s',
    vrf: 'red',
    passwordSecret: { name: 'bgp', namespace: 'metallb-system' },
    nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'worker-0' } }],
  },
};

describe('BGPPeer conversion', () => {
  it('round-trips a v1beta2 peer through v1beta1 without losing v1beta2-only fields', () => {
    const down = convertBgpPeer(v1beta2Peer, 'metallb.io/v1beta1');
    expect(down.ok).toBe(true);
    if (!down.ok) return;
    expect(down.object.apiVersion).toBe('metallb.io/v1beta1');
    expect(down.object.spec).toEqual({
      myASN: 64512,
      peerAddress: '192.0.2.1',
      peerPort: 180,
      holdTime: '90s',
      nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'worker-0' } }],
    });
    const up = convertBgpPeer(down.object, 'metallb.io/v1beta2');
    expect(up.ok && up.object).toEqual(v1beta2Peer);
  });

  it('maps a v1beta1 peerPort of 0 to the v1beta2 default', () => {
    const up = convertBgpPeer(
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'BGPPeer',
        metadata: { name: 'r' },
        spec: { myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.1', peerPort: 0 },
      },
      'metallb.io/v1beta2',
    );
    expect(up.ok && up.object.spec).toEqual({ myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.1' });
  });

  it('drops an unreadable stash annotation instead of failing', () => {
    const up = convertBgpPeer(
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'BGPPeer',
        metadata: { name: 'r', annotations: { [stashAnnotation]: '{not json' } },
        spec: { myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.1' },
      },
      'metallb.io/v1beta2',
    );
    expect(up.ok && up.object.metadata).toEqual({ name: 'r' });
  });

  it('answers a ConversionReview, and fails it for an unknown version', () => {
    const ok = reviewConversion({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'ConversionReview',
      request: { uid: 'u1', desiredAPIVersion: 'metallb.io/v1beta1', objects: [v1beta2Peer] },
    });
    expect(ok.response?.uid).toBe('u1');
    expect(ok.response?.result.status).toBe('Success');
    expect(ok.response?.convertedObjects).toHaveLength(1);
    const bad = reviewConversion({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'ConversionReview',
      request: { uid: 'u2', desiredAPIVersion: 'metallb.io/v9', objects: [v1beta2Peer] },
    });
    expect(bad.response?.result).toEqual({
      status: 'Failure',
      message: 'BGPPeer r1: cannot convert BGPPeer from metallb.io/v1beta2 to metallb.io/v9',
    });
  });
});
