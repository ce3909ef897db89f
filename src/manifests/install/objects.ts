/**
 * The install's objects, defined once: `scripts/generate-install.ts` writes them into config/ (kustomize bases)
 * and into the OLM bundle's ClusterServiceVersion, and the e2e applies what it wrote.
 */
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1Container,
  V1Deployment,
  V1DeploymentSpec,
  V1Namespace,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { defaultOperatorEnv } from '../../operator/env.js';
import {
  installNamespace,
  olmWebhookCertDir,
  operatorDeploymentName,
  operatorHealthPort,
  operatorMetricsPort,
  operatorMetricsServiceName,
  operatorName,
  operatorServiceAccount,
  webhookDeploymentName,
  webhookName,
  webhookPort,
  webhookServiceAccount,
} from './names.js';
import {
  operatorClusterRules,
  operatorNamespacedRules,
  rulesOf,
  webhookClusterRules,
  webhookNamespacedRules,
  type DescribedRule,
} from './rbac.js';
import { nodeOptionsEnv } from '../../operator/render/node-options.js';
import { frrImage, productImage, productVersion } from './version.js';
import { webhookLabels, webhookSelector } from './webhooks.js';

export const operatorLabels = {
  'app.kubernetes.io/name': 'metallb',
  'app.kubernetes.io/component': 'operator',
};
/** Pod labels of the operator Deployment; the metrics Service selects them. */
export const operatorSelector = { app: 'metallb', component: 'operator' };

export function namespace(): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: installNamespace,
      labels: {
        'app.kubernetes.io/name': 'metallb',
        // The speakers need host networking and NET_RAW: the namespace must admit privileged pods.
        'pod-security.kubernetes.io/enforce': 'privileged',
        'pod-security.kubernetes.io/audit': 'privileged',
        'pod-security.kubernetes.io/warn': 'privileged',
        // OpenShift scrapes the metrics Services of namespaces labelled so.
        'openshift.io/cluster-monitoring': 'true',
      },
    },
  };
}

/** One identity of the install: its ServiceAccount, cluster-wide and namespaced rules, and their bindings. */
export interface Identity {
  readonly serviceAccount: string;
  readonly labels: Record<string, string>;
  readonly clusterRules: readonly DescribedRule[];
  readonly namespacedRules: readonly DescribedRule[];
}

export const operatorIdentity: Identity = {
  serviceAccount: operatorServiceAccount,
  labels: operatorLabels,
  clusterRules: operatorClusterRules,
  namespacedRules: operatorNamespacedRules,
};

export const webhookIdentity: Identity = {
  serviceAccount: webhookServiceAccount,
  labels: webhookLabels,
  clusterRules: webhookClusterRules,
  namespacedRules: webhookNamespacedRules,
};

export const identities: readonly Identity[] = [operatorIdentity, webhookIdentity];

/** Cluster-scoped names carry the product name so they cannot collide with another operator's. */
export const clusterRoleNameOf = (identity: Identity): string => `metallb:${identity.serviceAccount}`;

export function serviceAccount(identity: Identity): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: identity.serviceAccount, namespace: installNamespace, labels: identity.labels },
  };
}

export function clusterRole(identity: Identity): V1ClusterRole {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: clusterRoleNameOf(identity), labels: identity.labels },
    rules: rulesOf(identity.clusterRules),
  };
}

export function clusterRoleBinding(identity: Identity): V1ClusterRoleBinding {
  const name = clusterRoleNameOf(identity);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: identity.labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: [{ kind: 'ServiceAccount', name: identity.serviceAccount, namespace: installNamespace }],
  };
}

export function role(identity: Identity): V1Role {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: identity.serviceAccount, namespace: installNamespace, labels: identity.labels },
    rules: rulesOf(identity.namespacedRules),
  };
}

export function roleBinding(identity: Identity): V1RoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: identity.serviceAccount, namespace: installNamespace, labels: identity.labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: identity.serviceAccount },
    subjects: [{ kind: 'ServiceAccount', name: identity.serviceAccount, namespace: installNamespace }],
  };
}

