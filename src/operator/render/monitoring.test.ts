import { describe, expect, it } from '@jest/globals';
import type { V1ClusterRole, V1PodSpec, V1Service } from '@kubernetes/client-node';
import { defaultOperatorEnv } from '../env.js';
import { renderMetalLB } from './index.js';
import { ruleGroups } from '../../monitoring/alerts.js';
import type { PrometheusRule, ServiceMonitor } from './monitoring.js';
import { parseObjects } from '../../../scripts/install/yaml.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { container, findObject, metalLB, renderObjects } from '../../../test/support/operator.js';

function rendered(openShift = false) {
  const result = renderMetalLB(metalLB(), defaultOperatorEnv, {
    serviceMonitors: true,
    prometheusRules: false,
    openShift,
  });
  if (!result.ok) throw new Error('expected objects');
  return result.objects;
}

describe('discovery of the metrics by Prometheus', () => {
  it('renders nothing for monitoring where the cluster does not serve ServiceMonitors', () => {
    const kinds = renderObjects(metalLB()).map((o) => `${o.kind}/${o.metadata?.name}`);
    expect(kinds.filter((k) => k.startsWith('Service/') || k.startsWith('ServiceMonitor/'))).toEqual([]);
    expect(kinds).not.toContain('ClusterRole/metallb-metrics-reader');
  });

  it('adds the reader ClusterRole, a metrics Service and a ServiceMonitor per operand, after the workloads', () => {
    expect(
      rendered()
        .slice(-5)
        .map((o) => `${o.kind}/${o.metadata?.name}`),
    ).toEqual([
      'ClusterRole/metallb-metrics-reader',
      'Service/controller-monitor-service',
      'Service/speaker-monitor-service',
      'ServiceMonitor/controller-monitor',
      'ServiceMonitor/speaker-monitor',
    ]);
  });

  it('grants Prometheus exactly get on /metrics, labelled for cleanup with the MetalLB', () => {
    const role = findObject<V1ClusterRole>(rendered(), 'ClusterRole', 'metallb-metrics-reader');
    expect(role.rules).toEqual([{ nonResourceURLs: ['/metrics'], verbs: ['get'] }]);
    expect(role.metadata?.labels?.['metallb.io/owner']).toBe('metallb-system.metallb');
  });

  it('selects each operand’s pods on the metrics port and asks the OpenShift service CA for its certificate', () => {
    for (const component of ['controller', 'speaker']) {
      const service = findObject<V1Service>(rendered(), 'Service', `${component}-monitor-service`);
      expect(service.spec).toEqual({
        clusterIP: 'None',
        selector: { app: 'metallb', component },
        ports: [{ name: 'metricshttps', port: 9120, targetPort: 9120, protocol: 'TCP' }],
      });
      expect(service.metadata?.annotations).toEqual({
        'service.beta.openshift.io/serving-cert-secret-name': `${component}-certs-secret`,
      });
      expect(service.metadata?.ownerReferences?.[0]?.kind).toBe('MetalLB');
    }
  });

  it('scrapes over HTTPS with the Prometheus token, checking the Service name, and the service CA on OpenShift', () => {
    const endpoint = (openShift: boolean) =>
      (
        findObject<ServiceMonitor>(rendered(openShift), 'ServiceMonitor', 'speaker-monitor').spec
          .endpoints as Record<string, unknown>[]
      )[0];
    expect(endpoint(false)).toEqual({
      port: 'metricshttps',
      path: '/metrics',
      scheme: 'https',
      bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      honorLabels: true,
      tlsConfig: { serverName: 'speaker-monitor-service.metallb-system.svc', insecureSkipVerify: true },
    });
    expect(endpoint(true)?.tlsConfig).toEqual({
      serverName: 'speaker-monitor-service.metallb-system.svc',
      caFile: '/etc/prometheus/configmaps/serving-certs-ca-bundle/service-ca.crt',
      insecureSkipVerify: false,
    });
    const monitor = findObject<ServiceMonitor>(rendered(), 'ServiceMonitor', 'controller-monitor');
    expect(monitor.spec.selector).toEqual({
      matchLabels: { app: 'metallb', component: 'controller', 'metallb.io/metrics': 'true' },
    });
    expect(monitor.spec.namespaceSelector).toEqual({ matchNames: ['metallb-system'] });
  });

  it('mounts the certificate Secret in both operands, optional, and points --metrics-cert-dir at it', () => {
    for (const [kind, name, containerName] of [
      ['Deployment', 'controller', 'controller'],
      ['DaemonSet', 'speaker', 'speaker'],
    ] as const) {
      const workload = findObject<{
        kind: string;
        spec: { template: { spec: V1PodSpec } };
      }>(renderObjects(metalLB()), kind, name);
      const pod = workload.spec.template.spec;
      expect(pod.volumes).toContainEqual({
        name: 'metrics-certs',
        secret: { secretName: `${name}-certs-secret`, optional: true },
      });
      const main = container(pod, containerName);
      expect(main.volumeMounts).toContainEqual({
        name: 'metrics-certs',
        mountPath: '/etc/metrics',
        readOnly: true,
      });
      expect(main.args).toContain('--metrics-cert-dir=/etc/metrics');
    }
  });
});

