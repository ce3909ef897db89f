/**
 * The speaker's layer-2 path, next to the BGP one: liveness Leases, the layer-2 plan, the announcer, and
 * ServiceL2Status, events and metrics.
 *
 * Failover is its own fast path: a liveness change (a speaker died, left, or lost a link), or any input
 * change, reaches announcer.reconcile() after a 15 ms quiet time (at most 50 ms per burst), instead of the
 * BGP path's 200 ms–1 s. The pass itself is synchronous and reads only caches; status writes and events
 * follow asynchronously, one sync at a time, so a slow API server never delays answering.
 *
 * Nothing layer-2 starts (no Lease, no announcer, no raw sockets) until the configuration has an
 * L2Advertisement; it stays on from then until the process stops.
 *
 * Graceful handover: handOver() marks this node's Lease as leaving, so the others take its addresses at
 * once (without a duplicate-address probe, since the addresses were announced), waits until their
 * ServiceL2Status objects say they announce them (at most 1 s), and only then stops answering.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { ServiceL2Status } from '../api/types.generated.js';
import { buildConfig, type Config } from '../config/index.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import type { EventRecorder, ObjectReference } from '../runtime/events.js';
import type { ObjectCache } from '../runtime/informer.js';
import { silentLogger, type Logger } from '../runtime/logging.js';
import type { Applier } from '../runtime/ssa.js';
import { Debouncer } from './debounce.js';
import type { L2Announcer, L2ClaimState } from './l2/announcer.js';
import { SpeakerLiveness, type LeaseClient, type LivenessLease } from './l2/liveness.js';
import {
  ANNOUNCED_IPS_ANNOTATION,
  ServiceL2StatusWriter,
  announcedAddresses,
  describeConflict,
  desiredServiceL2Statuses,
} from './l2-status.js';
import type { SpeakerMetrics } from './metrics.js';
import { planL2, planNodeFromObject, serviceKey, type L2Plan, type ServiceRef } from './plan/index.js';
import { servesClass, type SpeakerCaches } from './reconciler.js';
import { STATUS_NODE_LABEL } from './status.js';

export type AnnouncerFactory = () => L2Announcer | Promise<L2Announcer>;

export interface Layer2Options {
  readonly node: string;
  readonly namespace: string;
  readonly lbClass?: string | undefined;
  readonly ignoreExcludeLabel: boolean;
  readonly caches: Omit<SpeakerCaches, 'statuses'>;
  /** Liveness Leases in the MetalLB namespace (LIVENESS_SELECTOR). */
  readonly leases: ObjectCache<LivenessLease>;
  /** Every ServiceL2Status in the MetalLB namespace. */
  readonly statuses: ObjectCache<ServiceL2Status>;
  readonly leaseClient: LeaseClient;
  readonly applier: Pick<Applier, 'apply' | 'applyStatus' | 'deleteIfExists'>;
  readonly createAnnouncer: AnnouncerFactory;
  readonly events: Pick<EventRecorder, 'event'>;
  readonly metrics: SpeakerMetrics;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Liveness timing; defaults in l2/liveness.ts. */
  readonly renewIntervalMs?: number;
  readonly deadAfterMs?: number;
  /** Reads which interfaces have carrier; default /sys/class/net. */
  readonly upInterfaces?: () => string[];
  /** How long handOver waits for the others; default 1 s. */
  readonly handOverTimeoutMs?: number;
}

interface Reported {
  /** Service key → addresses announced, as last reported in events. */
  readonly announced: Map<string, string>;
  /** ip → conflict text last reported. */
  readonly conflicts: Map<string, string>;
  readonly failures: Map<string, string>;
}

export class Layer2Speaker {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly debouncer: Debouncer;
  private readonly liveness: SpeakerLiveness;
  private readonly statusWriter: ServiceL2StatusWriter;
  private announcer: L2Announcer | undefined;
  private activating: Promise<void> | undefined;
  private lastGood: Config | undefined;
  private plan: L2Plan | undefined;
  private claimedIPs = new Set<string>();
  /** Addresses some node announced, as long as a Service still holds them. */
  private readonly announcedSeen = new Set<string>();
  private handingOver = false;
  private stopped = false;
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private readonly reported: Reported = { announced: new Map(), conflicts: new Map(), failures: new Map() };
  private readonly unsubscribers: (() => void)[] = [];

