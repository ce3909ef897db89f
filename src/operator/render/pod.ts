/** Pod settings both operands take from the CR the same way. */
import type {
  V1Affinity,
  V1Probe,
  V1ResourceRequirements,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { MetalLB, MetalLBComponentConfig, Toleration } from '../../api/types.generated.js';
import type { OperatorEnv } from '../env.js';
import type { Component } from './labels.js';
import { metricsCertDir, metricsCertSecretName } from './monitoring.js';

/** Our binaries are built for Linux only; a user selector cannot lift that. */
const linuxOnly = { 'kubernetes.io/os': 'linux' };

export function nodeSelector(
  userSelector: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  return { ...sortedByKey(userSelector ?? {}), ...linuxOnly };
}

export function tolerations(userTolerations: readonly Toleration[] | undefined): V1Toleration[] {
  return (userTolerations ?? []).map((toleration) => ({ ...toleration }));
}

/** Pod-spec fields of a component's config; absent settings stay absent so the API server's defaults apply. */
export function podSchedulingSettings(config: MetalLBComponentConfig | undefined): {
  priorityClassName?: string;
  runtimeClassName?: string;
  affinity?: V1Affinity;
} {
  return {
    ...(config?.priorityClassName ? { priorityClassName: config.priorityClassName } : {}),
    ...(config?.runtimeClassName ? { runtimeClassName: config.runtimeClassName } : {}),
    // The CR's Affinity is the Kubernetes one, generated from the same OpenAPI definition.
    ...(config?.affinity ? { affinity: structuredClone(config.affinity) as V1Affinity } : {}),
  };
}

export function podAnnotations(config: MetalLBComponentConfig | undefined): Record<string, string> {
  return sortedByKey(config?.annotations ?? {});
}

/** Resources for the component's main container only, as upstream: the sidecars' needs are ours to size. */
export function mainContainerResources(
  config: MetalLBComponentConfig | undefined,
): { resources: V1ResourceRequirements } | Record<string, never> {
  const resources = config?.resources;
  if (!resources) return {};
  // The schema allows bare numbers (cpu: 1); Kubernetes quantities are strings.
  const quantities = (values: Record<string, number | string>): Record<string, string> =>
    Object.fromEntries(Object.entries(sortedByKey(values)).map(([name, amount]) => [name, String(amount)]));
  return {
    resources: {
      ...(resources.claims ? { claims: resources.claims.map((claim) => ({ ...claim })) } : {}),
      ...(resources.limits ? { limits: quantities(resources.limits) } : {}),
      ...(resources.requests ? { requests: quantities(resources.requests) } : {}),
    },
  };
}

export function sortedByKey<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Flags the controller and the speaker share, after their subcommand. */
export function operandArgs(cr: MetalLB, env: OperatorEnv): string[] {
  const spec = cr.spec ?? {};
  return [
    `--namespace=${env.namespace}`,
    `--port=${env.metricsPort}`,
    `--health-probe-port=${env.livenessPort}`,
    `--metrics-cert-dir=${metricsCertDir}`,
    `--log-level=${spec.logLevel ?? 'info'}`,
    ...(spec.loadBalancerClass ? [`--lb-class=${spec.loadBalancerClass}`] : []),
  ];
}

/** Health endpoints are plain HTTP on the liveness port, apart from the metrics listener. */
export function httpProbe(path: string, port: number, host?: string): V1Probe {
  return {
    httpGet: { path, port, ...(host ? { host } : {}) },
    initialDelaySeconds: 10,
    periodSeconds: 10,
    timeoutSeconds: 1,
    failureThreshold: 3,
  };
}

const metricsCertsVolume = 'metrics-certs';

/**
 * The Secret with the metrics serving certificate (filled by OpenShift's service CA, or by whoever the user
 * chooses); optional, so the pod starts without it and serves a self-signed certificate meanwhile.
 */
export function metricsCertsVolumeOf(component: Component): V1Volume {
  return {
    name: metricsCertsVolume,
    secret: { secretName: metricsCertSecretName(component), optional: true },
  };
}

export const metricsCertsMount: V1VolumeMount = {
  name: metricsCertsVolume,
  mountPath: metricsCertDir,
  readOnly: true,
};
