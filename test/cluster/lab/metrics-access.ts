/**
 * Scraping the secured metrics endpoint as a Prometheus would: over HTTPS with a ServiceAccount's bearer
 * token. `scrape` reports the status and body, or how the connection failed (plain HTTP to an HTTPS port
 * fails the handshake). `metricsReader` sets up a ServiceAccount bound, or not, to the ClusterRole the
 * operator renders for Prometheus, and returns its token; `remove` takes it all away again.
 */
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { metricsReaderClusterRole } from '../../../src/operator/render/monitoring.js';
import { apiStatus, type RawClient } from '../../../src/runtime/raw-client.js';

export interface ScrapeResult {
  readonly status: number;
  readonly body: string;
}

/** GET /metrics on 127.0.0.1:port; `scheme: 'http'` tries plain HTTP. Never throws: errors become status 0. */
export function scrape(
  port: number,
  options: { readonly token?: string; readonly scheme?: 'https' | 'http' } = {},
): Promise<ScrapeResult> {
  const request = options.scheme === 'http' ? httpRequest : httpsRequest;
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/metrics',
        // The operand's certificate is self-signed here; what is under test is who gets the metrics.
        rejectUnauthorized: false,
        agent: false,
        timeout: 10_000,
        headers: options.token ? { Authorization: `Bearer ${options.token}` } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', (error) => resolve({ status: 0, body: String(error) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) => resolve({ status: 0, body: String(error) }));
    req.end();
  });
}

export interface MetricsIdentity {
  readonly token: string;
  remove(): Promise<void>;
}

async function ignoreMissing(action: Promise<unknown>): Promise<void> {
  await action.catch((error: unknown) => {
    if (apiStatus(error) !== 404) throw error;
  });
}

/**
 * A ServiceAccount `name` in `namespace` with a 10-minute token; when `bound`, a ClusterRoleBinding gives
 * it the metrics-reader ClusterRole (created as the operator renders it, if missing).
 */
export async function metricsReader(
  client: RawClient,
  namespace: string,
  name: string,
  bound: boolean,
): Promise<MetricsIdentity> {
  const rendered = metricsReaderClusterRole({ namespace: 'metallb-system', name: 'metallb' });
  const roleName = rendered.metadata?.name as string;
  // Created as a user would, without the operator's owner label: a running operator prunes what carries
  // its label but is not in its own render (no ServiceMonitors here, so no such role).
  const role = { ...rendered, metadata: { name: roleName } };
  const bindingName = `${namespace}-${name}`;
  await client.apply(
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}`,
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
    'metrics-e2e',
  );
  if (bound) {
    await client.apply(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${roleName}`, role, 'metrics-e2e');
    await client.apply(
      `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${bindingName}`,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: bindingName },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
      'metrics-e2e',
    );
  }
  const issued = await client.create<{ status: { token: string } }>(
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 600 },
    },
  );
  return {
    token: issued.status.token,
    remove: async () => {
      if (bound) {
        await ignoreMissing(
          client.delete(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${bindingName}`),
        );
        await ignoreMissing(client.delete(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${roleName}`));
      }
      await ignoreMissing(client.delete(`/api/v1/namespaces/${namespace}/serviceaccounts/${name}`));
    },
  };
}