  constructor(private readonly options: Layer2Options) {
    this.log = (options.logger ?? silentLogger()).child({ subsystem: 'layer2' });
    this.clock = options.clock ?? systemClock;
    this.debouncer = new Debouncer({
      quietMs: 15,
      maxWaitMs: 50,
      fire: () => this.pass(),
      clock: this.clock,
    });
    this.liveness = new SpeakerLiveness({
      client: options.leaseClient,
      cache: options.leases,
      namespace: options.namespace,
      node: options.node,
      nodeUid: () => options.caches.nodes.get(options.node)?.metadata?.uid,
      onChange: () => this.debouncer.poke(),
      ...(options.upInterfaces ? { upInterfaces: options.upInterfaces } : {}),
      ...(options.renewIntervalMs !== undefined ? { renewIntervalMs: options.renewIntervalMs } : {}),
      ...(options.deadAfterMs !== undefined ? { deadAfterMs: options.deadAfterMs } : {}),
      clock: this.clock,
      logger: this.log,
    });
    this.statusWriter = new ServiceL2StatusWriter({
      applier: options.applier,
      cache: options.statuses,
      node: options.node,
      logger: this.log,
    });
  }

  /** Whether layer 2 runs (an L2Advertisement was seen). */
  get active(): boolean {
    return this.announcer !== undefined;
  }

  /** Subscribes to the caches; call once they are synced. */
  start(): void {
    const poke = () => this.debouncer.poke();
    const { caches } = this.options;
    for (const cache of [
      caches.services,
      caches.endpointSlices,
      caches.nodes,
      caches.pools,
      caches.l2Advertisements,
      caches.bgpAdvertisements,
      caches.peers,
      caches.bfdProfiles,
      caches.communities,
      caches.secrets,
    ] as ObjectCache<unknown>[]) {
      this.unsubscribers.push(cache.addHandler({ onAdd: poke, onUpdate: poke, onDelete: poke }));
    }
    // Other nodes' statuses tell which addresses they announce (handover, probe); ours are repaired.
    this.unsubscribers.push(this.options.statuses.addHandler({ onDelete: poke }));
    poke();
  }

  /** The synchronous pass: plan, and hand the claims to the announcer. */
  pass(): void {
    if (this.stopped) return;
    const config = this.loadConfig();
    if (!config) return;
    if (!this.announcer) {
      if (config.l2Advertisements.size > 0) this.activate();
      return;
    }
    const { caches, node } = this.options;
    const services: V1Service[] = caches.services
      .list()
      .filter((service) => servesClass(service, this.options.lbClass));
    const statuses = this.options.statuses.list();
    // Remembered across passes while a Service still holds the address: on a handover the leaving owner
    // deletes its ServiceL2Status before the new owner writes one, and a new owner that probed in that gap
    // would hear the old one still answering and refuse the address.
    for (const ip of announcedAddresses(statuses)) this.announcedSeen.add(ip);
    for (const ip of this.claimedIPs) {
      if (this.announcer.state(ip)?.phase === 'announcing') this.announcedSeen.add(ip);
    }
    const assigned = new Set(
      services.flatMap((service) =>
        (service.status?.loadBalancer?.ingress ?? []).map((entry) => entry.ip ?? ''),
      ),
    );
    for (const ip of this.announcedSeen) if (!assigned.has(ip)) this.announcedSeen.delete(ip);
    const announcedBefore = new Set(this.announcedSeen);
    for (const ip of this.claimedIPs) announcedBefore.add(ip);
    const live = this.liveness.live();
    const plan = planL2({
      config,
      node,
      nodes: caches.nodes.list().map(planNodeFromObject),
      live,
      resting: this.liveness.resting(),
      services,
      endpointSlices: caches.endpointSlices.list(),
      announcedBefore,
      ignoreExcludeLabel: this.options.ignoreExcludeLabel,
    });
    this.plan = plan;
    if (!this.handingOver) {
      this.announcer.reconcile(plan.claims);
      this.claimedIPs = new Set(plan.claims.map((claim) => claim.ip));
    }
    this.scheduleSync();
  }

