/**
 * Identities and permissions of the operands. Everything metallb.io lives in the operator's namespace, so
 * those rules are namespaced Roles; only what spans namespaces (Services, Nodes, events about Services) is in
 * ClusterRoles.
 */
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1PolicyRule,
  V1Role,
  V1RoleBinding,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { apiKinds, configKinds } from '../../api/kinds.js';
import { clusterMetadata, namespacedMetadata, type Component, type OwnerIdentity } from './labels.js';

const read = ['get', 'list', 'watch'];
const readWrite = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

// The resources of every configuration kind, from the registry generated from api/.
const configurationKinds = configKinds.map((kind) => apiKinds[kind].plural).sort();

// Both event APIs: which one a component records through is the runtime's choice, not the operator's.
const recordEvents: V1PolicyRule[] = [
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

// The metrics endpoint asks the API server who a scraper is and whether it may read /metrics.
const reviewMetricsCallers: V1PolicyRule[] = [
  { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
];

const clusterRules: Record<Component, V1PolicyRule[]> = {
  controller: [
    // patch: the controller records the pool an address came from in a Service annotation.
    { apiGroups: [''], resources: ['services'], verbs: [...read, 'patch'] },
    { apiGroups: [''], resources: ['services/status'], verbs: ['update', 'patch'] },
    // Pools select Services by their namespace's labels.
    { apiGroups: [''], resources: ['namespaces', 'nodes'], verbs: read },
    ...recordEvents,
    ...reviewMetricsCallers,
  ],
  speaker: [
    { apiGroups: [''], resources: ['services', 'nodes'], verbs: read },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: read },
    ...recordEvents,
    ...reviewMetricsCallers,
  ],
};

const namespacedRules: Record<Component, V1PolicyRule[]> = {
  controller: [
    { apiGroups: ['metallb.io'], resources: configurationKinds, verbs: read },
    { apiGroups: ['metallb.io'], resources: ['ipaddresspools/status'], verbs: ['get', 'update', 'patch'] },
    // Leader election.
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: readWrite },
  ],
  speaker: [
    { apiGroups: ['metallb.io'], resources: configurationKinds, verbs: read },
    { apiGroups: ['metallb.io'], resources: ['servicebgpstatuses', 'servicel2statuses'], verbs: readWrite },
    {
      apiGroups: ['metallb.io'],
      resources: ['servicebgpstatuses/status', 'servicel2statuses/status'],
      verbs: ['get', 'update', 'patch'],
    },
    // BGP passwords referenced by BGPPeers.
    { apiGroups: [''], resources: ['secrets'], verbs: read },
    // Each speaker renews its own heartbeat Lease and watches the others' to know which speakers are alive.
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: readWrite },
  ],
};

export const components: readonly Component[] = ['controller', 'speaker'];

/** Cluster-scoped names carry the namespace, so two installs in different namespaces cannot collide. */
export function clusterRoleName(component: Component, owner: OwnerIdentity): string {
  return `${owner.namespace}:${component}`;
}

export function serviceAccount(component: Component, owner: OwnerIdentity): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: namespacedMetadata(component, component, owner),
  };
}

export function clusterRole(component: Component, owner: OwnerIdentity): V1ClusterRole {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: clusterMetadata(clusterRoleName(component, owner), component, owner),
    rules: clusterRules[component],
  };
}

export function clusterRoleBinding(component: Component, owner: OwnerIdentity): V1ClusterRoleBinding {
  const name = clusterRoleName(component, owner);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: clusterMetadata(name, component, owner),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: [{ kind: 'ServiceAccount', name: component, namespace: owner.namespace }],
  };
}

export function role(component: Component, owner: OwnerIdentity): V1Role {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: namespacedMetadata(component, component, owner),
    rules: namespacedRules[component],
  };
}

export function roleBinding(component: Component, owner: OwnerIdentity): V1RoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: namespacedMetadata(component, component, owner),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: component },
    subjects: [{ kind: 'ServiceAccount', name: component, namespace: owner.namespace }],
  };
}
