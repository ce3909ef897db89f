/**
 * Discovery against the real control plane: where the monitoring.coreos.com ServiceMonitor kind is served
 * (a minimal CRD stands in for prometheus-operator's), the operator renders the metrics Services, the
 * ServiceMonitors and the metallb-metrics-reader ClusterRole beside the workloads, and deleting the MetalLB
 * resource removes them all. The CRD is removed at the end, so other suites see a plain cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { apiStatus } from '../../src/runtime/raw-client.js';
import { ensureNamespace, rawClient, waitFor } from '../cluster/lab/cluster.js';
import { startProduct, type ProductProcess } from '../cluster/lab/product.js';

const namespace = 'metallb-system';
const crdName = 'servicemonitors.monitoring.coreos.com';
const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`;
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
  await client.apply(
    crdPath,
    {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: crdName },
      spec: {
        group: 'monitoring.coreos.com',
        scope: 'Namespaced',
        names: {
          kind: 'ServiceMonitor',
          listKind: 'ServiceMonitorList',
          plural: 'servicemonitors',
          singular: 'servicemonitor',
        },
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
  await waitFor('the ServiceMonitor kind to be served', async () =>
    (await present(`/apis/monitoring.coreos.com/v1/namespaces/${namespace}/servicemonitors`))
      ? true
      : undefined,
  );
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
    await client.delete(crdPath).catch(() => undefined);
    client.close();
  }
}, 180_000);

describe('the operator where ServiceMonitors are served', () => {
  it('renders the metrics Services, ServiceMonitors and reader ClusterRole, and removes them with the MetalLB', async () => {
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

    await client.delete(metallbPath);
    for (const [what, path] of Object.entries(rendered)) {
      await eventually(`${what} to be deleted`, async () => ((await present(path)) ? undefined : true));
    }
    await eventually('the MetalLB to be gone', async () => ((await present(metallbPath)) ? undefined : true));
  }, 240_000);
});
