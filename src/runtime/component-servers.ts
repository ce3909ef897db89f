/**
 * A component's servers: /metrics on one address, /healthz and /readyz on another. Metrics are served over
 * HTTPS to callers with a token allowed `get` on /metrics (see metrics-server) unless `secureMetrics` is
 * left out, the development and test mode: then /metrics is plain HTTP, and when both name the same fixed
 * port one plain server answers both. Probes always stay plain HTTP on their own server. Either server may
 * be left out.
 */
import { Registry } from 'prom-client';
import { HealthServer, type HealthCheck } from './http-server.js';
import type { Logger } from './logging.js';
import type { MetricsAuthorizer } from './metrics-auth.js';
import { SecureMetricsServer } from './metrics-server.js';
import { ServingCertificate } from './serving-certificate.js';

export interface SecureMetricsOptions {
  /** Decides who may read the metrics (TokenReview, then SubjectAccessReview). */
  readonly authorizer: Pick<MetricsAuthorizer, 'decide'>;
  /** Folder with tls.crt and tls.key, followed for rotation; undefined: a self-signed certificate. */
  readonly certDir?: string | undefined;
}

export interface ComponentServersOptions {
  /** HOST:PORT or :PORT of /metrics; port 0 picks a free one; undefined serves no metrics. */
  readonly metricsBindAddress?: string | undefined;
  /** HOST:PORT or :PORT of /healthz and /readyz; undefined serves no probes. */
  readonly healthBindAddress?: string | undefined;
  /** HTTPS with authentication and authorization; undefined serves /metrics in plain HTTP to anyone. */
  readonly secureMetrics?: SecureMetricsOptions | undefined;
  readonly logger: Logger;
}

/** What a component may do with the servers: register metrics and probe checks. */
export interface ServerChecks {
  readonly registry: Registry;
  addLivenessCheck(name: string, check: HealthCheck): this;
  addReadinessCheck(name: string, check: HealthCheck): this;
}

/** Why these options cannot be served, or undefined. */
export function serversProblem(options: Omit<ComponentServersOptions, 'logger'>): string | undefined {
  const { metricsBindAddress, healthBindAddress, secureMetrics } = options;
  const oneFixedPort =
    metricsBindAddress !== undefined &&
    metricsBindAddress === healthBindAddress &&
    !metricsBindAddress.endsWith(':0');
  return secureMetrics && oneFixedPort
    ? `metrics and probes both on ${metricsBindAddress}: HTTPS metrics need a port of their own (probes stay plain HTTP)`
    : undefined;
}

export class ComponentServers implements ServerChecks {
  readonly registry = new Registry();
  private readonly metrics: HealthServer | SecureMetricsServer | undefined;
  private readonly health: HealthServer | undefined;
  private readonly shared: boolean;

  constructor(options: ComponentServersOptions) {
    const problem = serversProblem(options);
    if (problem) throw new Error(problem);
    const { metricsBindAddress, healthBindAddress, secureMetrics, logger } = options;
    const metricsLogger = logger.child({ server: 'metrics' });
    if (metricsBindAddress === undefined) {
      this.metrics = undefined;
    } else if (secureMetrics) {
      this.metrics = new SecureMetricsServer({
        bindAddress: metricsBindAddress,
        registry: this.registry,
        authorizer: secureMetrics.authorizer,
        certificate: new ServingCertificate({ certDir: secureMetrics.certDir, logger: metricsLogger }),
        logger: metricsLogger,
      });
    } else {
      this.metrics = new HealthServer({
        bindAddress: metricsBindAddress,
        registry: this.registry,
        logger: metricsLogger,
      });
    }
    this.shared =
      !secureMetrics &&
      healthBindAddress !== undefined &&
      metricsBindAddress === healthBindAddress &&
      !healthBindAddress.endsWith(':0');
    this.health =
      healthBindAddress === undefined || this.shared
        ? undefined
        : new HealthServer({ bindAddress: healthBindAddress, logger: logger.child({ server: 'health' }) });
  }

  /** The servers that answer probes: the health server, and a plain metrics server. */
  private get probeServers(): HealthServer[] {
    return [this.metrics, this.health].filter((server) => server instanceof HealthServer);
  }

  addLivenessCheck(name: string, check: HealthCheck): this {
    for (const server of this.probeServers) server.addLivenessCheck(name, check);
    return this;
  }

  addReadinessCheck(name: string, check: HealthCheck): this {
    for (const server of this.probeServers) server.addReadinessCheck(name, check);
    return this;
  }

  /** The bound port of /metrics, or undefined when metrics are off. */
  get metricsPort(): number | undefined {
    return this.metrics?.port;
  }

  /** Whether /metrics is served over HTTPS with authorization. */
  get metricsSecure(): boolean {
    return this.metrics instanceof SecureMetricsServer;
  }

  /** The bound port of the probes (the metrics server's when shared), or undefined when there are none. */
  get healthPort(): number | undefined {
    return this.shared ? this.metrics?.port : this.health?.port;
  }

  async start(): Promise<void> {
    if (this.metrics) await this.metrics.start();
    if (this.health) await this.health.start();
  }

  async close(): Promise<void> {
    await Promise.all([this.metrics?.close(), this.health?.close()]);
  }
}
