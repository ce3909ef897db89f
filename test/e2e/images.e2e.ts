/**
 * The images `make images` builds: each OCI archive carries the reference the install names (the version tag) and
 * the version label, and each runs. The product image runs `metallb` on the samples, loads its native addon and
 * vtysh; the FRR image starts FRR as the speaker pod does (tini, docker-start) in a network namespace made here,
 * and vtysh and frr-reload.py in it, and the product image's vtysh over the shared socket folder, reach the daemons.
 *
 * Opt-in (METALLB_E2E_IMAGES=1): building needs buildah (installed by the images package set) and about 1.5 min
 * on two cores, which `make test` does not pay. Runs without the control plane: METALLB_E2E_NO_CLUSTER=1.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { frrImage, productImage, productVersion } from '../../src/manifests/install/version.js';
import { frrUser } from '../../src/operator/render/frr.js';
import { repoRoot } from '../../scripts/api-source.js';
import { archiveOf, images, type ImageDefinition } from '../../scripts/images/images.js';

const enabled = process.env.METALLB_E2E_IMAGES === '1';
const describeImages = enabled ? describe : describe.skip;

const byReference = (reference: string): ImageDefinition => {
  const image = images.find((each) => each.reference === reference);
  if (!image) throw new Error(`no image builds ${reference}`);
  return image;
};

/** One JSON file of an OCI archive, by its path in the tar or by blob digest. */
function archiveJson(archive: string, path: string): Record<string, unknown> {
  return JSON.parse(execFileSync('tar', ['-xOf', archive, path], { encoding: 'utf8' })) as Record<
    string,
    unknown
  >;
}
const blobPath = (digest: string): string => `blobs/${digest.replace(':', '/')}`;

interface ImageConfig {
  readonly config: { Labels?: Record<string, string>; Entrypoint?: string[] };
}

