/**
 * What tells a Prometheus where the metrics are and lets it read them, rendered when the cluster serves the
 * monitoring.coreos.com ServiceMonitor kind: per operand a headless metrics Service and a ServiceMonitor that
 * scrapes it over HTTPS with the Prometheus pod's own ServiceAccount token, plus the ClusterRole a Prometheus
 * needs for that token to pass the operands' authorization (`get` on /metrics). Where the PrometheusRule kind
 * is served, the alerts of src/monitoring/alerts.ts too, under the name config/ and the OLM bundle give them,
 * so an install that already created them from there is adopted rather than doubled.
 *
 * Certificates: the Service asks OpenShift's service CA for a serving certificate in the Secret the operand
 * mounts (optional, so elsewhere the pod starts and serves a self-signed one until someone, cert-manager for
 * instance, fills that Secret). On OpenShift the ServiceMonitor verifies against the service CA bundle the
 * cluster Prometheus carries; elsewhere nothing in the cluster vouches for a self-signed certificate, so it
 * checks only the name. The bearer token and the authorization are what protect the metrics either way.
 */
import type { V1ClusterRole, V1ObjectMeta, V1Service } from '@kubernetes/client-node';
import {
  prometheusRuleLabels,
  prometheusRuleName,
  ruleGroups,
  type RuleGroups,
} from '../../monitoring/alerts.js';
import type { OperatorEnv } from '../env.js';
import {
  componentLabels,
  namespacedMetadata,
  ownerLabelKey,
  ownerLabelValue,
  selectorLabels,
  type Component,
  type OwnerIdentity,
} from './labels.js';

/** What the cluster offers that changes what is rendered; found through API discovery by the operator. */
export interface ClusterCapabilities {
  /** monitoring.coreos.com/v1 ServiceMonitor is served (prometheus-operator is installed). */
  readonly serviceMonitors: boolean;
  /** monitoring.coreos.com/v1 PrometheusRule is served: the alerts can be handed to the Prometheus Operator. */
  readonly prometheusRules: boolean;
  /** An OpenShift cluster (config.openshift.io is served): the service CA signs serving certificates. */
  readonly openShift: boolean;
}

export const noCapabilities: ClusterCapabilities = {
  serviceMonitors: false,
  prometheusRules: false,
  openShift: false,
};

export const metricsReaderClusterRoleName = 'metallb-metrics-reader';
/** The Service port's name, as upstream names it. */
export const metricsPortName = 'metricshttps';
/** Where the operands find the serving certificate of their metrics. */
export const metricsCertDir = '/etc/metrics';
export const openShiftServingCertAnnotation = 'service.beta.openshift.io/serving-cert-secret-name';
/** The service CA bundle OpenShift's cluster Prometheus mounts. */
export const openShiftServiceCaFile = '/etc/prometheus/configmaps/serving-certs-ca-bundle/service-ca.crt';
const prometheusTokenFile = '/var/run/secrets/kubernetes.io/serviceaccount/token';
/** Marks the metrics Services, so a ServiceMonitor never selects another Service of the operand. */
const metricsServiceLabel = 'metallb.io/metrics';

/** Names as upstream's: `controller-monitor-service`, and the Secret `controller-certs-secret`. */
export function metricsServiceName(component: Component): string {
  return `${component}-monitor-service`;
}

export function metricsCertSecretName(component: Component): string {
  return `${component}-certs-secret`;
}

export function serviceMonitorName(component: Component): string {
  return `${component}-monitor`;
}

export function metricsService(component: Component, env: OperatorEnv, owner: OwnerIdentity): V1Service {
  const metadata = namespacedMetadata(metricsServiceName(component), component, owner);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      ...metadata,
      labels: { ...metadata.labels, [metricsServiceLabel]: 'true' },
      annotations: { [openShiftServingCertAnnotation]: metricsCertSecretName(component) },
    },
    spec: {
      // Prometheus scrapes every endpoint; a virtual IP would only add a hop.
      clusterIP: 'None',
      selector: selectorLabels(component),
      ports: [{ name: metricsPortName, port: env.metricsPort, targetPort: env.metricsPort, protocol: 'TCP' }],
    },
  };
}

/** A monitoring.coreos.com/v1 ServiceMonitor; no generated type, the kind is not ours. */
export interface ServiceMonitor {
  readonly apiVersion: 'monitoring.coreos.com/v1';
  readonly kind: 'ServiceMonitor';
  readonly metadata: V1ObjectMeta;
  readonly spec: Record<string, unknown>;
}

export function serviceMonitor(
  component: Component,
  owner: OwnerIdentity,
  capabilities: ClusterCapabilities,
): ServiceMonitor {
  const serverName = `${metricsServiceName(component)}.${owner.namespace}.svc`;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: namespacedMetadata(serviceMonitorName(component), component, owner),
    spec: {
      jobLabel: 'app.kubernetes.io/component',
      namespaceSelector: { matchNames: [owner.namespace] },
      selector: { matchLabels: { ...selectorLabels(component), [metricsServiceLabel]: 'true' } },
      endpoints: [
        {
          port: metricsPortName,
          path: '/metrics',
          scheme: 'https',
          bearerTokenFile: prometheusTokenFile,
          honorLabels: true,
          tlsConfig: capabilities.openShift
            ? { serverName, caFile: openShiftServiceCaFile, insecureSkipVerify: false }
            : { serverName, insecureSkipVerify: true },
        },
      ],
    },
  };
}

/** Bind this to the Prometheus ServiceAccount: the operands allow exactly `get` on /metrics. */
export function metricsReaderClusterRole(owner: OwnerIdentity): V1ClusterRole {
  const {
    'app.kubernetes.io/component': _component,
    component: _selector,
    ...common
  } = componentLabels('controller');
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: {
      name: metricsReaderClusterRoleName,
      labels: {
        ...common,
        'app.kubernetes.io/component': 'metrics',
        [ownerLabelKey]: ownerLabelValue(owner),
      },
    },
    rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }],
  };
}

/** A monitoring.coreos.com/v1 PrometheusRule; no generated type, the kind is not ours. */
export interface PrometheusRule {
  readonly apiVersion: 'monitoring.coreos.com/v1';
  readonly kind: 'PrometheusRule';
  readonly metadata: V1ObjectMeta;
  readonly spec: RuleGroups;
}

/** The production alerts, garbage-collected with the MetalLB resource like the rest of the namespace's objects. */
export function alertsPrometheusRule(owner: OwnerIdentity): PrometheusRule {
  const { labels: _componentLabels, ...metadata } = namespacedMetadata(
    prometheusRuleName,
    'controller',
    owner,
  );
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      ...metadata,
      labels: { ...prometheusRuleLabels, 'app.kubernetes.io/managed-by': 'metallb-operator' },
    },
    spec: ruleGroups('production'),
  };
}
