/**
 * The operator's pure core: a MetalLB CR and the operator's environment in, the objects to server-side apply
 * out. No I/O, no clock, no randomness: the same inputs always give the same objects in the same order.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Problem } from '../../api/problem.js';
import type { MetalLB } from '../../api/types.generated.js';
import type { OperatorEnv } from '../env.js';
import { controllerDeployment } from './controller.js';
import { frrReloaderConfigMap, frrStartupConfigMap } from './frr.js';
import { ownerIdentity, ownerLabelValue, type OwnerIdentity } from './labels.js';
import {
  clusterRole,
  clusterRoleBinding,
  components,
  leaseOwnersPolicy,
  leaseOwnersPolicyBinding,
  role,
  roleBinding,
  serviceAccount,
} from './rbac.js';
import {
  alertsPrometheusRule,
  metricsReaderClusterRole,
  metricsService,
  noCapabilities,
  serviceMonitor,
  type ClusterCapabilities,
} from './monitoring.js';
import { speakerDaemonSet } from './speaker.js';

export type RenderResult =
  | { readonly ok: true; readonly objects: KubernetesObject[] }
  | { readonly ok: false; readonly problems: Problem[] };

/** The name of the one MetalLB resource of a cluster, as upstream requires. */
export const metallbResourceName = 'metallb';

export const supportedBgpBackends: readonly string[] = ['frr'];

/**
 * `passwordSecretNames`: the Secrets the namespace's BGPPeers take their password from
 * (referencedPasswordSecrets), the only Secrets the speaker's Role names.
 */
export function renderMetalLB(
  cr: MetalLB,
  env: OperatorEnv,
  capabilities: ClusterCapabilities = noCapabilities,
  passwordSecretNames: readonly string[] = [],
): RenderResult {
  const owner = ownerIdentity(cr, cr.metadata.namespace ?? env.namespace);
  const problems = checkRenderable(cr, env, owner);
  if (problems.length > 0) return { ok: false, problems };
  const objects: KubernetesObject[] = [
    ...components.map((component) => serviceAccount(component, owner)),
    ...components.map((component) => clusterRole(component, owner)),
    ...components.map((component) => clusterRoleBinding(component, owner)),
    ...components.map((component) => role(component, owner, passwordSecretNames)),
    ...components.map((component) => roleBinding(component, owner)),
    leaseOwnersPolicy(owner),
    leaseOwnersPolicyBinding(owner),
    frrStartupConfigMap(owner),
    frrReloaderConfigMap(owner),
    controllerDeployment(cr, env, owner),
    speakerDaemonSet(cr, env, owner),
    ...(capabilities.serviceMonitors ? monitoringObjects(env, owner, capabilities) : []),
    ...(capabilities.prometheusRules ? [alertsPrometheusRule(owner)] : []),
  ];
  return { ok: true, objects: objects.map((object) => withoutEmptyValues(object) as KubernetesObject) };
}

/** Where Prometheus finds the operands' metrics, and the role that lets it read them. */
function monitoringObjects(
  env: OperatorEnv,
  owner: OwnerIdentity,
  capabilities: ClusterCapabilities,
): KubernetesObject[] {
  return [
    metricsReaderClusterRole(owner),
    ...components.map((component) => metricsService(component, env, owner)),
    ...components.map((component) => serviceMonitor(component, owner, capabilities)),
  ];
}

/** What stops the CR from being rendered at all, each with what would be right. */
function checkRenderable(cr: MetalLB, env: OperatorEnv, owner: OwnerIdentity): Problem[] {
  const object = { kind: 'MetalLB', namespace: owner.namespace, name: cr.metadata.name };
  const problems: Problem[] = [];
  if (cr.metadata.name !== metallbResourceName) {
    // One MetalLB per cluster; a fixed name makes a second one impossible to create by accident.
    problems.push({
      code: 'metallb.name',
      object,
      field: 'metadata.name',
      message: `must be ${metallbResourceName}${cr.metadata.name ? `, got ${JSON.stringify(cr.metadata.name)}` : ''}: a cluster has exactly one MetalLB resource, with that name`,
    });
  }
  if (owner.namespace !== env.namespace) {
    // The operands live in the operator's namespace, and an ownerReference cannot cross namespaces.
    problems.push({
      code: 'metallb.namespace',
      object,
      field: 'metadata.namespace',
      message: `must be ${env.namespace}, got ${JSON.stringify(owner.namespace)}: the operator deploys MetalLB in its own namespace and reads the MetalLB resource only from there`,
    });
  }
  const backend = cr.spec?.bgpBackend;
  if (backend !== undefined && !supportedBgpBackends.includes(backend)) {
    problems.push({
      code: 'metallb.bgpBackend',
      object,
      field: 'spec.bgpBackend',
      message: `${backend} is not supported: this implementation runs FRR beside each speaker; leave bgpBackend unset or set it to frr`,
    });
  }
  const ownerLabel = ownerLabelValue(owner);
  if (ownerLabel.length > 63) {
    problems.push({
      code: 'metallb.namespaceTooLong',
      object,
      field: 'metadata.namespace',
      message: `too long: cluster-wide objects are labelled with "${ownerLabel}", and a label value holds at most 63 characters; use a namespace of at most ${63 - metallbResourceName.length - 1} characters`,
    });
  }
  return problems;
}

/**
 * A deep copy without undefined or null values: server-side apply treats a field that is sent as one the
 * operator owns, and a null would ask the API server to delete it. The copy also keeps callers from mutating
 * the renderer's shared constants.
 */
function withoutEmptyValues(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.filter((item) => item !== undefined && item !== null).map(withoutEmptyValues);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, field]) => field !== undefined && field !== null)
        .map(([key, field]) => [key, withoutEmptyValues(field)]),
    );
  }
  return value;
}

export { metricsReaderClusterRoleName, noCapabilities, type ClusterCapabilities } from './monitoring.js';
export { frrFilesDigestAnnotation, controlPlaneTolerations } from './speaker.js';
export {
  controllerDeploymentName,
  speakerDaemonSetName,
  ownerLabelKey,
  ownerLabelValue,
  ownedClusterObjectsSelector,
  selectorLabels,
  type Component,
  type OwnerIdentity,
} from './labels.js';
