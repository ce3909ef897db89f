/**
 * A real Operator Lifecycle Manager on a local control plane, without images: OLM's CRDs applied server-side,
 * its `olm` and `catalog` operators (built from Go modules by test/olm/build-tools.sh) as processes, and
 * `opm serve` of a file-based catalog on loopback behind a grpc CatalogSource. OLM then installs bundles from
 * the content the catalog embeds (`olm.bundle.object`), so no bundle-unpack Job is needed.
 * Used by `make olm-up` (test/olm/cli.ts) and the OLM e2e.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createCertificateAuthority, createSignedCertificate } from '../cluster/certs.js';
import { repoRoot } from '../cluster/local-cluster.js';
import { ManagedProcess, freePort } from '../cluster/processes.js';
import { waitFor } from '../cluster/wait-for.js';

const run = promisify(execFile);

/** Where OLM runs and where its global catalogs live (a CatalogSource here serves every namespace). */
export const olmNamespace = 'olm';
export const catalogSourceName = 'metallb-operators';

export interface LocalOlmOptions {
  readonly kubeconfig: string;
  /** The control plane's binaries (kubectl); default .local/cluster/bin. */
  readonly clusterBinDir?: string;
  /** olm, catalog, opm and OLM's CRDs, as build-tools.sh links them; default .local/olm. */
  readonly olmDir?: string;
  /** Scratch space for logs and OLM's serving certificate. */
  readonly workDir: string;
  /** File-based catalog to serve; default catalog/. */
  readonly catalogDir?: string;
  readonly log?: (line: string) => void;
}

export class LocalOlm {
  private readonly processes: ManagedProcess[] = [];
  private registry: ManagedProcess | undefined;
  private registryCount = 0;
  private stopped = false;

  private constructor(
    private readonly options: LocalOlmOptions,
    private readonly kubectlPath: string,
    private readonly olmDir: string,
  ) {}

  /** PIDs of OLM's processes still running. */
  get pids(): number[] {
    return this.processes.filter((p) => p.running && p.pid !== undefined).map((p) => p.pid as number);
  }

  static async start(options: LocalOlmOptions): Promise<LocalOlm> {
    const log = options.log ?? (() => undefined);
    const olmDir = options.olmDir ?? join(repoRoot, '.local/olm');
    const kubectlPath = join(options.clusterBinDir ?? join(repoRoot, '.local/cluster/bin'), 'kubectl');
    for (const file of ['bin/olm', 'bin/catalog', 'bin/opm', 'crds']) {
      if (!existsSync(join(olmDir, file)))
        throw new Error(`${join(olmDir, file)} is missing: run \`make olm-tools\` first`);
    }
    mkdirSync(join(options.workDir, 'logs'), { recursive: true });
    const olm = new LocalOlm(options, kubectlPath, olmDir);
    // kubectl reads a symlink to a folder (build-tools.sh links the cache) as a file: resolve it.
    const crds = realpathSync(join(olmDir, 'crds'));
    try {
      // The ClusterServiceVersion CRD is too large for the last-applied annotation of a client-side apply.
      await olm.kubectl(['apply', '--server-side', '--force-conflicts', '-f', crds]);
      await olm.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', crds]);
      await olm.kubectl(
        ['apply', '--server-side', '-f', '-'],
        `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${olmNamespace} }\n`,
      );
      log('OLM CRDs established');
      await olm.startOperators();
      log('olm and catalog operators started');
      await olm.serveCatalog(options.catalogDir ?? join(repoRoot, 'catalog'));
      log(`catalog served behind CatalogSource ${olmNamespace}/${catalogSourceName}`);
      return olm;
    } catch (error) {
      await olm.stop();
      throw error;
    }
  }

