/**
 * The webhook process: serve admission and conversion over HTTPS with certificates either from files (OLM,
 * cert-manager) or managed here, and keep them fresh.
 */
import { readFileSync, watchFile, unwatchFile } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../runtime/logging.js';
import type { RawClient } from '../runtime/raw-client.js';
import type { Shutdown } from '../runtime/shutdown.js';
import { decideAdmission } from './admission-policy.js';
import { readClusterView } from './cluster-view.js';
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
}

export async function runWebhook(options: WebhookRunOptions): Promise<WebhookServer> {
  const { client, logger, registration } = options;
  const handler = async (request: Parameters<typeof decideAdmission>[0]) =>
    decideAdmission(request, await readClusterView(client, registration.namespace), registration.namespace);

  if (options.certDir) {
    const certFile = join(options.certDir, 'tls.crt');
    const keyFile = join(options.certDir, 'tls.key');
    const server = await WebhookServer.start({
      certPem: readFileSync(certFile, 'utf8'),
      keyPem: readFileSync(keyFile, 'utf8'),
      host: options.host,
      port: options.port,
      handler,
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