describeImages(enabled ? 'the images' : 'the images [opt-in: METALLB_E2E_IMAGES=1]', () => {
  const storage = mkdtempSync(join(tmpdir(), 'metallb-images-'));
  const namespace = `metallb-images-${process.pid}`;
  const containers = new Map<string, string>();
  /** FRR's socket folder, shared by the FRR container and the product's vtysh as the speaker pod's volume is. */
  const sockets = join(storage, 'frr-sockets');
  let frrRun: ChildProcess | undefined;

  interface RunOptions {
    readonly netns?: boolean;
    readonly caps?: string;
    readonly sharedSockets?: boolean;
  }
  /** A buildah command on the test's own storage, in the test's network namespace when asked. */
  const buildahCommand = (args: readonly string[], options: RunOptions = {}): [string, string[]] => {
    const global = [
      '--root',
      join(storage, 'root'),
      '--runroot',
      join(storage, 'run'),
      '--storage-driver',
      'vfs',
    ];
    return options.netns
      ? ['ip', ['netns', 'exec', namespace, 'buildah', ...global, ...args]]
      : ['buildah', [...global, ...args]];
  };
  const buildah = (args: readonly string[], options: RunOptions = {}) => {
    const [program, programArgs] = buildahCommand(args, options);
    return spawnSync(program, programArgs, { encoding: 'utf8', timeout: 60_000 });
  };
  /** `buildah run --isolation chroot` of a command in a working container of the image. */
  const runArgs = (reference: string, command: readonly string[], options: RunOptions): string[] => [
    'run',
    '--isolation',
    'chroot',
    ...(options.caps ? ['--cap-add', options.caps] : []),
    ...(options.sharedSockets ? ['--volume', `${sockets}:/var/run/frr`] : []),
    containers.get(reference) ?? '',
    '--',
    ...command,
  ];
  const run = (reference: string, command: readonly string[], options: RunOptions = {}) =>
    buildah(runArgs(reference, command, options), options);

  /** Asks the FRR container's script to stop FRR and end; kills it if it has not ended within 15 s. */
  const stopFrr = async (): Promise<void> => {
    const child = frrRun;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    writeFileSync(join(sockets, 'stop'), '');
    const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 15_000);
    await ended;
    clearTimeout(timer);
  };

  beforeAll(() => {
    execFileSync('bash', ['scripts/system-deps.sh', 'images'], { cwd: repoRoot, stdio: 'inherit' });
    execFileSync('node', ['--import', 'tsx', 'scripts/images/build.ts'], { cwd: repoRoot, stdio: 'inherit' });
    for (const image of images) {
      const from = buildah(['from', '--quiet', `oci-archive:${archiveOf(image)}`]);
      expect(from.status).toBe(0);
      containers.set(image.reference, from.stdout.trim());
    }
    execFileSync('ip', ['netns', 'add', namespace]);
    mkdirSync(sockets);
  }, 600_000);

  afterAll(async () => {
    await stopFrr();
    spawnSync('ip', ['netns', 'del', namespace]);
    buildah(['rm', '--all']);
    rmSync(storage, { recursive: true, force: true });
  });

  it('builds every image the install names, and nothing by :latest', () => {
    const csv = parseAllDocuments(
      readFileSync(join(repoRoot, 'bundle/manifests/metallb-operator.clusterserviceversion.yaml'), 'utf8'),
    )[0]?.toJS() as { spec: { relatedImages: { image: string }[] } };
    const related = csv.spec.relatedImages.map((entry) => entry.image).sort();
    expect(related).toEqual([frrImage, productImage].sort());
    expect(images.map((image) => image.reference).sort()).toEqual(related);
    for (const reference of related)
      expect(reference).toMatch(new RegExp(`:v${productVersion.replace(/\./g, '\\.')}$`));
  });

  it.each([productImage, frrImage])(
    'archives %s under its version tag, with the version label',
    (reference) => {
      const archive = archiveOf(byReference(reference));
      const index = archiveJson(archive, 'index.json') as {
        manifests: { digest: string; annotations?: Record<string, string> }[];
      };
      const [only, ...others] = index.manifests;
      expect(others).toHaveLength(0);
      expect(only?.annotations?.['org.opencontainers.image.ref.name']).toBe(reference);
      const manifest = archiveJson(archive, blobPath(only?.digest ?? '')) as {
        config: { digest: string };
      };
      const config = archiveJson(archive, blobPath(manifest.config.digest)) as unknown as ImageConfig;
      expect(config.config.Labels?.['org.opencontainers.image.version']).toBe(productVersion);
      // The rendered manifests start the product image by args alone, or by `metallb` on the PATH.
      if (reference === productImage) expect(config.config.Entrypoint).toEqual(['metallb']);
      else expect(config.config.Entrypoint).toEqual(['/sbin/tini', '--', '/usr/lib/frr/docker-start']);
    },
  );

  it('runs metallb: its version, and validate on the samples (and on a broken one)', () => {
    const version = run(productImage, ['metallb', 'version']);
    expect(version.stderr).toBe('');
    expect(version.stdout).toContain(`metallb ${productVersion}`);
    const container = containers.get(productImage) ?? '';
    expect(buildah(['copy', container, join(repoRoot, 'config/samples'), '/samples']).status).toBe(0);
    const valid = run(productImage, ['metallb', 'validate', '-f', '/samples']);
    // The summary goes to stderr, the problems (none here) to stdout.
    expect(valid.stderr).toMatch(/validated [1-9]\d* metallb.io object\(s\): 0 problem\(s\)/);
    expect(valid.status).toBe(0);
    const broken = run(productImage, [
      'node',
      '-e',
      "require('fs').writeFileSync('/tmp/pool.yaml', 'apiVersion: metallb.io/v1beta1\\nkind: IPAddressPool\\nmetadata: {name: p, namespace: metallb-system}\\nspec: {addresses: [not-an-address]}\\n')",
    ]);
    expect(broken.status).toBe(0);
    const invalid = run(productImage, ['metallb', 'validate', '-f', '/tmp/pool.yaml']);
    expect(invalid.status).toBe(1);
    expect(invalid.stdout).toContain('IPAddressPool/metallb-system/p');
  });

  it('carries what the speaker loads: the libpcap addon and vtysh', () => {
    const addon = run(productImage, [
      'node',
      '-e',
      "require('/opt/metallb/node_modules/cap'); console.log('cap ok')",
    ]);
    expect(addon.stderr).toBe('');
    expect(addon.stdout).toContain('cap ok');
    const vtysh = run(productImage, ['vtysh', '-h']);
    expect(vtysh.status).toBe(0);
    expect(vtysh.stdout).toMatch(/FRR \(version /);
  });

  it('starts FRR as the speaker pod does; vtysh, frr-reload.py and the product image vtysh reach it', async () => {
    // FRR under tini in the background; queries once its daemons answer; then it waits for the test's stop file.
    const script = [
      '/sbin/tini -s -- /usr/lib/frr/docker-start 2>/dev/null &',
      'for attempt in $(seq 60); do vtysh -c "show daemons" 2>/dev/null | grep -q bfdd && break; sleep 0.5; done',
      'echo "daemons:$(vtysh -c "show daemons")"',
      'echo "frr user: $(id -u frr)"',
      'python3 /usr/lib/frr/frr-reload.py --test --stdout /etc/frr/frr.conf >/dev/null 2>&1 && echo "reload test ok"',
      'touch /var/run/frr/ready',
      'for attempt in $(seq 150); do [ -e /var/run/frr/stop ] && break; sleep 0.2; done',
      'kill %1; wait',
    ].join('\n');
    const options: RunOptions = {
      netns: true,
      caps: 'CAP_NET_ADMIN,CAP_NET_RAW,CAP_SYS_ADMIN',
      sharedSockets: true,
    };
    const [program, programArgs] = buildahCommand(
      runArgs(frrImage, ['/bin/bash', '-c', script], options),
      options,
    );
    const child = spawn(program, programArgs, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    frrRun = child;
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 60_000;
    while (!existsSync(join(sockets, 'ready')) && child.exitCode === null && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));

    // The speaker container's view: the product image's vtysh over the shared socket folder.
    const fromSpeaker = run(productImage, ['vtysh', '-c', 'show daemons'], { sharedSockets: true });
    await stopFrr();
    expect(output).toMatch(/daemons:.*\bzebra\b/);
    for (const daemon of ['bgpd', 'bfdd', 'staticd', 'watchfrr']) expect(output).toContain(daemon);
    expect(output).toContain(`frr user: ${frrUser}`);
    expect(output).toContain('reload test ok');
    expect(fromSpeaker.stderr).toBe('');
    expect(fromSpeaker.stdout).toMatch(/\bzebra\b.*\bbgpd\b.*\bbfdd\b/);
  });
});
