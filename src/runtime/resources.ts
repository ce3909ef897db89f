/**
 * Where a kind lives in the API: group, version, plural, scope; and the URL paths built from that. A static
 * table covers the kinds our binaries touch; anything else is looked up once through API discovery.
 */
import { apiKindEntries, apiKinds, type ApiKind } from '../api/kinds.js';
import type { RawClient } from './raw-client.js';
import { groupOf, versionOf } from './kube-object.js';

export interface ResourceType {
  /** "" for the core group. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

interface KnownKind {
  readonly plural: string;
  readonly namespaced: boolean;
}

// Keyed "group/Kind"; versions come from the object's apiVersion, since a group may serve several. Our own
// kinds come from the registry generated from api/.
const knownKinds: ReadonlyMap<string, KnownKind> = new Map([
  ...Object.entries({
    '/ConfigMap': { plural: 'configmaps', namespaced: true },
    '/Endpoints': { plural: 'endpoints', namespaced: true },
    '/Event': { plural: 'events', namespaced: true },
    '/Namespace': { plural: 'namespaces', namespaced: false },
    '/Node': { plural: 'nodes', namespaced: false },
    '/Pod': { plural: 'pods', namespaced: true },
    '/Secret': { plural: 'secrets', namespaced: true },
    '/Service': { plural: 'services', namespaced: true },
    '/ServiceAccount': { plural: 'serviceaccounts', namespaced: true },
    'admissionregistration.k8s.io/ValidatingAdmissionPolicy': {
      plural: 'validatingadmissionpolicies',
      namespaced: false,
    },
    'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding': {
      plural: 'validatingadmissionpolicybindings',
      namespaced: false,
    },
    'admissionregistration.k8s.io/ValidatingWebhookConfiguration': {
      plural: 'validatingwebhookconfigurations',
      namespaced: false,
    },
    'apiextensions.k8s.io/CustomResourceDefinition': {
      plural: 'customresourcedefinitions',
      namespaced: false,
    },
    'apps/DaemonSet': { plural: 'daemonsets', namespaced: true },
    'apps/Deployment': { plural: 'deployments', namespaced: true },
    'coordination.k8s.io/Lease': { plural: 'leases', namespaced: true },
    'discovery.k8s.io/EndpointSlice': { plural: 'endpointslices', namespaced: true },
    'events.k8s.io/Event': { plural: 'events', namespaced: true },
    'monitoring.coreos.com/PodMonitor': { plural: 'podmonitors', namespaced: true },
    'monitoring.coreos.com/PrometheusRule': { plural: 'prometheusrules', namespaced: true },
    'monitoring.coreos.com/ServiceMonitor': { plural: 'servicemonitors', namespaced: true },
    'policy/PodDisruptionBudget': { plural: 'poddisruptionbudgets', namespaced: true },
    'rbac.authorization.k8s.io/ClusterRole': { plural: 'clusterroles', namespaced: false },
    'rbac.authorization.k8s.io/ClusterRoleBinding': { plural: 'clusterrolebindings', namespaced: false },
    'rbac.authorization.k8s.io/Role': { plural: 'roles', namespaced: true },
    'rbac.authorization.k8s.io/RoleBinding': { plural: 'rolebindings', namespaced: true },
  }),
  ...apiKindEntries.map(({ group, kind, plural, namespaced }): [string, KnownKind] => [
    `${group}/${kind}`,
    { plural, namespaced },
  ]),
]);

/** The static answer for kinds we know, without asking the server. */
export function knownResourceType(apiVersion: string, kind: string): ResourceType | undefined {
  const known = knownKinds.get(`${groupOf(apiVersion)}/${kind}`);
  return known && { group: groupOf(apiVersion), version: versionOf(apiVersion), ...known };
}

/** Like knownResourceType, for kinds a binary hard-codes: an unknown kind is a programming error. */
export function resourceTypeOf(apiVersion: string, kind: string): ResourceType {
  const type = knownResourceType(apiVersion, kind);
  if (!type)
    throw new Error(`${kind} (${apiVersion}) is not in the static resource table; use ResourceResolver`);
  return type;
}

/** Where one of our kinds lives, in the version our code reads and writes. */
export function apiResourceType(kind: ApiKind): ResourceType {
  const { group, storageVersion: version, plural, namespaced } = apiKinds[kind];
  return { group, version, plural, namespaced };
}

function groupVersionPath(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
}

/** The collection path, within `namespace` when the resource is namespaced and one is given. */
export function collectionPath(type: ResourceType, namespace?: string): string {
  const scope = type.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${groupVersionPath(type)}${scope}/${type.plural}`;
}

export function objectPath(type: ResourceType, namespace: string | undefined, name: string): string {
  if (type.namespaced && !namespace) {
    throw new Error(`${type.plural}.${type.group || 'core'} is namespaced: "${name}" needs a namespace`);
  }
  return `${collectionPath(type, namespace)}/${encodeURIComponent(name)}`;
}

interface DiscoveryList {
  readonly resources?: readonly {
    readonly name: string;
    readonly kind: string;
    readonly namespaced: boolean;
  }[];
}

/** Resolves kinds to resource types: the static table first, then discovery, cached per group/version. */
export class ResourceResolver {
  private readonly discovered = new Map<string, Promise<DiscoveryList>>();
  private readonly registered = new Map<string, ResourceType>();

  constructor(private readonly client: Pick<RawClient, 'get'>) {}

  /** Teaches the resolver a kind so it never needs discovery for it. */
  register(apiVersion: string, kind: string, plural: string, namespaced: boolean): void {
    this.registered.set(`${apiVersion}/${kind}`, {
      group: groupOf(apiVersion),
      version: versionOf(apiVersion),
      plural,
      namespaced,
    });
  }

  async resolve(apiVersion: string, kind: string): Promise<ResourceType> {
    const known = this.registered.get(`${apiVersion}/${kind}`) ?? knownResourceType(apiVersion, kind);
    if (known) return known;
    const type = { group: groupOf(apiVersion), version: versionOf(apiVersion) };
    const path = groupVersionPath(type);
    let discovery = this.discovered.get(path);
    if (!discovery) {
      discovery = this.client.get<DiscoveryList>(path);
      this.discovered.set(path, discovery);
      // A failed lookup must not stick: the next resolve asks again.
      discovery.catch(() => this.discovered.delete(path));
    }
    const resource = (await discovery).resources?.find((r) => r.kind === kind && !r.name.includes('/'));
    if (!resource) throw new Error(`the API server does not serve kind ${kind} in ${apiVersion}`);
    return { ...type, plural: resource.name, namespaced: resource.namespaced };
  }
}