describe('the alerts as a PrometheusRule', () => {
  const root = join(import.meta.dirname, '..', '..', '..');

  function renderedWith(serviceMonitors: boolean, prometheusRules: boolean) {
    const result = renderMetalLB(metalLB(), defaultOperatorEnv, {
      serviceMonitors,
      prometheusRules,
      openShift: false,
    });
    if (!result.ok) throw new Error('expected objects');
    return result.objects;
  }

  function kindsOf(objects: readonly { kind?: string; metadata?: { name?: string } }[]): string[] {
    return objects.map((o) => `${o.kind}/${o.metadata?.name}`);
  }

  it('is rendered only where the PrometheusRule kind is served, independently of ServiceMonitors', () => {
    expect(kindsOf(renderedWith(true, false))).not.toContain('PrometheusRule/metallb-alerts');
    expect(kindsOf(renderObjects(metalLB()))).not.toContain('PrometheusRule/metallb-alerts');
    const alone = kindsOf(renderedWith(false, true));
    expect(alone.at(-1)).toBe('PrometheusRule/metallb-alerts');
    expect(alone).not.toContain('ServiceMonitor/controller-monitor');
    expect(kindsOf(renderedWith(true, true)).slice(-2)).toEqual([
      'ServiceMonitor/speaker-monitor',
      'PrometheusRule/metallb-alerts',
    ]);
  });

  it('holds the production alerts in the operator namespace, owned by the MetalLB resource', () => {
    const rule = findObject<PrometheusRule>(renderedWith(false, true), 'PrometheusRule', 'metallb-alerts');
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule.spec).toEqual(ruleGroups('production'));
    expect(rule.metadata.namespace).toBe('metallb-system');
    expect(rule.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'MetalLB', name: 'metallb', controller: true }),
    ]);
    // Not the controller's pod labels: a PrometheusRule belongs to no operand's pods.
    expect(rule.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'metallb',
      'app.kubernetes.io/component': 'monitoring',
      'app.kubernetes.io/managed-by': 'metallb-operator',
    });
  });

  it('is the object config/prometheus ships, so the operator adopts rather than doubles it', () => {
    const rendered = findObject<PrometheusRule>(
      renderedWith(false, true),
      'PrometheusRule',
      'metallb-alerts',
    );
    const [shipped] = parseObjects(
      readFileSync(join(root, 'config/prometheus/prometheus-rule.yaml'), 'utf8'),
    ) as unknown as PrometheusRule[];
    expect(shipped?.kind).toBe('PrometheusRule');
    expect(shipped?.metadata.name).toBe(rendered.metadata.name);
    expect(shipped?.metadata.namespace).toBe(rendered.metadata.namespace);
    expect(shipped?.spec).toEqual(rendered.spec);
  });
});
