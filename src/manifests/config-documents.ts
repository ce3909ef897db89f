/**
 * Where an object read from YAML goes in buildConfig's input, and kubectl's rule for objects written
 * without a namespace. Shared by the offline commands (validate, frr-config) so they sort files alike.
 */
import {
  apiKinds,
  configInputKeys,
  configInputKinds,
  configInputOf,
  type ConfigInputKey,
} from '../api/kinds.js';
import type { ConfigInput } from '../config/index.js';

export type ConfigList = Exclude<keyof ConfigInput, 'metallbNamespace'>;

/** The lists of buildConfig's input that hold core (v1) objects; the others are the registry's kinds. */
const coreLists = {
  secrets: 'Secret',
  nodes: 'Node',
  namespaces: 'Namespace',
} as const satisfies Readonly<Record<Exclude<ConfigList, ConfigInputKey>, string>>;

const coreKinds: ReadonlyMap<string, ConfigList> = new Map(
  Object.entries(coreLists).map(([list, kind]) => [kind, list as ConfigList]),
);

const everyList: readonly ConfigList[] = [...configInputKeys, ...coreKinds.values()];

/** One empty list for each list of buildConfig's input, to sort objects into. */
export function emptyConfigLists<T>(): Record<ConfigList, T[]> {
  return Object.fromEntries(everyList.map((list) => [list, []])) as unknown as Record<ConfigList, T[]>;
}

/** The buildConfig list an object belongs to, or undefined when the configuration does not read it. */
export function configListOf(object: Record<string, unknown>): ConfigList | undefined {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  if (apiVersion.startsWith('metallb.io/')) return configInputOf(kind);
  return apiVersion === 'v1' ? coreKinds.get(kind) : undefined;
}

/** Lists whose objects are namespaced: without a namespace they land in the command's one. */
export const namespacedConfigLists: ReadonlySet<ConfigList> = new Set<ConfigList>([
  ...configInputKeys.filter((key) => apiKinds[configInputKinds[key]].namespaced),
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
