/**
 * Generates the install from src/manifests/install: config/ (kustomize bases), bundle/ (OLM bundle),
 * bundle.Dockerfile and catalog/ (file-based catalog). Run after scripts/generate.ts, whose crds/ it copies.
 * With --check, writes nothing and exits 1 when a file is missing, differs or is left over (CI runs this).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './api-source.js';
import { bundleFiles, bundleOwnedDirs } from './install/bundle.js';
import { catalogFiles, catalogOwnedDirs } from './install/catalog.js';
import { configFiles, configOwnedDirs } from './install/config.js';

function filesUnder(dir: string): string[] {
  const absolute = join(repoRoot, dir);
  if (!existsSync(absolute)) return [];
  return readdirSync(absolute).flatMap((name) => {
    const path = `${dir}/${name}`;
    return statSync(join(repoRoot, path)).isDirectory() ? filesUnder(path) : [path];
  });
}

function main(): void {
  const check = process.argv.includes('--check');
  const bundle = bundleFiles();
  const files = new Map([...configFiles(), ...bundle, ...catalogFiles(bundle)]);
  const stale: string[] = [];
  for (const [path, content] of files) {
    const absolute = join(repoRoot, path);
    if (existsSync(absolute) && readFileSync(absolute, 'utf8') === content) continue;
    stale.push(path);
    if (!check) {
      mkdirSync(join(absolute, '..'), { recursive: true });
      writeFileSync(absolute, content);
    }
  }
  for (const dir of [...configOwnedDirs, ...bundleOwnedDirs, ...catalogOwnedDirs]) {
    for (const path of filesUnder(dir)) {
      if (files.has(path)) continue;
      stale.push(path);
      if (!check) rmSync(join(repoRoot, path));
    }
  }
  if (check) {
    if (stale.length > 0) {
      console.error(`install files are stale (run make generate):\n  ${stale.join('\n  ')}`);
      process.exit(1);
    }
    console.log(`install files are fresh (${files.size} files)`);
    return;
  }
  for (const path of stale) console.log(`wrote ${path}`);
  if (stale.length === 0) console.log('install: all files are fresh');
}

main();