  /**
   * Serves `catalogDir` with a new `opm serve` and points the CatalogSource at it (creating it the first
   * time), then stops the previous registry: how a catalog gets new bundles, e.g. an upgrade.
   */
  async serveCatalog(catalogDir: string): Promise<void> {
    const port = await freePort();
    this.registryCount++;
    const registry = ManagedProcess.start(
      `opm serve ${catalogDir}`,
      join(this.olmDir, 'bin/opm'),
      // opm also opens a profiling endpoint, on 127.0.0.1:6060 unless told otherwise: one per registry.
      ['serve', catalogDir, `--port=${port}`, `--pprof-addr=127.0.0.1:${await freePort()}`],
      this.logFile(`opm-${this.registryCount}`),
    );
    const previous = this.registry;
    // Stopped with OLM whatever happens next; it replaces the previous registry only once in use.
    this.processes.push(registry);
    await registry.waitUntilReady(async () => /serving registry/i.test(registry.logTail(50)), 60_000);
    await this.kubectl(
      ['apply', '--server-side', '--force-conflicts', '-f', '-'],
      JSON.stringify({
        apiVersion: 'operators.coreos.com/v1alpha1',
        kind: 'CatalogSource',
        metadata: { name: catalogSourceName, namespace: olmNamespace },
        spec: {
          sourceType: 'grpc',
          address: `127.0.0.1:${port}`,
          displayName: 'MetalLB (local)',
          publisher: 'metallb-ts',
        },
      }),
    );
    await waitFor(
      `CatalogSource ${catalogSourceName} to connect to 127.0.0.1:${port}`,
      async () => {
        const out = await this.kubectl([
          'get',
          'catalogsource',
          catalogSourceName,
          '-n',
          olmNamespace,
          '-o',
          'jsonpath={.status.connectionState.address} {.status.connectionState.lastObservedState}',
        ]);
        return out.trim() === `127.0.0.1:${port} READY` ? true : undefined;
      },
      60_000,
    );
    this.registry = registry;
    await previous?.stop();
  }

  logFile(component: string): string {
    return join(this.options.workDir, 'logs', `${component}.log`);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const process of [...this.processes].reverse()) await process.stop();
  }

  async kubectl(args: readonly string[], stdin?: string): Promise<string> {
    const child = run(this.kubectlPath, [`--kubeconfig=${this.options.kubeconfig}`, ...args], {
      maxBuffer: 64 << 20,
    });
    if (stdin !== undefined) child.child.stdin?.end(stdin);
    try {
      return (await child).stdout;
    } catch (error) {
      const failure = error as { stdout?: string; stderr?: string };
      throw new Error(`kubectl ${args.join(' ')} failed:\n${failure.stdout ?? ''}${failure.stderr ?? ''}`);
    }
  }

  private async startOperators(): Promise<void> {
    // Both serve health and metrics on a fixed port: :8080 without TLS, :8443 with it. Giving olm a
    // certificate keeps the two apart (neither has a flag for the address).
    const pki = join(this.options.workDir, 'pki');
    mkdirSync(pki, { recursive: true });
    const ca = await createCertificateAuthority(pki, 'olm-local-ca');
    const serving = await createSignedCertificate(pki, 'olm-operator', ca, {
      commonName: 'olm-operator',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
    });
    const env = { ...process.env, KUBECONFIG: this.options.kubeconfig };
    const olm = ManagedProcess.start(
      'olm',
      join(this.olmDir, 'bin/olm'),
      [
        `--namespace=${olmNamespace}`,
        '--writeStatusName=',
        '--writePackageServerStatusName=',
        `--tls-cert=${serving.certFile}`,
        `--tls-key=${serving.keyFile}`,
      ],
      this.logFile('olm'),
      env,
    );
    this.processes.push(olm);
    const catalog = ManagedProcess.start(
      'catalog',
      join(this.olmDir, 'bin/catalog'),
      [`--kubeconfig=${this.options.kubeconfig}`, `--namespace=${olmNamespace}`, '--writeStatusName='],
      this.logFile('catalog'),
      env,
    );
    this.processes.push(catalog);
    const healthy = (url: string) => async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      return response.ok;
    };
    await catalog.waitUntilReady(healthy('http://127.0.0.1:8080/healthz'), 60_000);
    const caPem = readFileSync(ca.certFile);
    await olm.waitUntilReady(
      () =>
        new Promise<boolean>((resolve, reject) => {
          const req = request('https://127.0.0.1:8443/healthz', { ca: caPem, timeout: 2000 }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
          });
          req.on('timeout', () => req.destroy(new Error('timeout')));
          req.on('error', reject);
          req.end();
        }),
      60_000,
    );
  }
}
