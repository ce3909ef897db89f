/**
 * Identities and permissions of the operands. Everything metallb.io lives in the operator's namespace, so
 * those rules are namespaced Roles; only what spans namespaces (Services, Nodes, events about Services) is in
 * ClusterRoles.
 */
import type {
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1PolicyRule,
  V1Role,
  V1RoleBinding,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { apiKinds, configKinds } from '../../api/kinds.js';
import { controllerLeaseName } from '../../controller/lease-name.js';
import { livenessLeaseName } from '../../speaker/l2/liveness.js';
import { clusterMetadata, namespacedMetadata, type Component, type OwnerIdentity } from './labels.js';

export const read = ['get', 'list', 'watch'];
export const readWrite = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/** The prefix of every speaker's liveness Lease (livenessLeaseName): the admission policy checks it. */
const speakerLeasePrefix = livenessLeaseName('');

// The resources of every configuration kind, from the registry generated from api/.
export const configurationKinds = configKinds.map((kind) => apiKinds[kind].plural).sort();

// The runtime records events.k8s.io/v1 Events only (src/runtime/events.ts): create, and patch to count a
// series of repeats.
export const recordEvents: V1PolicyRule[] = [
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

// The metrics endpoint asks the API server who a scraper is and whether it may read /metrics.
const reviewMetricsCallers: V1PolicyRule[] = [
  { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
];

/** What each operand needs across namespaces; the operator's install holds it too, so it may grant it. */
export const clusterRules: Record<Component, V1PolicyRule[]> = {
  controller: [
    // Read through informers only (list, watch; never a get).
    { apiGroups: [''], resources: ['services'], verbs: ['list', 'watch'] },
    // One merge patch of the status subresource writes the address, the AddressAssigned condition and the
    // annotation naming the pool it came from (the API server keeps metadata changes made there).
    { apiGroups: [''], resources: ['services/status'], verbs: ['patch'] },
    // Pools select Services by their namespace's labels.
    { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] },
    ...recordEvents,
    ...reviewMetricsCallers,
  ],
  speaker: [
    // Read through informers only (list, watch; never a get): Services, their endpoints, and nodes for
    // advertisement node selectors and layer-2 eligibility.
    { apiGroups: [''], resources: ['services', 'nodes'], verbs: ['list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
    ...recordEvents,
    ...reviewMetricsCallers,
  ],
};

/** What each operand needs in the MetalLB namespace; the operator's install holds it too, so it may grant it. */
export const namespacedRules: Record<Component, V1PolicyRule[]> = {
  controller: [
    // The controller allocates from pools and reads no other configuration kind (an informer: list, watch).
    { apiGroups: ['metallb.io'], resources: ['ipaddresspools'], verbs: ['list', 'watch'] },
    // Pool status: addresses assigned and available per family, written with a merge patch.
    { apiGroups: ['metallb.io'], resources: ['ipaddresspools/status'], verbs: ['patch'] },
    // Leader election creates its Lease the first time (RBAC cannot name what is created: the admission
    // policy below refuses any other name), then reads and renews only that one.
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    {
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      resourceNames: [controllerLeaseName],
      verbs: ['get', 'update'],
    },
  ],
  speaker: [
    // The configuration, through informers (list, watch; never a get).
    { apiGroups: ['metallb.io'], resources: configurationKinds, verbs: ['list', 'watch'] },
    // The node's status objects (src/speaker/status-writes.ts): an informer over them (list, watch), written
    // by server-side apply (a patch, authorized as a create too when it creates the object; never a get
    // or an update: apply with force has no conflict to retry), and stale ones deleted with a uid precondition.
    {
      apiGroups: ['metallb.io'],
      resources: ['bgpsessionstates', 'servicebgpstatuses', 'servicel2statuses'],
      verbs: ['list', 'watch', 'create', 'patch', 'delete'],
    },
    {
      apiGroups: ['metallb.io'],
      resources: ['bgpsessionstates/status', 'servicebgpstatuses/status', 'servicel2statuses/status'],
      verbs: ['patch'],
    },
    // Liveness (src/speaker/l2/liveness.ts): an informer over the speakers' Leases (list, watch), and each
    // speaker creates and renews (merge patch) its own node's Lease. No delete: a stopping speaker leaves its
    // Lease resting; it goes with its Node or the MetalLB resource. RBAC cannot tell one node's speaker from
    // another's: the admission policy below lets a speaker write only its own node's.
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['list', 'watch'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'patch'] },
  ],
};

/**
 * The verbs the speaker uses on each password Secret: it watches every referenced Secret by name (a list and a
 * watch with the field selector metadata.name=<name>, which the API server authorizes as a request for that one
 * name), so a rotated password reaches FRR at once. No get: the informer never asks for one.
 */
export const passwordSecretVerbs = ['list', 'watch'];

/**
 * The speaker may read the Secrets that BGPPeers name as passwordSecret, and no other: the namespace holds the
 * webhook's CA key too. RBAC has no label selector for Secrets, only names, so the operator renders the names
 * it sees in the BGPPeers and renders again when they change. No names, no rule: an empty resourceNames list
 * would grant every Secret.
 */
export function passwordSecretRules(secretNames: readonly string[]): V1PolicyRule[] {
  const names = [...new Set(secretNames)].filter((name) => name !== '').sort();
  if (names.length === 0) return [];
  return [{ apiGroups: [''], resources: ['secrets'], resourceNames: names, verbs: passwordSecretVerbs }];
}

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

/** `passwordSecretNames`: the Secrets BGPPeers reference, which only the speaker may read. */
export function role(
  component: Component,
  owner: OwnerIdentity,
  passwordSecretNames: readonly string[] = [],
): V1Role {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: namespacedMetadata(component, component, owner),
    rules: [
      ...namespacedRules[component],
      ...(component === 'speaker' ? passwordSecretRules(passwordSecretNames) : []),
    ],
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

/** Cluster-scoped, so named after the namespace like the ClusterRoles (a policy name is a DNS subdomain). */
export function leaseOwnersPolicyName(owner: OwnerIdentity): string {
  return `metallb-lease-owners.${owner.namespace}`;
}

function serviceAccountUser(component: Component, owner: OwnerIdentity): string {
  return `system:serviceaccount:${owner.namespace}:${component}`;
}

/**
 * Who may write which Lease in the namespace, which RBAC cannot say: a speaker only its own node's liveness
 * Lease, proven by its node-bound token (the kubelet's projected token carries the node's name in
 * userInfo.extra), and the controller only its leader-election Lease. Requests of anyone else are not
 * matched (the operator, administrators).
 */
export function leaseOwnersPolicy(owner: OwnerIdentity): V1ValidatingAdmissionPolicy {
  const speaker = serviceAccountUser('speaker', owner);
  const controller = serviceAccountUser('controller', owner);
  const nodeName = `request.userInfo.extra[${cel('authentication.kubernetes.io/node-name')}]`;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: clusterMetadata(leaseOwnersPolicyName(owner), 'speaker', owner),
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ['coordination.k8s.io'],
            apiVersions: ['v1'],
            resources: ['leases'],
            operations: ['CREATE', 'UPDATE', 'DELETE'],
          },
        ],
      },
      matchConditions: [
        {
          name: 'metallb-operands',
          expression: `request.userInfo.username in [${cel(speaker)}, ${cel(controller)}]`,
        },
      ],
      validations: [
        {
          expression:
            `request.userInfo.username != ${cel(speaker)} || ` +
            // extra is absent, not empty, for a token without any: has() first, or the check errors.
            `(has(request.userInfo.extra) && ${cel('authentication.kubernetes.io/node-name')} in request.userInfo.extra && ` +
            `size(${nodeName}) == 1 && request.name == ${cel(speakerLeasePrefix)} + ${nodeName}[0])`,
          message: `a speaker may write only its own node's Lease (${speakerLeasePrefix}<node>), with a node-bound token`,
          reason: 'Forbidden',
        },
        {
          expression: `request.userInfo.username != ${cel(controller)} || request.name == ${cel(controllerLeaseName)}`,
          message: `the controller may write only its leader-election Lease ${controllerLeaseName}`,
          reason: 'Forbidden',
        },
      ],
    },
  };
}

/** Applies the policy in the operator's namespace only, refusing what it denies. */
export function leaseOwnersPolicyBinding(owner: OwnerIdentity): V1ValidatingAdmissionPolicyBinding {
  const name = leaseOwnersPolicyName(owner);
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: clusterMetadata(name, 'speaker', owner),
    spec: {
      policyName: name,
      validationActions: ['Deny'],
      matchResources: {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': owner.namespace } },
      },
    },
  };
}

/** A CEL string literal (JSON's escaping is valid CEL). */
function cel(text: string): string {
  return JSON.stringify(text);
}
