/**
 * A real Kubernetes control plane on this machine, without containers: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler and kwok (which keeps simulated Nodes Ready and runs their Pods),
 * built from Go modules by build-bins.sh. Used by the e2e suites, `make cluster-up` and the demo.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { createCertificateAuthority, createServiceAccountKeys, createSignedCertificate } from './certs.js';
import { ManagedProcess, freePort, sleep } from './processes.js';
import { createNodes, installCrds, waitForNodesReady, type SimulatedNode } from './kube-setup.js';
import { ServiceProxy } from './service-proxy.js';

export type { SimulatedNode } from './kube-setup.js';

/** The checkout this file belongs to, whether it runs from test/cluster or from its build in dist/. */
export const repoRoot = findRepoRoot(new URL('.', import.meta.url).pathname);

function findRepoRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'api'))) {
    const parent = resolve(dir, '..');
    if (parent === dir) throw new Error(`no checkout above ${start}`);
    dir = parent;
  }
  return dir;
}

/**
 * The cluster is dual-stack: Services get clusterIPs from both families (IPv4 first, so single-stack
 * Services default to IPv4 as on most clusters), and IPv6-only or dual-stack LoadBalancer Services are
 * accepted. The IPv6 range is documentation space, far from the 2001:db8::/64 LANs and 2001:db8:: pools that
 * tests use; /112 stays within the API server's limit on IPv6 service ranges.
 */
export const SERVICE_CIDRS = ['10.96.0.0/16', '2001:db8:ffff::/112'] as const;

export interface LocalClusterOptions {
  /** Where the binaries are; default .local/cluster/bin (filled by `make cluster-bins`). */
  readonly binDir?: string;
  /** Scratch space for certificates, etcd data and logs; a new temp dir by default, removed on stop. */
  readonly workDir?: string;
  /** Where the admin kubeconfig is written; default <workDir>/kubeconfig. */
  readonly kubeconfigPath?: string;
  /** Address the API server listens on; 127.0.0.1 unless network namespaces must reach it. */
  readonly address?: string;
  readonly nodes?: readonly SimulatedNode[];
  /** Folder of CRD YAML installed once the API server is up; default crds/. Pass null to skip. */
  readonly crdsDir?: string | null;
  /** Record every request in <workDir>/audit.log (Metadata level), for tests that count writes. */
  readonly audit?: boolean;
  /**
   * Send the API server's calls to Services (webhooks, CRD conversion) through a proxy the test routes to
   * processes on loopback (`cluster.serviceProxy.route`): for webhooks whose configuration someone else owns.
   */
  readonly serviceProxy?: boolean | { readonly routesFile: string };
  readonly log?: (line: string) => void;
}

/** Three workers and a tainted control-plane node, labelled the way kubeadm clusters are. */
export function defaultNodes(): SimulatedNode[] {
  return [
    {
      name: 'control-plane-0',
      labels: { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/master': '' },
      taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
    },
    ...[0, 1, 2].map((i) => ({ name: `worker-${i}`, labels: { 'node-role.kubernetes.io/worker': '' } })),
  ];
}

interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saPrivate: string;
  saPublic: string;
}

export class LocalCluster {
  private readonly processes: ManagedProcess[] = [];
  private readonly paused = new Set<string>();
  private stopped = false;
  private apiServerLaunch: { readonly args: string[]; readonly ready: () => Promise<boolean> } | undefined;
  private proxy: ServiceProxy | undefined;

