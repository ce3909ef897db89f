/**
 * BGPSessionState: one object per BGP session this node's speaker configured (one per BGPPeer it peers
 * with), holding what FRR says about it, so `kubectl get bgpsessionstates` answers "is my peer up" without
 * logs or metrics.
 *
 * Writes are bounded: an object is written only when a field changes (the uptime is kept as the time the
 * session was established, which does not move while it stays up), and at most once per object per
 * `minWriteIntervalMs`; a change held back is written by a later poll. Objects for sessions no longer
 * configured are deleted. Names are deterministic and objects carry this node's label, so a restarted
 * speaker finds (and cleans) its own; the Node owns them, so deleting the Node collects them.
 */
import type { BGPSessionState, BGPSessionStateStatus } from '../api/types.generated.js';
import { systemClock, type Clock, type Timer } from '../runtime/clock.js';
import { deepEqual } from '../runtime/controller.js';
import type { ObjectCache } from '../runtime/informer.js';
import { silentLogger, type Logger } from '../runtime/logging.js';
import type { Applier } from '../runtime/ssa.js';
import { emptySnapshot, type ConfiguredSession, type FrrSnapshot } from './bgp/frr-metrics.js';
import { lastErrorOf } from './bgp/sessions.js';
import { hashedObjectName, shortHash } from './status-writes.js';
import { STATUS_NODE_LABEL, type StatusOwner } from './status.js';

export const SESSION_NODE_LABEL = STATUS_NODE_LABEL;
export const SESSION_PEER_LABEL = 'metallb.io/peer';
export const SESSION_VRF_LABEL = 'metallb.io/vrf';

/** bfdStatus of a session whose BGPPeer has no BFD profile (the value frr-k8s uses). */
export const NO_BFD = 'N/A';

const apiVersion = 'metallb.io/v1beta1';
const kind = 'BGPSessionState';
const maxLabelLength = 63;
/** FRR reports the establishment time in whole seconds computed from two clocks: it wobbles by one. */
const establishedJitterSeconds = 2;

/** `<node>-<peer>-<10 hex of sha256(node, peer, vrf)>`, the readable part shortened to fit a DNS subdomain. */
export function sessionStateName(node: string, peer: string, vrf: string): string {
  return hashedObjectName(`${node}-${peer}`, `${node}\n${peer}\n${vrf}`);
}

/** A label value for a name that may be longer than a label allows (63): cut, with a hash to stay unique. */
export function labelValue(text: string): string {
  if (text.length <= maxLabelLength) return text;
  const hash = shortHash(text);
  const head = text.slice(0, maxLabelLength - 1 - hash.length).replace(/[^A-Za-z0-9]+$/, '');
  return `${head}-${hash}`;
}

/** The label selector of this node's objects. */
export function sessionStateSelector(node: string): string {
  return `${SESSION_NODE_LABEL}=${labelValue(node)}`;
}

/** "90s", "1.5s": milliseconds as the duration strings BGPPeer's timers use. */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * The establishment time to report: FRR's, unless the session was already reported established at a time
 * within FRR's rounding wobble of it (then the reported one stays, and nothing is written).
 */
function establishedSince(epochSeconds: number, previous: BGPSessionStateStatus | undefined): string {
  const before = previous?.bgpStatus === 'Established' ? previous.establishedSince : undefined;
  if (before !== undefined) {
    const beforeMs = Date.parse(before);
    if (Math.abs(beforeMs - epochSeconds * 1000) <= establishedJitterSeconds * 1000) return before;
  }
  return isoSeconds(epochSeconds);
}

function bfdStatusOf(session: ConfiguredSession, snapshot: FrrSnapshot): string {
  if (!session.bfd) return NO_BFD;
  const peer = snapshot.bfdPeers.find((p) => p.vrf === session.vrf && p.peer === session.neighbor);
  if (peer) return peer.status;
  // An unnumbered session's BFD peer is keyed by a link-local address: bgpd's view of it then.
  const neighbor = snapshot.neighbors.find((n) => n.vrf === session.vrf && n.neighbor === session.neighbor);
  return neighbor?.bfdStatus?.toLowerCase() ?? 'unknown';
}

