/**
 * Runs one long-running component (operator, controller, speaker, webhook) the same way every time:
 * credentials (a clear error when there are none), the logger, the API client, the metrics (HTTPS for
 * authorized callers unless told otherwise) and probe servers, leader election with an explicit policy for a lost Lease, and an ordered shutdown on SIGTERM or
 * SIGINT. The component only says what it runs.
 *
 * Start: load credentials → create the component (it registers its metrics and probe checks) → servers
 * listen → component.start() → campaign for the Lease (or lead at once) → log the ready line.
 * Stop, the reverse: the component's own stop hooks → the led work ends and the Lease is released →
 * component.stop() → servers close → the API client closes. A failed start runs the same stop and exits 1.
 */
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Credentials } from './credentials.js';
import type { DestinationStream, LevelWithSilent } from 'pino';
import { ComponentServers, type ServerChecks } from './component-servers.js';
import { loadKubeConfig, type LoadedKubeConfig } from './kube-config.js';
import { ApiLeaseStore, LeaderElector, type LeaseStore } from './leader-election.js';
import { LeaderMetrics } from './leader-metrics.js';
import { createLogger, type Logger } from './logging.js';
import { MetricsAuthorizer } from './metrics-auth.js';
import { RawClient } from './raw-client.js';
import { Shutdown } from './shutdown.js';

export interface Component {
  /** Starts what runs on every replica (watches, servers' data); called once the servers listen. */
  start(): Promise<void>;
  /** Stops it; called after the led work ended and the Lease was released, before the servers close. */
  stop(): Promise<void>;
}

/** A component with work that only one replica may do at a time. */
export interface LedComponent extends Component {
  /** Starts that work once this replica leads; `signal` aborts when leadership ends. */
  lead(signal: AbortSignal): Promise<void>;
  /** Ends that work; awaited before the Lease is released. */
  stopLeading(): Promise<void>;
}

/**
 * What a replica does when it loses the Lease (an API outage longer than the renew deadline, say):
 * - exit: its in-memory state can no longer be trusted; exit 1 and let a fresh start rebuild it;
 * - campaign-again: the led work already stopped with the term; campaign for the next one, with fresh caches.
 */
export type LeaseLossPolicy = 'exit' | 'campaign-again';

export interface LeaderElectionPlan {
  readonly leaseName: string;
  readonly namespace: string;
  readonly whenLost: LeaseLossPolicy;
}

/** What the host hands a component it creates. */
export interface ComponentContext {
  readonly kubeConfig: Credentials;
  /** Closed by the host after everything else stopped. */
  readonly client: RawClient;
  readonly log: Logger;
  readonly servers: ServerChecks;
  /** This replica, in the Lease and in events. */
  readonly identity: string;
  /** Extra stop hooks; they run first on shutdown (last registered first), before the led work stops. */
  readonly stopHooks: Pick<Shutdown, 'register'>;
}

export interface ComponentHostOptions<C extends Component> {
  /** The `component` field of every log line, and the prefix of errors. */
  readonly name: string;
  readonly logLevel: LevelWithSilent;
  /** The --kubeconfig flag; absent means $KUBECONFIG, then in-cluster. */
  readonly kubeconfig?: string | undefined;
  /** HOST:PORT of /metrics; undefined serves none. */
  readonly metricsBindAddress?: string | undefined;
  /** HOST:PORT of /healthz and /readyz; undefined serves none. */
  readonly healthBindAddress?: string | undefined;
  /** Plain HTTP /metrics for anyone (development, tests); default HTTPS for authorized callers only. */
  readonly metricsInsecure?: boolean | undefined;
  /** tls.crt and tls.key of the HTTPS metrics, followed for rotation; default a self-signed certificate. */
  readonly metricsCertDir?: string | undefined;
  /** This replica, in the Lease and in events; default "<hostname>_<random>". */
  readonly identity?: string | undefined;
  /** Campaign for this Lease before leading; undefined: a LedComponent leads at once. */
  readonly leaderElection?: LeaderElectionPlan | undefined;
  readonly create: (context: ComponentContext) => C | Promise<C>;
  /** Logged once running, with the servers' ports added (metricsPort, healthPort). */
  readonly ready: {
    readonly message: string;
    readonly fields?: (component: C, context: ComponentContext) => Readonly<Record<string, unknown>>;
  };
  /** Where errors before the logger exists go (stderr). */
  readonly reportError: (line: string) => void;
  // For tests; defaults suit the process.
  readonly signals?: Pick<EventEmitter, 'on' | 'off'>;
  readonly exit?: (code: number) => void;
  readonly logDestination?: DestinationStream;
  readonly leaseStore?: (plan: LeaderElectionPlan, client: RawClient) => LeaseStore;
  readonly leaseTimings?: {
    readonly leaseDurationMs: number;
    readonly renewDeadlineMs: number;
    readonly retryPeriodMs: number;
  };
  readonly loadCredentials?: (kubeconfig: string | undefined) => LoadedKubeConfig;
}

function isLed(component: Component): component is LedComponent {
  return 'lead' in component && typeof component.lead === 'function';
}

/** Runs the component until a signal (or a lost Lease under the exit policy); resolves with the exit code. */
export async function runComponent<C extends Component>(options: ComponentHostOptions<C>): Promise<number> {
  let loaded: LoadedKubeConfig;
  try {
    loaded = (options.loadCredentials ?? defaultCredentials)(options.kubeconfig);
  } catch (error) {
    options.reportError(`${options.name}: ${(error as Error).message}`);
    return 1;
  }
  let host: ComponentHost<C>;
  try {
    host = new ComponentHost(options, loaded);
  } catch (error) {
    options.reportError(`${options.name}: ${(error as Error).message}`);
    return 1;
  }
  return host.run();
}

