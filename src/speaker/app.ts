/**
 * The speaker process (BGP through FRR): informers on everything the plan reads, one debounced reconcile
 * per node that renders frr.conf and hands it to the FRR applier, ServiceBGPStatus and events, FRR's
 * metrics read at scrape time, and reports of sessions that do not come up (the component host runs the
 * probe and metrics servers and the shutdown).
 *
 * Changes reach FRR within a fraction of a second: informer events are folded by a 100 ms trailing
 * debounce (at most 300 ms per burst) into one reconcile of the single key "node". A steady trickle of
 * changes (one Service every 100 ms) thus costs about three passes a second; the FRR applier folds
 * whatever arrives while it applies into its next apply, so FRR is never asked more often than it answers.
 */
import { setMaxListeners } from 'node:events';
import { dirname } from 'node:path';
import type { V1EndpointSlice, V1Node, V1Secret, V1Service } from '@kubernetes/client-node';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import type { BGPSessionState, ServiceBGPStatus, ServiceL2Status } from '../api/types.generated.js';
import {
  configInputKeys,
  perConfigInput,
  storageApiVersion,
  type ConfigInputKey,
  type StoredConfigObjects,
} from '../api/kinds.js';
import { Controller, deepEqual, generationChanged } from '../runtime/controller.js';
import { ApiEventSink, EventRecorder, type ObjectReference } from '../runtime/events.js';
import type { Component } from '../runtime/component-host.js';
import type { ServerChecks } from '../runtime/component-servers.js';
import { InformerFactory } from '../runtime/informer-factory.js';
import { Informer, type ObjectCache } from '../runtime/informer.js';
import type { KubeObject } from '../runtime/kube-object.js';
import type { Logger } from '../runtime/logging.js';
import type { RawClient } from '../runtime/raw-client.js';
import { resourceTypeOf } from '../runtime/resources.js';
import { Applier } from '../runtime/ssa.js';
import { FrrApplier } from './bgp/frr-applier.js';
import type { FrrLogLevel } from './bgp/frr-config.js';
import { LocalFrr, ReloaderFrr, type FrrControl } from './bgp/frr-control.js';
import { FrrStateReader, registerFrrMetrics } from './bgp/frr-metrics.js';
import { Vtysh, findVtysh } from './bgp/frr-tools.js';
import { SessionWatcher, type SessionReport } from './bgp/sessions.js';
import { LIVENESS_SELECTOR, type LivenessLease } from './l2/liveness.js';
import { Layer2Speaker, type AnnouncerFactory } from './layer2.js';
import { Debouncer } from './debounce.js';
import { PasswordSecrets, secretNameSelector } from './password-secrets.js';
import { SpeakerMetrics } from './metrics.js';
import { NodeReconciler, type ConfigCaches, type SpeakerCaches } from './reconciler.js';
import { SessionStateWriter, sessionStateSelector } from './session-state.js';
import { STATUS_NODE_LABEL, ServiceBgpStatusWriter, type StatusOwner } from './status.js';

export const FIELD_MANAGER = 'metallb-speaker';
export const REPORTING_CONTROLLER = 'metallb.io/speaker';
const reconcileKey = 'node';

export type FrrMode = 'local' | 'reloader';

export interface FrrSettings {
  readonly mode: FrrMode;
  /** The -N pathspace of the FRR instance; undefined for the default instance. */
  readonly pathspace?: string;
  /** Where the speaker writes frr.conf. */
  readonly configFile: string;
  /** Where frr-reload.py lives. */
  readonly binDir: string;
  /** FRR's configuration folder (local mode). */
  readonly confDir: string;
  /** A private folder for frr-reload.py's scratch files (local mode). */
  readonly scratchDir: string;
  /** The reloader's PID file (reloader mode). */
  readonly reloaderPidFile: string;
  /** How often FRR is checked for restarts and drift. */
  readonly checkIntervalMs: number;
  readonly logLevel: FrrLogLevel;
  /** frr-reload.py's own verbosity. */
  readonly toolLogLevel: 'error' | 'warning' | 'info' | 'debug';
}

