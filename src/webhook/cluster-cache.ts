/**
 * The objects admission decisions are judged against, from watch caches: the configuration kinds and the
 * Secrets of the MetalLB namespace, and the cluster's Nodes and Namespaces. Listing them live for every
 * request cost the API server nine lists per admission and made the webhook's latency and memory grow with
 * the configuration; a cache answers at once. A cache lags the API server by the watch's latency, which
 * serialized-admission.ts covers for what this process admitted itself.
 *
 * Each cache keeps only the fields the rules read (see the trims below): no managedFields, no
 * last-applied-configuration copy of the whole object, no Node status, and of a Secret only its type and
 * password.
 */
import { configInputKeys, configInputKinds, type ConfigInputKey } from '../api/kinds.js';
import { InformerFactory } from '../runtime/informer-factory.js';
import type { ObjectCache } from '../runtime/informer.js';
import type { KubeObject, ObjectMetaLike } from '../runtime/kube-object.js';
import type { Logger } from '../runtime/logging.js';
import type { RawClient } from '../runtime/raw-client.js';
import { apiResourceType, resourceTypeOf } from '../runtime/resources.js';

type RawObject = Record<string, unknown>;

/** What each cache holds: buildConfig's input lists plus the cluster objects the rules look at. */
export type ClusterCacheKey = ConfigInputKey | 'secrets' | 'nodes' | 'namespaces';

/** Cached objects are read as plain records by the rules. */
export type CachedObject = KubeObject & Readonly<Record<string, unknown>>;

export type ClusterCaches = { readonly [K in ClusterCacheKey]: ObjectCache<CachedObject> };

/** kubectl's copy of the whole object; large, and read by nobody here. */
const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

/** The identity the informer needs, plus labels (node and namespace selectors). */
function leanMetadata(metadata: ObjectMetaLike | undefined, keepAnnotations: boolean): ObjectMetaLike {
  const lean: { -readonly [K in keyof ObjectMetaLike]: ObjectMetaLike[K] } = {};
  if (!metadata) return lean;
  const { name, namespace, uid, resourceVersion, generation, labels, annotations } = metadata;
  if (name !== undefined) lean.name = name;
  if (namespace !== undefined) lean.namespace = namespace;
  if (uid !== undefined) lean.uid = uid;
  if (resourceVersion !== undefined) lean.resourceVersion = resourceVersion;
  if (generation !== undefined) lean.generation = generation;
  if (labels !== undefined) lean.labels = labels;
  if (keepAnnotations && annotations !== undefined) {
    const { [lastAppliedAnnotation]: _dropped, ...rest } = annotations;
    if (Object.keys(rest).length > 0) lean.annotations = rest;
  }
  return lean;
}

/** A configuration object as the rules read it: its identity, annotations and spec; never its status. */
export function trimConfigObject(object: KubeObject): KubeObject {
  const { apiVersion, kind, metadata, spec } = object as KubeObject & { spec?: unknown };
  return {
    ...(apiVersion !== undefined ? { apiVersion } : {}),
    ...(kind !== undefined ? { kind } : {}),
    metadata: leanMetadata(metadata, true),
    ...(spec !== undefined ? { spec } : {}),
  } as KubeObject;
}

/** A Secret as the password rules read it: its type and the password key, nothing else it holds. */
export function trimSecret(object: KubeObject): KubeObject {
  const { type, data, stringData } = object as KubeObject & {
    type?: string;
    data?: RawObject;
    stringData?: RawObject;
  };
  const password = (from: RawObject | undefined) =>
    from && typeof from === 'object' && 'password' in from ? { password: from.password } : undefined;
  const dataPassword = password(data);
  const stringDataPassword = password(stringData);
  return {
    metadata: leanMetadata(object.metadata, false),
    ...(type !== undefined ? { type } : {}),
    ...(dataPassword ? { data: dataPassword } : {}),
    ...(stringDataPassword ? { stringData: stringDataPassword } : {}),
  } as KubeObject;
}

/** Nodes and Namespaces: the rules read names and labels only. */
export function trimToLabels(object: KubeObject): KubeObject {
  return { metadata: leanMetadata(object.metadata, false) };
}

/** Caches of everything admission reads, on one informer factory; start() before use. */
export class ClusterCache {
  readonly caches: ClusterCaches;
  private readonly factory: InformerFactory;

  constructor(client: RawClient, namespace: string, logger: Logger) {
    this.factory = new InformerFactory({ client, logger });
    const configCaches = {} as Record<ConfigInputKey, ObjectCache<CachedObject>>;
    for (const key of configInputKeys) {
      configCaches[key] = this.factory.informer<CachedObject>({
        resource: apiResourceType(configInputKinds[key]),
        namespace,
        transform: trimConfigObject,
      });
    }
    this.caches = {
      ...configCaches,
      secrets: this.factory.informer<CachedObject>({
        resource: resourceTypeOf('v1', 'Secret'),
        namespace,
        transform: trimSecret,
      }),
      nodes: this.factory.informer<CachedObject>({
        resource: resourceTypeOf('v1', 'Node'),
        transform: trimToLabels,
      }),
      namespaces: this.factory.informer<CachedObject>({
        resource: resourceTypeOf('v1', 'Namespace'),
        transform: trimToLabels,
      }),
    };
  }

  start(): void {
    this.factory.startAll();
  }

  hasSynced(): boolean {
    return this.factory.hasSynced();
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    return this.factory.waitForSync(signal);
  }

  stop(): Promise<void> {
    return this.factory.stopAll();
  }
}
