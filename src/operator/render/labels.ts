/** Names, labels and ownership markers shared by everything the operator renders. */
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import type { MetalLB } from '../../api/types.generated.js';

export type Component = 'controller' | 'speaker';

/** The operands' names; the status shell looks these up to judge availability. */
export const controllerDeploymentName = 'controller';
export const speakerDaemonSetName = 'speaker';

/** Label on cluster-scoped objects, which cannot carry an ownerReference to a namespaced MetalLB. */
export const ownerLabelKey = 'metallb.io/owner';

/**
 * Pod selector of a component. Selectors are immutable on Deployments and DaemonSets, so they hold only
 * labels that never change, and the same ones upstream's operator uses, so its installs can be adopted.
 */
export function selectorLabels(component: Component): Record<string, string> {
  return { app: 'metallb', component };
}

export function componentLabels(component: Component): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'metallb',
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/managed-by': 'metallb-operator',
    ...selectorLabels(component),
  };
}

/** `<namespace>.<name>` of the CR: both parts are DNS names, so the dot cannot be ambiguous. */
export function ownerLabelValue(owner: OwnerIdentity): string {
  return `${owner.namespace}.${owner.name}`;
}

/** The label selector that finds every cluster-scoped object rendered for `owner`, for the finalizer. */
export function ownedClusterObjectsSelector(owner: OwnerIdentity): string {
  return `${ownerLabelKey}=${ownerLabelValue(owner)}`;
}

export interface OwnerIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string | undefined;
}

export function ownerIdentity(cr: MetalLB, namespace: string): OwnerIdentity {
  return { namespace, name: cr.metadata.name ?? '', uid: cr.metadata.uid };
}

function ownerReference(owner: OwnerIdentity): V1OwnerReference {
  const reference: Omit<V1OwnerReference, 'uid'> & { uid?: string } = {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'MetalLB',
    name: owner.name,
    ...(owner.uid ? { uid: owner.uid } : {}),
    controller: true,
    blockOwnerDeletion: true,
  };
  // Only a CR read from a file (metallb render) lacks a uid; the API server always assigns one.
  return reference as V1OwnerReference;
}

/** Metadata of a namespaced object: garbage-collected with the CR through its ownerReference. */
export function namespacedMetadata(name: string, component: Component, owner: OwnerIdentity): V1ObjectMeta {
  return {
    name,
    namespace: owner.namespace,
    labels: componentLabels(component),
    ownerReferences: [ownerReference(owner)],
  };
}

/** Metadata of a cluster-scoped object: found and deleted by the operator's finalizer through its label. */
export function clusterMetadata(name: string, component: Component, owner: OwnerIdentity): V1ObjectMeta {
  return { name, labels: { ...componentLabels(component), [ownerLabelKey]: ownerLabelValue(owner) } };
}
