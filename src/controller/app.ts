/**
 * The controller process: informers around an AllocationSession that exists only while this replica leads
 * (the component host runs the election, the servers and the shutdown). Informers run on standbys too, so a
 * new leader starts from a warm cache. Two replicas never allocate at once: only the Lease holder has a
 * session. A replica that loses the Lease (an API server or etcd outage longer than the renew deadline) ends
 * its session and campaigns again in the same process; the session of its next term is rebuilt, as every
 * session is, from a cache listed afresh after it won: a cache that was warm before the term may lag the
 * API by the outage or by the writes of the leader it replaces, and allocating from it could hand out an
 * address another Service already holds.
 */
import type { V1Namespace, V1Service } from '@kubernetes/client-node';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import type { IPAddressPool } from '../api/types.generated.js';
import { ApiEventSink, EventRecorder } from '../runtime/events.js';
import { InformerFactory } from '../runtime/informer-factory.js';
import type { Informer } from '../runtime/informer.js';
import type { ComponentContext, LedComponent } from '../runtime/component-host.js';
import type { Logger } from '../runtime/logging.js';
import type { RawClient } from '../runtime/raw-client.js';
import { apiResourceType, resourceTypeOf } from '../runtime/resources.js';
import { AllocationSession } from './allocation-session.js';
import { ControllerMetrics } from './metrics.js';

export const FIELD_MANAGER = 'metallb-controller';
export const REPORTING_CONTROLLER = 'metallb.io/controller';

/** The API client, the servers (for its metrics and readiness) and its identity come from the host. */
export interface ControllerAppOptions extends Pick<ComponentContext, 'client' | 'servers' | 'identity'> {
  /** Where the IPAddressPools and the Lease live. */
  readonly namespace: string;
  readonly loadBalancerClass?: string | undefined;
  readonly logger: Logger;
  /** Concurrent service reconciles; default 8. */
  readonly workers?: number;
}

export class ControllerApp implements LedComponent {
  readonly registry: Registry;
  private readonly client: RawClient;
  private readonly metrics: ControllerMetrics;
  private readonly factory: InformerFactory;
  private readonly services: Informer<V1Service>;
  private readonly namespaces: Informer<V1Namespace>;
  private readonly pools: Informer<IPAddressPool>;
  private readonly events: EventRecorder;
  private readonly log: Logger;
  private session: AllocationSession | undefined;

  constructor(private readonly options: ControllerAppOptions) {
    this.log = options.logger;
    this.client = options.client;
    this.registry = options.servers.registry;
    collectDefaultMetrics({ register: this.registry });
    this.metrics = new ControllerMetrics(this.registry);
    this.metrics.readPoolStatsFrom(() => this.session?.stats() ?? []);
    this.metrics.readPendingFrom(() => this.session?.pendingServices());
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
      registry: this.registry,
    });
    options.servers.addReadinessCheck('caches-synced', () => this.factory.hasSynced());
  }

  /** Starts the watches, on standbys too. */
  async start(): Promise<void> {
    this.factory.startAll();
  }

  /** Stops the events and the watches; allocating has stopped (and the Lease is released) by then. */
  async stop(): Promise<void> {
    await this.events.stop();
    await this.factory.stopAll();
  }

  async lead(signal: AbortSignal): Promise<void> {
    // Filled before this term: a previous term of ours, or the informers of a standby.
    const warm = this.factory.hasSynced();
    this.log.info(
      { identity: this.options.identity },
      warm ? 'leading: listing afresh before allocating' : 'leading: waiting for caches to sync',
    );
    try {
      if (warm) await this.factory.relistAll(signal);
      else await this.factory.waitForSync(signal);
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

  async stopLeading(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.stop();
  }
}
