/**
 * Where an object read from YAML goes in buildConfig's input, and kubectl's rule for objects written
 * without a namespace. Shared by the offline commands (validate, frr-config) so they sort files alike.
 */
import type { ConfigInput } from '../config/index.js';

export type ConfigList = Exclude<keyof ConfigInput, 'metallbNamespace'>;

const metallbKinds: Readonly<Record<string, ConfigList>> = {
  IPAddressPool: 'pools',
  L2Advertisement: 'l2Advertisements',
  BGPAdvertisement: 'bgpAdvertisements',
  BGPPeer: 'peers',
  BFDProfile: 'bfdProfiles',
  Community: 'communities',
};

const coreKinds: Readonly<Record<string, ConfigList>> = {
  Secret: 'secrets',
  Node: 'nodes',
  Namespace: 'namespaces',
};

/** The buildConfig list an object belongs to, or undefined when the configuration does not read it. */
export function configListOf(object: Record<string, unknown>): ConfigList | undefined {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  if (apiVersion.startsWith('metallb.io/')) return metallbKinds[kind];
  return apiVersion === 'v1' ? coreKinds[kind] : undefined;
}

/** Lists whose objects are namespaced: without a namespace they land in the command's one. */
export const namespacedConfigLists: ReadonlySet<ConfigList> = new Set([
  ...Object.values(metallbKinds),
  'secrets',
]);

/** kubectl's view of an object without a namespace: it lands in the namespace the command targets. */
export function inNamespace(object: Record<string, unknown>, namespace: string): Record<string, unknown> {
  const metadata = object.metadata;
  if (metadata === undefined) return { ...object, metadata: { namespace } };
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return object;
  const current = (metadata as Record<string, unknown>).namespace;
  if (current !== undefined && current !== '') return object;
  return { ...object, metadata: { ...metadata, namespace } };
}
