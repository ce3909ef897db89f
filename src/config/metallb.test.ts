import { describe, expect, it } from '@jest/globals';
import { formatProblem } from '../api/problem.js';
import { validateMetalLB } from './metallb.js';

const metallb = (spec: Record<string, unknown>) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'MetalLB',
  metadata: { name: 'metallb', namespace: 'metallb-system' },
  spec,
});

describe('MetalLB resource rules', () => {
  it('rejects tolerationSeconds on an effect other than NoExecute', () => {
    const problems = validateMetalLB(
      metallb({
        speakerTolerations: [{ key: 'a', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 30 }],
      }),
    );
    expect(problems.map(formatProblem)).toEqual([
      'MetalLB/metallb-system/metallb: spec.speakerTolerations[0].tolerationSeconds: tolerationSeconds only applies to effect NoExecute (got effect "NoSchedule"); set effect: NoExecute or remove tolerationSeconds',
    ]);
  });

  it('accepts tolerationSeconds with NoExecute', () => {
    expect(
      validateMetalLB(
        metallb({ controllerTolerations: [{ key: 'a', effect: 'NoExecute', tolerationSeconds: 30 }] }),
      ),
    ).toEqual([]);
  });

  it.each([0, 101, 2.5])('rejects a preferred affinity weight of %p', (weight) => {
    const problems = validateMetalLB(
      metallb({
        speakerConfig: {
          affinity: {
            podAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [{ weight, podAffinityTerm: {} }],
            },
          },
        },
      }),
    );
    expect(problems.map((p) => p.field)).toEqual([
      'spec.speakerConfig.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight',
    ]);
  });

  it('accepts weights from 1 to 100 and the sample resource', () => {
    const spec = {
      controllerConfig: {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 1, preference: {} },
              { weight: 100, preference: {} },
            ],
          },
        },
      },
    };
    expect(validateMetalLB(metallb(spec))).toEqual([]);
  });

  it('rejects backends other than FRR', () => {
    expect(validateMetalLB(metallb({ bgpBackend: 'native' })).map((p) => p.field)).toEqual([
      'spec.bgpBackend',
    ]);
    expect(validateMetalLB(metallb({ bgpBackend: 'frr' }))).toEqual([]);
  });
});