/** One session's status from one FRR snapshot; `previous` is what the object says now, if it exists. */
export function sessionStatus(
  node: string,
  session: ConfiguredSession,
  snapshot: FrrSnapshot,
  previous?: BGPSessionStateStatus,
): BGPSessionStateStatus {
  const neighbor = snapshot.neighbors.find((n) => n.vrf === session.vrf && n.neighbor === session.neighbor);
  const established = neighbor?.established === true;
  const lastError = snapshot.bgpReachable ? lastErrorOf(neighbor) : 'bgpd does not answer';
  return {
    node,
    peer: session.peer,
    ...(session.vrf !== 'default' ? { vrf: session.vrf } : {}),
    peerAddress: session.neighbor,
    bgpStatus: neighbor?.state ?? 'Unknown',
    bfdStatus: bfdStatusOf(session, snapshot),
    ...(established && neighbor.establishedEpochSeconds !== undefined
      ? { establishedSince: establishedSince(neighbor.establishedEpochSeconds, previous) }
      : {}),
    prefixesSent: neighbor?.prefixesSent ?? 0,
    prefixesReceived: neighbor?.prefixesReceived ?? 0,
    ...(established && neighbor.holdTimeMs > 0 ? { holdTime: formatSeconds(neighbor.holdTimeMs) } : {}),
    ...(established && neighbor.keepaliveMs > 0
      ? { keepaliveTime: formatSeconds(neighbor.keepaliveMs) }
      : {}),
    ...(lastError ? { lastError } : {}),
  };
}

export interface DesiredSessionStatesInput {
  readonly node: string;
  readonly namespace: string;
  readonly owner?: StatusOwner | undefined;
  readonly sessions: readonly ConfiguredSession[];
  readonly snapshot: FrrSnapshot;
  /** This node's objects as they are now, for the establishment time already reported. */
  readonly existing: readonly BGPSessionState[];
}

/** The BGPSessionState objects this node should have, by name. */
export function desiredSessionStates(input: DesiredSessionStatesInput): Map<string, BGPSessionState> {
  const { node, namespace, owner } = input;
  const existing = new Map(input.existing.map((object) => [object.metadata?.name ?? '', object]));
  const desired = new Map<string, BGPSessionState>();
  for (const session of input.sessions) {
    const name = sessionStateName(node, session.peer, session.vrf);
    desired.set(name, {
      apiVersion,
      kind,
      metadata: {
        name,
        namespace,
        labels: {
          [SESSION_NODE_LABEL]: labelValue(node),
          [SESSION_PEER_LABEL]: labelValue(session.peer),
          ...(session.vrf !== 'default' ? { [SESSION_VRF_LABEL]: labelValue(session.vrf) } : {}),
        },
        ...(owner
          ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: owner.name, uid: owner.uid }] }
          : {}),
      },
      status: sessionStatus(node, session, input.snapshot, existing.get(name)?.status),
    });
  }
  return desired;
}

export interface SessionStateChanges {
  /** Objects to create, or whose labels or owner need applying. */
  readonly applyMetadata: readonly BGPSessionState[];
  /** Objects whose status needs applying (includes every new one). */
  readonly applyStatus: readonly BGPSessionState[];
  /** This node's objects for sessions no longer configured. */
  readonly remove: readonly BGPSessionState[];
}

function labelsMatch(want: BGPSessionState, have: BGPSessionState): boolean {
  const present = have.metadata?.labels ?? {};
  return Object.entries(want.metadata.labels ?? {}).every(([key, value]) => present[key] === value);
}

function ownerMatches(want: BGPSessionState, have: BGPSessionState): boolean {
  const present = have.metadata?.ownerReferences ?? [];
  return (want.metadata.ownerReferences ?? []).every((ref) =>
    present.some((p) => p.uid === ref.uid && p.kind === ref.kind),
  );
}

/** What differs between what this node should have and what the cache holds for it. */
export function sessionStateChanges(
  desired: ReadonlyMap<string, BGPSessionState>,
  existing: readonly BGPSessionState[],
): SessionStateChanges {
  const byName = new Map(existing.map((object) => [object.metadata?.name ?? '', object]));
  const applyMetadata: BGPSessionState[] = [];
  const applyStatus: BGPSessionState[] = [];
  for (const [name, want] of desired) {
    const have = byName.get(name);
    if (!have || !labelsMatch(want, have) || !ownerMatches(want, have)) applyMetadata.push(want);
    if (!have || !deepEqual(want.status ?? {}, have.status ?? {})) applyStatus.push(want);
  }
  const remove = existing.filter((object) => !desired.has(object.metadata?.name ?? ''));
  return { applyMetadata, applyStatus, remove };
}

/** At most one write per key per interval; remembers only keys written within the last interval. */
export class WriteLimiter {
  private readonly lastWrite = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  allows(key: string, now: number): boolean {
    const last = this.lastWrite.get(key);
    return last === undefined || now - last >= this.intervalMs;
  }

