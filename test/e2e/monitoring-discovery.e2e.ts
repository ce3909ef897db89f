/**
 * Discovery against the real control plane: where the monitoring.coreos.com ServiceMonitor and
 * PrometheusRule kinds are served (minimal CRDs stand in for prometheus-operator's), the operator renders the
 * metrics Services, the ServiceMonitors, the metallb-metrics-reader ClusterRole and the alerts' PrometheusRule
 * beside the workloads, adopting the PrometheusRule an administrator already applied from config/prometheus
 * instead of adding a second one, and deleting the MetalLB resource removes them all. The CRDs are removed at
 * the end, so other suites see a plain cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ruleGroups } from '../../src/monitoring/alerts.js';
import { apiStatus } from '../../src/runtime/raw-client.js';
import { ensureNamespace, rawClient, waitFor } from '../cluster/lab/cluster.js';
import { startProduct, type ProductProcess } from '../cluster/lab/product.js';
import { repoRoot } from '../cluster/local-cluster.js';
import { parseObjects } from '../../scripts/install/yaml.js';

const namespace = 'metallb-system';
const monitoringKinds = [
  { kind: 'ServiceMonitor', plural: 'servicemonitors' },
  { kind: 'PrometheusRule', plural: 'prometheusrules' },
] as const;
const crdPath = (plural: string): string =>
  `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.monitoring.coreos.com`;
const prometheusRulePath = `/apis/monitoring.coreos.com/v1/namespaces/${namespace}/prometheusrules/metallb-alerts`;
const metallbPath = `/apis/metallb.io/v1beta1/namespaces/${namespace}/metallbs/metallb`;
const client = rawClient();
let operator: ProductProcess | undefined;

const rendered = {
  'Service controller-monitor-service': `/api/v1/namespaces/${namespace}/services/controller-monitor-service`,
  'Service speaker-monitor-service': `/api/v1/namespaces/${namespace}/services/speaker-monitor-service`,
  'ServiceMonitor controller-monitor': `/apis/monitoring.coreos.com/v1/namespaces/${namespace}/servicemonitors/controller-monitor`,
  'ServiceMonitor speaker-monitor': `/apis/monitoring.coreos.com/v1/namespaces/${namespace}/servicemonitors/speaker-monitor`,
  'ClusterRole metallb-metrics-reader':
    '/apis/rbac.authorization.k8s.io/v1/clusterroles/metallb-metrics-reader',
  'PrometheusRule metallb-alerts': prometheusRulePath,
};

async function present(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return await client.get<Record<string, unknown>>(path);
  } catch (error) {
    if (apiStatus(error) === 404) return undefined;
    throw error;
  }
}

async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  return waitFor(what, check, 90_000).catch((error: unknown) => {
    const tail = (operator?.log() ?? '').trimEnd().split('\n').slice(-30).join('\n');
    throw new Error(`${String(error)}\n--- operator log ---\n${tail}`);
  });
}

beforeAll(async () => {
  await ensureNamespace(namespace);
  for (const { kind, plural } of monitoringKinds) {
    await client.apply(
      crdPath(plural),
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `${plural}.monitoring.coreos.com` },
        spec: {
          group: 'monitoring.coreos.com',
          scope: 'Namespaced',
          names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          ],
        },
      },
      'monitoring-e2e',
    );
  }
  for (const { kind, plural } of monitoringKinds) {
    await waitFor(`the ${kind} kind to be served`, async () =>
      (await present(`/apis/monitoring.coreos.com/v1/namespaces/${namespace}/${plural}`)) ? true : undefined,
    );
  }
}, 120_000);

afterAll(async () => {
  try {
    if (operator?.process.running && (await present(metallbPath))) {
      await client.delete(metallbPath).catch(() => undefined);
      await waitFor(
        'the MetalLB to be gone',
        async () => ((await present(metallbPath)) ? undefined : true),
        90_000,
      ).catch(() => undefined);
    }
  } finally {
    await operator?.stop();
    await client.delete(prometheusRulePath).catch(() => undefined);
    for (const { plural } of monitoringKinds) await client.delete(crdPath(plural)).catch(() => undefined);
    client.close();
  }
}, 180_000);

describe('the operator where ServiceMonitors and PrometheusRules are served', () => {
  it('renders the metrics Services, ServiceMonitors, reader ClusterRole and alerts, and removes them with the MetalLB', async () => {
    // What `kubectl apply -k config/prometheus` creates before the operator runs (the OLM bundle's is the same).
    const [shipped] = parseObjects(
      readFileSync(join(repoRoot, 'config', 'prometheus', 'prometheus-rule.yaml'), 'utf8'),
    );
    await client.apply(prometheusRulePath, shipped as Record<string, unknown>, 'kubectl');
    operator = startProduct(
      'operator',
      ['--health-probe-bind-address=127.0.0.1:0', '--metrics-bind-address=0', '--leader-elect=false'],
      { env: { OPERATOR_NAMESPACE: namespace } },
    );
    await client.apply(
      metallbPath,
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'MetalLB',
        metadata: { name: 'metallb', namespace },
        spec: {},
      },
      'monitoring-e2e',
    );
    for (const [what, path] of Object.entries(rendered)) {
      await eventually(`${what} to be rendered`, () => present(path));
    }
    const monitor = (await present(rendered['ServiceMonitor speaker-monitor'])) as {
      spec: { endpoints: { scheme: string; bearerTokenFile: string; tlsConfig: { serverName: string } }[] };
    };
    expect(monitor.spec.endpoints[0]).toMatchObject({
      scheme: 'https',
      bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      tlsConfig: { serverName: `speaker-monitor-service.${namespace}.svc` },
    });
    const role = (await present(rendered['ClusterRole metallb-metrics-reader'])) as {
      rules: unknown[];
    };
    expect(role.rules).toEqual([{ nonResourceURLs: ['/metrics'], verbs: ['get'] }]);
    const alerts = await eventually('the operator to adopt the PrometheusRule', async () => {
      const rule = (await present(prometheusRulePath)) as
        { metadata: { ownerReferences?: { kind: string; name: string }[] }; spec: unknown } | undefined;
      return rule?.metadata.ownerReferences?.some((ref) => ref.kind === 'MetalLB' && ref.name === 'metallb')
        ? rule
        : undefined;
    });
    expect(alerts.spec).toEqual(ruleGroups('production'));
    const rules = await client.list<unknown>(
      `/apis/monitoring.coreos.com/v1/namespaces/${namespace}/prometheusrules`,
    );
    expect(rules.items).toHaveLength(1);

    await client.delete(metallbPath);
    for (const [what, path] of Object.entries(rendered)) {
      await eventually(`${what} to be deleted`, async () => ((await present(path)) ? undefined : true));
    }
    await eventually('the MetalLB to be gone', async () => ((await present(metallbPath)) ? undefined : true));
  }, 240_000);
});