export interface SpeakerAppOptions {
  readonly client: RawClient;
  /** Where its metrics and readiness checks go. */
  readonly servers: ServerChecks;
  readonly node: string;
  readonly namespace: string;
  readonly lbClass?: string | undefined;
  readonly ignoreExcludeLabel: boolean;
  readonly frr: FrrSettings;
  readonly logger: Logger;
  /** Quiet time before a burst of changes is reconciled; default 100 ms (never more than 300 ms after the first change). */
  readonly debounceMs?: number;
  /** Layer 2 starts once an L2Advertisement exists, unless disabled; default enabled. */
  readonly layer2?: boolean;
  /** Creates the ARP/NDP responder when layer 2 starts; default one that answers nothing. */
  readonly createL2Announcer?: AnnouncerFactory;
}

/** Reconcile on node changes that matter for announcing: labels and NetworkUnavailable, not heartbeats. */
function nodeChangeMatters(oldNode: V1Node, newNode: V1Node): boolean {
  const networkUnavailable = (node: V1Node) =>
    node.status?.conditions?.find((condition) => condition.type === 'NetworkUnavailable')?.status;
  return (
    !deepEqual(oldNode.metadata?.labels ?? {}, newNode.metadata?.labels ?? {}) ||
    oldNode.metadata?.uid !== newNode.metadata?.uid ||
    networkUnavailable(oldNode) !== networkUnavailable(newNode)
  );
}

export class SpeakerApp implements Component {
  readonly registry: Registry;
  private readonly client: RawClient;
  private readonly factory: InformerFactory;
  private readonly caches: SpeakerCaches;
  private passwordSecrets!: PasswordSecrets;
  private readonly events: EventRecorder;
  private readonly metrics: SpeakerMetrics;
  private readonly frr: FrrApplier;
  private readonly vtysh: Vtysh;
  private readonly reconciler: NodeReconciler;
  private readonly controller: Controller;
  private readonly debouncer: Debouncer;
  private readonly sessionWatcher: SessionWatcher;
  private readonly sessionStates: SessionStateWriter;
  private readonly layer2: Layer2Speaker | undefined;
  private readonly log: Logger;
  private readonly stopping = new AbortController();
  private readonly unsubscribers: (() => void)[] = [];
  private started: Promise<void> | undefined;

