/**
 * The permissions of the install's own identities: the operator and the webhook. Least privilege, no
 * wildcards, and each rule says what it is for (the generator writes that as a comment above the rule).
 *
 * The operator creates the controller's and the speaker's Roles and ClusterRoles, and Kubernetes lets an
 * identity grant only what it holds itself (no `escalate`/`bind` here), so the operator also holds the
 * operands' rules, taken from src/operator/render/rbac.ts: one definition, granted twice.
 */
import type { V1PolicyRule } from '@kubernetes/client-node';
import {
  clusterRules,
  components,
  configurationKinds,
  namespacedRules,
  passwordSecretVerbs,
  read,
  readWrite,
} from '../../operator/render/rbac.js';
import { conversionCrdName } from './webhooks.js';
import { webhookCertSecretName, webhookConfigurationName } from './names.js';

export interface DescribedRule {
  /** What the rule is for, in one line. */
  readonly why: string;
  readonly rule: V1PolicyRule;
}

/** The operands' rules, deduplicated, as the operator must hold them to grant them. */
function heldForOperands(rules: Record<string, V1PolicyRule[]>): DescribedRule[] {
  const seen = new Map<string, DescribedRule & { readonly owners: string[] }>();
  for (const component of components) {
    for (const rule of rules[component] ?? []) {
      const key = JSON.stringify(rule);
      const known = seen.get(key);
      if (known) known.owners.push(component);
      else seen.set(key, { why: '', rule, owners: [component] });
    }
  }
  return [...seen.values()].map(({ rule, owners }) => ({
    why: `held to grant it to the ${owners.join(' and ')} (RBAC lets the operator grant only what it holds)`,
    rule,
  }));
}

export const operatorClusterRules: readonly DescribedRule[] = [
  {
    why: "the operands' ClusterRoles: rendered per MetalLB resource, deleted by its finalizer",
    rule: {
      apiGroups: ['rbac.authorization.k8s.io'],
      resources: ['clusterroles', 'clusterrolebindings'],
      verbs: readWrite,
    },
  },
  {
    why: "the admission policy that lets each speaker write only its own node's Lease: rendered per MetalLB resource, deleted by its finalizer",
    rule: {
      apiGroups: ['admissionregistration.k8s.io'],
      resources: ['validatingadmissionpolicies', 'validatingadmissionpolicybindings'],
      verbs: readWrite,
    },
  },
  {
    why: 'MetalLB resources in every namespace are watched: one outside the operator namespace is answered (Degraded, WrongNamespace), never ignored',
    rule: { apiGroups: ['metallb.io'], resources: ['metallbs'], verbs: read },
  },
  {
    why: 'MetalLB status conditions (Available, Progressing, Degraded, Upgradeable), also on one in another namespace',
    rule: { apiGroups: ['metallb.io'], resources: ['metallbs/status'], verbs: ['get', 'update', 'patch'] },
  },
  {
    why: 'held to grant it to Prometheus in the metallb-metrics-reader ClusterRole the operator renders',
    rule: { nonResourceURLs: ['/metrics'], verbs: ['get'] },
  },
  // Includes creating events in every namespace, which the operator's own events use too.
  ...heldForOperands(clusterRules),
];

export const operatorNamespacedRules: readonly DescribedRule[] = [
  {
    why: 'the MetalLB resource: update and patch add and remove the cleanup finalizer',
    rule: { apiGroups: ['metallb.io'], resources: ['metallbs'], verbs: ['update', 'patch'] },
  },
  {
    why: 'ownerReferences with blockOwnerDeletion on what the operator renders need update on the owner',
    rule: { apiGroups: ['metallb.io'], resources: ['metallbs/finalizers'], verbs: ['update'] },
  },
  {
    why: "the operands' identities, FRR's ConfigMaps and namespaced RBAC: rendered and kept as rendered",
    rule: {
      apiGroups: [''],
      resources: ['serviceaccounts', 'configmaps'],
      verbs: readWrite,
    },
  },
  {
    why: 'metrics Services and ServiceMonitors for the controller and speaker, rendered when the ServiceMonitor kind is served',
    rule: { apiGroups: [''], resources: ['services'], verbs: readWrite },
  },
  {
    why: "ServiceMonitors that tell the cluster monitoring where the metrics are, and the PrometheusRule with MetalLB's alerts",
    rule: {
      apiGroups: ['monitoring.coreos.com'],
      resources: ['servicemonitors', 'prometheusrules'],
      verbs: readWrite,
    },
  },
  {
    why: "the operands' Roles and RoleBindings",
    rule: {
      apiGroups: ['rbac.authorization.k8s.io'],
      resources: ['roles', 'rolebindings'],
      verbs: readWrite,
    },
  },
  {
    why: 'the controller Deployment and the speaker DaemonSet; their status says whether MetalLB is available',
    rule: { apiGroups: ['apps'], resources: ['deployments', 'daemonsets'], verbs: readWrite },
  },
  {
    why: 'leader election among operator replicas (Lease metallb-operator)',
    rule: { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: readWrite },
  },
  {
    why: 'held to grant the speaker list and watch of the Secrets BGPPeers name as passwordSecret (their names are known only at run time); no get, which the speaker does not use',
    rule: { apiGroups: [''], resources: ['secrets'], verbs: passwordSecretVerbs },
  },
  ...heldForOperands(namespacedRules).filter(
    // Leases are already granted in full above; the rest the operator does not use itself.
    ({ rule }) => !(rule.resources ?? []).includes('leases'),
  ),
];

/** The webhook reads configuration cluster-wide to judge an object against the others. */
export const webhookClusterRules: readonly DescribedRule[] = [
  {
    why: "pools' namespace selectors and peers' node selectors are checked against the cluster's objects (watch caches)",
    rule: { apiGroups: [''], resources: ['namespaces', 'nodes'], verbs: ['list', 'watch'] },
  },
  {
    why: 'self-managed certificates: publish the CA in its own configuration (get: its uid, which owns the certificate Secret); outside the cluster (--local-url) it points it at the local URL and removes it on exit',
    rule: {
      apiGroups: ['admissionregistration.k8s.io'],
      resources: ['validatingwebhookconfigurations'],
      resourceNames: [webhookConfigurationName],
      verbs: ['get', 'patch', 'delete'],
    },
  },
  {
    why: "self-managed certificates: publish the CA in the BGPPeer CRD's conversion stanza",
    rule: {
      apiGroups: ['apiextensions.k8s.io'],
      resources: ['customresourcedefinitions'],
      resourceNames: [conversionCrdName],
      verbs: ['patch'],
    },
  },
];

export const webhookNamespacedRules: readonly DescribedRule[] = [
  {
    why: 'every admission decision reads the configuration it must stay consistent with (watch caches)',
    rule: { apiGroups: ['metallb.io'], resources: configurationKinds, verbs: ['list', 'watch'] },
  },
  {
    why: 'BGPPeers may reference password Secrets; admission checks that they exist (watch cache)',
    rule: { apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] },
  },
  {
    why: 'self-managed certificates: the first start creates the certificate Secret by server-side apply, which the API server authorizes as create too (create cannot be limited by name)',
    rule: { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  },
  {
    why: 'self-managed certificates: read its own certificate Secret and rotate it with server-side apply (a patch), and no other Secret',
    rule: {
      apiGroups: [''],
      resources: ['secrets'],
      resourceNames: [webhookCertSecretName],
      verbs: ['get', 'patch'],
    },
  },
];

export const rulesOf = (described: readonly DescribedRule[]): V1PolicyRule[] =>
  described.map(({ rule }) => rule);
