/**
 * The operator's configuration comes from its environment (set in its Deployment or the OLM CSV), under the
 * variable names and defaults upstream uses, so existing install manifests keep working.
 */
import type { Problem } from '../api/problem.js';
import { frrImage, productImage } from '../manifests/install/version.js';

export interface OperatorEnv {
  /** Where the MetalLB CR lives and where the operands are deployed. */
  readonly namespace: string;
  readonly controllerImage: string;
  readonly speakerImage: string;
  readonly frrImage: string;
  /** Metrics of the controller and the speaker. */
  readonly metricsPort: number;
  /** Metrics of the speaker's frr-metrics sidecar (BGP and BFD sessions, read from FRR). */
  readonly frrMetricsPort: number;
  /** /healthz and /readyz of the controller and the speaker. */
  readonly livenessPort: number;
  /**
   * Upstream's memberlist port. Parsed so a bad value is still reported, but nothing renders it: our speakers
   * detect dead peers through Lease heartbeats, not memberlist.
   */
  readonly memberListBindPort: number;
}

export type OperatorEnvResult =
  { readonly ok: true; readonly env: OperatorEnv } | { readonly ok: false; readonly problems: Problem[] };

export const defaultOperatorEnv: OperatorEnv = {
  namespace: 'metallb-system',
  controllerImage: productImage,
  speakerImage: productImage,
  frrImage,
  metricsPort: 9120,
  frrMetricsPort: 9121,
  livenessPort: 17472,
  memberListBindPort: 7946,
};

type Environment = Readonly<Record<string, string | undefined>>;

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Reads the operator's settings from `environment` (normally process.env). A variable that is unset or blank
 * takes its default, because manifests often template variables to an empty string to mean "not set".
 */
export function parseOperatorEnv(environment: Environment): OperatorEnvResult {
  const problems: Problem[] = [];
  const report = (variable: string, message: string): void => {
    problems.push({
      code: 'env.invalid',
      object: { kind: 'Environment', name: variable },
      field: '',
      message,
    });
  };
  const valueOf = (variable: string): string | undefined => {
    const value = environment[variable]?.trim();
    return value ? value : undefined;
  };

  const namespace = valueOf('OPERATOR_NAMESPACE') ?? defaultOperatorEnv.namespace;
  if (namespace.length > 63 || !dnsLabel.test(namespace)) {
    report(
      'OPERATOR_NAMESPACE',
      `must be a namespace name (lower-case letters, digits and '-', at most 63 characters), got ${JSON.stringify(namespace)}`,
    );
  }

  const image = (variable: string, fallback: string): string => {
    const value = valueOf(variable) ?? fallback;
    if (/\s/.test(value))
      report(variable, `must be an image reference without spaces, got ${JSON.stringify(value)}`);
    return value;
  };
  const port = (variable: string, fallback: number): number => {
    const text = valueOf(variable);
    if (text === undefined) return fallback;
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(value >= 1 && value <= 65535)) {
      report(variable, `must be a port number between 1 and 65535, got ${JSON.stringify(text)}`);
      return fallback;
    }
    return value;
  };

  const env: OperatorEnv = {
    namespace,
    controllerImage: image('CONTROLLER_IMAGE', defaultOperatorEnv.controllerImage),
    speakerImage: image('SPEAKER_IMAGE', defaultOperatorEnv.speakerImage),
    frrImage: image('FRR_IMAGE', defaultOperatorEnv.frrImage),
    metricsPort: port('METRICS_PORT', defaultOperatorEnv.metricsPort),
    frrMetricsPort: port('FRR_METRICS_PORT', defaultOperatorEnv.frrMetricsPort),
    livenessPort: port('OPERAND_LIVENESS_PORT', defaultOperatorEnv.livenessPort),
    memberListBindPort: port('MEMBER_LIST_BIND_PORT', defaultOperatorEnv.memberListBindPort),
  };

  // The speaker pod shares the node's network namespace, so two of its listeners on one port cannot both start.
  const hostPorts: [string, number][] = [
    ['METRICS_PORT', env.metricsPort],
    ['FRR_METRICS_PORT', env.frrMetricsPort],
    ['OPERAND_LIVENESS_PORT', env.livenessPort],
  ];
  for (const [index, [variable, value]] of hostPorts.entries()) {
    const earlier = hostPorts.slice(0, index).find(([, other]) => other === value);
    if (earlier) {
      report(
        variable,
        `port ${value} is already used by ${earlier[0]}; the speaker listens on every one of these ports on the node, so each needs its own`,
      );
    }
  }

  return problems.length > 0 ? { ok: false, problems } : { ok: true, env };
}
