import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter } from 'prom-client';
import { ComponentServers, serversProblem } from './component-servers.js';
import { silentLogger } from './logging.js';
import { MetricsAuthorizer } from './metrics-auth.js';
import {
  createCertificateAuthority,
  createServingCertificate,
  type PemPair,
} from '../webhook/certificates.js';
import { FakeReviews } from '../../test/support/fake-reviews.js';
import { waitFor } from '../../test/cluster/wait-for.js';

// RSA key generation for the certificates is CPU-bound: generous on a loaded machine.
jest.setTimeout(60_000);

const reader = 'system:serviceaccount:monitoring:prometheus';
let servers: ComponentServers | undefined;
const folders: string[] = [];

afterEach(async () => {
  await servers?.close();
  servers = undefined;
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly certificate: string;
}

/** GET over HTTPS without verifying the server (the test checks which certificate it served instead). */
function httpsGet(port: number, path: string, token?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        rejectUnauthorized: false,
        agent: false,
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        const certificate = (res.socket as TLSSocket).getPeerX509Certificate()?.fingerprint256 ?? '';
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, certificate }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function pair(name: string): PemPair {
  return createServingCertificate(createCertificateAuthority(`${name}-ca`), { dnsNames: [name] });
}

function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** Writes a pair the way a Secret volume update lands: new files renamed into place. */
function writePair(folder: string, { certPem, keyPem }: PemPair): void {
  writeFileSync(join(folder, 'tls.key.new'), keyPem);
  writeFileSync(join(folder, 'tls.crt.new'), certPem);
  renameSync(join(folder, 'tls.key.new'), join(folder, 'tls.key'));
  renameSync(join(folder, 'tls.crt.new'), join(folder, 'tls.crt'));
}

async function started(certDir?: string): Promise<{ metrics: number; health: number; reviews: FakeReviews }> {
  const reviews = new FakeReviews();
  reviews.tokens.set('reader-token', { username: reader });
  reviews.tokens.set('other-token', { username: 'system:serviceaccount:default:nobody' });
  reviews.allow(reader);
  servers = new ComponentServers({
    metricsBindAddress: '127.0.0.1:0',
    healthBindAddress: '127.0.0.1:0',
    secureMetrics: { authorizer: new MetricsAuthorizer({ client: reviews }), certDir },
    logger: silentLogger(),
  });
  new Counter({ name: 'metallb_test_total', help: 'test', registers: [servers.registry] }).inc();
  servers.addReadinessCheck('always', () => true);
  await servers.start();
  return { metrics: servers.metricsPort as number, health: servers.healthPort as number, reviews };
}

describe('HTTPS metrics for authorized callers', () => {
  it('refuses a scrape without a token (401) or without permission (403), and serves a permitted one', async () => {
    const { metrics } = await started();
    const anonymous = await httpsGet(metrics, '/metrics');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).not.toContain('metallb_');
    const forbidden = await httpsGet(metrics, '/metrics', 'other-token');
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).not.toContain('metallb_');
    const allowed = await httpsGet(metrics, '/metrics', 'reader-token');
    expect(allowed.status).toBe(200);
    expect(allowed.body).toContain('metallb_test_total 1');
  });

  it('keeps probes plain HTTP on their own port, and answers no probe on the metrics port', async () => {
    const { metrics, health } = await started();
    expect((await fetch(`http://127.0.0.1:${health}/readyz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${health}/metrics`)).status).toBe(404);
    expect((await httpsGet(metrics, '/readyz', 'reader-token')).status).toBe(404);
  });

  it('gives no metrics to plain HTTP on the metrics port', async () => {
    const { metrics } = await started();
    const plain = await fetch(`http://127.0.0.1:${metrics}/metrics`).then(
      async (response) => `${response.status} ${await response.text()}`,
      (error: unknown) => `refused: ${String(error)}`,
    );
    expect(plain).not.toContain('metallb_');
  });

  it('serves the pair from the cert folder and the new one after a rotation, without a restart', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'metrics-certs-'));
    folders.push(folder);
    const first = pair('first.metallb-system.svc');
    writePair(folder, first);
    const { metrics } = await started(folder);
    expect((await httpsGet(metrics, '/metrics', 'reader-token')).certificate).toBe(
      fingerprint(first.certPem),
    );
    const second = pair('second.metallb-system.svc');
    writePair(folder, second);
    await waitFor(
      'the rotated certificate to be served',
      async () =>
        (await httpsGet(metrics, '/metrics', 'reader-token')).certificate === fingerprint(second.certPem),
      10_000,
    );
  });

  it('serves a self-signed certificate while the cert folder is empty, then the files once they appear', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'metrics-certs-'));
    folders.push(folder);
    const { metrics } = await started(folder);
    const before = await httpsGet(metrics, '/metrics', 'reader-token');
    expect(before.status).toBe(200);
    const provided = pair('provided.metallb-system.svc');
    expect(before.certificate).not.toBe(fingerprint(provided.certPem));
    writePair(folder, provided);
    await waitFor(
      'the provided certificate to be served',
      async () =>
        (await httpsGet(metrics, '/metrics', 'reader-token')).certificate === fingerprint(provided.certPem),
      10_000,
    );
  });

  it('keeps the working pair when the key in the folder does not match the certificate', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'metrics-certs-'));
    folders.push(folder);
    const good = pair('good.metallb-system.svc');
    writePair(folder, good);
    const { metrics } = await started(folder);
    writeFileSync(join(folder, 'tls.crt'), pair('half.metallb-system.svc').certPem);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await httpsGet(metrics, '/metrics', 'reader-token')).certificate).toBe(fingerprint(good.certPem));
  });

  it('refuses to put HTTPS metrics and plain probes on one fixed port', () => {
    const secureMetrics = { authorizer: { decide: async () => ({ allowed: true as const, user: 'x' }) } };
    expect(
      serversProblem({ metricsBindAddress: ':9120', healthBindAddress: ':9120', secureMetrics }),
    ).toMatch(/port of their own/);
    expect(serversProblem({ metricsBindAddress: ':9120', healthBindAddress: ':9120' })).toBeUndefined();
    expect(
      serversProblem({ metricsBindAddress: ':9120', healthBindAddress: ':17472', secureMetrics }),
    ).toBeUndefined();
  });
});
