/**
 * catalog/: a file-based catalog with the package, its `stable` channel and the bundle. The olm.bundle is what
 * `opm render bundle/` gives (the bundle's objects embedded as olm.bundle.object properties and `image: ""`),
 * so OLM installs from the catalog alone; `make validate-bundle` checks that equivalence against opm itself.
 */
import { parse } from 'yaml';
import { channel, csvName, packageName } from './bundle.js';
import { installNotice, yamlDocument } from './yaml.js';

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type JsonMap = { [key: string]: JsonValue };

/** JSON with keys sorted, as Go encodes maps: the same object always gives the same bytes. */
export function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] as JsonValue)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The olm.bundle of the bundle in `files` (bundle/manifests/* by path). */
export function olmBundle(files: ReadonlyMap<string, string>): JsonMap {
  const objects = [...files.keys()]
    .filter((path) => path.startsWith('bundle/manifests/'))
    .sort()
    .map((path) => parse(files.get(path) as string) as JsonMap);
  const csv = objects.find((object) => object.kind === 'ClusterServiceVersion');
  if (!csv) throw new Error('the bundle has no ClusterServiceVersion');
  const spec = csv.spec as JsonMap;
  const owned = ((spec.customresourcedefinitions as JsonMap).owned ?? []) as JsonMap[];
  const gvks = owned
    .map((crd) => ({
      group: String(crd.name).slice(String(crd.name).indexOf('.') + 1),
      kind: String(crd.kind),
      version: String(crd.version),
    }))
    .sort((a, b) => `${a.group}/${a.kind}/${a.version}`.localeCompare(`${b.group}/${b.kind}/${b.version}`));
  const images = new Map<string, string>();
  for (const related of (spec.relatedImages ?? []) as JsonMap[])
    images.set(String(related.image), String(related.name));
  return {
    schema: 'olm.bundle',
    name: csvName,
    package: packageName,
    image: '',
    properties: [
      ...gvks.map((value) => ({ type: 'olm.gvk', value })),
      { type: 'olm.package', value: { packageName, version: String(spec.version) } },
      ...objects.map((object) => ({
        type: 'olm.bundle.object',
        value: { data: Buffer.from(canonicalJson(object)).toString('base64') },
      })),
    ],
    relatedImages: [...images.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([image, name]) => ({ image, name })),
  };
}

export const catalogIndexPath = `catalog/${packageName}/index.yaml`;

export function catalogFiles(bundle: ReadonlyMap<string, string>): Map<string, string> {
  const documents = [
    { schema: 'olm.package', name: packageName, defaultChannel: channel },
    { schema: 'olm.channel', name: channel, package: packageName, entries: [{ name: csvName }] },
    olmBundle(bundle),
  ];
  // The notice sits inside the first document: opm reads a comment-only document before `---` as an object.
  const text = documents
    .map((document) => `---\n${yamlDocument(document)}`)
    .join('')
    .replace('---\n', `---\n# ${installNotice}\n`);
  return new Map([[catalogIndexPath, text]]);
}

export const catalogOwnedDirs = ['catalog'];
