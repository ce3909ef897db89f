/**
 * The webhook process: serve admission and conversion over HTTPS with certificates either from files (OLM,
 * cert-manager) or managed here, and keep them fresh. Admission reads watch caches started here; /readyz
 * fails until they have synced, and a request that arrives before that waits for them (up to syncWaitMs).
 */
import { readFileSync, watchFile, unwatchFile } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../runtime/logging.js';
import type { RawClient } from '../runtime/raw-client.js';
import type { Shutdown } from '../runtime/shutdown.js';
import { ClusterCache } from './cluster-cache.js';
import { SerializedAdmission } from './serialized-admission.js';
import {
  adoptCertificateSecret,
  ensureCertificates,
  publishCaBundle,
  unpublish,
  type RegistrationOptions,
} from './registration.js';
import { WebhookServer } from './server.js';

export interface WebhookRunOptions {
  readonly client: RawClient;
  readonly logger: Logger;
  /** Where its stop hooks go; they run last registered first. */
  readonly shutdown: Pick<Shutdown, 'register'>;
  readonly host: string;
  readonly port: number;
  /** Folder with tls.crt and tls.key provided by someone else; unset means self-managed certificates. */
  readonly certDir?: string;
  readonly registration: RegistrationOptions;
  /** How often self-managed certificates are checked for rotation. */
  readonly rotationCheckMs?: number;
  /** How long an admitted object counts before the cache shows it (see serialized-admission.ts). */
  readonly pendingTtlMs?: number;
}

/** Below the API server's 10 s webhook timeout, so a request during start-up gets our answer, not a timeout. */
const syncWaitMs = 8_000;

async function waitForSync(cache: ClusterCache): Promise<void> {
  if (cache.hasSynced()) return;
  const signal = AbortSignal.timeout(syncWaitMs);
  await cache.waitForSync(signal).catch(() => {
    throw new Error(`the webhook's caches have not synced with the API server within ${syncWaitMs} ms`);
  });
}

export async function runWebhook(options: WebhookRunOptions): Promise<WebhookServer> {
  const { client, logger, registration } = options;
  const cache = new ClusterCache(client, registration.namespace, logger);
  const admission = new SerializedAdmission({
    caches: cache.caches,
    namespace: registration.namespace,
    logger,
    ...(options.pendingTtlMs !== undefined ? { pendingTtlMs: options.pendingTtlMs } : {}),
  });
  cache.start();
  options.shutdown.register('admission caches', () => cache.stop());
  const handler = async (request: Parameters<SerializedAdmission['decide']>[0]) => {
    await waitForSync(cache);
    return admission.decide(request);
  };
  const ready = () => cache.hasSynced();

  if (options.certDir) {
    const certFile = join(options.certDir, 'tls.crt');
    const keyFile = join(options.certDir, 'tls.key');
    const server = await WebhookServer.start({
      certPem: readFileSync(certFile, 'utf8'),
      keyPem: readFileSync(keyFile, 'utf8'),
      host: options.host,
      port: options.port,
      handler,
      ready,
      logger,
    });
    // OLM and cert-manager rotate by rewriting the files; pick the new pair up without a restart.
    const reload = () => {
      try {
        server.updateCertificate(readFileSync(certFile, 'utf8'), readFileSync(keyFile, 'utf8'));
        logger.info({ certDir: options.certDir }, 'reloaded serving certificate');
      } catch (error) {
        logger.error(
          { err: error, certDir: options.certDir },
          'could not reload serving certificate; keeping the old one',
        );
      }
    };
    watchFile(certFile, { interval: 10_000 }, reload);
    options.shutdown.register('certificate watch', () => unwatchFile(certFile, reload));
    options.shutdown.register('webhook server', () => server.close());
    logger.info(
      { port: server.port, certDir: options.certDir },
      'webhook serving with provided certificates',
    );
    return server;
  }

  let certificates = await ensureCertificates(client, registration);
  const server = await WebhookServer.start({
    certPem: certificates.serving.certPem,
    keyPem: certificates.serving.keyPem,
    host: options.host,
    port: options.port,
    handler,
    ready,
    logger,
  });
  options.shutdown.register('webhook server', () => server.close());
  // A stop can arrive while the configuration is being published (it exists before the CRD's conversion is
  // patched): register the removal first, and let it wait for the publication so nothing is left behind.
  const publication = publishCaBundle(client, certificates.ca.certPem, registration);
  if (registration.localUrl)
    options.shutdown.register('webhook configuration', async () => {
      await publication.catch(() => undefined);
      await unpublish(client, registration);
    });
  await publication;
  await adoptCertificateSecret(client, registration);
  const rotation = setInterval(
    () => {
      void (async () => {
        const next = await ensureCertificates(client, registration);
        if (next.serving.certPem === certificates.serving.certPem) return;
        certificates = next;
        server.updateCertificate(next.serving.certPem, next.serving.keyPem);
        await publishCaBundle(client, next.ca.certPem, registration);
        await adoptCertificateSecret(client, registration);
        logger.info('rotated the webhook serving certificate');
      })().catch((error: unknown) => logger.error({ err: error }, 'certificate rotation failed; will retry'));
    },
    options.rotationCheckMs ?? 60 * 60 * 1000,
  );
  rotation.unref();
  options.shutdown.register('certificate rotation', () => clearInterval(rotation));
  logger.info(
    { port: server.port, url: registration.localUrl },
    'webhook serving with self-managed certificates',
  );
  return server;
}
