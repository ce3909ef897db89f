/**
 * Reads the objects admission decisions depend on straight from the API server (quorum lists, not a
 * watch cache): two pools applied in one `kubectl apply` arrive as two requests a few milliseconds apart,
 * and a cache that has not yet seen the first would let an overlapping second one in.
 */
import type { RawClient } from '../runtime/raw-client.js';
import type { ClusterView } from './admission-policy.js';

type RawObject = Record<string, unknown>;

export async function readClusterView(client: RawClient, namespace: string): Promise<ClusterView> {
  const list = async (path: string): Promise<RawObject[]> => (await client.list<RawObject>(path)).items;
  const metallb = (plural: string, version = 'v1beta1') =>
    `/apis/metallb.io/${version}/namespaces/${namespace}/${plural}`;
  const [
    pools,
    l2Advertisements,
    bgpAdvertisements,
    peers,
    bfdProfiles,
    communities,
    secrets,
    nodes,
    namespaces,
  ] = await Promise.all([
    list(metallb('ipaddresspools')),
    list(metallb('l2advertisements')),
    list(metallb('bgpadvertisements')),
    list(metallb('bgppeers', 'v1beta2')),
    list(metallb('bfdprofiles')),
    list(metallb('communities')),
    list(`/api/v1/namespaces/${namespace}/secrets`),
    list('/api/v1/nodes'),
    list('/api/v1/namespaces'),
  ]);
  return {
    pools,
    l2Advertisements,
    bgpAdvertisements,
    peers,
    bfdProfiles,
    communities,
    secrets,
    nodes,
    namespaces,
  };
}
