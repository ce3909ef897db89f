import { describe, expect, it } from '@jest/globals';
import type { MetalLB } from '../api/types.generated.js';
import { metallbChangeWorthReconciling } from './operator.js';

function metalLB(metadata: Partial<MetalLB['metadata']>, status?: MetalLB['status']): MetalLB {
  return {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'MetalLB',
    metadata: {
      name: 'metallb',
      namespace: 'metallb-system',
      generation: 3,
      resourceVersion: '10',
      ...metadata,
    },
    ...(status ? { status } : {}),
  };
}

describe('which MetalLB updates wake the operator up', () => {
  it('skips status-only updates, so its own status writes cannot loop', () => {
    const written = metalLB({ resourceVersion: '11' }, { conditions: [] });
    expect(metallbChangeWorthReconciling(metalLB({}), written)).toBe(false);
  });

  it('skips label and annotation edits', () => {
    expect(
      metallbChangeWorthReconciling(metalLB({}), metalLB({ labels: { a: 'b' }, resourceVersion: '11' })),
    ).toBe(false);
  });

  it('takes spec changes, which move the generation', () => {
    expect(metallbChangeWorthReconciling(metalLB({}), metalLB({ generation: 4 }))).toBe(true);
  });

  it('takes the start of deletion and finalizer edits', () => {
    const deleting = metalLB({ deletionTimestamp: '2026-01-01T00:00:00Z' as unknown as Date });
    expect(metallbChangeWorthReconciling(metalLB({}), deleting)).toBe(true);
    expect(metallbChangeWorthReconciling(metalLB({ finalizers: ['metallb.io/cleanup'] }), metalLB({}))).toBe(
      true,
    );
  });
});
