/**
 * Which speakers are alive, for the layer-2 election: one coordination.k8s.io/v1 Lease per node
 * (`metallb-speaker-<node>` in the MetalLB namespace, labelled), renewed every 350 ms, watched by every
 * speaker. A speaker is dead when nobody saw its Lease change for 1.2 s, judged by the observer's own clock
 * from when it saw the change (as client-go's leader election does): renewTime comes from another machine's
 * clock and is never compared with ours.
 *
 * The Lease also carries which of the node's interfaces have carrier (an annotation), read from
 * /sys/class/net every 200 ms and written at once when it changes: a cut link makes the node ineligible for
 * claims on that interface about as fast as a dead speaker is noticed.
 *
 * A speaker whose own renewals fail considers itself dead once its last successful renewal was *sent*
 * longer ago than the dead time: the others saw that renewal no earlier than it was sent, so this speaker
 * stops claiming no later than they start, and two nodes never both answer for long.
 *
 * On a graceful stop the speaker first marks its Lease as leaving, which the others treat as dead at once,
 * and leaves it there. A Lease that is not live still counts as *resting* for ten minutes after its last
 * renewal: the layer-2 placement keeps resting nodes in its base (plan/l2.ts), so a dead, cut-off or
 * restarting speaker moves only its own addresses, and gets exactly those back. That window is judged from
 * the Lease's renewTime against this speaker's clock, so every speaker agrees on it (to within clock skew,
 * which is seconds against minutes) even one that started after the Lease went quiet. The Lease goes with
 * its Node (owner reference) or with the MetalLB resource (the operator deletes them).
 *
 * Cost per node at steady state: about 2.9 writes/s (one merge patch per renewal), plus about 2.9 watch
 * events/s per other speaker received by each speaker (N speakers: N × 2.9 writes/s in all, and each
 * speaker receives (N-1) × 2.9 events/s).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock, type Timer } from '../../runtime/clock.js';
import type { ObjectCache } from '../../runtime/informer.js';
import { silentLogger, type Logger } from '../../runtime/logging.js';
import { formatMicroTime, parseMicroTime } from '../../runtime/micro-time.js';
import { apiStatus, type CallOptions } from '../../runtime/raw-client.js';

export const LIVENESS_LABEL = 'metallb.io/speaker-liveness';
export const LIVENESS_NODE_LABEL = 'metallb.io/node';
export const INTERFACES_ANNOTATION = 'metallb.io/interfaces-up';
export const LEAVING_ANNOTATION = 'metallb.io/leaving';
/** The label selector of the Lease informer. */
export const LIVENESS_SELECTOR = `${LIVENESS_LABEL}=true`;

export const defaultRenewIntervalMs = 350;
export const defaultDeadAfterMs = 1200;
export const defaultLinkCheckMs = 200;
export const defaultRestingForMs = 10 * 60_000;

export interface LivenessLease {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly resourceVersion?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: { readonly holderIdentity?: string; readonly renewTime?: string };
}

/** A speaker seen alive, with the interfaces it reports up (sorted). */
export interface LiveNode {
  readonly node: string;
  readonly interfaces: readonly string[];
}

export function livenessLeaseName(node: string): string {
  const name = `metallb-speaker-${node}`;
  return name.length <= 253 ? name : name.slice(0, 253).replace(/[.-]+$/, '');
}

/** Interfaces (not loopback) whose carrier is up, sorted; a missing or unreadable sysfs gives none. */
export function readUpInterfaces(root = '/sys/class/net'): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names
    .filter((name) => name !== 'lo')
    .filter((name) => {
      try {
        // Reading carrier of a down interface fails with EINVAL.
        return readFileSync(join(root, name, 'carrier'), 'utf8').trim() === '1';
      } catch {
        return false;
      }
    })
    .sort();
}

function parseRenewTime(text: string | undefined): number | undefined {
  const parsed = text ? parseMicroTime(text) : Number.NaN;
  return Number.isNaN(parsed) ? undefined : parsed;
}

function parseInterfaces(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '')
    .sort();
}

/** The calls the heartbeat makes (RawClient has them). */
export interface LeaseClient {
  patch(
    path: string,
    patch: unknown,
    contentType: 'application/merge-patch+json',
    options?: CallOptions,
  ): Promise<unknown>;
  create(collectionPath: string, object: unknown, options?: CallOptions): Promise<unknown>;
}

