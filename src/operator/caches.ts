/**
 * What the operator watches, and the lookups the reconcile makes in those caches: MetalLB resources in every
 * namespace (those outside its own are only told so); the BGPPeers of its namespace; the namespaced kinds it renders, in its namespace (owned through a controller ownerReference);
 * and the cluster-scoped kinds it renders, found through the owner label they carry instead.
 */
import { storageApiVersion } from '../api/kinds.js';
import type { MetalLB } from '../api/types.generated.js';
import type { StoredConfigObjects } from '../api/kinds.js';
import type { InformerFactory } from '../runtime/informer-factory.js';
import type { ObjectCache } from '../runtime/informer.js';
import { groupOf, keyOf, type KubeObject } from '../runtime/kube-object.js';
import { resourceTypeOf } from '../runtime/resources.js';
import {
  noCapabilities,
  ownerLabelKey,
  ownerLabelValue,
  type ClusterCapabilities,
  type OwnerIdentity,
} from './render/index.js';

export interface KindRef {
  readonly apiVersion: string;
  readonly kind: string;
}

export const metallbKind: KindRef = { apiVersion: 'metallb.io/v1beta1', kind: 'MetalLB' };

/** The owner kind as the runtime's owns() matches it. */
export const metallbOwner = { group: 'metallb.io', kind: 'MetalLB' } as const;

export const namespacedOwnedKinds: readonly KindRef[] = [
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
];

/** Rendered only where the kind is served, so watched only there. */
export const serviceMonitorKind: KindRef = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor' };
export const prometheusRuleKind: KindRef = { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' };

export const clusterOwnedKinds: readonly KindRef[] = [
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding' },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy' },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding' },
];

function kindKey(apiVersion: string, kind: string): string {
  return `${groupOf(apiVersion)}/${kind}`;
}

/** The MetalLB a cluster-scoped object's owner label points at, as a queue key ("namespace/name"). */
export function ownerKeyFromLabel(object: KubeObject): string | undefined {
  const value = object.metadata?.labels?.[ownerLabelKey];
  const dot = value?.indexOf('.') ?? -1;
  // Namespaces are DNS labels, so the first dot ends the namespace.
  if (!value || dot <= 0 || dot === value.length - 1) return undefined;
  return keyOf(value.slice(0, dot), value.slice(dot + 1));
}

function ownedThroughReference(object: KubeObject, owner: OwnerIdentity): boolean {
  return (object.metadata?.ownerReferences ?? []).some(
    (ref) =>
      ref.controller === true &&
      ref.kind === metallbOwner.kind &&
      groupOf(ref.apiVersion) === metallbOwner.group &&
      ref.name === owner.name &&
      (owner.uid === undefined || ref.uid === owner.uid),
  );
}

export interface OwnedCache {
  readonly kind: KindRef;
  readonly clusterScoped: boolean;
  readonly cache: ObjectCache<KubeObject>;
}

export class OperatorCaches {
  readonly metallbs: ObjectCache<MetalLB>;
  /** BGPPeers of the namespace: the Secrets they name are the ones the speaker's Role may read. */
  readonly peers: ObjectCache<StoredConfigObjects['peers']>;
  readonly owned: readonly OwnedCache[];
  private readonly byKind = new Map<string, OwnedCache>();

  constructor(
    factory: Pick<InformerFactory, 'informer'>,
    readonly namespace: string,
    capabilities: ClusterCapabilities = noCapabilities,
  ) {
    // Every namespace, not only ours: a MetalLB created elsewhere is answered (Degraded, WrongNamespace),
    // never silently ignored.
    this.metallbs = factory.informer<MetalLB>({
      resource: resourceTypeOf(metallbKind.apiVersion, metallbKind.kind),
    });
    this.peers = factory.informer<StoredConfigObjects['peers']>({
      resource: resourceTypeOf(storageApiVersion('BGPPeer'), 'BGPPeer'),
      namespace,
    });
    const namespacedKinds = [
      ...namespacedOwnedKinds,
      ...(capabilities.serviceMonitors ? [serviceMonitorKind] : []),
      ...(capabilities.prometheusRules ? [prometheusRuleKind] : []),
    ];
    const namespaced = namespacedKinds.map((kind) => ({
      kind,
      clusterScoped: false,
      cache: factory.informer<KubeObject>({
        resource: resourceTypeOf(kind.apiVersion, kind.kind),
        namespace,
      }),
    }));
    // Only labelled cluster objects: a cluster has many ClusterRoles, and only ours matter here.
    const clusterScoped = clusterOwnedKinds.map((kind) => ({
      kind,
      clusterScoped: true,
      cache: factory.informer<KubeObject>({
        resource: resourceTypeOf(kind.apiVersion, kind.kind),
        labelSelector: ownerLabelKey,
      }),
    }));
    this.owned = [...namespaced, ...clusterScoped];
    for (const entry of this.owned) this.byKind.set(kindKey(entry.kind.apiVersion, entry.kind.kind), entry);
  }

  /** The cached live version of `object` (matched by kind, namespace and name), if any. */
  live(object: KubeObject): KubeObject | undefined {
    const entry = this.byKind.get(kindKey(object.apiVersion ?? '', object.kind ?? ''));
    const name = object.metadata?.name;
    if (!entry || !name) return undefined;
    return entry.cache.get(keyOf(entry.clusterScoped ? undefined : object.metadata?.namespace, name));
  }

  /** Whether the operator watches this kind, i.e. whether it can tell if such an object is up to date. */
  watches(object: KubeObject): boolean {
    return this.byKind.has(kindKey(object.apiVersion ?? '', object.kind ?? ''));
  }

  /** Every cached object rendered for `owner`: namespaced ones by ownerReference, cluster ones by label. */
  ownedObjects(owner: OwnerIdentity): KubeObject[] {
    const label = ownerLabelValue(owner);
    return this.owned.flatMap(({ cache, clusterScoped }) =>
      cache
        .list()
        .filter((object) =>
          clusterScoped
            ? object.metadata?.labels?.[ownerLabelKey] === label
            : object.metadata?.namespace === owner.namespace && ownedThroughReference(object, owner),
        ),
    );
  }
}