  constructor(private readonly options: SpeakerAppOptions) {
    this.log = options.logger;
    // Every informer waits on this one signal.
    setMaxListeners(64, this.stopping.signal);
    this.client = options.client;
    this.registry = options.servers.registry;
    collectDefaultMetrics({ register: this.registry });
    this.metrics = new SpeakerMetrics(this.registry);
    this.factory = new InformerFactory({ client: this.client, logger: this.log });
    this.caches = this.createCaches();
    this.events = new EventRecorder({
      sink: new ApiEventSink(this.client),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: options.node,
      logger: this.log,
      registry: this.registry,
    });

    this.vtysh = new Vtysh({
      binary: findVtysh(),
      ...(options.frr.pathspace ? { pathspace: options.frr.pathspace } : {}),
    });
    this.frr = new FrrApplier({
      control: this.createFrrControl(),
      configFile: options.frr.configFile,
      checkIntervalMs: options.frr.checkIntervalMs,
      logger: this.log,
      metrics: this.metrics.frrApplierMetrics(),
      hooks: {
        onFailing: (error, attempts) =>
          this.events.warning(
            this.nodeReference(),
            'FRRReloadFailed',
            'ReloadFRR',
            `FRR did not take the speaker's configuration after ${attempts} attempts (retrying with backoff): ${error}`,
          ),
        onRecovered: () =>
          this.events.normal(
            this.nodeReference(),
            'FRRReloaded',
            'ReloadFRR',
            "FRR runs the speaker's configuration again",
          ),
      },
    });

    this.reconciler = new NodeReconciler({
      node: options.node,
      namespace: options.namespace,
      ...(options.lbClass !== undefined ? { lbClass: options.lbClass } : {}),
      ignoreExcludeLabel: options.ignoreExcludeLabel,
      frrLogLevel: options.frr.logLevel,
      caches: this.caches,
      frr: this.frr,
      statusWriter: new ServiceBgpStatusWriter({
        applier: new Applier({ client: this.client, fieldManager: FIELD_MANAGER }),
        cache: this.caches.statuses,
        node: options.node,
        logger: this.log,
      }),
      events: this.events,
      metrics: this.metrics,
      logger: this.log,
    });
    this.controller = new Controller({
      name: 'speaker',
      reconcile: async () => {
        await this.reconciler.reconcile();
        // A periodic pass repairs what no event announces (a ServiceBGPStatus edited by hand, say).
        return { requeueAfter: 10 * 60_000 };
      },
      logger: this.log,
      metrics: this.registry,
    });
    this.debouncer = new Debouncer({
      quietMs: options.debounceMs ?? 100,
      maxWaitMs: Math.max(300, options.debounceMs ?? 100),
      fire: () => this.controller.enqueue(reconcileKey),
    });

    this.layer2 = options.layer2 === false ? undefined : this.createLayer2();

    const reader = new FrrStateReader(this.vtysh, { logger: this.log });
    registerFrrMetrics({
      registry: this.registry,
      reader,
      sessions: () => this.reconciler.configuredSessions(),
      // In the pod the speaker may not see FRR's sockets (the frr-metrics sidecar exports these then):
      // zeros for sessions it cannot see would contradict the sidecar.
      downWhenUnreachable: options.frr.mode === 'local',
    });
    this.sessionWatcher = new SessionWatcher({
      read: () => reader.read(),
      sessions: () => this.reconciler.configuredSessions(),
      report: (report) => this.reportSession(report),
      logger: this.log,
    });
    this.sessionStates = new SessionStateWriter({
      applier: new Applier({ client: this.client, fieldManager: FIELD_MANAGER }),
      // Not an essential cache: without the CRD (an older install) the speaker announces all the same.
      cache: this.factory.informer<BGPSessionState>({
        resource: resourceTypeOf(storageApiVersion('BGPSessionState'), 'BGPSessionState'),
        namespace: options.namespace,
        labelSelector: sessionStateSelector(options.node),
      }),
      node: options.node,
      namespace: options.namespace,
      sessions: () =>
        this.reconciler.hasPlannedSessions() ? this.reconciler.configuredSessions() : undefined,
      read: () => reader.readNeighbors(),
      owner: () => this.nodeOwner(),
      // As for the metrics: in the pod the speaker may not see FRR's sockets.
      unknownWhenUnreachable: options.frr.mode === 'local',
      logger: this.log,
    });

    options.servers
      .addReadinessCheck('caches-synced', () => this.essentialCaches().every((cache) => cache.hasSynced()))
      .addReadinessCheck('frr', () => this.frr.isHealthy());
  }

  /** Starts the watches and FRR driving (the host's servers listen already); sync continues after. */
  async start(): Promise<void> {
    this.factory.startAll();
    this.passwordSecrets.start();
    this.frr.start();
    this.sessionWatcher.start();
    this.sessionStates.start();
    this.started = this.runWhenSynced().catch((error: unknown) => {
      // Readiness stays failed (caches or FRR); the log says why.
      this.log.error({ err: error }, 'could not start reconciling');
    });
  }

  async stop(): Promise<void> {
    // First, while everything else still runs: the other speakers take this node's layer-2 addresses.
    await this.layer2?.handOver().catch((error: unknown) => this.log.warn({ err: error }, 'handover failed'));
    this.stopping.abort();
    this.debouncer.stop();
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    await this.started;
    await this.controller.stop();
    await this.sessionWatcher.stop();
    await this.sessionStates.stop();
    await this.frr.stop();
    await this.layer2?.stop();
    await this.events.stop();
    await this.passwordSecrets.stop();
    await this.factory.stopAll();
  }

