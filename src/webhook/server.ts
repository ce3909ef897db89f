/**
 * The HTTPS server the API server calls: one validating path per kind (admission.k8s.io/v1) and /convert
 * for BGPPeer versions. It only speaks the review protocols; what is allowed is decided by the policy it is
 * given. A handler that throws denies the request with the error (failing closed) and is logged.
 *
 * Anything that reaches the port can call it, so it defends itself (see WebhookLimits): bodies above 3 MiB
 * get 413 as soon as the excess is seen (from Content-Length, or while streaming), slow clients are cut off
 * by handshake, header and request timeouts, connections are capped, and malformed JSON or reviews get 400
 * or a review that refuses with the reason (review.ts). No input makes it throw or stop serving.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { apiKinds, configKinds, type ApiKind } from '../api/kinds.js';
import { reviewConversion } from './conversion.js';
import { parseAdmissionReview, parseConversionReview } from './review.js';

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
const kindsByPath: ReadonlyMap<string, ApiKind> = new Map(
  validatedKinds.map((kind) => {
    const { group, storageVersion, singular } = apiKinds[kind];
    return [`/validate-${group.replaceAll('.', '-')}-${storageVersion}-${singular}`, kind];
  }),
);

export const admissionPaths: ReadonlySet<string> = new Set(kindsByPath.keys());

export const conversionPath = '/convert';

export interface WebhookServerOptions {
  readonly certPem: string;
  readonly keyPem: string;
  readonly host: string;
  readonly port: number;
  readonly handler: AdmissionHandler;
  readonly logger: Logger;
  readonly ready?: () => boolean;
  readonly limits?: Partial<WebhookLimits>;
}

/** What one client may cost the server. */
export interface WebhookLimits {
  /** Larger bodies get 413; the API server's own request limit is 3 MiB, so no real review is larger. */
  readonly maxBodyBytes: number;
  /** A TLS handshake must finish within this. */
  readonly handshakeTimeoutMs: number;
  /** The request line and headers must arrive within this (Node's headersTimeout). */
  readonly headersTimeoutMs: number;
  /** The whole request within this (requestTimeout); the API server gives a webhook at most 30 s anyway. */
  readonly requestTimeoutMs: number;
  /** A connection with no traffic at all is closed after this. */
  readonly idleTimeoutMs: number;
  /** Open connections; more are refused at accept. */
  readonly maxConnections: number;
  /** How often Node checks the header and request timeouts. */
  readonly timeoutCheckIntervalMs: number;
}

/** How long a client told "400, closing" gets to read the answer before its socket is destroyed. */
const closeGraceMs = 500;

export const defaultWebhookLimits: WebhookLimits = {
  maxBodyBytes: 3 * 1024 * 1024,
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  maxConnections: 4096,
  timeoutCheckIntervalMs: 1_000,
};

export class WebhookServer {
  private constructor(private readonly server: Server) {}

