/**
 * Reads Kubernetes YAML the way kubectl apply -f does: files or folders (recursively, *.yaml, *.yml and
 * *.json), several documents per file, List objects unwrapped. Syntax errors are reported, not thrown.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface SourcedDocument {
  /** Where the document came from, e.g. config/samples/pool.yaml#2 (1-based document index). */
  readonly source: string;
  readonly object: Record<string, unknown>;
}

export interface ReadResult {
  readonly documents: SourcedDocument[];
  /** Inputs that could not be read or parsed, one message each. */
  readonly unreadable: string[];
}

const manifestExtensions = new Set(['.yaml', '.yml', '.json']);

export function readManifests(paths: readonly string[]): ReadResult {
  const documents: SourcedDocument[] = [];
  const unreadable: string[] = [];
  for (const path of paths) {
    let files: string[];
    try {
      files = manifestFiles(path);
    } catch (error) {
      unreadable.push(`${path}: ${(error as Error).message}`);
      continue;
    }
    for (const file of files) {
      const result = parseManifest(file, readFileSync(file, 'utf8'));
      documents.push(...result.documents);
      unreadable.push(...result.unreadable);
    }
  }
  return { documents, unreadable };
}

function manifestFiles(path: string): string[] {
  const stat = statSync(path);
  if (!stat.isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const child = join(path, entry.name);
      if (entry.isDirectory()) return manifestFiles(child);
      return manifestExtensions.has(extname(entry.name)) ? [child] : [];
    });
}

export function parseManifest(file: string, text: string): ReadResult {
  const documents: SourcedDocument[] = [];
  const unreadable: string[] = [];
  parseAllDocuments(text).forEach((document, index) => {
    const source = `${file}#${index + 1}`;
    const firstError = document.errors[0];
    if (firstError) {
      unreadable.push(`${source}: invalid YAML: ${firstError.message.split('\n')[0]}`);
      return;
    }
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) {
      unreadable.push(`${source}: a Kubernetes object must be a YAML mapping`);
      return;
    }
    const object = value as Record<string, unknown>;
    if (typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(object.items)) {
      object.items.forEach((item: unknown, itemIndex) => {
        if (item && typeof item === 'object' && !Array.isArray(item)) {
          documents.push({
            source: `${source}.items[${itemIndex}]`,
            object: item as Record<string, unknown>,
          });
        } else {
          unreadable.push(`${source}.items[${itemIndex}]: a Kubernetes object must be a YAML mapping`);
        }
      });
      return;
    }
    documents.push({ source, object });
  });
  return { documents, unreadable };
}
