/**
 * /metrics over HTTPS for callers the cluster vouches for: every request needs a bearer token that passes
 * the MetricsAuthorizer (401 without a valid token, 403 without `get` on /metrics), and nothing else is
 * served here: probes stay on the plain health server. A plain-HTTP request to this port fails the TLS
 * handshake and never sees a metric.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { listenOn } from './http-server.js';
import { silentLogger, type Logger } from './logging.js';
import { metricsPath, type MetricsAuthorizer } from './metrics-auth.js';
import type { ServingCertificate } from './serving-certificate.js';

export interface SecureMetricsServerOptions {
  /** HOST:PORT or :PORT; port 0 picks a free one. */
  readonly bindAddress: string;
  readonly registry: Registry;
  readonly authorizer: Pick<MetricsAuthorizer, 'decide'>;
  readonly certificate: ServingCertificate;
  readonly logger?: Logger;
}

export class SecureMetricsServer {
  private readonly server: Server;
  private readonly log: Logger;

  constructor(private readonly options: SecureMetricsServerOptions) {
    this.log = options.logger ?? silentLogger();
    const { certPem, keyPem } = options.certificate.current;
    this.server = createServer({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2' }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.log.error({ err: error, path: req.url }, 'metrics request failed');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.server.on('tlsClientError', (error) =>
      this.log.debug({ err: error }, 'a metrics client failed the TLS handshake (plain HTTP?)'),
    );
  }

  async start(): Promise<void> {
    await listenOn(this.server, this.options.bindAddress);
    // New connections get the new pair; open ones finish with the old.
    this.options.certificate.watch(({ certPem, keyPem }) =>
      this.server.setSecureContext({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2' }),
    );
    this.log.info(
      {
        address: this.options.bindAddress,
        port: this.port,
        certificate: this.options.certificate.source,
      },
      'serving metrics over HTTPS to authorized callers',
    );
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  async close(): Promise<void> {
    this.options.certificate.stop();
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const decision = await this.options.authorizer.decide(req.headers.authorization);
    if (!decision.allowed) {
      this.log.debug(
        { status: decision.status, reason: decision.reason, remote: req.socket.remoteAddress },
        'refused a metrics request',
      );
      const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8' };
      if (decision.status === 401) headers['WWW-Authenticate'] = 'Bearer';
      res.writeHead(decision.status, headers).end(`${statusText[decision.status]}: ${decision.reason}\n`);
      return;
    }
    const path = new URL(req.url ?? '/', 'https://localhost').pathname;
    if (path !== metricsPath) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    const registry = this.options.registry;
    const body = await registry.metrics();
    res.writeHead(200, { 'Content-Type': registry.contentType }).end(body);
  }
}

const statusText = { 401: 'Unauthorized', 403: 'Forbidden', 503: 'Service Unavailable' } as const;