/** Restricted pod security: nothing the operator or the webhook does needs more. */
const restrictedContainer: Pick<V1Container, 'securityContext'> = {
  securityContext: {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
};

const namespaceFromPod = {
  name: 'OPERATOR_NAMESPACE',
  valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
};

function deployment(
  name: string,
  labels: Record<string, string>,
  selector: Record<string, string>,
  serviceAccountName: string,
  container: V1Container,
  strategy?: V1DeploymentSpec['strategy'],
): V1Deployment {
  const spec: V1DeploymentSpec = {
    replicas: 1,
    ...(strategy ? { strategy } : {}),
    selector: { matchLabels: selector },
    template: {
      metadata: { labels: { ...labels, ...selector } },
      spec: {
        serviceAccountName,
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{ ...restrictedContainer, ...container }],
        terminationGracePeriodSeconds: 10,
      },
    },
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: installNamespace, labels },
    spec,
  };
}

const probe = (path: string, port: number, scheme: 'HTTP' | 'HTTPS' = 'HTTP') => ({
  httpGet: { path, port, scheme },
  periodSeconds: 10,
});

export function operatorDeployment(): V1Deployment {
  return deployment(operatorDeploymentName, operatorLabels, operatorSelector, operatorServiceAccount, {
    name: 'manager',
    image: productImage,
    command: ['metallb', 'operator'],
    args: [
      `--health-probe-bind-address=:${operatorHealthPort}`,
      `--metrics-bind-address=:${operatorMetricsPort}`,
      '--leader-elect=true',
    ],
    env: [
      namespaceFromPod,
      // The operands run the same release as the operator.
      { name: 'CONTROLLER_IMAGE', value: productImage },
      { name: 'SPEAKER_IMAGE', value: productImage },
      { name: 'FRR_IMAGE', value: frrImage },
      { name: 'METRICS_PORT', value: String(defaultOperatorEnv.metricsPort) },
      { name: 'FRR_METRICS_PORT', value: String(defaultOperatorEnv.frrMetricsPort) },
      { name: 'OPERAND_LIVENESS_PORT', value: String(defaultOperatorEnv.livenessPort) },
      nodeOptionsEnv,
    ],
    ports: [
      { name: 'metrics', containerPort: operatorMetricsPort },
      { name: 'health', containerPort: operatorHealthPort },
    ],
    livenessProbe: probe('/healthz', operatorHealthPort),
    readinessProbe: probe('/readyz', operatorHealthPort),
    resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '256Mi' } },
  });
}

/**
 * The webhook server. Without `olmCertDir` it manages its own certificates in a Secret (plain manifests);
 * with it, it serves the certificate OLM mounts there and OLM publishes the CA.
 *
 * One replica, replaced with Recreate: admission is race-free because one process serializes every
 * decision and remembers what it admitted until its cache shows it. Two replicas (a rolling update's
 * surge included) would each remember only their own admissions, so two conflicting objects sent at once
 * could both pass. The price is a few seconds without the webhook during an upgrade, when applies fail
 * (failurePolicy Fail) and can be retried.
 */
export function webhookDeployment(options: { readonly olmCertDir?: boolean } = {}): V1Deployment {
  return deployment(
    webhookDeploymentName,
    webhookLabels,
    webhookSelector,
    webhookServiceAccount,
    {
      name: 'webhook',
      image: productImage,
      command: ['metallb', 'webhook'],
      args: [
        `--namespace=$(OPERATOR_NAMESPACE)`,
        `--port=${webhookPort}`,
        ...(options.olmCertDir ? [`--cert-dir=${olmWebhookCertDir}`] : []),
      ],
      env: [namespaceFromPod, nodeOptionsEnv],
      ports: [{ name: 'webhook', containerPort: webhookPort }],
      // Ready once its watch caches have synced (/readyz on the serving port).
      readinessProbe: probe('/readyz', webhookPort, 'HTTPS'),
      resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    },
    { type: 'Recreate' },
  );
}

export function operatorMetricsService(): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: operatorMetricsServiceName, namespace: installNamespace, labels: operatorLabels },
    spec: {
      selector: operatorSelector,
      ports: [{ name: 'metrics', port: operatorMetricsPort, targetPort: operatorMetricsPort }],
    },
  };
}

export { productImage, productVersion, operatorName, webhookName };
