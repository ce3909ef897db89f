/**
 * A component's plain-HTTP servers: /metrics on one address, /healthz and /readyz on another (or both on
 * one server when both name the same fixed port). Probe checks apply to every server, so any of them
 * answers a probe the same way. Either server may be left out.
 */
import { Registry } from 'prom-client';
import { HealthServer, type HealthCheck } from './http-server.js';
import type { Logger } from './logging.js';

export interface ComponentServersOptions {
  /** HOST:PORT or :PORT of /metrics; port 0 picks a free one; undefined serves no metrics. */
  readonly metricsBindAddress?: string | undefined;
  /** HOST:PORT or :PORT of /healthz and /readyz; undefined serves no probes. */
  readonly healthBindAddress?: string | undefined;
  readonly logger: Logger;
}

/** What a component may do with the servers: register metrics and probe checks. */
export interface ServerChecks {
  readonly registry: Registry;
  addLivenessCheck(name: string, check: HealthCheck): this;
  addReadinessCheck(name: string, check: HealthCheck): this;
}

export class ComponentServers implements ServerChecks {
  readonly registry = new Registry();
  private readonly metrics: HealthServer | undefined;
  private readonly health: HealthServer | undefined;
  private readonly shared: boolean;

  constructor(options: ComponentServersOptions) {
    const { metricsBindAddress, healthBindAddress, logger } = options;
    this.metrics =
      metricsBindAddress === undefined
        ? undefined
        : new HealthServer({
            bindAddress: metricsBindAddress,
            registry: this.registry,
            logger: logger.child({ server: 'metrics' }),
          });
    this.shared =
      healthBindAddress !== undefined &&
      metricsBindAddress === healthBindAddress &&
      !healthBindAddress.endsWith(':0');
    this.health =
      healthBindAddress === undefined || this.shared
        ? undefined
        : new HealthServer({ bindAddress: healthBindAddress, logger: logger.child({ server: 'health' }) });
  }

  private get servers(): HealthServer[] {
    return [this.metrics, this.health].filter((server) => server !== undefined);
  }

  addLivenessCheck(name: string, check: HealthCheck): this {
    for (const server of this.servers) server.addLivenessCheck(name, check);
    return this;
  }

  addReadinessCheck(name: string, check: HealthCheck): this {
    for (const server of this.servers) server.addReadinessCheck(name, check);
    return this;
  }

  /** The bound port of /metrics, or undefined when metrics are off. */
  get metricsPort(): number | undefined {
    return this.metrics?.port;
  }

  /** The bound port of the probes (the metrics server's when shared), or undefined when there are none. */
  get healthPort(): number | undefined {
    return this.shared ? this.metrics?.port : this.health?.port;
  }

  async start(): Promise<void> {
    for (const server of this.servers) await server.start();
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.close()));
  }
}