function defaultCredentials(kubeconfig: string | undefined): LoadedKubeConfig {
  return loadKubeConfig(kubeconfig ? { kubeconfig } : {});
}

class ComponentHost<C extends Component> {
  private readonly log: Logger;
  private readonly client: RawClient;
  private readonly servers: ComponentServers;
  private readonly identity: string;
  private component: C | undefined;
  private elector: LeaderElector | undefined;
  private leadership: AbortController | undefined;
  private leaderMetrics: LeaderMetrics | undefined;
  private stopping = false;
  /** Set when the exit must be 1 whatever the stop hooks report. */
  private failure: string | undefined;

  constructor(
    private readonly options: ComponentHostOptions<C>,
    private readonly credentials: LoadedKubeConfig,
  ) {
    this.log = createLogger({
      component: options.name,
      level: options.logLevel,
      ...(options.logDestination ? { destination: options.logDestination } : {}),
    });
    this.client = new RawClient(credentials.kubeConfig);
    this.servers = new ComponentServers({
      metricsBindAddress: options.metricsBindAddress,
      healthBindAddress: options.healthBindAddress,
      secureMetrics: options.metricsInsecure
        ? undefined
        : {
            authorizer: new MetricsAuthorizer({ client: this.client }),
            certDir: options.metricsCertDir,
          },
      logger: this.log,
    });
    this.identity = options.identity || `${hostname()}_${randomUUID()}`;
  }

  run(): Promise<number> {
    const { kubeConfig, source } = this.credentials;
    this.log.info({ kubeconfig: source, server: kubeConfig.getCurrentCluster()?.server }, 'credentials');
    return new Promise<number>((resolve) => {
      const exit = this.options.exit ?? ((code: number) => process.exit(code));
      const shutdown = new Shutdown({
        logger: this.log,
        ...(this.options.signals ? { signals: this.options.signals } : {}),
        exit: (code) => {
          const exitCode = this.failure ? 1 : code;
          resolve(exitCode);
          exit(exitCode);
        },
      });
      // Registered first, so run last: see the module comment for the order.
      shutdown.register('api client', () => this.client.close());
      shutdown.register('servers', () => this.servers.close());
      shutdown.register(this.options.name, () => this.component?.stop());
      shutdown.register('leader election', () => this.stopElection());
      shutdown.install();
      this.start(shutdown).catch((error: unknown) => {
        this.log.error({ err: error }, 'could not start');
        this.failure = 'start-up failed';
        void shutdown.shutdown(this.failure);
      });
    });
  }

  private async start(shutdown: Shutdown): Promise<void> {
    const context: ComponentContext = {
      kubeConfig: this.credentials.kubeConfig,
      client: this.client,
      log: this.log,
      servers: this.servers,
      identity: this.identity,
      stopHooks: shutdown,
    };
    const component = await this.options.create(context);
    this.component = component;
    if (shutdown.signal.aborted) return;
    if (this.options.leaderElection) {
      this.servers.addLivenessCheck('leader-election', () => this.elector?.isRunning() ?? true);
    }
    await this.servers.start();
    await component.start();
    if (shutdown.signal.aborted) return;
    if (isLed(component)) this.lead(component, shutdown);
    this.log.info(
      {
        ...this.options.ready.fields?.(component, context),
        metricsPort: this.servers.metricsPort,
        ...(this.servers.metricsPort !== undefined ? { metricsSecure: this.servers.metricsSecure } : {}),
        healthPort: this.servers.healthPort,
      },
      this.options.ready.message,
    );
  }

  private lead(component: LedComponent, shutdown: Shutdown): void {
    const plan = this.options.leaderElection;
    if (plan) {
      this.campaign(component, plan, shutdown);
      return;
    }
    this.leadership = new AbortController();
    // Not awaited: the caches may take a while to fill (API server down), and a SIGTERM meanwhile must work.
    component.lead(this.leadership.signal).catch((error: unknown) => {
      this.log.error({ err: error }, 'could not start the work this replica leads');
    });
  }

  private campaign(component: LedComponent, plan: LeaderElectionPlan, shutdown: Shutdown): void {
    // Standbys report 0 too, so "no replica leads" is a query, not the absence of a series.
    const metrics = (this.leaderMetrics ??= new LeaderMetrics(this.servers.registry, plan.leaseName));
    const elector = new LeaderElector({
      store: (this.options.leaseStore ?? defaultLeaseStore)(plan, this.client),
      identity: this.identity,
      ...this.options.leaseTimings,
      logger: this.log,
      onStartedLeading: (signal) => {
        metrics.set(true);
        return component.lead(signal);
      },
      onStoppedLeading: () => {
        metrics.set(false);
        return component.stopLeading();
      },
    });
    this.elector = elector;
    void elector.run().then((end) => {
      if (end !== 'lost' || this.stopping) return;
      if (plan.whenLost === 'campaign-again') {
        this.log.warn('lost the leader Lease; campaigning again');
        this.campaign(component, plan, shutdown);
        return;
      }
      this.log.error(
        { identity: this.identity },
        'lost the leader lease; exiting so that a fresh start rebuilds the state',
      );
      this.failure = 'lost the leader lease';
      void shutdown.shutdown(this.failure);
    });
  }

  /** Ends the led work, then releases the Lease if held (the elector does both, in that order). */
  private async stopElection(): Promise<void> {
    this.stopping = true;
    if (this.elector) {
      await this.elector.stop();
      return;
    }
    if (this.leadership) {
      this.leadership.abort();
      const component = this.component;
      if (component && isLed(component)) await component.stopLeading();
    }
  }
}

function defaultLeaseStore(plan: LeaderElectionPlan, client: RawClient): LeaseStore {
  return new ApiLeaseStore(client, plan.namespace, plan.leaseName);
}
