/**
 * Extracts the Kubernetes types our CRDs embed (Affinity, Toleration, ResourceRequirements, LabelSelector,
 * Condition, SecretReference) from Kubernetes' own published OpenAPI v3 documents, which ship inside the
 * k8s.io/kubernetes Go module at the version the local control plane runs. Each type is written to
 * api/k8s/<Name>.json with every $ref inlined, in the structural form a CRD needs.
 *
 * Usage: node --import tsx scripts/k8s-types.ts [--openapi-dir DIR]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const repoRoot = new URL('..', import.meta.url).pathname;

const wanted: Record<string, { file: string; name: string }> = {
  Affinity: { file: 'api__v1_openapi.json', name: 'io.k8s.api.core.v1.Affinity' },
  Toleration: { file: 'api__v1_openapi.json', name: 'io.k8s.api.core.v1.Toleration' },
  ResourceRequirements: { file: 'api__v1_openapi.json', name: 'io.k8s.api.core.v1.ResourceRequirements' },
  SecretReference: { file: 'api__v1_openapi.json', name: 'io.k8s.api.core.v1.SecretReference' },
  LabelSelector: { file: 'api__v1_openapi.json', name: 'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector' },
  Condition: { file: 'api__v1_openapi.json', name: 'io.k8s.apimachinery.pkg.apis.meta.v1.Condition' },
};

// Keys that only matter to Kubernetes' own strategic-merge and defaulting machinery; a CRD that carried
// them would default or merge our fields differently from what the generated types promise.
const droppedKeys = new Set([
  'default',
  'x-kubernetes-patch-merge-key',
  'x-kubernetes-patch-strategy',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
  'x-kubernetes-unions',
]);

// Quantity is a string-or-number in OpenAPI; CRDs spell that as int-or-string with the quantity pattern.
const quantitySchema: JsonObject = {
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  pattern:
    '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
  'x-kubernetes-int-or-string': true,
};

function k8sVersion(): string {
  const env = readFileSync(join(repoRoot, 'test/cluster/versions.env'), 'utf8');
  const match = /^K8S_VERSION=(\S+)/m.exec(env);
  if (!match?.[1]) throw new Error('K8S_VERSION missing from test/cluster/versions.env');
  return match[1];
}

function openapiDir(version: string): string {
  const flag = process.argv.indexOf('--openapi-dir');
  if (flag >= 0 && process.argv[flag + 1]) return process.argv[flag + 1] as string;
  const modCache = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
  const dir = join(modCache, `k8s.io/kubernetes@${version}`, 'api/openapi-spec/v3');
  if (!existsSync(dir))
    execFileSync('go', ['mod', 'download', `k8s.io/kubernetes@${version}`], { stdio: 'inherit' });
  return dir;
}

function inline(node: Json, schemas: JsonObject, seen: string[]): Json {
  if (Array.isArray(node)) return node.map((item) => inline(item, schemas, seen));
  if (node === null || typeof node !== 'object') return node;
  const ref = refOf(node);
  if (ref) {
    const name = ref.replace('#/components/schemas/', '');
    if (name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') return quantitySchema;
    if (seen.includes(name)) throw new Error(`recursive type ${name} cannot be inlined into a CRD`);
    const target = schemas[name];
    if (!target) throw new Error(`unknown schema ${name}`);
    const resolved = inline(target, schemas, [...seen, name]) as JsonObject;
    // A property's own description is more specific than the referenced type's.
    return typeof node.description === 'string' ? { ...resolved, description: node.description } : resolved;
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (droppedKeys.has(key)) continue;
    out[key] = inline(value, schemas, seen);
  }
  return out;
}

// OpenAPI v3 wraps a described $ref as allOf:[{$ref}]; unwrap it so the description stays with the field.
function refOf(node: JsonObject): string | undefined {
  if (typeof node.$ref === 'string') return node.$ref;
  const allOf = node.allOf;
  if (Array.isArray(allOf) && allOf.length === 1) {
    const only = allOf[0];
    if (only && typeof only === 'object' && !Array.isArray(only) && typeof only.$ref === 'string')
      return only.$ref;
  }
  return undefined;
}

function main(): void {
  const version = k8sVersion();
  const dir = openapiDir(version);
  const documents = new Map<string, JsonObject>();
  for (const [title, { file, name }] of Object.entries(wanted)) {
    if (!documents.has(file)) {
      const doc = JSON.parse(readFileSync(join(dir, file), 'utf8')) as JsonObject;
      documents.set(file, (doc.components as JsonObject).schemas as JsonObject);
    }
    const schemas = documents.get(file) as JsonObject;
    const body = inline({ $ref: `#/components/schemas/${name}` }, schemas, []) as JsonObject;
    const out = {
      $id: `https://schemas.metallb.io/k8s/${title}.json`,
      title,
      'x-source': `k8s.io/kubernetes@${version} api/openapi-spec/v3/${file} ${name}`,
      ...body,
    };
    writeFileSync(join(repoRoot, 'api/k8s', `${title}.json`), JSON.stringify(out, null, 2) + '\n');
    console.log(`api/k8s/${title}.json from ${name}`);
  }
}

main();
