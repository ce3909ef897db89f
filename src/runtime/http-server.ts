/**
 * The one small HTTP server each binary runs for probes and scraping:
 * - /healthz (and /livez): liveness, from registered liveness checks (none means alive);
 * - /readyz: readiness, from registered readiness checks (caches synced, leader or standby, …);
 * - /metrics: the prom-client registry.
 * Probes answer 200 "ok" or 503 listing the failing checks; `?verbose` lists every check, as kube-apiserver.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Registry } from 'prom-client';
import { silentLogger, type Logger } from './logging.js';

/** A check passes when it returns true; false, a thrown error or a timeout fails it. */
export type HealthCheck = () => boolean | Promise<boolean>;

export interface BindAddress {
  /** Undefined means every interface. */
  readonly host: string | undefined;
  readonly port: number;
}

/** Parses ":7472", "0.0.0.0:7472", "127.0.0.1:0" or "[::1]:7472" (the controller-runtime flag format). */
export function parseBindAddress(text: string): BindAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65535) {
    throw new Error(
      `invalid bind address "${text}": expected HOST:PORT or :PORT, e.g. ":7472" or "127.0.0.1:7472"`,
    );
  }
  const host = match[1] ?? match[2];
  return { host: host ? host : undefined, port };
}

/** Binds `server` to `bindAddress` ("[host]:port"); rejects when the address cannot be bound. */
export async function listenOn(server: NetServer, bindAddress: string): Promise<void> {
  const { host, port } = parseBindAddress(bindAddress);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export interface HealthServerOptions {
  /** Where to listen, e.g. ":7472"; port 0 picks a free one (see `port` after start). */
  readonly bindAddress: string;
  readonly registry?: Registry;
  /** A check slower than this fails; default 5 s. */
  readonly checkTimeoutMs?: number;
  readonly logger?: Logger;
}

interface NamedCheck {
  readonly name: string;
  readonly check: HealthCheck;
}

export class HealthServer {
  private readonly server: Server;
  private readonly liveness: NamedCheck[] = [];
  private readonly readiness: NamedCheck[] = [];
  private readonly log: Logger;

  constructor(private readonly options: HealthServerOptions) {
    this.log = options.logger ?? silentLogger();
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.log.error({ err: error, path: req.url }, 'health server request failed');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
  }

  addLivenessCheck(name: string, check: HealthCheck): this {
    this.liveness.push({ name, check });
    return this;
  }

  addReadinessCheck(name: string, check: HealthCheck): this {
    this.readiness.push({ name, check });
    return this;
  }

  async start(): Promise<void> {
    await listenOn(this.server, this.options.bindAddress);
    this.log.info({ address: this.options.bindAddress, port: this.port }, 'serving health and metrics');
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Stops listening and drops open connections, so shutdown is not held up by keep-alive clients. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    switch (url.pathname) {
      case '/healthz':
      case '/livez':
        await this.probe(this.liveness, url, res);
        return;
      case '/readyz':
        await this.probe(this.readiness, url, res);
        return;
      case '/metrics':
        await this.metrics(res);
        return;
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
    }
  }

  private async probe(checks: readonly NamedCheck[], url: URL, res: ServerResponse): Promise<void> {
    const results = await Promise.all(
      checks.map(async ({ name, check }) => ({ name, ok: await this.run(name, check) })),
    );
    const failed = results.filter((r) => !r.ok);
    const verbose = url.searchParams.has('verbose');
    const lines = verbose
      ? results.map((r) => `[${r.ok ? '+' : '-'}]${r.name} ${r.ok ? 'ok' : 'failed'}`)
      : failed.map((r) => `[-]${r.name} failed`);
    const summary = failed.length === 0 ? 'ok' : `${url.pathname.slice(1)} check failed`;
    res
      .writeHead(failed.length === 0 ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' })
      .end(`${[...lines, summary].join('\n')}\n`);
  }

  private async run(name: string, check: HealthCheck): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.options.checkTimeoutMs ?? 5000);
    });
    try {
      return await Promise.race([Promise.resolve().then(check), timeout]);
    } catch (error) {
      this.log.warn({ err: error, check: name }, 'health check threw');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private async metrics(res: ServerResponse): Promise<void> {
    const registry = this.options.registry;
    if (!registry) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('no metrics registry\n');
      return;
    }
    const body = await registry.metrics();
    res.writeHead(200, { 'Content-Type': registry.contentType }).end(body);
  }
}
