/**
 * The HTTPS server the API server calls: one validating path per kind (admission.k8s.io/v1) and /convert
 * for BGPPeer versions. It only speaks the review protocols; what is allowed is decided by the policy it is
 * given. A handler that throws denies the request with the error (failing closed) and is logged.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { apiKinds, configKinds, type ApiKind } from '../api/kinds.js';
import { reviewConversion, type ConversionReview } from './conversion.js';

export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: { group: string; version: string; kind: string };
  readonly operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  readonly name?: string;
  readonly namespace?: string;
  readonly object?: Record<string, unknown> | null;
  readonly oldObject?: Record<string, unknown> | null;
  readonly dryRun?: boolean;
}

export interface AdmissionVerdict {
  readonly allowed: boolean;
  /** Why it was denied: shown to the user by kubectl. */
  readonly message?: string;
  readonly warnings?: readonly string[];
}

export type AdmissionHandler = (request: AdmissionRequest) => Promise<AdmissionVerdict> | AdmissionVerdict;

/** The kinds the webhook validates: the configuration kinds and the operator's MetalLB. */
const validatedKinds: readonly ApiKind[] = [...configKinds, 'MetalLB'];

/**
 * Webhook paths, named as upstream names them (group, storage version, singular) so existing webhook
 * configurations keep working, e.g. /validate-metallb-io-v1beta2-bgppeer.
 */
export const admissionPaths: ReadonlySet<string> = new Set(
  validatedKinds.map((kind) => {
    const { group, storageVersion, singular } = apiKinds[kind];
    return `/validate-${group.replaceAll('.', '-')}-${storageVersion}-${singular}`;
  }),
);

export const conversionPath = '/convert';

export interface WebhookServerOptions {
  readonly certPem: string;
  readonly keyPem: string;
  readonly host: string;
  readonly port: number;
  readonly handler: AdmissionHandler;
  readonly logger: Logger;
  readonly ready?: () => boolean;
}

const maxBodyBytes = 3 * 1024 * 1024;

export class WebhookServer {
  private constructor(private readonly server: Server) {}

  static async start(options: WebhookServerOptions): Promise<WebhookServer> {
    const server = createServer(
      { cert: options.certPem, key: options.keyPem, minVersion: 'TLSv1.2' },
      (req, res) => {
        handle(req, res, options).catch((error: unknown) => {
          options.logger.error({ err: error, path: req.url }, 'webhook request failed');
          if (!res.headersSent) send(res, 500, { message: 'internal error' });
        });
      },
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => resolve());
    });
    return new WebhookServer(server);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Swaps the serving certificate without dropping connections (after a rotation or a file change). */
  updateCertificate(certPem: string, keyPem: string): void {
    this.server.setSecureContext({ cert: certPem, key: keyPem });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: WebhookServerOptions,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'https://webhook').pathname;
  if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
    const ok = path === '/healthz' || (options.ready?.() ?? true);
    res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'ok' : 'not ready');
    return;
  }
  if (req.method !== 'POST') {
    send(res, 405, { message: 'POST an AdmissionReview or a ConversionReview' });
    return;
  }
  const body = await readJson(req);
  if (body === undefined) {
    send(res, 400, { message: 'request body is not JSON' });
    return;
  }
  if (path === conversionPath) {
    send(res, 200, reviewConversion(body as ConversionReview));
    return;
  }
  if (!admissionPaths.has(path)) {
    send(res, 404, { message: `no webhook at ${path}` });
    return;
  }
  const review = body as { apiVersion?: string; request?: AdmissionRequest };
  const request = review.request;
  if (!request?.uid) {
    send(res, 400, { message: 'AdmissionReview without a request' });
    return;
  }
  let verdict: AdmissionVerdict;
  try {
    verdict = await options.handler(request);
  } catch (error) {
    options.logger.error({ err: error, object: describe(request) }, 'admission handler failed');
    verdict = { allowed: false, message: `internal error while validating: ${(error as Error).message}` };
  }
  const response: Record<string, unknown> = { uid: request.uid, allowed: verdict.allowed };
  if (!verdict.allowed)
    response.status = { code: 403, reason: 'Forbidden', message: verdict.message ?? 'denied' };
  if (verdict.warnings && verdict.warnings.length > 0) response.warnings = verdict.warnings;
  options.logger.info(
    {
      object: describe(request),
      operation: request.operation,
      allowed: verdict.allowed,
      reason: verdict.message,
    },
    'admission review',
  );
  send(res, 200, {
    apiVersion: review.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response,
  });
}

function describe(request: AdmissionRequest): string {
  return `${request.kind.kind}/${request.namespace ?? ''}/${request.name ?? ''}`;
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        req.destroy();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        resolve(undefined);
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res
    .writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) })
    .end(payload);
}
