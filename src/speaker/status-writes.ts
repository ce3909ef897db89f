/**
 * Writing a node's status objects (ServiceBGPStatus, ServiceL2Status): the shared half of both writers.
 * Each kind decides what should change; this applies it the same way for all of them. A status subresource
 * ignores metadata and the main resource ignores status, so an object whose labels, annotations or owner
 * changed and whose status changed takes two applies. One failed write does not stop the others: every
 * failure is logged and they are thrown together at the end, so the caller's work queue retries.
 */
import { createHash } from 'node:crypto';
import type { ObjectCache } from '../runtime/informer.js';
import type { KubeObject } from '../runtime/kube-object.js';
import type { Logger } from '../runtime/logging.js';
import type { Applier } from '../runtime/ssa.js';

type StatusObject = KubeObject & { readonly status?: unknown };

const maxNameLength = 253;

/** 10 hex digits of sha256: short enough for names and labels, unique enough for a node's objects. */
export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 10);
}

/**
 * `<readable>-<shortHash(identity)>`: deterministic, so writing is an idempotent apply and a restarted speaker
 * finds its own objects; the readable part is shortened to fit a DNS subdomain, the hash keeps it unique.
 */
export function hashedObjectName(readable: string, identity: string): string {
  const hash = shortHash(identity);
  const room = maxNameLength - 1 - hash.length;
  const part = readable.length <= room ? readable : readable.slice(0, room).replace(/[.-]+$/, '');
  return `${part}-${hash}`;
}

export interface StatusChanges<T extends StatusObject> {
  /** Objects to create, or whose labels, annotations or owner need applying. */
  readonly applyMetadata: readonly T[];
  /** Objects whose status needs applying (includes every new one). */
  readonly applyStatus: readonly T[];
  /** Objects that are no longer true. */
  readonly remove: readonly T[];
}

/** What a node's status writer needs: where to write, what the cache holds, and which node it writes for. */
export interface StatusWriterOptions<T> {
  readonly applier: Pick<Applier, 'apply' | 'applyStatus' | 'deleteIfExists'>;
  readonly cache: ObjectCache<T>;
  readonly node: string;
  readonly logger?: Logger;
}

export interface StatusKind {
  readonly apiVersion: string;
  readonly kind: string;
}

export async function writeStatusChanges<T extends StatusObject>(
  applier: Pick<Applier, 'apply' | 'applyStatus' | 'deleteIfExists'>,
  type: StatusKind,
  changes: StatusChanges<T>,
  log: Logger,
): Promise<void> {
  const errors: unknown[] = [];
  const attempt = async (what: string, object: T, write: () => Promise<unknown>) => {
    const name = `${object.metadata?.namespace}/${object.metadata?.name}`;
    try {
      await write();
      log.debug({ object: name }, what);
    } catch (error) {
      errors.push(error);
      log.warn({ object: name, err: error }, `cannot ${what}`);
    }
  };
  const metadataChanged = new Set(changes.applyMetadata);
  const statusChanged = new Set(changes.applyStatus);
  for (const object of new Set([...changes.applyMetadata, ...changes.applyStatus])) {
    await attempt(`write ${type.kind}`, object, async () => {
      if (metadataChanged.has(object)) await applier.apply(object);
      if (statusChanged.has(object)) await applier.applyStatus(object);
    });
  }
  for (const object of changes.remove) {
    const { name = '', namespace, uid } = object.metadata ?? {};
    await attempt(`delete stale ${type.kind}`, object, () =>
      applier.deleteIfExists(
        { apiVersion: type.apiVersion, kind: type.kind, name, ...(namespace ? { namespace } : {}) },
        uid ? { uid } : {},
      ),
    );
  }
  if (errors.length > 0) throw new AggregateError(errors, `${errors.length} ${type.kind} write(s) failed`);
}
