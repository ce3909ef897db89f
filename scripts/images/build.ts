/**
 * `make images`: builds each image of images.ts with buildah, FROM scratch on a root filesystem assembled from this
 * machine's files, and writes it as an OCI archive under .local/images/ (NAME.oci.tar, tagged with the reference the
 * install uses). buildah keeps its storage in a scratch folder removed afterwards: the archives are the result.
 * Arguments: image names to build only those (default: all).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../api-source.js';
import { archiveOf, images, imagesDir, type ImageDefinition } from './images.js';
import { Rootfs } from './rootfs.js';

/** buildah with its own storage, on vfs, which needs neither overlay support nor fuse. */
export function buildahCommand(storageDir: string): (args: readonly string[]) => string {
  const global = [
    '--root',
    join(storageDir, 'root'),
    '--runroot',
    join(storageDir, 'run'),
    '--storage-driver',
    'vfs',
  ];
  return (args) =>
    execFileSync('buildah', [...global, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

function build(image: ImageDefinition, buildah: (args: readonly string[]) => string): string {
  const context = join(imagesDir, 'build', image.name);
  rmSync(context, { recursive: true, force: true });
  image.assemble(new Rootfs(join(context, 'rootfs')));
  const buildArgs = Object.entries(image.buildArgs()).flatMap(([name, value]) => [
    '--build-arg',
    `${name}=${value}`,
  ]);
  const containerfile = join(repoRoot, 'images', image.name, 'Containerfile');
  buildah(['bud', '--quiet', '-f', containerfile, '-t', image.reference, ...buildArgs, context]);
  const digestFile = join(context, 'digest');
  const archive = archiveOf(image);
  rmSync(archive, { force: true });
  // The reference after the path becomes the archive's ref.name annotation: the tag travels with the file.
  buildah([
    'push',
    '--quiet',
    '--digestfile',
    digestFile,
    image.reference,
    `oci-archive:${archive}:${image.reference}`,
  ]);
  const digest = readFileSync(digestFile, 'utf8').trim();
  rmSync(context, { recursive: true, force: true });
  return digest;
}

function main(): void {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !images.some((image) => image.name === name));
  if (unknown.length > 0)
    throw new Error(
      `no image named ${unknown.join(', ')}; there are ${images.map((i) => i.name).join(', ')}`,
    );
  mkdirSync(imagesDir, { recursive: true });
  const storageDir = join(imagesDir, 'storage');
  rmSync(storageDir, { recursive: true, force: true });
  const buildah = buildahCommand(storageDir);
  try {
    for (const image of images.filter((each) => wanted.length === 0 || wanted.includes(each.name))) {
      const started = Date.now();
      const digest = build(image, buildah);
      console.log(
        `${image.reference} -> ${archiveOf(image)} (${digest}, ${Math.round((Date.now() - started) / 1000)} s)`,
      );
    }
  } finally {
    rmSync(storageDir, { recursive: true, force: true });
  }
}

main();
