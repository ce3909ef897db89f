/**
 * Admission judged against the watch caches plus what this process admitted that the caches do not show yet.
 *
 * Two pools with overlapping ranges sent at the same instant each reach the webhook before either is stored;
 * judged against the stored objects alone, both pass. Here every decision is made in one synchronous step
 * (build the view, judge, remember), so JavaScript's single thread serializes them: the second request is
 * judged against a view that already holds the first. An admitted create or update is remembered ("pending")
 * until the cache shows that object in a state other than the one it was judged against (created, updated
 * or deleted since), or until `pendingTtlMs` passes: an object admitted here can still be refused later in
 * the API server (another webhook, a conflict, a quota), and then it must stop blocking others. Dry runs are
 * judged the same way but never remembered, since they are never stored.
 *
 * This holds within one process. Two webhook replicas each know only what they admitted themselves; see the
 * README (Admission) for how the install keeps to one.
 */
import { configInputOf, configInputKeys, type ConfigInputKey } from '../api/kinds.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import type { KubeObject } from '../runtime/kube-object.js';
import { silentLogger, type Logger } from '../runtime/logging.js';
import { decideAdmission, judgeView, type ClusterView, type Judgement } from './admission-policy.js';
import { trimConfigObject, type ClusterCacheKey, type ClusterCaches } from './cluster-cache.js';
import type { AdmissionRequest, AdmissionVerdict } from './server.js';

type RawObject = Record<string, unknown>;

/** How long an admitted object counts without the cache showing it; the watch normally shows it in ms. */
export const defaultPendingTtlMs = 10_000;

export interface SerializedAdmissionOptions {
  readonly caches: ClusterCaches;
  readonly namespace: string;
  readonly pendingTtlMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

interface PendingAdmission {
  readonly kind: string;
  readonly object: KubeObject;
  /** The admitted object's uid; another object of the same name (an older one being deleted) is not it. */
  readonly uid: string | undefined;
  /** The resourceVersion an update was judged against; undefined for a create. */
  readonly judgedAgainst: string | undefined;
  readonly expiresAt: number;
}

function metadataOf(object: RawObject | KubeObject | null | undefined): RawObject {
  const metadata = (object as RawObject | null | undefined)?.metadata;
  return metadata && typeof metadata === 'object' ? (metadata as RawObject) : {};
}

function stringField(record: RawObject, field: string): string | undefined {
  const value = record[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export class SerializedAdmission {
  private readonly pending = new Map<ConfigInputKey, Map<string, PendingAdmission>>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly pendingTtlMs: number;
  /**
   * Counts every change to what view() returns (a cache event, a pending admission added or dropped), so
   * the judgement of the unchanged view is computed once, not once per request: with 1,000 pools it costs
   * as much as judging the request itself.
   */
  private generation = 0;
  private baseline: { readonly generation: number; readonly judgement: Judgement } | undefined;

  constructor(private readonly options: SerializedAdmissionOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger();
    this.pendingTtlMs = options.pendingTtlMs ?? defaultPendingTtlMs;
    for (const key of configInputKeys) {
      this.pending.set(key, new Map());
      options.caches[key].addHandler({
        onAdd: (object) => this.observe(key, object),
        onUpdate: (_old, object) => this.observe(key, object),
        onDelete: (object) => this.observe(key, object),
      });
    }
    const changed = () => {
      this.generation += 1;
    };
    for (const key of ['secrets', 'nodes', 'namespaces'] as const satisfies readonly ClusterCacheKey[]) {
      options.caches[key].addHandler({ onAdd: changed, onUpdate: changed, onDelete: changed });
    }
  }

  /**
   * Judges a request against the caches plus the pending admissions, and remembers it if it is an admitted
   * create or update that will be stored. Synchronous on purpose: nothing else runs in between.
   */
  decide(request: AdmissionRequest): AdmissionVerdict {
    this.expire();
    const view = this.view();
    const verdict = decideAdmission(request, view, this.options.namespace, () => this.judged(view));
    if (verdict.allowed && !request.dryRun) this.remember(request);
    return verdict;
  }

  /** How many admitted objects the caches do not show yet. */
  get pendingCount(): number {
    let count = 0;
    for (const byName of this.pending.values()) count += byName.size;
    return count;
  }

  /** The cached objects, with each pending object in place of (or next to) its cached state. */
  view(): ClusterView {
    const { caches } = this.options;
    const lists = {} as Record<ConfigInputKey, readonly RawObject[]>;
    for (const key of configInputKeys) {
      const pendingByName = this.pending.get(key) ?? new Map<string, PendingAdmission>();
      const cached: RawObject[] = caches[key].list();
      if (pendingByName.size === 0) {
        lists[key] = cached;
        continue;
      }
      const merged = cached.filter((object) => {
        const name = stringField(metadataOf(object), 'name');
        return name === undefined || !pendingByName.has(name);
      });
      for (const entry of pendingByName.values()) merged.push(entry.object as RawObject);
      lists[key] = merged;
    }
    return {
      ...lists,
      secrets: caches.secrets.list(),
      nodes: caches.nodes.list(),
      namespaces: caches.namespaces.list(),
    };
  }

  /** The judgement of `view`, which is this generation's. */
  private judged(view: ClusterView): Judgement {
    if (this.baseline?.generation !== this.generation) {
      this.baseline = { generation: this.generation, judgement: judgeView(view, this.options.namespace) };
    }
    return this.baseline.judgement;
  }

  private remember(request: AdmissionRequest): void {
    if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return;
    const key = configInputOf(request.kind.kind);
    const object = request.object;
    if (key === undefined || !object) return;
    const metadata = metadataOf(object);
    const name = stringField(metadata, 'name') ?? request.name;
    if (name === undefined) return;
    const trimmed = trimConfigObject({
      ...object,
      metadata: { ...metadata, name, namespace: this.options.namespace },
    } as KubeObject);
    this.generation += 1;
    this.pending.get(key)?.set(name, {
      kind: request.kind.kind,
      object: trimmed,
      uid: stringField(metadata, 'uid') ?? stringField(metadataOf(request.oldObject), 'uid'),
      judgedAgainst:
        request.operation === 'UPDATE'
          ? stringField(metadataOf(request.oldObject), 'resourceVersion')
          : undefined,
      expiresAt: this.clock.now() + this.pendingTtlMs,
    });
  }

  /** The cache moved past the state a pending admission was judged against: the cache is the truth again. */
  private observe(key: ConfigInputKey, object: KubeObject): void {
    // The cache changed, whether or not a pending admission is settled by it.
    this.generation += 1;
    const name = object.metadata?.name;
    const byName = this.pending.get(key);
    const entry = name === undefined ? undefined : byName?.get(name);
    if (!entry || name === undefined) return;
    const uid = object.metadata?.uid;
    if (entry.uid !== undefined && uid !== undefined && uid !== entry.uid) return;
    if (entry.judgedAgainst !== undefined && object.metadata?.resourceVersion === entry.judgedAgainst) return;
    byName?.delete(name);
  }

  private expire(): void {
    const now = this.clock.now();
    for (const byName of this.pending.values()) {
      for (const [name, entry] of byName) {
        if (entry.expiresAt > now) continue;
        byName.delete(name);
        this.generation += 1;
        this.log.info(
          { object: `${entry.kind}/${this.options.namespace}/${name}`, pendingTtlMs: this.pendingTtlMs },
          'an admitted object never reached the cache (refused later by the API server?); no longer counting it',
        );
      }
    }
  }
}