export interface SpeakerLivenessOptions {
  readonly client: LeaseClient;
  /** Liveness Leases in the MetalLB namespace (LIVENESS_SELECTOR). */
  readonly cache: ObjectCache<LivenessLease>;
  readonly namespace: string;
  readonly node: string;
  /** The Node's uid, for an owner reference that lets the garbage collector remove the Lease with it. */
  readonly nodeUid?: () => string | undefined;
  /** Called (synchronously) whenever the set of live speakers or their interfaces changes. */
  readonly onChange: () => void;
  readonly upInterfaces?: () => string[];
  readonly renewIntervalMs?: number;
  readonly deadAfterMs?: number;
  readonly linkCheckMs?: number;
  /** How long after its last renewal a Lease that is not live keeps its node in the base placement. */
  readonly restingForMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

interface Observed {
  readonly node: string;
  readonly version: string;
  readonly seenAt: number;
  readonly leaving: boolean;
  readonly interfaces: readonly string[];
  /** spec.renewTime in ms since the epoch (the writer's clock), when set. */
  readonly renewedAt: number | undefined;
}

export class SpeakerLiveness {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly renewIntervalMs: number;
  private readonly deadAfterMs: number;
  private readonly linkCheckMs: number;
  private readonly restingForMs: number;
  private readonly observed = new Map<string, Observed>();
  private interfaces: string[] = [];
  private lastGoodWriteSentAt: number | undefined;
  private writing: Promise<void> | undefined;
  private writeAgain = false;
  private leaving = false;
  private running = false;
  private renewTimer: Timer | undefined;
  private linkTimer: Timer | undefined;
  private expiryTimer: Timer | undefined;
  private signature = '';
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: SpeakerLivenessOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({ subsystem: 'liveness' });
    this.renewIntervalMs = options.renewIntervalMs ?? defaultRenewIntervalMs;
    this.deadAfterMs = options.deadAfterMs ?? defaultDeadAfterMs;
    this.linkCheckMs = options.linkCheckMs ?? defaultLinkCheckMs;
    this.restingForMs = options.restingForMs ?? defaultRestingForMs;
  }

  get leaseName(): string {
    return livenessLeaseName(this.options.node);
  }

  /** Starts renewing this node's Lease and observing the others'. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.interfaces = this.readInterfaces();
    this.unsubscribe = this.options.cache.addHandler({
      onAdd: (lease) => this.observe(lease),
      onUpdate: (_old, lease) => this.observe(lease),
      onDelete: (lease) => this.forget(lease),
    });
    this.renew();
    this.checkLinks();
  }

  /** Whether this speaker's own heartbeat is current. */
  selfLive(): boolean {
    return (
      !this.leaving &&
      this.lastGoodWriteSentAt !== undefined &&
      this.clock.now() - this.lastGoodWriteSentAt < this.deadAfterMs
    );
  }

