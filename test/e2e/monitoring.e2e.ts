/**
 * A real Prometheus (Debian's, on loopback) scrapes `metallb controller` (against the local control plane)
 * over HTTPS, with the token of a ServiceAccount bound to the operator's metrics-reader ClusterRole, with the alert rules of the test profile and the scrape configuration the product generates:
 * exhausting a small pool makes MetalLBAddressPoolExhausted and MetalLBServicePendingAddress reach firing, and
 * every dashboard query about the controller returns a series. (The BGP and BFD queries need speakers with
 * FRR; they are not run here.)
 *
 * Pools live in metallb-system; this suite deletes every IPAddressPool there at its start and end.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ruleGroups } from '../../src/monitoring/alerts.js';
import { dashboardQueries } from '../../src/monitoring/dashboard.js';
import { staticScrapeConfig } from '../../src/monitoring/scrape.js';
import { apiStatus } from '../../src/runtime/raw-client.js';
import { createNamespace, ensureNamespace, rawClient, waitFor } from '../cluster/lab/cluster.js';
import { metricsReader, type MetricsIdentity } from '../cluster/lab/metrics-access.js';
import { startProduct, type ProductProcess } from '../cluster/lab/product.js';
import { ManagedProcess, freePort } from '../cluster/processes.js';

const metallbNamespace = 'metallb-system';
const poolsPath = `/apis/metallb.io/v1beta1/namespaces/${metallbNamespace}/ipaddresspools`;
const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${metallbNamespace}/leases/metallb-controller`;

/** Dashboard queries that need a speaker (FRR sessions, announcements): not served by a controller alone. */
const speakerMetrics = /metallb_(bgp|bfd|frr|speaker)_/;

let controller: ProductProcess | undefined;
let reader: MetricsIdentity | undefined;
let prometheus: ManagedProcess | undefined;
let prometheusUrl = '';
let workDir = '';
let namespace = '';

interface PromResponse<T> {
  readonly status: string;
  readonly data: T;
}

interface Alert {
  readonly labels: Record<string, string>;
  readonly state: string;
}

async function prom<T>(path: string): Promise<T> {
  const response = await fetch(`${prometheusUrl}${path}`);
  const body = (await response.json()) as PromResponse<T>;
  if (body.status !== 'success') throw new Error(`${path}: ${JSON.stringify(body)}`);
  return body.data;
}

async function firingAlerts(): Promise<Alert[]> {
  const data = await prom<{ alerts: Alert[] }>('/api/v1/alerts');
  return data.alerts.filter((alert) => alert.state === 'firing');
}

async function query(expr: string): Promise<unknown[]> {
  const data = await prom<{ result: unknown[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
  return data.result;
}

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

  workDir = mkdtempSync(join(tmpdir(), 'metallb-prometheus-'));
  reader = await metricsReader(rawClient(), namespace, 'prometheus', true);
  writeFileSync(join(workDir, 'token'), reader.token, { mode: 0o600 });
  writeFileSync(join(workDir, 'rules.yaml'), stringify(ruleGroups('test')));
  writeFileSync(
    join(workDir, 'prometheus.yml'),
    stringify(
      staticScrapeConfig({
        namespace: metallbNamespace,
        targets: { controller: [`127.0.0.1:${metricsPort}`], speaker: [] },
        scrapeInterval: '1s',
        ruleFiles: [join(workDir, 'rules.yaml')],
        tokenFile: join(workDir, 'token'),
      }),
    ),
  );
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  prometheus = ManagedProcess.start(
    'prometheus',
    '/usr/bin/prometheus',
    [
      `--config.file=${join(workDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(workDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    join(workDir, 'prometheus.log'),
  );
  await prometheus.waitUntilReady(async () => (await fetch(`${prometheusUrl}/-/ready`)).ok, 60_000);
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
  if (workDir) rmSync(workDir, { recursive: true, force: true });
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
        const alerts = await firingAlerts();
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

  it('returns a series for every dashboard query about the controller', async () => {
    const queries = dashboardQueries().filter((q) => !speakerMetrics.test(q.expr));
    expect(queries.length).toBeGreaterThan(5);
    let missing: string[] = [];
    await waitFor(
      'every controller dashboard query to return a series',
      async () => {
        missing = [];
        for (const q of queries)
          if ((await query(q.expr)).length === 0) missing.push(`${q.panel}: ${q.expr}`);
        return missing.length === 0;
      },
      60_000,
    ).catch(() => undefined);
    expect(missing).toEqual([]);
  });
});