  private constructor(
    readonly workDir: string,
    private readonly ownsWorkDir: boolean,
    readonly kubeconfigPath: string,
    readonly server: string,
    readonly binDir: string,
  ) {}

  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const log = options.log ?? (() => undefined);
    const binDir = options.binDir ?? join(repoRoot, '.local/cluster/bin');
    for (const bin of [
      'etcd',
      'kube-apiserver',
      'kube-controller-manager',
      'kube-scheduler',
      'kwok',
      'kwok-stages.yaml',
    ]) {
      if (!existsSync(join(binDir, bin))) {
        throw new Error(`${join(binDir, bin)} is missing: run \`make cluster-bins\` first`);
      }
    }
    const ownsWorkDir = !options.workDir;
    const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'metallb-cluster-'));
    mkdirSync(join(workDir, 'logs'), { recursive: true });
    const address = options.address ?? '127.0.0.1';
    const apiPort = await freePort(address);
    const server = `https://${address.includes(':') ? `[${address}]` : address}:${apiPort}`;
    const kubeconfigPath = options.kubeconfigPath ?? join(workDir, 'kubeconfig');
    const cluster = new LocalCluster(workDir, ownsWorkDir, kubeconfigPath, server, binDir);
    try {
      const pki = await cluster.createPki(address);
      cluster.writeKubeconfig(pki);
      const etcdUrl = await cluster.startEtcd();
      log(`etcd ready at ${etcdUrl}`);
      if (options.serviceProxy)
        cluster.proxy = await ServiceProxy.start(
          join(workDir, 'service-proxy.sock'),
          typeof options.serviceProxy === 'object' ? options.serviceProxy.routesFile : undefined,
        );
      await cluster.startApiServer(pki, etcdUrl, address, apiPort, options.audit ?? false);
      log(`kube-apiserver ready at ${server}`);
      await cluster.startControllers(pki);
      log('kube-controller-manager, kube-scheduler and kwok started');
      if (options.crdsDir !== null) {
        const count = await installCrds(kubeconfigPath, options.crdsDir ?? join(repoRoot, 'crds'));
        log(`installed ${count} CRDs`);
      }
      const nodes = options.nodes ?? defaultNodes();
      await createNodes(kubeconfigPath, nodes);
      await waitForNodesReady(
        kubeconfigPath,
        nodes.map((n) => n.name),
        60_000,
      );
      log(`${nodes.length} simulated nodes Ready`);
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** PIDs of the control-plane processes still running (for tests that check nothing is left behind). */
  get pids(): number[] {
    return this.processes.filter((p) => p.running && p.pid !== undefined).map((p) => p.pid as number);
  }

  /** The proxy in front of Services, when started with `serviceProxy: true`. */
  get serviceProxy(): ServiceProxy {
    if (!this.proxy) throw new Error('the cluster was started without serviceProxy');
    return this.proxy;
  }

  logFile(component: string): string {
    return join(this.workDir, 'logs', `${component}.log`);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // A test that failed while a process was frozen must not leave it frozen: SIGTERM would wait out its grace.
    for (const name of [...this.paused]) this.resume(name);
    // Reverse start order: consumers of the API server go first, etcd last.
    for (const process of [...this.processes].reverse()) await process.stop();
    await this.proxy?.stop();
    if (this.ownsWorkDir) rmSync(this.workDir, { recursive: true, force: true });
  }

  private async createPki(address: string): Promise<Pki> {
    const dir = join(this.workDir, 'pki');
    mkdirSync(dir, { recursive: true });
    const ca = await createCertificateAuthority(dir, 'metallb-local-ca');
    const ipAddresses = [...new Set(['127.0.0.1', address, '10.96.0.1'])];
    const server = await createSignedCertificate(dir, 'kube-apiserver', ca, {
      commonName: 'kube-apiserver',
      dnsNames: [
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
      ipAddresses,
      usage: 'server',
    });
    const admin = await createSignedCertificate(dir, 'admin', ca, {
      commonName: 'admin',
      organizations: ['system:masters'],
      usage: 'client',
    });
    const sa = await createServiceAccountKeys(dir);
    return {
      caCert: ca.certFile,
      caKey: ca.keyFile,
      serverCert: server.certFile,
      serverKey: server.keyFile,
      adminCert: admin.certFile,
      adminKey: admin.keyFile,
      saPrivate: sa.privateKeyFile,
      saPublic: sa.publicKeyFile,
    };
  }

  private writeKubeconfig(pki: Pki): void {
    const b64 = (file: string) => readFileSync(file).toString('base64');
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'local', cluster: { server: this.server, 'certificate-authority-data': b64(pki.caCert) } },
      ],
      users: [
        {
          name: 'admin',
          user: { 'client-certificate-data': b64(pki.adminCert), 'client-key-data': b64(pki.adminKey) },
        },
      ],
      contexts: [{ name: 'local', context: { cluster: 'local', user: 'admin' } }],
      'current-context': 'local',
    };
    mkdirSync(resolve(this.kubeconfigPath, '..'), { recursive: true });
    writeFileSync(this.kubeconfigPath, stringify(kubeconfig), { mode: 0o600 });
  }

  private launch(name: string, args: string[]): ManagedProcess {
    const process = ManagedProcess.start(name, join(this.binDir, name), args, this.logFile(name));
    this.processes.push(process);
    return process;
  }

  private async startEtcd(): Promise<string> {
    const clientPort = await freePort();
    const peerPort = await freePort();
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd = this.launch('etcd', [
      '--name=local',
      `--data-dir=${join(this.workDir, 'etcd')}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=local=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await etcd.waitUntilReady(async () => {
      const response = await fetch(`${clientUrl}/health`);
      return response.ok && ((await response.json()) as { health?: string }).health === 'true';
    }, 30_000);
    return clientUrl;
  }

  private async startApiServer(
    pki: Pki,
    etcdUrl: string,
    address: string,
    port: number,
    audit: boolean,
  ): Promise<void> {
    const args = [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${address}`,
      `--advertise-address=${address}`,
      `--secure-port=${port}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
      `--service-account-key-file=${pki.saPublic}`,
      `--service-account-signing-key-file=${pki.saPrivate}`,
      `--service-cluster-ip-range=${SERVICE_CIDRS.join(',')}`,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      '--enable-priority-and-fairness=false',
      '--max-requests-inflight=2000',
      '--max-mutating-requests-inflight=1000',
      '--profiling=false',
      `--cert-dir=${join(this.workDir, 'pki')}`,
    ];
    if (this.proxy) {
      const egress = join(this.workDir, 'egress-selector.yaml');
      this.proxy.writeEgressSelectorConfig(egress);
      args.push(`--egress-selector-config-file=${egress}`);
    }
    if (audit) {
      const policy = join(this.workDir, 'audit-policy.yaml');
      writeFileSync(
        policy,
        stringify({
          apiVersion: 'audit.k8s.io/v1',
          kind: 'Policy',
          omitStages: ['RequestReceived'],
          rules: [{ level: 'Metadata' }],
        }),
      );
      args.push(
        `--audit-policy-file=${policy}`,
        `--audit-log-path=${join(this.workDir, 'audit.log')}`,
        '--audit-log-format=json',
      );
    }
    const apiServer = this.launch('kube-apiserver', args);
    const ca = readFileSync(pki.caCert);
    const cert = readFileSync(pki.adminCert);
    const key = readFileSync(pki.adminKey);
    const ready = () =>
      new Promise<boolean>((resolvePromise, reject) => {
        const req = request(`${this.server}/readyz`, { ca, cert, key, timeout: 2000 }, (res) => {
          res.resume();
          resolvePromise(res.statusCode === 200);
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end();
      });
    this.apiServerLaunch = { args, ready };
    await apiServer.waitUntilReady(ready, 60_000);
  }

  /** The PID of a running control-plane process, by binary name ("etcd", "kube-apiserver", ...). */
  pidOf(name: string): number {
    const pid = this.processes.find((p) => p.name === name && p.running)?.pid;
    if (pid === undefined) throw new Error(`${name} is not running`);
    return pid;
  }

  /**
   * Freezes a control-plane process with SIGSTOP: its sockets stay open and its clients hang instead of
   * being refused, as with a stalled disk or a long GC pause. stop() resumes it if the test does not.
   */
  pause(name: string): void {
    process.kill(this.pidOf(name), 'SIGSTOP');
    this.paused.add(name);
  }

  resume(name: string): void {
    this.paused.delete(name);
    process.kill(this.pidOf(name), 'SIGCONT');
  }

  /**
   * Kills the API server (no graceful drain: clients see connections reset and refused) and, after
   * `downtimeMs`, starts it again on the same port with the same etcd and certificates: for tests of
   * clients that must survive an API server restart.
   */
  async restartApiServer(downtimeMs = 0): Promise<{ readonly startedAt: number; readonly readyAt: number }> {
    const index = this.processes.findIndex((p) => p.name === 'kube-apiserver' && p.running);
    const launch = this.apiServerLaunch;
    if (index < 0 || !launch || this.stopped) throw new Error('the API server is not running');
    await (this.processes[index] as ManagedProcess).stop(0);
    if (downtimeMs > 0) await sleep(downtimeMs);
    const startedAt = Date.now();
    const restarted = ManagedProcess.start(
      'kube-apiserver',
      join(this.binDir, 'kube-apiserver'),
      launch.args,
      this.logFile('kube-apiserver'),
    );
    this.processes[index] = restarted;
    await restarted.waitUntilReady(launch.ready, 60_000);
    return { startedAt, readyAt: Date.now() };
  }

  private async startControllers(pki: Pki): Promise<void> {
    const kubeconfig = `--kubeconfig=${this.kubeconfigPath}`;
    this.launch('kube-controller-manager', [
      kubeconfig,
      `--authentication-kubeconfig=${this.kubeconfigPath}`,
      `--authorization-kubeconfig=${this.kubeconfigPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${await freePort()}`,
      '--leader-elect=false',
      `--root-ca-file=${pki.caCert}`,
      `--service-account-private-key-file=${pki.saPrivate}`,
      '--use-service-account-credentials=true',
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      // Simulated nodes are kept alive by kwok's heartbeats; a short grace period makes a stopped one
      // visible quickly.
      '--node-monitor-grace-period=20s',
      // Only informational without --allocate-node-cidrs, but kept identical to the API server's so the two
      // never disagree about the cluster's families.
      `--service-cluster-ip-range=${SERVICE_CIDRS.join(',')}`,
    ]);
    this.launch('kube-scheduler', [
      kubeconfig,
      `--authentication-kubeconfig=${this.kubeconfigPath}`,
      `--authorization-kubeconfig=${this.kubeconfigPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${await freePort()}`,
      '--leader-elect=false',
    ]);
    this.launch('kwok', [
      kubeconfig,
      `--config=${join(this.binDir, 'kwok-stages.yaml')}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      // Heartbeats through node Leases, renewed well within the controller manager's 20 s grace period;
      // without them a node looks NotReady every ~25 s and its pods are marked not ready for good.
      '--node-lease-duration-seconds=40',
      '--cidr=10.244.0.0/16',
      '--node-ip=10.244.0.1',
      `--server-address=127.0.0.1:${await freePort()}`,
    ]);
  }
}
