/**
 * The speaker's one reconcile: everything this node announces over BGP is decided in one pass, from the
 * informer caches, because every input (a pool, a peer, a Service, an endpoint, this Node's labels) can
 * change the single frr.conf. The pass builds the configuration (keeping the last valid one when the
 * current one is not), filters Services by loadBalancerClass, plans, renders, hands the text to the FRR
 * applier (which applies it only if it changed), and then brings metrics, events and ServiceBGPStatus in
 * line. FRR gets the new configuration before any API write, so a failing API server never delays routes.
 */
import type { V1EndpointSlice, V1Node, V1Secret, V1Service } from '@kubernetes/client-node';
import type { ServiceBGPStatus } from '../api/types.generated.js';
import { perConfigInput, type ConfigInputKey, type StoredConfigObjects } from '../api/kinds.js';
import { formatProblem } from '../api/problem.js';
import { buildConfig, type Config, type ConfigInput } from '../config/index.js';
import { formatAddress } from '../net/ip.js';
import { TerminalError } from '../runtime/controller.js';
import type { EventRecorder, ObjectReference } from '../runtime/events.js';
import type { ObjectCache } from '../runtime/informer.js';
import { silentLogger, type Logger } from '../runtime/logging.js';
import { renderFrrConfig, type FrrLogLevel } from './bgp/frr-config.js';
import type { ConfiguredSession } from './bgp/frr-metrics.js';
import { frrVrfName } from './bgp/frr-state.js';
import type { SpeakerMetrics } from './metrics.js';
import {
  planBgp,
  planNodeFromObject,
  serviceKey,
  type BgpPlan,
  type PlanNode,
  type ServiceRef,
} from './plan/index.js';
import { serviceOutcomeEvents, type ReportedOutcomes } from './service-events.js';
import { desiredServiceBgpStatuses, type ServiceBgpStatusWriter } from './status.js';

/** One cache per configuration kind, keyed as buildConfig's input (pools, peers, ...). */
export type ConfigCaches = { readonly [K in ConfigInputKey]: ObjectCache<StoredConfigObjects[K]> };

export interface SpeakerCaches extends ConfigCaches {
  readonly services: ObjectCache<V1Service>;
  readonly endpointSlices: ObjectCache<V1EndpointSlice>;
  readonly nodes: ObjectCache<V1Node>;
  readonly secrets: ObjectCache<V1Secret>;
  readonly statuses: ObjectCache<ServiceBGPStatus>;
}

export interface NodeReconcilerOptions {
  readonly node: string;
  /** Where MetalLB's objects live. */
  readonly namespace: string;
  /** Serve Services of this loadBalancerClass; undefined: only Services without one. */
  readonly lbClass?: string;
  readonly ignoreExcludeLabel?: boolean;
  readonly frrLogLevel?: FrrLogLevel;
  readonly caches: SpeakerCaches;
  readonly frr: { setDesired(text: string): void };
  readonly statusWriter: Pick<ServiceBgpStatusWriter, 'sync'>;
  readonly events: Pick<EventRecorder, 'event'>;
  readonly metrics: SpeakerMetrics;
  readonly logger?: Logger;
}

/** Whether this speaker serves the Service, by spec.loadBalancerClass. */
export function servesClass(service: V1Service, lbClass: string | undefined): boolean {
  const serviceClass = service.spec?.loadBalancerClass;
  return lbClass === undefined ? !serviceClass : serviceClass === lbClass;
}

/** The sessions a plan configures, as FRR names them (for metrics and session reports). */
export function configuredSessions(plan: BgpPlan, config: Config): ConfiguredSession[] {
  const sessions: ConfiguredSession[] = [];
  for (const vrf of plan.vrfs) {
    for (const { peer: name } of vrf.peers) {
      const peer = config.peers.get(name);
      if (!peer) continue;
      sessions.push({
        peer: name,
        vrf: frrVrfName(peer.vrf),
        neighbor: peer.target.kind === 'address' ? formatAddress(peer.target.address) : peer.target.interface,
        port: peer.port,
        bfd: peer.bfdProfile !== undefined,
      });
    }
  }
  return sessions;
}

