/**
 * A real Prometheus (Debian's, on loopback) scrapes `metallb controller` (against the local control plane)
 * over HTTPS, with the token of a ServiceAccount bound to the operator's metrics-reader ClusterRole, with the alert rules of the test profile and the scrape configuration the product generates:
 * exhausting a small pool makes MetalLBAddressPoolExhausted and MetalLBServicePendingAddress reach firing, and
 * every dashboard query the controller answers returns a series. (The BGP and BFD queries need speakers with
 * FRR: test/e2e/monitoring-bgp.e2e.ts runs them; test/support/dashboard-coverage.ts splits the queries.)
 *
 * Pools live in metallb-system; this suite deletes every IPAddressPool there at its start and end.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { apiStatus } from '../../src/runtime/raw-client.js';
import { createNamespace, ensureNamespace, rawClient, waitFor } from '../cluster/lab/cluster.js';
import { metricsReader, type MetricsIdentity } from '../cluster/lab/metrics-access.js';
import { startProduct, type ProductProcess } from '../cluster/lab/product.js';
import { LocalPrometheus } from '../cluster/lab/prometheus.js';
import { dashboardQueriesAnsweredBy } from '../support/dashboard-coverage.js';

const metallbNamespace = 'metallb-system';
const poolsPath = `/apis/metallb.io/v1beta1/namespaces/${metallbNamespace}/ipaddresspools`;
const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${metallbNamespace}/leases/metallb-controller`;

let controller: ProductProcess | undefined;
let reader: MetricsIdentity | undefined;
let prometheus: LocalPrometheus | undefined;
let namespace = '';

async function deleteAllPools(): Promise<void> {
  await rawClient().delete(poolsPath);
}

async function createService(name: string): Promise<void> {
  await rawClient().create(`/api/v1/namespaces/${namespace}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80, protocol: 'TCP' }] },
  });
}

beforeAll(async () => {
  await ensureNamespace(metallbNamespace);
  await deleteAllPools();
  await rawClient()
    .delete(leasePath)
    .catch((error: unknown) => {
      if (apiStatus(error) !== 404) throw error;
    });
  namespace = await createNamespace('monitoring');

  // Secured metrics, as in production: Prometheus scrapes over HTTPS with the token of a ServiceAccount
  // bound to exactly the ClusterRole the operator renders for monitoring.
  controller = startProduct('controller', ['--port=0', '--health-probe-port=0'], {
    env: { METALLB_POD_NAME: 'monitoring-e2e' },
    secureMetrics: true,
  });
  const running = controller;
  const line = await waitFor(
    'the controller to start',
    async () => {
      if (!running.process.running) throw new Error(`controller exited:\n${running.log()}`);
      return running
        .log()
        .split('\n')
        .find((entry) => entry.includes('"msg":"controller running"'));
    },
    30_000,
  );
  const metricsPort = (JSON.parse(line) as { metricsPort: number }).metricsPort;

  reader = await metricsReader(rawClient(), namespace, 'prometheus', true);
  prometheus = await LocalPrometheus.start({
    namespace: metallbNamespace,
    targets: { controller: [`127.0.0.1:${metricsPort}`], speaker: [] },
    token: reader.token,
  });
}, 120_000);

afterAll(async () => {
  await prometheus?.stop();
  await controller?.stop();
  await reader?.remove();
  if (namespace) {
    await rawClient()
      .delete(`/api/v1/namespaces/${namespace}`)
      .catch(() => undefined);
  }
  await deleteAllPools().catch(() => undefined);
});

describe('Prometheus scraping the controller', () => {
  it('fires the pool-exhausted and pending-Service alerts once a small pool runs out', async () => {
    await rawClient().apply(
      `${poolsPath}/monitoring-small`,
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: { name: 'monitoring-small', namespace: metallbNamespace },
        spec: { addresses: ['203.0.113.250/31'] },
      },
      'monitoring-e2e',
    );
    for (const name of ['first', 'second', 'third']) await createService(name);

    const firing = await waitFor(
      'MetalLBAddressPoolExhausted and MetalLBServicePendingAddress to fire',
      async () => {
        const alerts = await (prometheus as LocalPrometheus).firingAlerts();
        const exhausted = alerts.find(
          (a) => a.labels.alertname === 'MetalLBAddressPoolExhausted' && a.labels.pool === 'monitoring-small',
        );
        const pending = alerts.find(
          (a) => a.labels.alertname === 'MetalLBServicePendingAddress' && a.labels.reason === 'exhausted',
        );
        return exhausted && pending ? alerts : undefined;
      },
      90_000,
    );
    expect(firing.find((a) => a.labels.alertname === 'MetalLBAddressPoolExhausted')?.labels.severity).toBe(
      'critical',
    );
    // The controller leads, so the leader alert stays quiet.
    expect(firing.map((a) => a.labels.alertname)).not.toContain('MetalLBControllerNoLeader');
  });

  it('returns a series for every dashboard query the controller answers', async () => {
    const queries = dashboardQueriesAnsweredBy('controller');
    expect(queries.length).toBeGreaterThan(5);
    let missing: string[] = [];
    await waitFor(
      'every controller dashboard query to return a series',
      async () => {
        missing = [];
        for (const q of queries)
          if ((await (prometheus as LocalPrometheus).query(q.expr)).length === 0)
            missing.push(`${q.panel}: ${q.expr}`);
        return missing.length === 0;
      },
      60_000,
    ).catch(() => undefined);
    expect(missing).toEqual([]);
  });
});
