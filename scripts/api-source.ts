/**
 * Reads the API as written in api/: one crd.json (names, scope, versions, printer columns) and one JSON Schema
 * per version for each kind, plus the Kubernetes types in api/k8s/. Resolves $refs either by inlining them
 * (what a CRD and the run-time validator need) or by naming them (what the TypeScript generator needs).
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname, resolve, relative } from 'node:path';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export const group = 'metallb.io';

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface KindVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  printerColumns: PrinterColumn[];
}

export interface KindDefinition {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  categories?: string[];
  scope: 'Namespaced' | 'Cluster';
  versions: KindVersion[];
  /** The CRD's spec.conversion, for kinds served in several versions that need more than a relabel. */
  conversion?: JsonObject;
  /** For the kinds the configuration is made of: where buildConfig's input takes them. */
  configInput?: ConfigInputPlace;
}

export interface ConfigInputPlace {
  /** The property of buildConfig's input that lists objects of this kind. */
  key: string;
  /** Where the kind comes in buildConfig's reading order, which is the order of its problems (1 first). */
  order: number;
}

export interface ApiKind {
  definition: KindDefinition;
  /** Version name → path of its schema file. */
  schemaFiles: Map<string, string>;
}

export const repoRoot = resolve(dirname(new URL(import.meta.url).pathname), '..');
export const apiRoot = join(repoRoot, 'api');

const schemaOnlyKeys = new Set(['$schema', '$id', 'definitions', 'x-source', 'title']);

export function readJson(path: string): JsonObject {
  return JSON.parse(readFileSync(path, 'utf8')) as JsonObject;
}

export function loadKinds(): ApiKind[] {
  const kinds: ApiKind[] = [];
  for (const entry of readdirSync(apiRoot, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'k8s') continue;
    const dir = join(apiRoot, entry.name);
    const crdFile = join(dir, 'crd.json');
    if (!existsSync(crdFile)) throw new Error(`${relative(repoRoot, dir)} has no crd.json`);
    const definition = readJson(crdFile) as unknown as KindDefinition;
    if (definition.plural !== entry.name) {
      throw new Error(
        `${relative(repoRoot, crdFile)}: plural ${definition.plural} must equal the folder name`,
      );
    }
    const schemaFiles = new Map<string, string>();
    for (const version of definition.versions) {
      const file = join(dir, `${version.name}.json`);
      if (!existsSync(file)) throw new Error(`${relative(repoRoot, dir)} lacks ${version.name}.json`);
      schemaFiles.set(version.name, file);
    }
    const storage = definition.versions.filter((v) => v.storage);
    if (storage.length !== 1) throw new Error(`${definition.kind} must have exactly one storage version`);
    kinds.push({ definition, schemaFiles });
  }
  checkConfigInputs(kinds);
  return kinds.sort((a, b) => a.definition.kind.localeCompare(b.definition.kind));
}

function checkConfigInputs(kinds: readonly ApiKind[]): void {
  const keys = new Set<string>();
  const orders = new Set<number>();
  for (const { definition } of kinds) {
    const place = definition.configInput;
    if (!place) continue;
    const ok = typeof place.key === 'string' && /^[a-z][A-Za-z0-9]*$/.test(place.key);
    if (!ok || !Number.isInteger(place.order) || place.order < 1) {
      throw new Error(`${definition.kind}: configInput needs a camelCase key and an order of 1 or more`);
    }
    if (keys.has(place.key)) throw new Error(`configInput key ${place.key} is used twice`);
    if (orders.has(place.order)) throw new Error(`configInput order ${place.order} is used twice`);
    keys.add(place.key);
    orders.add(place.order);
  }
}

/**
 * How a $ref to a titled schema is rendered when not inlined: the callback gets the title and a way to
 * resolve the target's body, and returns what stands in place of the $ref (e.g. a reference by name).
 */
export type NamedRefHandler = (title: string, body: () => JsonObject) => Json;

/**
 * Returns the schema in `file` with every $ref resolved. A ref whose target has a title goes through
 * `onNamed` when given; every other ref is inlined. When inlined, a referencing node's own description wins
 * over the referenced type's, since it is specific to the field.
 */
export function resolveSchema(file: string, onNamed?: NamedRefHandler): JsonObject {
  const root = readJson(file);
  return resolveNode(root, root, file, onNamed, []) as JsonObject;
}

function resolveNode(
  node: Json,
  root: JsonObject,
  file: string,
  onNamed: NamedRefHandler | undefined,
  stack: string[],
): Json {
  if (Array.isArray(node)) return node.map((item) => resolveNode(item, root, file, onNamed, stack));
  if (node === null || typeof node !== 'object') return node;
  if (typeof node.$ref === 'string') {
    const resolved = resolveRef(node.$ref, root, file, onNamed, stack);
    if ('$ref' in resolved) return resolved;
    const { $ref: _ref, ...siblings } = node;
    return { ...resolved, ...(resolveNode(siblings, root, file, onNamed, stack) as JsonObject) };
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (schemaOnlyKeys.has(key)) continue;
    out[key] = resolveNode(value, root, file, onNamed, stack);
  }
  return out;
}

function resolveRef(
  ref: string,
  root: JsonObject,
  file: string,
  onNamed: NamedRefHandler | undefined,
  stack: string[],
): JsonObject {
  const [target, pointer = ''] = ref.split('#');
  const targetFile = target ? resolve(dirname(file), target) : file;
  const targetRoot = target ? readJson(targetFile) : root;
  const key = `${targetFile}#${pointer}`;
  if (stack.includes(key)) throw new Error(`recursive $ref ${ref} in ${relative(repoRoot, file)}`);
  const body = followPointer(targetRoot, pointer, ref);
  const inline = (): JsonObject =>
    resolveNode(body, targetRoot, targetFile, onNamed, [...stack, key]) as JsonObject;
  const title = (body as JsonObject).title;
  if (onNamed && typeof title === 'string') return onNamed(title, inline) as JsonObject;
  return inline();
}

function followPointer(root: JsonObject, pointer: string, ref: string): Json {
  let node: Json = root;
  for (const part of pointer.split('/').filter(Boolean)) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !(part in node)) {
      throw new Error(`unresolvable $ref ${ref}`);
    }
    node = node[part] as Json;
  }
  return node;
}

/** The standard envelope every Kubernetes object has, around the kind's own spec and status. */
export function withEnvelope(schema: JsonObject, kind: string, apiVersion: string): JsonObject {
  const properties = (schema.properties ?? {}) as JsonObject;
  return {
    ...schema,
    type: 'object',
    properties: {
      apiVersion: {
        description: `The versioned schema of this object: ${apiVersion}.`,
        type: 'string',
      },
      kind: { description: `The type of this object: ${kind}.`, type: 'string' },
      metadata: { type: 'object' },
      ...properties,
    },
  };
}