function ingressIPs(service: V1Service | undefined): string[] {
  const ingress = service?.status?.loadBalancer?.ingress;
  return (Array.isArray(ingress) ? ingress : [])
    .map((entry) => entry?.ip)
    .filter((ip): ip is string => typeof ip === 'string' && ip !== '');
}

export class NodeReconciler {
  private readonly log: Logger;
  private lastGood: Config | undefined;
  private reportedProblems: string | undefined;
  private reportedExclusion: string | undefined;
  private reportedSkippedPeers = '';
  private reportedOutcomes: ReportedOutcomes = new Map();
  private warnedNodeMissing = false;
  private sessions: readonly ConfiguredSession[] = [];
  private sessionsPlanned = false;

  constructor(private readonly options: NodeReconcilerOptions) {
    this.log = (options.logger ?? silentLogger()).child({ subsystem: 'reconcile' });
  }

  /** The BGP sessions the last pass configured. */
  configuredSessions(): readonly ConfiguredSession[] {
    return this.sessions;
  }

  /** Whether a pass has planned the sessions yet: before that, an empty list means "not known", not "none". */
  hasPlannedSessions(): boolean {
    return this.sessionsPlanned;
  }

  /** Whether a valid configuration was ever loaded. */
  hasConfig(): boolean {
    return this.lastGood !== undefined;
  }

  async reconcile(): Promise<void> {
    try {
      await this.pass();
      this.options.metrics.updateProcessed(true);
    } catch (error) {
      this.options.metrics.updateProcessed(false);
      throw error;
    }
  }

  private nodeReference(nodeObject: V1Node | undefined): ObjectReference {
    const uid = nodeObject?.metadata?.uid;
    return { apiVersion: 'v1', kind: 'Node', name: this.options.node, ...(uid ? { uid } : {}) };
  }

  private loadConfig(nodeObject: V1Node | undefined): Config | undefined {
    const { caches, namespace, metrics } = this.options;
    const input: ConfigInput = {
      ...perConfigInput<{ [K in ConfigInputKey]: StoredConfigObjects[K][] }>((key) => caches[key].list()),
      secrets: caches.secrets.list(),
      nodes: caches.nodes.list(),
      metallbNamespace: namespace,
    };
    const result = buildConfig(input);
    if (result.ok) {
      if (this.reportedProblems !== undefined) this.log.info('the MetalLB configuration is valid again');
      this.reportedProblems = undefined;
      this.lastGood = result.config;
      metrics.configLoadedOnce();
      metrics.setConfigStale(false);
      return result.config;
    }
    metrics.setConfigStale(true);
    const problems = result.problems.map(formatProblem);
    const signature = problems.join('\n');
    if (signature !== this.reportedProblems) {
      this.reportedProblems = signature;
      const consequence = this.lastGood
        ? 'keeping the last valid configuration'
        : 'FRR is left as it is until the configuration is valid';
      this.log.warn({ problems }, `the MetalLB configuration is invalid; ${consequence}`);
      const more = problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : '';
      this.options.events.event(
        this.nodeReference(nodeObject),
        'Warning',
        'ConfigStale',
        'LoadConfig',
        `The MetalLB configuration is invalid, ${consequence}: ${problems[0]}${more}`,
      );
    }
    return this.lastGood;
  }

  private planNode(nodeObject: V1Node | undefined): PlanNode {
    if (nodeObject) {
      this.warnedNodeMissing = false;
      return planNodeFromObject(nodeObject);
    }
    if (!this.warnedNodeMissing) {
      this.warnedNodeMissing = true;
      this.log.warn(
        { object: this.options.node },
        'the Node object of this speaker does not exist; planning as for a node without labels',
      );
    }
    return { name: this.options.node, labels: {}, networkUnavailable: false };
  }