  /**
   * Gives this node's addresses to the others before stopping: marks the Lease as leaving, waits (at most
   * handOverTimeoutMs) until other nodes' ServiceL2Status objects list every address this node answered
   * for, then stops answering.
   */
  async handOver(): Promise<void> {
    if (!this.announcer || this.handingOver) return;
    this.handingOver = true;
    const mine = [...this.claimedIPs];
    this.log.info({ addresses: mine.length }, 'handing layer-2 addresses over to the other speakers');
    await this.liveness.leave();
    const deadline = this.clock.now() + (this.options.handOverTimeoutMs ?? 1000);
    const takenOver = (): boolean => {
      const elsewhere = new Set<string>();
      for (const status of this.options.statuses.list()) {
        if (status.metadata?.labels?.[STATUS_NODE_LABEL] === this.options.node) continue;
        for (const ip of (status.metadata?.annotations?.[ANNOUNCED_IPS_ANNOTATION] ?? '').split(',')) {
          elsewhere.add(ip);
        }
      }
      // A node that took an address over announces it at once; hearing that (a conflict, to our responder)
      // is as good as its status, and comes a round trip through the API server sooner.
      return mine.every((ip) => elsewhere.has(ip) || this.announcer?.state(ip)?.phase === 'conflict');
    };
    while (!takenOver() && this.clock.now() < deadline) {
      await new Promise<void>((resolve) => this.clock.setTimer(20, resolve));
    }
    this.log.info({ takenOver: takenOver() }, 'layer-2 handover done; no longer answering');
    this.announcer.reconcile([]);
    this.claimedIPs = new Set();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.debouncer.stop();
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    await this.activating?.catch(() => undefined);
    await this.syncing;
    if (this.announcer) {
      await this.liveness.stop();
      await this.announcer.close();
    }
  }

  private activate(): void {
    this.activating ??= (async () => {
      this.log.info('an L2Advertisement exists; starting the layer-2 responder and the heartbeat');
      const announcer = await this.options.createAnnouncer();
      if (this.stopped) {
        await announcer.close();
        return;
      }
      announcer.onStateChange(() => this.scheduleSync());
      this.announcer = announcer;
      this.liveness.start();
      this.debouncer.poke();
    })().catch((error: unknown) => {
      this.log.error({ err: error }, 'cannot start the layer-2 responder; retrying on the next change');
      this.activating = undefined;
    });
  }

  private loadConfig(): Config | undefined {
    const { caches, namespace } = this.options;
    // The BGP reconciler reports an invalid configuration; this path keeps the last valid one quietly.
    const result = buildConfig({
      pools: caches.pools.list(),
      l2Advertisements: caches.l2Advertisements.list(),
      bgpAdvertisements: caches.bgpAdvertisements.list(),
      peers: caches.peers.list(),
      bfdProfiles: caches.bfdProfiles.list(),
      communities: caches.communities.list(),
      secrets: caches.secrets.list(),
      nodes: caches.nodes.list(),
      metallbNamespace: namespace,
    });
    if (result.ok) this.lastGood = result.config;
    return this.lastGood;
  }

  /** Status, events and metrics follow the plan and the announcer, one sync at a time. */
  private scheduleSync(): void {
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = (async () => {
      do {
        this.syncAgain = false;
        await this.sync().catch((error: unknown) =>
          this.log.warn({ err: error }, 'layer-2 status not fully written; retrying on the next change'),
        );
      } while (this.syncAgain && !this.stopped);
    })().finally(() => {
      this.syncing = undefined;
    });
  }

