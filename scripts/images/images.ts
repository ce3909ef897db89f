/**
 * The project's images, which the operator's install and rendered manifests name (src/manifests/install/version.ts):
 * the product image (the `metallb` command, with vtysh for the speaker) and the FRR image run beside each speaker.
 * Each is a Containerfile in images/NAME/ over a root filesystem assembled here from this machine's files.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { frrGroup, frrStartupFiles, frrUser } from '../../src/operator/render/frr.js';
import {
  frrImage,
  productImage,
  productVersion,
  sourceRepository,
} from '../../src/manifests/install/version.js';
import { repoRoot } from '../api-source.js';
import { packageFiles, type Rootfs } from './rootfs.js';

export interface ImageDefinition {
  /** The folder under images/ with its Containerfile, and the name of its archive. */
  readonly name: string;
  /** The reference the install uses: registry, repository and the version tag. */
  readonly reference: string;
  /** --build-arg values the Containerfile reads (its labels). */
  readonly buildArgs: () => Record<string, string>;
  readonly assemble: (rootfs: Rootfs) => void;
}

/** Where the app lives in the product image. */
export const appDir = '/opt/metallb';

/** Top-level links of a usr-merged Debian, so /bin/sh and the loader's /lib64 path resolve as they do here. */
const mergedUsrLinks = ['/bin', '/sbin', '/lib', '/lib64'];

const commonBuildArgs = (): Record<string, string> => ({ VERSION: productVersion, SOURCE: sourceRepository });

/** Users and groups: root, and FRR's user with the ids the speaker pod's FRR containers run as. */
function writeAccounts(rootfs: Rootfs, shell: string): void {
  rootfs.write(
    '/etc/passwd',
    `root:x:0:0:root:/root:${shell}\nfrr:x:${frrUser}:${frrGroup}:FRR:/var/run/frr:/usr/sbin/nologin\n`,
  );
  rootfs.write('/etc/group', `root:x:0:\nfrr:x:${frrGroup}:\nfrrvty:x:${frrGroup + 1}:frr\n`);
}

/** Folders every image has: a writable /tmp, and /var/run (a real folder: FRR's socket volume mounts below it). */
function writeBaseFolders(rootfs: Rootfs): void {
  for (const link of mergedUsrLinks) rootfs.copy(link);
  rootfs.folder('/tmp', 0o1777);
  rootfs.folder('/var/tmp', 0o1777); // FRR's crash logs
  rootfs.folder('/root', 0o700);
  rootfs.folder('/var/run/frr');
}

/**
 * vtysh asks PAM whether its user may run it, and fails without an answer; like Debian's FRR, anyone may (the
 * daemons' sockets decide who can connect).
 */
function allowVtysh(rootfs: Rootfs): void {
  rootfs.write('/etc/pam.d/frr', 'auth sufficient pam_permit.so\naccount sufficient pam_permit.so\n');
  rootfs.copyWithLibraries(packageFiles('libpam-modules').filter((path) => path.endsWith('/pam_permit.so')));
}

/**
 * The npm packages the app needs at run time: package-lock.json marks the ones only development needs. Each is
 * copied without its nested node_modules, whose packages have entries of their own.
 */
function copyProductionModules(rootfs: Rootfs): void {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; link?: boolean }>;
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || entry.dev || entry.link) continue;
    const source = join(repoRoot, path);
    cpSync(source, join(rootfs.dir, appDir, path), {
      recursive: true,
      filter: (file) => !relative(source, file).split(sep).includes('node_modules'),
    });
  }
}

/** The native addons among the production modules (cap's libpcap binding): their libraries go in too. */
function nativeAddons(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.node'))
    .map((path) => join(dir, path));
}

const product: ImageDefinition = {
  name: 'metallb',
  reference: productImage,
  buildArgs: commonBuildArgs,
  assemble(rootfs) {
    writeBaseFolders(rootfs);
    writeAccounts(rootfs, '/usr/sbin/nologin');
    // node runs the app; env runs main.js's `#!/usr/bin/env node`; vtysh is how the speaker drives FRR.
    rootfs.copyWithLibraries(['/usr/bin/node', '/usr/bin/env', '/usr/bin/vtysh']);
    allowVtysh(rootfs);
    // vtysh reads it at every start (and complains on stderr without it).
    rootfs.write('/etc/frr/vtysh.conf', frrStartupFiles['vtysh.conf'] ?? '');
    rootfs.write(`${appDir}/package.json`, readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    cpSync(join(repoRoot, 'dist/src'), join(rootfs.dir, appDir, 'dist/src'), {
      recursive: true,
      filter: (file) => !/\.test\.(js|d\.ts)(\.map)?$/.test(file),
    });
    copyProductionModules(rootfs);
    rootfs.copyWithLibraries(nativeAddons(join(rootfs.dir, appDir, 'node_modules')).map(hostPathOf(rootfs)));
    rootfs.chmod(`${appDir}/dist/src/cli/main.js`, 0o755);
    rootfs.link('/usr/local/bin/metallb', `${appDir}/dist/src/cli/main.js`);
  },
};

/** A path inside the rootfs as the path of the same file in this checkout (for addons copied from it). */
function hostPathOf(rootfs: Rootfs): (path: string) => string {
  return (path) => join(repoRoot, relative(join(rootfs.dir, appDir), path));
}

/** The Debian packages the FRR image is made of; /etc is left out (the image writes its own defaults). */
const frrPackages = [
  'frr', // the daemons, watchfrr, vtysh, FRR's libraries and modules, frrcommon.sh
  'frr-pythontools', // frr-reload.py, which the reloader container runs
  'python3-minimal',
  'python3.11-minimal',
  'libpython3.11-minimal',
  'libpython3.11-stdlib',
  'bash', // the reloader script and FRR's start scripts
  'dash', // /bin/sh: the init container's copy command
  'coreutils', // cp, install, chown, date, sleep, mv, id
  'grep', // frrcommon.sh
];

export function installedVersion(debianPackage: string): string {
  return execFileSync('dpkg-query', ['-W', '-f', '${Version}', debianPackage], { encoding: 'utf8' });
}

const frr: ImageDefinition = {
  name: 'frr',
  reference: frrImage,
  buildArgs: () => ({ ...commonBuildArgs(), FRR_VERSION: installedVersion('frr') }),
  assemble(rootfs) {
    writeBaseFolders(rootfs);
    writeAccounts(rootfs, '/bin/bash');
    rootfs.copyPackages(frrPackages, { exclude: /^\/etc\// });
    allowVtysh(rootfs);
    // The speaker pod starts FRR as upstream's image does: /sbin/tini -- /usr/lib/frr/docker-start.
    rootfs.copy('/usr/bin/tini-static');
    rootfs.link('/usr/sbin/tini', '../bin/tini-static');
    rootfs.write(
      '/usr/lib/frr/docker-start',
      readFileSync(join(repoRoot, 'images/frr/docker-start'), 'utf8'),
      0o755,
    );
    for (const [name, content] of Object.entries(frrStartupFiles)) rootfs.write(`/etc/frr/${name}`, content);
  },
};

export const images: readonly ImageDefinition[] = [product, frr];

/** Where `make images` leaves an image's OCI archive. */
export const imagesDir = join(repoRoot, '.local/images');
export const archiveOf = (image: ImageDefinition): string => join(imagesDir, `${image.name}.oci.tar`);
