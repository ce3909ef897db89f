/**
 * Brings the rendered objects into the cluster with server-side apply, sending a request only for objects
 * whose live version (from the informer cache) lacks some desired field, and deletes what an earlier render
 * created and the current one no longer does.
 *
 * Two cases where the cache alone would ask for a pointless apply are remembered per object: the server
 * stores our last apply in a form of its own that the comparison cannot match, or the cache has not yet
 * seen our last write. Either way the live resourceVersion is one we know (the one our apply returned, or the
 * one it replaced) and the desired body is the one we applied then, so there is nothing to send.
 */
import type { Applier } from '../runtime/ssa.js';
import { applyBody } from '../runtime/ssa.js';
import { keyOf, type KubeObject } from '../runtime/kube-object.js';
import type { Logger } from '../runtime/logging.js';
import { firstDifference } from './drift.js';

export interface LiveObjects {
  live(object: KubeObject): KubeObject | undefined;
}

interface AppliedRecord {
  readonly body: string;
  readonly before: string | undefined;
  readonly after: string | undefined;
}

/** "Kind/name" or "Kind/namespace/name", for logs and events. */
export function describeKubeObject(object: KubeObject): string {
  const namespace = object.metadata?.namespace;
  return `${object.kind ?? '?'}/${namespace ? `${namespace}/` : ''}${object.metadata?.name ?? '?'}`;
}

function identity(object: KubeObject): string {
  return `${object.apiVersion ?? ''}/${object.kind ?? ''}/${keyOf(object.metadata?.namespace, object.metadata?.name ?? '')}`;
}

export interface ApplyOutcome {
  /** What the server returned for the objects that were applied, by "apiVersion/Kind/ns/name". */
  readonly applied: ReadonlyMap<string, KubeObject>;
}

export class ObjectSyncer {
  private readonly records = new Map<string, AppliedRecord>();

  constructor(
    private readonly applier: Pick<Applier, 'apply' | 'deleteIfExists'>,
    private readonly liveObjects: LiveObjects,
  ) {}

  /** The key `apply` uses for an object in its outcome. */
  static keyOf(object: KubeObject): string {
    return identity(object);
  }

  /** Applies, in order, every desired object whose live version differs; stops at the first failure. */
  async apply(desired: readonly KubeObject[], log: Logger, signal: AbortSignal): Promise<ApplyOutcome> {
    const applied = new Map<string, KubeObject>();
    for (const object of desired) {
      const body = applyBody(object);
      const key = identity(body);
      const live = this.liveObjects.live(body);
      const text = JSON.stringify(body);
      if (this.upToDate(key, text, body, live, log)) continue;
      const stored = await this.applier.apply(body, { signal });
      this.records.set(key, {
        body: text,
        before: live?.metadata?.resourceVersion,
        after: stored.metadata?.resourceVersion,
      });
      applied.set(key, stored);
    }
    return { applied };
  }

  /** Deletes each of `owned` that is not among `desired` (and not already on its way out). */
  async prune(
    desired: readonly KubeObject[],
    owned: readonly KubeObject[],
    signal: AbortSignal,
  ): Promise<string[]> {
    const wanted = new Set(desired.map(identity));
    const deleted: string[] = [];
    for (const object of owned) {
      if (wanted.has(identity(object)) || isTerminating(object)) continue;
      await this.delete(object, signal);
      deleted.push(describeKubeObject(object));
    }
    return deleted;
  }

  /** Deletes one object, unless it was replaced by a namesake meanwhile; workloads go after their pods. */
  async delete(object: KubeObject, signal: AbortSignal): Promise<boolean> {
    const { apiVersion, kind } = object;
    const name = object.metadata?.name;
    if (!apiVersion || !kind || !name) return false;
    const namespace = object.metadata?.namespace;
    this.records.delete(identity(object));
    const uid = object.metadata?.uid;
    return this.applier.deleteIfExists(
      { apiVersion, kind, name, ...(namespace ? { namespace } : {}) },
      {
        signal,
        ...(uid ? { uid } : {}),
        // Foreground: a Deployment or DaemonSet stays until its pods are gone, so "deleted" means gone.
        propagationPolicy: 'Foreground',
      },
    );
  }

  private upToDate(
    key: string,
    text: string,
    body: KubeObject,
    live: KubeObject | undefined,
    log: Logger,
  ): boolean {
    if (!live) return false;
    const difference = firstDifference(body, live);
    if (difference === undefined) return true;
    const record = this.records.get(key);
    const version = live.metadata?.resourceVersion;
    if (
      record?.body === text &&
      version !== undefined &&
      (version === record.after || version === record.before)
    ) {
      return true;
    }
    log.debug(
      { target: describeKubeObject(body), field: difference },
      'live object differs from the desired one',
    );
    return false;
  }
}

export function isTerminating(object: KubeObject): boolean {
  return Boolean((object.metadata as { deletionTimestamp?: unknown } | undefined)?.deletionTimestamp);
}