  record(key: string, now: number): void {
    this.lastWrite.set(key, now);
    for (const [other, at] of this.lastWrite) if (now - at >= this.intervalMs) this.lastWrite.delete(other);
  }
}

export interface SessionStateWriterOptions {
  readonly applier: Pick<Applier, 'apply' | 'applyStatus' | 'deleteIfExists'>;
  /** BGPSessionState objects in the MetalLB namespace labelled with this node. */
  readonly cache: ObjectCache<BGPSessionState>;
  readonly node: string;
  readonly namespace: string;
  /** The sessions configured now; undefined until the speaker has planned them (nothing is written before). */
  readonly sessions: () => readonly ConfiguredSession[] | undefined;
  readonly read: () => Promise<FrrSnapshot>;
  readonly owner?: () => StatusOwner | undefined;
  /**
   * Report sessions as Unknown when bgpd does not answer; otherwise leave the objects as they are then (a
   * speaker that cannot reach FRR's sockets must not contradict what is true). Default true.
   */
  readonly unknownWhenUnreachable?: boolean;
  readonly clock?: Clock;
  /** How often FRR is read; default 2 s. */
  readonly intervalMs?: number;
  /** The least time between two writes of one object; default 3 s. */
  readonly minWriteIntervalMs?: number;
  readonly logger?: Logger;
}

/** Polls FRR and keeps this node's BGPSessionState objects in line with it. */
export class SessionStateWriter {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly limiter: WriteLimiter;
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: SessionStateWriterOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({ subsystem: 'session-state' });
    this.limiter = new WriteLimiter(options.minWriteIntervalMs ?? 3000);
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.running;
  }

  /** One pass: read FRR, write what changed (as far as the limiter allows); throws if any write failed. */
  async sync(): Promise<void> {
    const { cache, node, namespace } = this.options;
    // Without the list the writer cannot tell leftovers from current objects (nor, without the CRD, write).
    if (!cache.hasSynced()) return;
    const sessions = this.options.sessions();
    if (sessions === undefined) return;
    // No session, nothing to read (a layer-2-only speaker never calls vtysh for this).
    const snapshot: FrrSnapshot =
      sessions.length > 0 ? await this.options.read() : { ...emptySnapshot, bgpReachable: true };
    if (!snapshot.bgpReachable && this.options.unknownWhenUnreachable === false) return;
    const nodeLabel = labelValue(node);
    const ours = cache.list().filter((object) => object.metadata?.labels?.[SESSION_NODE_LABEL] === nodeLabel);
    const desired = desiredSessionStates({
      node,
      namespace,
      owner: this.options.owner?.(),
      sessions,
      snapshot,
      existing: ours,
    });
    const changes = sessionStateChanges(desired, ours);
    const errors: unknown[] = [];
    const write = async (object: BGPSessionState, what: string, action: () => Promise<unknown>) => {
      const name = object.metadata?.name ?? '';
      const now = this.clock.now();
      if (!this.limiter.allows(name, now)) return; // a later poll writes it
      this.limiter.record(name, now);
      const ref = { object: `${namespace}/${name}` };
      try {
        await action();
        this.log.debug({ ...ref, status: object.status }, what);
      } catch (error) {
        errors.push(error);
        this.log.warn({ ...ref, err: error }, `cannot ${what}`);
      }
    };
    const needsMetadata = new Set(changes.applyMetadata.map((object) => object.metadata.name));
    const statusNames = new Set(changes.applyStatus.map((object) => object.metadata.name));
    for (const object of changes.applyStatus) {
      await write(object, 'write BGPSessionState', async () => {
        // The status subresource ignores metadata and the main resource ignores status: two applies.
        if (needsMetadata.has(object.metadata.name)) await this.options.applier.apply(object);
        await this.options.applier.applyStatus(object);
      });
    }
    for (const object of changes.applyMetadata) {
      if (statusNames.has(object.metadata.name)) continue;
      await write(object, 'label BGPSessionState', () => this.options.applier.apply(object));
    }
    for (const object of changes.remove) {
      const name = object.metadata?.name ?? '';
      const uid = object.metadata?.uid;
      await write(object, 'delete BGPSessionState of a session no longer configured', () =>
        this.options.applier.deleteIfExists({ apiVersion, kind, name, namespace }, uid ? { uid } : {}),
      );
    }
    if (errors.length > 0) {
      throw new AggregateError(errors, `${errors.length} BGPSessionState write(s) failed`);
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimer(delayMs, () => {
      this.running = this.sync()
        .catch((error: unknown) => this.log.warn({ err: error }, 'updating BGPSessionState objects failed'))
        .finally(() => this.schedule(this.options.intervalMs ?? 2000));
    });
  }
}
