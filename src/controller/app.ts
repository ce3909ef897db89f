/**
 * The controller process: informers, the metrics and probe servers and leader election, around an
 * AllocationSession that exists only while this replica leads. Informers run on standbys too, so a new
 * leader starts from a warm cache. Two replicas never allocate at once: only the Lease holder has a session,
 * and a replica that loses the Lease gives up (the caller exits) rather than trust state it can no longer
 * keep consistent.
 */
import type { KubeConfig, V1Namespace, V1Service } from '@kubernetes/client-node';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { IPAddressPool } from '../api/types.generated.js';
import { ApiEventSink, EventRecorder } from '../runtime/events.js';
import { HealthServer } from '../runtime/http-server.js';
import { InformerFactory } from '../runtime/informer-factory.js';
import type { Informer } from '../runtime/informer.js';
import { ApiLeaseStore, LeaderElector } from '../runtime/leader-election.js';
import type { Logger } from '../runtime/logging.js';
import { RawClient } from '../runtime/raw-client.js';
import { apiResourceType, resourceTypeOf } from '../runtime/resources.js';
import { AllocationSession } from './allocation-session.js';
import { ControllerMetrics } from './metrics.js';

export const LEASE_NAME = 'metallb-controller';
export const FIELD_MANAGER = 'metallb-controller';
export const REPORTING_CONTROLLER = 'metallb.io/controller';

export interface ControllerAppOptions {
  readonly kubeConfig: KubeConfig;
  /** Where the IPAddressPools and the Lease live. */
  readonly namespace: string;
  readonly loadBalancerClass?: string | undefined;
  /** This replica, in the Lease and in events. */
  readonly identity: string;
  readonly leaderElect: boolean;
  /** HOST:PORT or :PORT of /metrics; port 0 picks a free one. */
  readonly metricsBindAddress: string;
  /** HOST:PORT or :PORT of /healthz and /readyz; port 0 picks a free one. */
  readonly healthBindAddress: string;
  readonly logger: Logger;
  /** Concurrent service reconciles; default 8. */
  readonly workers?: number;
  /** Called once if this replica loses the Lease: its state can no longer be trusted, the process should end. */
  readonly onLeadershipLost?: () => void;
}

export class ControllerApp {
  readonly registry = new Registry();
  private readonly client: RawClient;
  private readonly metrics: ControllerMetrics;
  private readonly factory: InformerFactory;
  private readonly services: Informer<V1Service>;
  private readonly namespaces: Informer<V1Namespace>;
  private readonly pools: Informer<IPAddressPool>;
  private readonly events: EventRecorder;
  private readonly metricsServer: HealthServer;
  private readonly healthServer: HealthServer;
  private readonly elector: LeaderElector | undefined;
  private readonly log: Logger;
  private session: AllocationSession | undefined;
  private leadership: AbortController | undefined;

  constructor(private readonly options: ControllerAppOptions) {
    this.log = options.logger;
    this.client = new RawClient(options.kubeConfig);
    collectDefaultMetrics({ register: this.registry });
    this.metrics = new ControllerMetrics(this.registry);
    this.metrics.readPoolStatsFrom(() => this.session?.stats() ?? []);
    this.factory = new InformerFactory({ client: this.client, logger: this.log });
    this.services = this.factory.informer<V1Service>({ resource: resourceTypeOf('v1', 'Service') });
    this.namespaces = this.factory.informer<V1Namespace>({ resource: resourceTypeOf('v1', 'Namespace') });
    this.pools = this.factory.informer<IPAddressPool>({
      resource: apiResourceType('IPAddressPool'),
      namespace: options.namespace,
    });
    this.events = new EventRecorder({
      sink: new ApiEventSink(this.client),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: options.identity,
      logger: this.log,
    });
    this.metricsServer = new HealthServer({
      bindAddress: options.metricsBindAddress,
      registry: this.registry,
      logger: this.log.child({ server: 'metrics' }),
    });
    this.healthServer = new HealthServer({
      bindAddress: options.healthBindAddress,
      logger: this.log.child({ server: 'health' }),
    })
      .addLivenessCheck('leader-election', () => this.elector?.isRunning() ?? true)
      .addReadinessCheck('caches-synced', () => this.factory.hasSynced());
    this.elector = options.leaderElect
      ? new LeaderElector({
          store: new ApiLeaseStore(this.client, options.namespace, LEASE_NAME),
          identity: options.identity,
          onStartedLeading: (signal) => this.lead(signal),
          onStoppedLeading: () => this.stopLeading(),
          logger: this.log,
        })
      : undefined;
  }

  get metricsPort(): number {
    return this.metricsServer.port;
  }

  get healthPort(): number {
    return this.healthServer.port;
  }

  async start(): Promise<void> {
    await this.metricsServer.start();
    await this.healthServer.start();
    this.factory.startAll();
    if (!this.elector) {
      this.leadership = new AbortController();
      this.lead(this.leadership.signal).catch((error: unknown) => {
        this.log.error({ err: error }, 'could not start allocating');
      });
      return;
    }
    void this.elector.run().then((end) => {
      if (end === 'lost') this.options.onLeadershipLost?.();
    });
  }

  /** Stops allocating (releasing the Lease if held), then the watches, then the servers. */
  async stop(): Promise<void> {
    if (this.elector) await this.elector.stop();
    else {
      this.leadership?.abort();
      await this.stopLeading();
    }
    await this.events.stop();
    await this.factory.stopAll();
    await Promise.all([this.metricsServer.close(), this.healthServer.close()]);
    this.client.close();
  }

  private async lead(signal: AbortSignal): Promise<void> {
    this.log.info({ identity: this.options.identity }, 'leading: waiting for caches to sync');
    try {
      await this.factory.waitForSync(signal);
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
    if (signal.aborted) return;
    const session = new AllocationSession({
      services: this.services,
      namespaces: this.namespaces,
      pools: this.pools,
      namespace: this.options.namespace,
      loadBalancerClass: this.options.loadBalancerClass,
      client: this.client,
      events: this.events,
      metrics: this.metrics,
      registry: this.registry,
      fieldManager: FIELD_MANAGER,
      workers: this.options.workers ?? 8,
      log: this.log,
    });
    this.session = session;
    await session.start();
  }

  private async stopLeading(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.stop();
  }
}