  private async sync(): Promise<void> {
    const plan = this.plan;
    const announcer = this.announcer;
    if (!plan || !announcer) return;
    const { node, namespace } = this.options;
    const state = (ip: string): L2ClaimState | undefined =>
      this.claimedIPs.has(ip) ? announcer.state(ip) : undefined;
    this.report(plan, state);
    const live = this.liveness.live();
    let announcing = 0;
    let conflicts = 0;
    const series: { service: string; ip: string }[] = [];
    for (const { service, ips } of plan.announced) {
      for (const ip of ips) {
        const phase = state(ip)?.phase;
        if (phase === 'announcing') {
          announcing += 1;
          series.push({ service: serviceKey(service), ip });
        } else if (phase === 'conflict') {
          conflicts += 1;
        }
      }
    }
    this.options.metrics.setAnnounced(node, series, 'layer2');
    this.options.metrics.setLayer2(node, announcing, conflicts, live.length);
    if (!this.options.statuses.hasSynced()) return;
    const uid = this.options.caches.nodes.get(node)?.metadata?.uid;
    await this.statusWriter.sync(
      desiredServiceL2Statuses(plan, state, namespace, uid ? { name: node, uid } : undefined),
      new Set(live.map((entry) => entry.node)),
    );
  }

  /** Events when this node starts or stops answering for a Service, and for conflicts and failures. */
  private report(plan: L2Plan, state: (ip: string) => L2ClaimState | undefined): void {
    const now = new Map<string, { service: ServiceRef; ips: string[] }>();
    for (const { service, ips } of plan.announced) {
      const announcing = ips.filter((ip) => state(ip)?.phase === 'announcing');
      if (announcing.length > 0) now.set(serviceKey(service), { service, ips: announcing });
      for (const ip of ips) {
        const current = state(ip);
        if (current?.phase === 'conflict') {
          const text = describeConflict(ip, current);
          if (this.reported.conflicts.get(ip) !== text) {
            this.reported.conflicts.set(ip, text);
            this.emit(
              service,
              'Warning',
              'addressConflict',
              `not announcing from node "${plan.node}": ${text}; probing again later`,
            );
          }
        } else {
          this.reported.conflicts.delete(ip);
        }
        if (current?.phase === 'failed') {
          if (this.reported.failures.get(ip) !== current.reason) {
            this.reported.failures.set(ip, current.reason);
            this.emit(
              service,
              'Warning',
              'announceFailed',
              `cannot announce ${ip} from node "${plan.node}": ${current.reason}`,
            );
          }
        } else {
          this.reported.failures.delete(ip);
        }
      }
    }
    for (const [key, { service, ips }] of now) {
      const text = ips.join(',');
      if (this.reported.announced.get(key) === text) continue;
      this.reported.announced.set(key, text);
      this.emit(
        service,
        'Normal',
        'nodeAssigned',
        `announcing ${ips.join(', ')} from node "${plan.node}" with protocol "layer2"`,
      );
    }
    for (const key of [...this.reported.announced.keys()]) {
      if (now.has(key)) continue;
      this.reported.announced.delete(key);
      const [namespace, name] = key.split('/') as [string, string];
      const owner = plan.owners.get(key);
      this.emit(
        { namespace, name },
        'Normal',
        'nodeUnassigned',
        `no longer announcing from node "${plan.node}" with protocol "layer2"${owner && owner !== plan.node ? `; node "${owner}" answers now` : ''}`,
      );
    }
  }

  private emit(service: ServiceRef, type: 'Normal' | 'Warning', reason: string, note: string): void {
    const uid = this.options.caches.services.get(serviceKey(service))?.metadata?.uid;
    const regarding: ObjectReference = {
      apiVersion: 'v1',
      kind: 'Service',
      namespace: service.namespace,
      name: service.name,
      ...(uid ? { uid } : {}),
    };
    const fields = { object: serviceKey(service), reason };
    if (type === 'Warning') this.log.warn(fields, note);
    else this.log.info(fields, note);
    this.options.events.event(regarding, type, reason, 'Announce', note);
  }
}