  /** The live speakers now, this one included while its heartbeat is current, sorted by node. */
  live(): LiveNode[] {
    const now = this.clock.now();
    const nodes: LiveNode[] = [];
    for (const entry of this.observed.values()) {
      if (entry.node === this.options.node || !this.isLive(entry, now)) continue;
      nodes.push({ node: entry.node, interfaces: entry.interfaces });
    }
    if (this.selfLive()) nodes.push({ node: this.options.node, interfaces: this.interfaces });
    return nodes.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  /**
   * Speakers with a Lease that are not live now (dead, cut off, leaving) and renewed it within the resting
   * time, this one included while its own heartbeat is not current; sorted by node.
   */
  resting(): LiveNode[] {
    const now = this.clock.now();
    const nodes: LiveNode[] = [];
    for (const entry of this.observed.values()) {
      if (entry.node === this.options.node || this.isLive(entry, now)) continue;
      if (entry.renewedAt === undefined || now - entry.renewedAt >= this.restingForMs) continue;
      nodes.push({ node: entry.node, interfaces: entry.interfaces });
    }
    if (this.running && this.lastGoodWriteSentAt !== undefined && !this.selfLive()) {
      nodes.push({ node: this.options.node, interfaces: this.interfaces });
    }
    return nodes.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  private isLive(entry: Observed, now: number): boolean {
    return !entry.leaving && now - entry.seenAt < this.deadAfterMs;
  }

  /** Tells the others this speaker is going (they take over at once); it keeps renewing until stop(). */
  async leave(): Promise<void> {
    if (this.leaving) return;
    this.leaving = true;
    this.notifyIfChanged();
    await this.writeNow();
  }

  /** Stops renewing; the Lease stays, resting (see the module comment). */
  async stop(): Promise<void> {
    this.running = false;
    for (const timer of [this.renewTimer, this.linkTimer, this.expiryTimer]) timer?.cancel();
    this.unsubscribe?.();
    await this.writing;
  }

  private get collection(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.options.namespace)}/leases`;
  }

  private leasePath(): string {
    return `${this.collection}/${encodeURIComponent(this.leaseName)}`;
  }

  private readInterfaces(): string[] {
    return (this.options.upInterfaces ?? readUpInterfaces)();
  }

  private renew(): void {
    if (!this.running) return;
    void this.writeNow();
    this.renewTimer = this.clock.setTimer(this.renewIntervalMs, () => this.renew());
  }

  private checkLinks(): void {
    if (!this.running) return;
    const now = this.readInterfaces();
    if (now.join(',') !== this.interfaces.join(',')) {
      this.log.info({ interfaces: now }, 'interfaces with carrier changed');
      this.interfaces = now;
      this.notifyIfChanged();
      void this.writeNow();
    }
    this.linkTimer = this.clock.setTimer(this.linkCheckMs, () => this.checkLinks());
  }

  /** One write at a time; a request while one is in flight makes one more afterwards. */
  private writeNow(): Promise<void> {
    if (this.writing) {
      this.writeAgain = true;
      return this.writing;
    }
    this.writing = (async () => {
      do {
        this.writeAgain = false;
        await this.writeOnce();
      } while (this.writeAgain && this.running);
    })().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  private desired(now: number) {
    const uid = this.options.nodeUid?.();
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.leaseName,
        namespace: this.options.namespace,
        labels: { [LIVENESS_LABEL]: 'true', [LIVENESS_NODE_LABEL]: this.options.node },
        annotations: {
          [INTERFACES_ANNOTATION]: this.interfaces.join(','),
          [LEAVING_ANNOTATION]: this.leaving ? 'true' : 'false',
        },
        ...(uid
          ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.options.node, uid }] }
          : {}),
      },
      spec: {
        holderIdentity: this.options.node,
        leaseDurationSeconds: Math.max(1, Math.ceil(this.deadAfterMs / 1000)),
        renewTime: formatMicroTime(now),
      },
    };
  }

  private async writeOnce(): Promise<void> {
    const sentAt = this.clock.now();
    const body = this.desired(sentAt);
    const wasLive = this.selfLive();
    try {
      try {
        await this.options.client.patch(this.leasePath(), body, 'application/merge-patch+json', {
          timeoutMs: this.deadAfterMs,
        });
      } catch (error) {
        if (apiStatus(error) !== 404) throw error;
        await this.options.client.create(this.collection, body, { timeoutMs: this.deadAfterMs });
      }
      this.lastGoodWriteSentAt = Math.max(this.lastGoodWriteSentAt ?? sentAt, sentAt);
      if (!wasLive) this.log.info('heartbeat written; this speaker may answer for addresses');
    } catch (error) {
      if (wasLive && !this.selfLive()) {
        this.log.warn({ err: error }, 'heartbeat not written in time; answering for nothing until it is');
      } else {
        this.log.debug({ err: error }, 'cannot write the heartbeat Lease');
      }
    }
    this.notifyIfChanged();
    this.armExpiry();
  }

  private observe(lease: LivenessLease): void {
    const node = lease.metadata?.labels?.[LIVENESS_NODE_LABEL] ?? lease.spec?.holderIdentity;
    if (!node || node === this.options.node) return;
    const version = `${lease.metadata?.resourceVersion ?? ''} ${lease.spec?.renewTime ?? ''}`;
    const previous = this.observed.get(node);
    const annotations = lease.metadata?.annotations ?? {};
    this.observed.set(node, {
      node,
      version,
      // Only a change counts as a sign of life; a resync or relist of the same version does not.
      seenAt: previous && previous.version === version ? previous.seenAt : this.clock.now(),
      leaving: annotations[LEAVING_ANNOTATION] === 'true',
      interfaces: parseInterfaces(annotations[INTERFACES_ANNOTATION]),
      renewedAt: parseRenewTime(lease.spec?.renewTime),
    });
    this.notifyIfChanged();
    this.armExpiry();
  }

  private forget(lease: LivenessLease): void {
    const node = lease.metadata?.labels?.[LIVENESS_NODE_LABEL] ?? lease.spec?.holderIdentity;
    if (!node) return;
    this.observed.delete(node);
    this.notifyIfChanged();
  }

  /** Wakes up when the next speaker (or this one) would be judged dead. */
  private armExpiry(): void {
    if (!this.running) return;
    const now = this.clock.now();
    const deadlines = [...this.observed.values()].flatMap((entry) => {
      if (this.isLive(entry, now)) return [entry.seenAt + this.deadAfterMs];
      const restsUntil = (entry.renewedAt ?? -Infinity) + this.restingForMs;
      return restsUntil > now ? [restsUntil] : [];
    });
    if (this.selfLive()) deadlines.push((this.lastGoodWriteSentAt as number) + this.deadAfterMs);
    if (deadlines.length === 0) return;
    const next = Math.min(...deadlines);
    this.expiryTimer?.cancel();
    this.expiryTimer = this.clock.setTimer(next - now, () => {
      this.expiryTimer = undefined;
      this.notifyIfChanged();
      this.armExpiry();
    });
  }

  private notifyIfChanged(): void {
    const describe = (entries: LiveNode[]) =>
      entries.map((entry) => `${entry.node}:${entry.interfaces.join(',')}`).join(' ');
    const signature = `${describe(this.live())} | ${describe(this.resting())}`;
    if (signature === this.signature) return;
    const before = this.signature;
    this.signature = signature;
    this.log.debug({ before, now: signature }, 'live speakers changed');
    this.options.onChange();
  }
}
