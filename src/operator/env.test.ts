import { describe, expect, it } from '@jest/globals';
import { formatProblem } from '../api/problem.js';
import { defaultOperatorEnv, parseOperatorEnv } from './env.js';

function problemLines(environment: Record<string, string>): string[] {
  const result = parseOperatorEnv(environment);
  return result.ok ? [] : result.problems.map(formatProblem);
}

describe('the operator environment', () => {
  it('defaults to upstream ports, the metallb-system namespace and the release images by version tag', () => {
    expect(parseOperatorEnv({})).toEqual({
      ok: true,
      env: {
        namespace: 'metallb-system',
        controllerImage: 'quay.io/metallb-ts/metallb:v0.1.0',
        speakerImage: 'quay.io/metallb-ts/metallb:v0.1.0',
        frrImage: 'quay.io/metallb-ts/frr:v0.1.0',
        metricsPort: 9120,
        frrMetricsPort: 9121,
        livenessPort: 17472,
        memberListBindPort: 7946,
      },
    });
  });

  it('reads every setting from its upstream variable name', () => {
    expect(
      parseOperatorEnv({
        OPERATOR_NAMESPACE: 'lb-system',
        CONTROLLER_IMAGE: 'registry.example/metallb:1.2.3',
        SPEAKER_IMAGE: 'registry.example/metallb@sha256:0123',
        FRR_IMAGE: 'registry.example/frr:10.0',
        METRICS_PORT: '29150',
        FRR_METRICS_PORT: '29151',
        OPERAND_LIVENESS_PORT: '7472',
        MEMBER_LIST_BIND_PORT: '9122',
      }),
    ).toEqual({
      ok: true,
      env: {
        namespace: 'lb-system',
        controllerImage: 'registry.example/metallb:1.2.3',
        speakerImage: 'registry.example/metallb@sha256:0123',
        frrImage: 'registry.example/frr:10.0',
        metricsPort: 29150,
        frrMetricsPort: 29151,
        livenessPort: 7472,
        memberListBindPort: 9122,
      },
    });
  });

  it('treats a blank variable as unset', () => {
    expect(parseOperatorEnv({ OPERATOR_NAMESPACE: '', CONTROLLER_IMAGE: '  ', METRICS_PORT: '' })).toEqual({
      ok: true,
      env: defaultOperatorEnv,
    });
  });

  it('reports a port that is not a number between 1 and 65535, naming the variable', () => {
    expect(problemLines({ METRICS_PORT: 'http' })).toEqual([
      'Environment/METRICS_PORT: must be a port number between 1 and 65535, got "http"',
    ]);
    expect(problemLines({ FRR_METRICS_PORT: '0' })).toHaveLength(1);
    expect(problemLines({ OPERAND_LIVENESS_PORT: '65536' })).toHaveLength(1);
    expect(problemLines({ MEMBER_LIST_BIND_PORT: '7946tcp' })).toHaveLength(1);
    expect(problemLines({ METRICS_PORT: '-1' })).toHaveLength(1);
  });

  it('reports a namespace that is not a DNS label', () => {
    expect(problemLines({ OPERATOR_NAMESPACE: 'MetalLB_System' })).toEqual([
      `Environment/OPERATOR_NAMESPACE: must be a namespace name (lower-case letters, digits and '-', at most 63 characters), got "MetalLB_System"`,
    ]);
    expect(problemLines({ OPERATOR_NAMESPACE: 'a'.repeat(64) })).toHaveLength(1);
  });

  it('reports an image reference with spaces', () => {
    expect(problemLines({ FRR_IMAGE: 'quay.io/frrouting/frr 9.1.0' })).toEqual([
      'Environment/FRR_IMAGE: must be an image reference without spaces, got "quay.io/frrouting/frr 9.1.0"',
    ]);
  });

  it('reports two speaker listeners configured on the same host port', () => {
    expect(problemLines({ FRR_METRICS_PORT: '9120' })).toEqual([
      'Environment/FRR_METRICS_PORT: port 9120 is already used by METRICS_PORT; the speaker listens on every one of these ports on the node, so each needs its own',
    ]);
  });

  it('reports every bad variable at once', () => {
    expect(problemLines({ METRICS_PORT: 'x', FRR_METRICS_PORT: 'y', OPERATOR_NAMESPACE: '-' })).toHaveLength(
      3,
    );
  });
});
