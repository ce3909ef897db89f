/**
 * Reads the objects admission decisions depend on straight from the API server (quorum lists, not a
 * watch cache): two pools applied in one `kubectl apply` arrive as two requests a few milliseconds apart,
 * and a cache that has not yet seen the first would let an overlapping second one in.
 */
import { configInputKeys, configInputKinds, type ConfigInputKey } from '../api/kinds.js';
import type { RawClient } from '../runtime/raw-client.js';
import { apiResourceType, collectionPath, resourceTypeOf, type ResourceType } from '../runtime/resources.js';
import type { ClusterView } from './admission-policy.js';

type RawObject = Record<string, unknown>;

export async function readClusterView(client: RawClient, namespace: string): Promise<ClusterView> {
  const list = async (type: ResourceType): Promise<RawObject[]> =>
    (await client.list<RawObject>(collectionPath(type, namespace))).items;
  const [configLists, secrets, nodes, namespaces] = await Promise.all([
    Promise.all(
      configInputKeys.map(async (key) => [key, await list(apiResourceType(configInputKinds[key]))] as const),
    ),
    list(resourceTypeOf('v1', 'Secret')),
    list(resourceTypeOf('v1', 'Node')),
    list(resourceTypeOf('v1', 'Namespace')),
  ]);
  const byKey = Object.fromEntries(configLists) as Record<ConfigInputKey, RawObject[]>;
  return { ...byKey, secrets, nodes, namespaces };
}