  private async pass(): Promise<void> {
    const { caches, node, namespace } = this.options;
    const nodeObject = caches.nodes.get(node);
    const config = this.loadConfig(nodeObject);
    if (!config) return;

    const services = caches.services.list().filter((service) => servesClass(service, this.options.lbClass));
    const plan = planBgp({
      config,
      node: this.planNode(nodeObject),
      services,
      endpointSlices: caches.endpointSlices.list(),
      ignoreExcludeLabel: this.options.ignoreExcludeLabel ?? false,
    });
    let text: string;
    try {
      text = renderFrrConfig(plan, config, {
        hostname: node,
        logLevel: this.options.frrLogLevel ?? 'informational',
      });
    } catch (error) {
      // The configuration was validated, so this is a bug; retrying the same input cannot help.
      throw new TerminalError(`cannot render frr.conf: ${(error as Error).message}`, { cause: error });
    }
    this.options.frr.setDesired(text);
    this.sessions = configuredSessions(plan, config);
    this.sessionsPlanned = true;

    const servicesByKey = new Map(
      services.map((service) => [
        serviceKey({ namespace: service.metadata?.namespace ?? '', name: service.metadata?.name ?? '' }),
        service,
      ]),
    );
    this.options.metrics.setAnnounced(
      node,
      plan.announced.flatMap(({ service }) => {
        const key = serviceKey(service);
        return ingressIPs(servicesByKey.get(key)).map((ip) => ({ service: key, ip }));
      }),
    );
    this.reportNode(plan, nodeObject);
    this.reportServices(plan, servicesByKey);

    if (!caches.statuses.hasSynced()) {
      // Without the cache the writer cannot tell stale objects from current ones; it runs once it syncs.
      this.log.debug('ServiceBGPStatus objects not listed yet; writing them later');
      return;
    }
    const uid = nodeObject?.metadata?.uid;
    await this.options.statusWriter.sync(
      desiredServiceBgpStatuses(plan, namespace, uid ? { name: node, uid } : undefined),
    );
  }

  private reportNode(plan: BgpPlan, nodeObject: V1Node | undefined): void {
    const exclusion = plan.excluded ? `${plan.excluded.code} ${plan.excluded.reason}` : undefined;
    if (exclusion !== this.reportedExclusion) {
      if (plan.excluded) {
        this.log.warn({ object: this.options.node, reason: plan.excluded.code }, plan.excluded.reason);
        this.options.events.event(
          this.nodeReference(nodeObject),
          'Warning',
          plan.excluded.code,
          'Announce',
          plan.excluded.reason,
        );
      } else if (this.reportedExclusion !== undefined) {
        this.log.info({ object: this.options.node }, 'the node may announce again');
      }
      this.reportedExclusion = exclusion;
    }
    const skipped = plan.skippedPeers.map((peer) => `${peer.peer}: ${peer.reason}`).join('\n');
    if (skipped !== this.reportedSkippedPeers) {
      for (const peer of plan.skippedPeers) {
        this.log.warn(
          { object: `${this.options.namespace}/${peer.peer}`, kind: 'BGPPeer', reason: peer.reason },
          'BGPPeer selects this node but is left out of its FRR configuration',
        );
      }
      this.reportedSkippedPeers = skipped;
    }
  }

  private reportServices(plan: BgpPlan, servicesByKey: ReadonlyMap<string, V1Service>): void {
    const { events, reported } = serviceOutcomeEvents(this.reportedOutcomes, plan);
    this.reportedOutcomes = reported;
    for (const event of events) {
      const regarding = this.serviceReference(event.service, servicesByKey);
      const fields = { object: serviceKey(event.service), reason: event.reason };
      if (event.type === 'Warning') this.log.warn(fields, event.note);
      else this.log.info(fields, event.note);
      this.options.events.event(regarding, event.type, event.reason, 'Announce', event.note);
    }
  }

  private serviceReference(ref: ServiceRef, servicesByKey: ReadonlyMap<string, V1Service>): ObjectReference {
    const uid = servicesByKey.get(serviceKey(ref))?.metadata?.uid;
    return {
      apiVersion: 'v1',
      kind: 'Service',
      namespace: ref.namespace,
      name: ref.name,
      ...(uid ? { uid } : {}),
    };
  }
}
