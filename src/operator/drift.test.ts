import { describe, expect, it } from '@jest/globals';
import { firstDifference, parseQuantity } from './drift.js';

const desired = {
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'speaker', namespace: 'metallb-system', labels: { app: 'metallb' } },
  spec: {
    template: {
      spec: {
        nodeSelector: { 'node-role.kubernetes.io/worker': '' },
        tolerations: [
          { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
          { key: 'example.com/dedicated', operator: 'Exists', effect: 'NoExecute' },
        ],
        volumes: [{ name: 'frr-conf', emptyDir: {} }],
        containers: [{ name: 'speaker', image: 'speaker:1', resources: { limits: { cpu: '0.5' } } }],
      },
    },
  },
};

/** What the API server would hand back: our fields plus its own. */
function live(): Record<string, unknown> {
  const copy = structuredClone(desired) as unknown as {
    metadata: Record<string, unknown>;
    spec: { template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } };
    status?: unknown;
  };
  copy.metadata.uid = 'u-1';
  copy.metadata.resourceVersion = '42';
  copy.metadata.labels = { app: 'metallb', 'example.com/added-by-someone': 'x' };
  copy.spec.template.spec.dnsPolicy = 'ClusterFirst';
  copy.spec.template.spec.containers[0] = {
    ...copy.spec.template.spec.containers[0],
    imagePullPolicy: 'IfNotPresent',
    terminationMessagePath: '/dev/termination-log',
    resources: { limits: { cpu: '500m' }, requests: { cpu: '500m' } },
  };
  copy.status = { numberReady: 3 };
  return copy as unknown as Record<string, unknown>;
}

describe('comparing the desired object with the live one', () => {
  it('finds nothing to apply when the live object holds every desired field, whatever the server added', () => {
    expect(firstDifference(desired, live())).toBeUndefined();
  });

  it('names a changed nodeSelector value', () => {
    const edited = live() as { spec: { template: { spec: { nodeSelector: Record<string, string> } } } };
    edited.spec.template.spec.nodeSelector = { 'node-role.kubernetes.io/worker': 'no' };
    expect(firstDifference(desired, edited)).toBe(
      'spec.template.spec.nodeSelector.node-role.kubernetes.io/worker',
    );
  });

  it('names a removed toleration: lists must match item for item', () => {
    const edited = live() as { spec: { template: { spec: { tolerations: unknown[] } } } };
    edited.spec.template.spec.tolerations = edited.spec.template.spec.tolerations.slice(1);
    expect(firstDifference(desired, edited)).toBe('spec.template.spec.tolerations');
  });

  it('treats an added list item as drift too', () => {
    const edited = live() as { spec: { template: { spec: { tolerations: unknown[] } } } };
    edited.spec.template.spec.tolerations.push({ operator: 'Exists' });
    expect(firstDifference(desired, edited)).toBe('spec.template.spec.tolerations');
  });

  it('names a field that is missing from the live object', () => {
    const edited = live() as { metadata: { labels?: unknown } };
    delete edited.metadata.labels;
    expect(firstDifference(desired, edited)).toBe('metadata.labels');
  });

  it('compares resource quantities by value, as the server rewrites them', () => {
    const edited = live() as {
      spec: { template: { spec: { containers: { resources: { limits: Record<string, string> } }[] } } };
    };
    expect(firstDifference(desired, edited)).toBeUndefined();
    (
      edited.spec.template.spec.containers[0] as { resources: { limits: Record<string, string> } }
    ).resources.limits.cpu = '400m';
    expect(firstDifference(desired, edited)).toBe('spec.template.spec.containers[0].resources.limits.cpu');
  });

  it('keeps exact string comparison outside resources', () => {
    expect(
      firstDifference({ metadata: { labels: { v: '1' } } }, { metadata: { labels: { v: '1.0' } } }),
    ).toBe('metadata.labels.v');
  });

  it('tells an empty object from a missing one', () => {
    expect(firstDifference({ emptyDir: {} }, {})).toBe('emptyDir');
    expect(firstDifference({ emptyDir: {} }, { emptyDir: { medium: '' } })).toBeUndefined();
  });
});

describe('reading quantities', () => {
  it.each([
    ['500m', 0.5],
    ['0.5', 0.5],
    ['1', 1],
    ['128Mi', 128 * 2 ** 20],
    ['1k', 1000],
    ['1e3', 1000],
    ['1.5Gi', 1.5 * 2 ** 30],
  ])('reads %s', (text, value) => {
    expect(parseQuantity(text)).toBeCloseTo(value);
  });

  it('rejects what is not a quantity', () => {
    expect(parseQuantity('lots')).toBeUndefined();
    expect(parseQuantity('1x')).toBeUndefined();
  });
});
