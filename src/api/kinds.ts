/**
 * The registry of our kinds, generated from api/: what a kind is called, where it lives in the API, and for
 * the configuration kinds where buildConfig's input lists them. Code that needs a list of kinds reads it
 * here, so a kind added to api/ reaches every such list without another edit.
 */
import type { ApiKindEntry } from './kind-entry.js';
import {
  apiKinds,
  configInputKinds,
  type ServedApiObjects,
  type StoredApiObjects,
} from './kinds.generated.js';

export { apiKinds, configInputKinds, type ServedApiObjects, type StoredApiObjects };
export type { ApiKindEntry, ApiKindVersion, ApiPrinterColumn } from './kind-entry.js';

/** The name of one of our kinds, e.g. 'IPAddressPool'. */
export type ApiKind = keyof typeof apiKinds;

/** The property of buildConfig's input that lists one configuration kind, e.g. 'pools'. */
export type ConfigInputKey = keyof typeof configInputKinds;

/** The kind a key of buildConfig's input lists. */
export type ConfigKindOf<K extends ConfigInputKey> = (typeof configInputKinds)[K];

/** A kind the configuration is made of (the objects buildConfig reads). */
export type ConfigKind = ConfigKindOf<ConfigInputKey>;

/** Key of buildConfig's input to the object type it lists, in any served version. */
export type ServedConfigObjects = { [K in ConfigInputKey]: ServedApiObjects[ConfigKindOf<K>] };

/** Key of buildConfig's input to the object type it lists, in the storage version. */
export type StoredConfigObjects = { [K in ConfigInputKey]: StoredApiObjects[ConfigKindOf<K>] };

/** Key of buildConfig's input to a list of its kind's objects in the storage version. */
export type StoredConfigLists = { [K in ConfigInputKey]: StoredConfigObjects[K][] };

/** The keys of buildConfig's input for the configuration kinds, in the order buildConfig reads them. */
export const configInputKeys = Object.keys(configInputKinds) as readonly ConfigInputKey[];

/** The configuration kinds, in the order buildConfig reads them. */
export const configKinds: readonly ConfigKind[] = Object.values(configInputKinds);

/** Every one of our kinds, in name order. */
export const apiKindEntries: readonly ApiKindEntry[] = Object.values(apiKinds);

export function isApiKind(kind: string): kind is ApiKind {
  return Object.hasOwn(apiKinds, kind);
}

export function isConfigKind(kind: string): kind is ConfigKind {
  return isApiKind(kind) && configInputOf(kind) !== undefined;
}

/** The key of buildConfig's input a kind goes in; undefined for a kind the configuration does not read. */
export function configInputOf(kind: string): ConfigInputKey | undefined {
  if (!isApiKind(kind)) return undefined;
  const entry: ApiKindEntry = apiKinds[kind];
  return entry.configInput as ConfigInputKey | undefined;
}

/** group/version of the version our code reads and writes, e.g. 'metallb.io/v1beta2'. */
export function storageApiVersion(kind: ApiKind): string {
  const entry: ApiKindEntry = apiKinds[kind];
  return `${entry.group}/${entry.storageVersion}`;
}

/**
 * An object with one value per configuration kind, keyed like buildConfig's input, built in the order
 * buildConfig reads them. `valueOf` must give each key the value type R says for it; the compiler checks
 * only that it gives one of R's value types, since TypeScript cannot relate a generic key to a value type
 * the caller chooses.
 */
export function perConfigInput<R extends { readonly [K in ConfigInputKey]: unknown }>(
  valueOf: (key: ConfigInputKey, kind: ConfigKind) => R[ConfigInputKey],
): R {
  const entries = configInputKeys.map((key) => [key, valueOf(key, configInputKinds[key])]);
  return Object.fromEntries(entries) as R;
}

/** Objects of the configuration kinds, each put in the list of buildConfig's input its kind goes in. */
export function sortIntoConfigLists(objects: Iterable<StoredApiObjects[ConfigKind]>): StoredConfigLists {
  const lists = perConfigInput<Record<ConfigInputKey, StoredApiObjects[ConfigKind][]>>(() => []);
  for (const object of objects) lists[configInputOf(object.kind) as ConfigInputKey].push(object);
  // Each list got only objects whose kind is the one its key lists.
  return lists as StoredConfigLists;
}