  private async runWhenSynced(): Promise<void> {
    const signal = this.stopping.signal;
    try {
      await Promise.all(this.essentialCaches().map((cache) => cache.waitForSync(signal)));
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
    if (signal.aborted) return;
    this.log.info('caches synced; reconciling');
    const pokeWhen = <T extends KubeObject>(cache: ObjectCache<T>, matters?: (a: T, b: T) => boolean) => {
      this.unsubscribers.push(
        cache.addHandler({
          onAdd: () => this.debouncer.poke(),
          onUpdate: (a, b) => {
            if (!matters || matters(a, b)) this.debouncer.poke();
          },
          onDelete: () => this.debouncer.poke(),
        }),
      );
    };
    const caches = this.caches;
    pokeWhen(caches.services);
    pokeWhen(caches.endpointSlices);
    pokeWhen(caches.secrets);
    pokeWhen(caches.nodes, nodeChangeMatters);
    // MetalLB objects: spec edits only; the controller's pool status writes do not change announcements.
    for (const key of configInputKeys) pokeWhen<KubeObject>(caches[key], generationChanged);
    // Our own status objects: a deletion by someone else must be repaired; our own writes need no pass.
    this.unsubscribers.push(caches.statuses.addHandler({ onDelete: () => this.debouncer.poke() }));
    void caches.statuses.waitForSync(signal).then(
      () => this.debouncer.poke(),
      () => undefined,
    );
    await this.controller.start();
    this.controller.enqueue(reconcileKey);
    if (this.layer2) void this.startLayer2(this.layer2, signal);
  }

  /** Layer 2 needs the Leases (who is live) and ServiceL2Status (what was announced) before it plans. */
  private async startLayer2(layer2: Layer2Speaker, signal: AbortSignal): Promise<void> {
    try {
      await Promise.all([this.leaseCache().waitForSync(signal), this.l2StatusCache().waitForSync(signal)]);
    } catch {
      return;
    }
    if (!signal.aborted) layer2.start();
  }

  private leaseCache(): ObjectCache<LivenessLease> {
    return this.factory.informer<LivenessLease & KubeObject>({
      resource: resourceTypeOf('coordination.k8s.io/v1', 'Lease'),
      namespace: this.options.namespace,
      labelSelector: LIVENESS_SELECTOR,
    });
  }

  private l2StatusCache(): ObjectCache<ServiceL2Status> {
    return this.factory.informer<ServiceL2Status>({
      resource: resourceTypeOf('metallb.io/v1beta1', 'ServiceL2Status'),
      namespace: this.options.namespace,
    });
  }

  private createLayer2(): Layer2Speaker {
    const { statuses: _statuses, ...caches } = this.caches;
    return new Layer2Speaker({
      node: this.options.node,
      namespace: this.options.namespace,
      lbClass: this.options.lbClass,
      ignoreExcludeLabel: this.options.ignoreExcludeLabel,
      caches,
      leases: this.leaseCache(),
      statuses: this.l2StatusCache(),
      leaseClient: this.client,
      applier: new Applier({ client: this.client, fieldManager: FIELD_MANAGER }),
      createAnnouncer:
        this.options.createL2Announcer ??
        // Loaded only once an L2Advertisement exists: a BGP-only speaker never needs the pcap binding.
        (async () => {
          const { createL2Announcer } = await import('./l2/index.js');
          return createL2Announcer({ logger: this.log, registry: this.registry });
        }),
      events: this.events,
      metrics: this.metrics,
      logger: this.log,
    });
  }

  /**
   * What announcing needs. ServiceBGPStatus is left out: without its CRD (an older install) the speaker
   * still announces, and writes status once the CRD appears.
   */
  private essentialCaches(): ObjectCache<KubeObject>[] {
    const { statuses: _statuses, ...essential } = this.caches;
    return Object.values(essential) as ObjectCache<KubeObject>[];
  }

  private createCaches(): SpeakerCaches {
    const { namespace, node } = this.options;
    // The same shared informer as the configuration's peers cache below (the factory shares by request).
    const peers = this.factory.informer<StoredConfigObjects['peers']>({
      resource: resourceTypeOf(storageApiVersion('BGPPeer'), 'BGPPeer'),
      namespace,
    });
    // Not through the factory: a Secret's informer stops when no BGPPeer names it any more.
    this.passwordSecrets = new PasswordSecrets({
      peers,
      namespace,
      watchSecret: (name) =>
        new Informer<V1Secret>({
          client: this.client,
          logger: this.log,
          resource: resourceTypeOf('v1', 'Secret'),
          namespace,
          fieldSelector: secretNameSelector(name),
        }),
    });
    const inNamespace = <T extends KubeObject>(apiVersion: string, kind: string, labelSelector?: string) =>
      this.factory.informer<T>({
        resource: resourceTypeOf(apiVersion, kind),
        namespace,
        ...(labelSelector ? { labelSelector } : {}),
      });
    return {
      services: this.factory.informer<V1Service>({ resource: resourceTypeOf('v1', 'Service') }),
      endpointSlices: this.factory.informer<V1EndpointSlice>({
        resource: resourceTypeOf('discovery.k8s.io/v1', 'EndpointSlice'),
      }),
      // Every Node, not only ours: the configuration's validation judges nodeSelectors against them.
      nodes: this.factory.informer<V1Node>({ resource: resourceTypeOf('v1', 'Node') }),
      // Each informer holds its kind's objects; the compiler cannot follow that through the key.
      ...perConfigInput<ConfigCaches>(
        (_key, kind) => inNamespace(storageApiVersion(kind), kind) as ConfigCaches[ConfigInputKey],
      ),
      secrets: this.passwordSecrets,
      statuses: inNamespace<ServiceBGPStatus>(
        storageApiVersion('ServiceBGPStatus'),
        'ServiceBGPStatus',
        `${STATUS_NODE_LABEL}=${node}`,
      ),
    };
  }

  private createFrrControl(): FrrControl {
    const frr = this.options.frr;
    if (frr.mode === 'local') {
      return new LocalFrr({
        vtysh: this.vtysh,
        vtyshDir: dirname(findVtysh()),
        reloadScript: `${frr.binDir}/frr-reload.py`,
        confDir: frr.confDir,
        scratchDir: frr.scratchDir,
        toolLogLevel: frr.toolLogLevel,
      });
    }
    return new ReloaderFrr({ configFile: frr.configFile, pidFile: frr.reloaderPidFile, vtysh: this.vtysh });
  }

  private nodeOwner(): StatusOwner | undefined {
    const uid = this.caches.nodes.get(this.options.node)?.metadata?.uid;
    return uid ? { name: this.options.node, uid } : undefined;
  }

  private nodeReference(): ObjectReference {
    const uid = this.caches.nodes.get(this.options.node)?.metadata?.uid;
    return { apiVersion: 'v1', kind: 'Node', name: this.options.node, ...(uid ? { uid } : {}) };
  }

  /** Session reports become events on the BGPPeer, related to this Node. */
  private reportSession(report: SessionReport): void {
    const { namespace } = this.options;
    const peer = this.caches.peers.get(`${namespace}/${report.session.peer}`);
    const uid = peer?.metadata?.uid;
    const regarding: ObjectReference = {
      apiVersion: peer?.apiVersion ?? storageApiVersion('BGPPeer'),
      kind: 'BGPPeer',
      namespace,
      name: report.session.peer,
      ...(uid ? { uid } : {}),
    };
    if (report.kind === 'notEstablished') {
      this.events.event(
        regarding,
        'Warning',
        'SessionNotEstablished',
        'Connect',
        report.message,
        this.nodeReference(),
      );
    } else {
      this.events.event(
        regarding,
        'Normal',
        'SessionEstablished',
        'Connect',
        report.message,
        this.nodeReference(),
      );
    }
  }
}
