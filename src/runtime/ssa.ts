/**
 * Server-side apply helpers. Apply sends only the fields we own, under our field manager, with force (the
 * SSA documentation's advice for controllers). A no-change apply is free only if the server would store
 * exactly what we send, so objects are canonicalised first: nulls, undefineds and empty lists go (the server
 * drops them from built-in kinds and re-adding them every pass looks like a change), as do fields the server
 * owns (resourceVersion, uid, managedFields, …) and `status`, which has its own subresource and manager.
 */
import type { KubeObject } from './kube-object.js';
import { apiStatus, type CallOptions, type RawClient } from './raw-client.js';
import { objectPath, ResourceResolver } from './resources.js';

const dropped = Symbol('dropped');

/**
 * A copy without undefined/null values and empty arrays, and without objects that only became empty because
 * of that. A literal `{}` stays: `emptyDir: {}` means something. Dates become metav1.Time strings (whole
 * seconds), as the server would store them.
 */
export function canonicalize<T>(value: T): T {
  const result = canonical(value, '');
  return (result === dropped ? undefined : result) as T;
}

function canonical(value: unknown, path: string): unknown {
  if (value === undefined || value === null) return dropped;
  if (value instanceof Date) return value.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new Error(`cannot apply ${path || 'value'}: ${value} is not a JSON number`);
  }
  if (Array.isArray(value)) {
    const items = value.map((item, i) => canonical(item, `${path}[${i}]`)).filter((item) => item !== dropped);
    return items.length === 0 ? dropped : items;
  }
  if (typeof value === 'object') {
    const source = value as Record<string, unknown>;
    const entries = Object.entries(source)
      .map(([key, field]) => [key, canonical(field, path ? `${path}.${key}` : key)] as const)
      .filter(([, field]) => field !== dropped);
    if (entries.length === 0 && Object.keys(source).length > 0) return dropped;
    return Object.fromEntries(entries);
  }
  return value;
}

/** metadata the server fills in; sending resourceVersion or uid would even turn them into preconditions. */
const serverOwnedMetadata = [
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
] as const;

/** The body to apply for `object`: canonical, without server-owned metadata and without status. */
export function applyBody<T extends KubeObject>(object: T): T {
  const { status: _status, ...rest } = object as T & { status?: unknown };
  const metadata: Record<string, unknown> = { ...(object.metadata ?? {}) };
  for (const field of serverOwnedMetadata) delete metadata[field];
  return canonicalize({ ...rest, metadata } as unknown as T);
}

export interface ObjectTarget {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export interface ApplierOptions {
  readonly client: Pick<RawClient, 'apply' | 'delete' | 'get'>;
  /** Owns the fields this binary applies, e.g. "metallb-operator". */
  readonly fieldManager: string;
  /** Owns the status fields; default `${fieldManager}-status`. */
  readonly statusFieldManager?: string;
  /** Default: a resolver over the same client (static table, then discovery). */
  readonly resolver?: ResourceResolver;
}

export interface ApplyOptions extends CallOptions {
  /** Take over fields another manager owns; default true. */
  readonly force?: boolean;
}

export interface DeleteIfExistsOptions extends CallOptions {
  /** Only if the live object still has this uid (a recreated namesake is left alone). */
  readonly uid?: string;
  /** Default Background, so dependents are collected without holding up the call. */
  readonly propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
}

export class Applier {
  private readonly resolver: ResourceResolver;

  constructor(private readonly options: ApplierOptions) {
    this.resolver = options.resolver ?? new ResourceResolver(options.client);
  }

  /** The object's URL path, resolving its kind. */
  async pathOf(target: ObjectTarget): Promise<string> {
    const type = await this.resolver.resolve(target.apiVersion, target.kind);
    return objectPath(type, target.namespace, target.name);
  }

  /** Applies `object` (spec and metadata; never status) and returns what the server stored. */
  async apply<T extends KubeObject>(object: T, options: ApplyOptions = {}): Promise<T> {
    const body = applyBody(object);
    const path = await this.pathOf(targetOf(body));
    return this.options.client.apply<T>(
      path,
      body,
      this.options.fieldManager,
      options.force ?? true,
      options,
    );
  }

  /**
   * Applies only `status`, through the status subresource and the status field manager. Fields of status
   * this manager applied before and leaves out now are removed.
   */
  async applyStatus<T extends KubeObject & { readonly status?: unknown }>(
    object: T,
    options: ApplyOptions = {},
  ): Promise<T> {
    const target = targetOf(object);
    const body = {
      apiVersion: target.apiVersion,
      kind: target.kind,
      metadata: { name: target.name, ...(target.namespace ? { namespace: target.namespace } : {}) },
      status: canonicalize(object.status) ?? {},
    };
    const path = `${await this.pathOf(target)}/status`;
    const manager = this.options.statusFieldManager ?? `${this.options.fieldManager}-status`;
    return this.options.client.apply<T>(path, body, manager, options.force ?? true, options);
  }

  /** Deletes the object; false if it was already gone (or, with `uid`, replaced by a namesake). */
  async deleteIfExists(target: ObjectTarget, options: DeleteIfExistsOptions = {}): Promise<boolean> {
    const path = await this.pathOf(target);
    try {
      await this.options.client.delete(path, {
        ...options,
        propagationPolicy: options.propagationPolicy ?? 'Background',
      });
      return true;
    } catch (error) {
      const status = apiStatus(error);
      if (status === 404 || (status === 409 && options.uid)) return false;
      throw error;
    }
  }
}

function targetOf(object: KubeObject): ObjectTarget {
  const { apiVersion, kind } = object;
  const name = object.metadata?.name;
  if (!apiVersion || !kind || !name) {
    throw new Error(
      `cannot apply an object without apiVersion, kind and metadata.name (got ${apiVersion ?? '?'} ${kind ?? '?'} "${name ?? ''}")`,
    );
  }
  const namespace = object.metadata?.namespace;
  return { apiVersion, kind, name, ...(namespace ? { namespace } : {}) };
}
