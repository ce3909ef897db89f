/**
 * Assembles an image's root filesystem from this machine's own files, so an image is built FROM scratch and no
 * base image is ever pulled: files are copied to the same path they have here, every symlink on the way (usr-merged
 * /lib, library version links) is recreated and followed, and every ELF file brings the shared libraries `ldd`
 * lists for it.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  closeSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

/** Parts of a Debian package an image never needs. */
const unneededPackagePaths = /^\/usr\/share\/(doc|man|info|lintian|bug|locale)\//;

export class Rootfs {
  private readonly copied = new Set<string>();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private inside(path: string): string {
    return join(this.dir, path);
  }

  /**
   * Copies a file (or an empty directory's existence) from this machine to the same absolute path in the rootfs.
   * Symlinks among the path's folders and the file itself are recreated as symlinks, and what they point to is
   * copied as well, so the image resolves the path the way this machine does.
   */
  copy(path: string): void {
    if (this.copied.has(path)) return;
    this.copied.add(path);
    const parent = dirname(path);
    if (parent !== path) this.copyFolderChain(parent);
    const stat = lstatSync(path);
    const target = this.inside(path);
    if (stat.isSymbolicLink()) {
      const link = readlinkSync(path);
      if (!isSymlink(target)) symlinkSync(relativeLink(parent, link), target);
      this.copy(resolve(parent, link));
    } else if (stat.isDirectory()) {
      mkdirSync(target, { recursive: true, mode: stat.mode & 0o7777 });
    } else {
      copyFileSync(path, target);
      chmodSync(target, stat.mode & 0o7777);
    }
  }

  /**
   * Every folder of a path, recreating the ones that are symlinks here (for example /lib -> usr/lib), so that
   * what is copied below them lands where this machine has it.
   */
  private copyFolderChain(folder: string): void {
    if (folder === '/' || this.copied.has(folder)) return;
    const parent = dirname(folder);
    this.copyFolderChain(parent);
    this.copied.add(folder);
    // A folder this machine lacks (/opt/metallb) is one only the image has.
    const stat = lstatSync(folder, { throwIfNoEntry: false });
    const target = this.inside(folder);
    if (stat?.isSymbolicLink()) {
      const link = readlinkSync(folder);
      if (!isSymlink(target)) symlinkSync(relativeLink(parent, link), target);
      this.copyFolderChain(resolve(parent, link));
    } else {
      mkdirSync(target, { recursive: true });
    }
  }

  /** Copies files, and the shared libraries of those that are ELF executables or libraries. */
  copyWithLibraries(paths: readonly string[]): void {
    for (const path of paths) this.copy(path);
    for (const library of sharedLibrariesOf(paths.filter(isElf))) this.copy(library);
  }

  /** Every file a Debian package installed here, less documentation; with the libraries its ELF files load. */
  copyPackages(packages: readonly string[], options: { exclude?: RegExp } = {}): void {
    const files = packages
      .flatMap((name) => packageFiles(name))
      .filter((path) => !options.exclude?.test(path));
    this.copyWithLibraries(files);
  }

  /** Writes a file the image needs and this machine has no copy of (users, start scripts). */
  write(path: string, content: string, mode = 0o644): void {
    const target = this.inside(path);
    this.copyFolderChain(dirname(path));
    writeFileSync(target, content);
    chmodSync(target, mode);
  }

  chmod(path: string, mode: number): void {
    chmodSync(this.inside(path), mode);
  }

  link(path: string, pointsTo: string): void {
    this.copyFolderChain(dirname(path));
    if (!isSymlink(this.inside(path))) symlinkSync(pointsTo, this.inside(path));
  }

  folder(path: string, mode = 0o755): void {
    this.copyFolderChain(dirname(path));
    mkdirSync(this.inside(path), { recursive: true });
    chmodSync(this.inside(path), mode);
  }
}

/**
 * A link as a relative one: the same within the image, and, unlike an absolute one (/etc/alternatives/...), it
 * never leads a write during the build out of the rootfs onto this machine.
 */
function relativeLink(folder: string, link: string): string {
  return isAbsolute(link) ? relative(folder, link) || '.' : link;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Regular files that start with the ELF magic number. */
export function isElf(path: string): boolean {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat?.isFile() || stat.size < 4) return false;
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    readSync(fd, magic, 0, 4, 0);
    return magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

/**
 * The shared libraries the dynamic loader would map for these ELF files (including the loader itself), as `ldd`
 * reports them. A library `ldd` cannot find fails the build: the image would not start.
 */
export function sharedLibrariesOf(elfFiles: readonly string[]): string[] {
  const libraries = new Set<string>();
  for (const file of elfFiles) {
    let output: string;
    try {
      output = execFileSync('ldd', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      continue; // "not a dynamic executable": a static binary or a script
    }
    for (const line of output.split('\n')) {
      const missing = /^\s*(\S+) => not found/.exec(line);
      if (missing) throw new Error(`${file} needs ${missing[1]}, which is not installed`);
      const found = /(?:=>\s*)?(\/\S+) \(0x[0-9a-f]+\)/.exec(line);
      if (found?.[1]) libraries.add(found[1]);
    }
  }
  return [...libraries].sort();
}

/** The files (not folders) `dpkg -L` lists for an installed package, less documentation. */
export function packageFiles(name: string): string[] {
  const listed = execFileSync('dpkg', ['-L', name], { encoding: 'utf8' }).split('\n');
  return listed.filter((path) => {
    if (!path.startsWith('/') || unneededPackagePaths.test(path)) return false;
    const stat = lstatSync(path, { throwIfNoEntry: false });
    return stat !== undefined && !stat.isDirectory();
  });
}