  static async start(options: WebhookServerOptions): Promise<WebhookServer> {
    const limits = { ...defaultWebhookLimits, ...options.limits };
    const server = createServer(
      {
        cert: options.certPem,
        key: options.keyPem,
        minVersion: 'TLSv1.2',
        handshakeTimeout: limits.handshakeTimeoutMs,
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
      },
      (req, res) => {
        // Node's own request timeout is checked by a sweep; this one holds per request whatever happens.
        const deadline = setTimeout(() => req.destroy(), limits.requestTimeoutMs);
        res.once('close', () => clearTimeout(deadline));
        handle(req, res, options, limits).catch((error: unknown) => {
          options.logger.error({ err: error, path: req.url }, 'webhook request failed');
          if (!res.headersSent) send(res, 500, { message: 'internal error' });
          else res.destroy();
        });
      },
    );
    server.maxConnections = limits.maxConnections;
    // Node's header timeout is checked by a periodic sweep; a connection's first request also gets a timer
    // of its own, so a client dripping its first headers is cut off whatever the sweep does.
    const firstRequest = new WeakMap<Socket, NodeJS.Timeout>();
    server.on('secureConnection', (socket: Socket) => {
      const timer = setTimeout(() => socket.destroy(), limits.headersTimeoutMs);
      firstRequest.set(socket, timer);
      socket.once('close', () => clearTimeout(timer));
    });
    server.on('request', (req: IncomingMessage) => clearTimeout(firstRequest.get(req.socket)));
    server.setTimeout(limits.idleTimeoutMs, (socket: Socket) => socket.destroy());
    // Garbage instead of HTTP: answer 400 if the socket still can, never let it reach the process.
    server.on('clientError', (_error: Error, socket: Socket) => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      // end() only half-closes: a client that keeps dripping bytes would hold the socket open.
      setTimeout(() => socket.destroy(), closeGraceMs).unref();
    });
    server.on('tlsClientError', () => undefined);
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
  limits: WebhookLimits,
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
  const kind = kindsByPath.get(path);
  if (path !== conversionPath && !kind) {
    send(res, 404, { message: `no webhook at ${path}` });
    // The body is not read: close rather than leave it in the connection.
    res.once('finish', () => req.destroy());
    return;
  }
  const body = await readBody(req, limits.maxBodyBytes);
  if (body.outcome === 'tooLarge') {
    options.logger.warn({ path, limitBytes: limits.maxBodyBytes }, 'webhook request body too large');
    send(res, 413, { message: `request body larger than ${limits.maxBodyBytes} bytes` }, true);
    res.once('finish', () => req.destroy());
    return;
  }
  if (body.outcome === 'aborted') return;
  let json: unknown;
  try {
    json = JSON.parse(body.text);
  } catch (error) {
    refuse(res, options, path, `request body is not JSON: ${(error as Error).message}`);
    return;
  }
  if (!kind) {
    const parsed = parseConversionReview(json);
    if (!parsed.ok) {
      if (!parsed.uid) return refuse(res, options, path, parsed.message);
      options.logger.warn({ path, uid: parsed.uid, reason: parsed.message }, 'malformed conversion review');
      send(res, 200, {
        apiVersion: parsed.apiVersion,
        kind: 'ConversionReview',
        response: {
          uid: parsed.uid,
          convertedObjects: [],
          result: { status: 'Failure', message: parsed.message },
        },
      });
      return;
    }
    send(
      res,
      200,
      reviewConversion({ apiVersion: parsed.apiVersion, kind: 'ConversionReview', request: parsed.request }),
    );
    return;
  }
  const parsed = parseAdmissionReview(json, kind);
  if (!parsed.ok) {
    if (!parsed.uid) return refuse(res, options, path, parsed.message);
    options.logger.warn({ path, uid: parsed.uid, reason: parsed.message }, 'malformed admission review');
    send(res, 200, {
      apiVersion: parsed.apiVersion,
      kind: 'AdmissionReview',
      response: {
        uid: parsed.uid,
        allowed: false,
        status: { code: 400, reason: 'BadRequest', message: parsed.message },
      },
    });
    return;
  }
  const request = parsed.request;
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
  send(res, 200, { apiVersion: parsed.apiVersion, kind: 'AdmissionReview', response });
}

/** 400 for a body that is no review at all (there is no uid to answer a review with). */
function refuse(res: ServerResponse, options: WebhookServerOptions, path: string, message: string): void {
  options.logger.warn({ path, reason: message }, 'webhook request refused');
  send(res, 400, { message });
}

function describe(request: AdmissionRequest): string {
  return `${request.kind.kind}/${request.namespace ?? ''}/${request.name ?? ''}`;
}

type BodyRead =
  | { readonly outcome: 'ok'; readonly text: string }
  | { readonly outcome: 'tooLarge' }
  | { readonly outcome: 'aborted' };

/** Reads the body up to `limit` bytes: an announced or streamed excess stops it without buffering more. */
function readBody(req: IncomingMessage, limit: number): Promise<BodyRead> {
  const announced = Number(req.headers['content-length'] ?? 0);
  if (announced > limit) return Promise.resolve({ outcome: 'tooLarge' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        req.off('data', onData);
        req.pause();
        resolve({ outcome: 'tooLarge' });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve({ outcome: 'ok', text: Buffer.concat(chunks).toString('utf8') }));
    // A client that goes away (or a request timeout) mid-body: there is no one left to answer.
    req.on('error', () => resolve({ outcome: 'aborted' }));
    req.on('close', () => resolve({ outcome: 'aborted' }));
  });
}

function send(res: ServerResponse, status: number, body: unknown, close = false): void {
  const payload = JSON.stringify(body);
  res
    .writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(payload),
      ...(close ? { Connection: 'close' } : {}),
    })
    .end(payload);
}
