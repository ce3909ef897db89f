/**
 * Checks that the olm.bundle in catalog/ is what `opm render bundle/` gives, so the generated catalog is as
 * good as one rendered by opm: same name, package, images and properties, bundle objects compared as parsed
 * JSON (opm's object order and key order are not part of the meaning). Usage: check-catalog-render.ts OPM
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './api-source.js';
import { canonicalJson, catalogIndexPath } from './install/catalog.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Bundle = { [key: string]: Json };

/** A bundle with its properties as sorted canonical strings and embedded objects decoded. */
function normalised(bundle: Bundle): string[] {
  const properties = (bundle.properties as Bundle[]).map((property) => {
    if (property.type !== 'olm.bundle.object') return canonicalJson(property);
    const data = (property.value as Bundle).data as string;
    return canonicalJson({
      type: 'olm.bundle.object',
      object: JSON.parse(Buffer.from(data, 'base64').toString()) as Json,
    });
  });
  const related = ((bundle.relatedImages ?? []) as Json[]).map((image) => canonicalJson(image)).sort();
  return [
    `name=${String(bundle.name)}`,
    `package=${String(bundle.package)}`,
    `image=${String(bundle.image)}`,
    ...related.map((image) => `relatedImage=${image}`),
    ...properties.sort(),
  ];
}

const opm = process.argv[2] ?? 'opm';
const rendered = JSON.parse(
  execFileSync(opm, ['render', join(repoRoot, 'bundle'), '-o', 'json'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  }),
) as Bundle;
const catalog = parseAllDocuments(readFileSync(join(repoRoot, catalogIndexPath), 'utf8'))
  .map((document) => document.toJS() as Bundle)
  .find((document) => document.schema === 'olm.bundle');
if (!catalog) {
  console.error(`${catalogIndexPath} has no olm.bundle`);
  process.exit(1);
}
const want = normalised(rendered);
const have = new Set(normalised(catalog));
const missing = want.filter((line) => !have.has(line));
const extra = [...have].filter((line) => !want.includes(line));
if (missing.length > 0 || extra.length > 0) {
  const show = (lines: string[]) => lines.map((line) => `  ${line.slice(0, 200)}`).join('\n');
  console.error(
    `${catalogIndexPath} differs from \`opm render bundle/\`:\nonly in opm's:\n${show(missing)}\nonly in ours:\n${show(extra)}`,
  );
  process.exit(1);
}
console.log(`${catalogIndexPath}: olm.bundle equals \`opm render bundle/\` (${want.length} entries)`);
