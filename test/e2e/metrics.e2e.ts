/**
 * The secured metrics endpoint against the real control plane: `metallb controller` serves /metrics over
 * HTTPS (no --metrics-insecure), checks each scraper's ServiceAccount token with a TokenReview and its
 * permission with a SubjectAccessReview. Without a token: 401; with a token lacking `get` on /metrics: 403;
 * with a token bound to the ClusterRole the operator renders for Prometheus: the metallb_ metrics. Plain
 * HTTP to the metrics port gets no metrics, and the probes stay plain HTTP on their own port.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createNamespace, rawClient, waitFor } from '../cluster/lab/cluster.js';
import { metricsReader, scrape, type MetricsIdentity } from '../cluster/lab/metrics-access.js';
import { startProduct, type ProductProcess } from '../cluster/lab/product.js';

let controller: ProductProcess | undefined;
let metricsPort = 0;
let healthPort = 0;
let namespace = '';
const identities: MetricsIdentity[] = [];

beforeAll(async () => {
  namespace = await createNamespace('metrics');
  controller = startProduct('controller', ['--port=0', '--health-probe-port=0', '--leader-elect=false'], {
    secureMetrics: true,
    env: { METALLB_POD_NAME: 'metrics-e2e' },
  });
  const product = controller;
  const line = await waitFor(
    'the controller to start',
    async () => {
      if (!product.process.running) throw new Error(`controller exited:\n${product.log()}`);
      return product
        .log()
        .split('\n')
        .find((entry) => entry.includes('"msg":"controller running"'));
    },
    60_000,
  );
  const ready = JSON.parse(line) as { metricsPort: number; healthPort: number; metricsSecure: boolean };
  expect(ready.metricsSecure).toBe(true);
  metricsPort = ready.metricsPort;
  healthPort = ready.healthPort;
}, 120_000);

afterAll(async () => {
  await controller?.stop();
  for (const identity of identities.splice(0)) await identity.remove().catch(() => undefined);
  if (namespace)
    await rawClient()
      .delete(`/api/v1/namespaces/${namespace}`)
      .catch(() => undefined);
});

async function identity(name: string, bound: boolean): Promise<string> {
  const created = await metricsReader(rawClient(), namespace, name, bound);
  identities.push(created);
  return created.token;
}

describe('the controller metrics endpoint in a cluster', () => {
  it('answers 401 to a scrape without a token, or with a token the API server does not know', async () => {
    const anonymous = await scrape(metricsPort);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).not.toContain('metallb_');
    const forged = await scrape(metricsPort, { token: 'not-a-token' });
    expect(forged.status).toBe(401);
    expect(forged.body).not.toContain('metallb_');
  });

  it('answers 403 to a ServiceAccount without get on /metrics', async () => {
    const token = await identity('no-metrics', false);
    const refused = await scrape(metricsPort, { token });
    expect(refused.status).toBe(403);
    expect(refused.body).toContain(`system:serviceaccount:${namespace}:no-metrics`);
    expect(refused.body).not.toContain('metallb_');
  });

  it('serves the metallb_ metrics to a ServiceAccount bound to the monitoring ClusterRole', async () => {
    const token = await identity('prometheus', true);
    // RBAC reaches the authorizer's cache within moments of the binding.
    const allowed = await waitFor(
      'the bound ServiceAccount to be allowed',
      async () => {
        const result = await scrape(metricsPort, { token });
        return result.status === 200 ? result : undefined;
      },
      30_000,
    );
    expect(allowed.body).toContain('metallb_k8s_client_config_loaded_bool');
  });

  it('gives no metrics to plain HTTP on the metrics port, and keeps the probes plain on theirs', async () => {
    const plain = await scrape(metricsPort, { scheme: 'http' });
    expect(plain.status).not.toBe(200);
    expect(plain.body).not.toContain('metallb_');
    expect((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${healthPort}/metrics`)).status).toBe(404);
  });
});
