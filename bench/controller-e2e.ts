/**
 * The controller end to end through a real local API server, with 5,000 LoadBalancer Services:
 *   live     created at once (bounded concurrency) while the controller runs: seconds until all have an IP;
 *   restart  SIGKILL and restart with all assigned: seconds until every service is re-validated, IPs moved;
 *   backlog  all created while no controller runs, then it starts: seconds until all have an IP;
 * and the controller's peak RSS (VmHWM) in each phase, and in the live and backlog phases the write requests
 * the API server served per assigned Service for the controller (its apiserver_request_total for Services,
 * events and pools, less the bench's own creates), by resource.
 *
 * Run: npx tsc -p . && node --import tsx bench/controller-e2e.ts [--services 5000] [--concurrency 50]
 * The controller runs from dist/ (as a pod would run the built image), so build first.
 * Allocation only: the pool is 10.10.0.0/16 and no traffic is ever sent to an assigned address.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { V1Service } from '@kubernetes/client-node';
import { ingressIPsOf } from '../src/controller/allocator/index.js';
import { Informer } from '../src/runtime/informer.js';
import { RawClient } from '../src/runtime/raw-client.js';
import { loadKubeConfig } from '../test/cluster/kube-setup.js';
import { LocalCluster, repoRoot } from '../test/cluster/local-cluster.js';
import { ManagedProcess, sleep } from '../test/cluster/processes.js';
import { bounded } from './bounded.js';

const namespace = 'bench';

function options(): { services: number; concurrency: number } {
  const { values } = parseArgs({
    options: {
      services: { type: 'string', default: '5000' },
      concurrency: { type: 'string', default: '50' },
    },
  });
  const services = Number(values.services);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(services) || services < 1 || !Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error('--services and --concurrency take positive integers');
  }
  return { services, concurrency };
}

function serviceName(index: number): string {
  return `svc-${String(index).padStart(5, '0')}`;
}

function peakRssMiB(pid: number | undefined): number {
  if (pid === undefined || !existsSync(`/proc/${pid}/status`)) return Number.NaN;
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

const writeVerbs = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/**
 * What the controller writes besides its Lease (renewals are time, not work). kube-controller-manager writes
 * endpoints, EndpointSlices and ClusterIP objects for every new Service meanwhile: not ours to count.
 */
const controllerWrites = new Set(['services', 'events', 'ipaddresspools']);

/** Write requests the API server has served so far, by "VERB resource[/subresource]". */
function apiServerWrites(cluster: LocalCluster): Map<string, number> {
  const text = execFileSync(
    join(cluster.binDir, 'kubectl'),
    ['--kubeconfig', cluster.kubeconfigPath, 'get', '--raw', '/metrics'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  const writes = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = new Map(
      [...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]),
    );
    const verb = labels.get('verb') ?? '';
    if (!writeVerbs.has(verb)) continue;
    const subresource = labels.get('subresource');
    const key = `${verb} ${labels.get('resource') ?? ''}${subresource ? `/${subresource}` : ''}`;
    writes.set(key, (writes.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return writes;
}

/**
 * The controller's writes between two snapshots, per assigned Service: everything written in between, less
 * the `created` Services the bench posted itself and what other components wrote.
 */
function writesPerService(
  before: Map<string, number>,
  after: Map<string, number>,
  created: number,
  assigned: number,
): string {
  const delta = new Map<string, number>();
  for (const [key, value] of after) {
    const added = value - (before.get(key) ?? 0);
    if (added > 0 && controllerWrites.has(key.split(' ')[1]?.split('/')[0] ?? '')) delta.set(key, added);
  }
  delta.set('POST services', (delta.get('POST services') ?? 0) - created);
  const parts = [...delta].filter(([, value]) => value > 0).sort(([, a], [, b]) => b - a);
  const total = parts.reduce((sum, [, value]) => sum + value, 0);
  const detail = parts.map(([key, value]) => `${key} ${(value / assigned).toFixed(2)}`).join(', ');
  return `${(total / assigned).toFixed(2)} (${detail})`;
}

class ControllerRun {
  private constructor(readonly process: ManagedProcess) {}

  static start(kubeconfig: string, logDir: string, run: number): ControllerRun {
    const entry = join(repoRoot, 'dist/src/cli/main.js');
    const process = ManagedProcess.start(
      'metallb controller',
      globalThis.process.execPath,
      [
        entry,
        'controller',
        `--kubeconfig=${kubeconfig}`,
        '--port=0',
        '--health-probe-port=0',
        '--metrics-insecure',
      ],
      join(logDir, `controller-${run}.log`),
      // The same pod name across the restart, as a restarted container has: it takes the Lease back at once.
      { ...globalThis.process.env, METALLB_POD_NAME: 'bench-controller' },
    );
    return new ControllerRun(process);
  }

  log(): string {
    return existsSync(this.process.logFile) ? readFileSync(this.process.logFile, 'utf8') : '';
  }

  /** The port of /metrics, once the controller logged it. */
  async metricsPort(): Promise<number> {
    let port: number | undefined;
    await this.process.waitUntilReady(async () => {
      port = Number(/"metricsPort":(\d+)/.exec(this.log())?.[1]) || undefined;
      return port !== undefined;
    }, 30_000);
    return port as number;
  }

  /** Successful service reconciles so far, from the controller's own metrics. */
  async serviceReconciles(port: number): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const match = /controller_runtime_reconcile_total\{controller="service",result="success"\} (\d+)/.exec(
      text,
    );
    return match ? Number(match[1]) : 0;
  }
}

/** Which bench services have an address, kept by a watch (polling 5,000 services would load the API server). */
class Assignments {
  readonly ips = new Map<string, string>();
  private waiter: { count: number; resolve: () => void } | undefined;
  private readonly informer: Informer<V1Service>;

  constructor(client: RawClient) {
    this.informer = new Informer<V1Service>({ client, resource: `/api/v1/namespaces/${namespace}/services` });
    const observe = (service: V1Service): void => {
      const ip = ingressIPsOf(service)[0];
      if (ip !== undefined) this.ips.set(service.metadata?.name ?? '', ip);
      else this.ips.delete(service.metadata?.name ?? '');
      if (this.waiter && this.ips.size >= this.waiter.count) this.waiter.resolve();
    };
    this.informer.addHandler({
      onAdd: observe,
      onUpdate: (_old, service) => observe(service),
      onDelete: (service) => this.ips.delete(service.metadata?.name ?? ''),
    });
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.waitForSync();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  /** Resolves once `count` services have an address. */
  all(count: number): Promise<void> {
    if (this.ips.size >= count) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = { count, resolve };
    });
  }

  get services(): number {
    return this.informer.size;
  }
}

async function createServices(client: RawClient, count: number, concurrency: number): Promise<number> {
  const started = performance.now();
  await bounded(count, concurrency, async (index) => {
    await client.create(`/api/v1/namespaces/${namespace}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: serviceName(index), namespace },
      spec: {
        type: 'LoadBalancer',
        // The NodePort range (30000-32767) holds fewer ports than there are services here.
        allocateLoadBalancerNodePorts: false,
        selector: { app: 'bench' },
        ports: [{ port: 80, protocol: 'TCP' }],
      },
    });
  });
  return (performance.now() - started) / 1000;
}

const seconds = (since: number): number => (performance.now() - since) / 1000;

async function main(): Promise<void> {
  const { services: count, concurrency } = options();
  if (!existsSync(join(repoRoot, 'dist/src/cli/main.js'))) {
    throw new Error('dist/ is missing: run `npx tsc -p .` first');
  }
  const logDir = mkdtempSync(join(tmpdir(), 'metallb-bench-'));
  console.log('starting a local control plane…');
  const cluster = await LocalCluster.start();
  const controllers: ControllerRun[] = [];
  let run = 0;
  const startController = async (): Promise<{ controller: ControllerRun; port: number }> => {
    run += 1;
    const controller = ControllerRun.start(cluster.kubeconfigPath, logDir, run);
    controllers.push(controller);
    return { controller, port: await controller.metricsPort() };
  };
  const rows: [string, string][] = [
    ['services', String(count)],
    ['creation concurrency', String(concurrency)],
  ];
  let failed = false;
  try {
    const client = new RawClient(loadKubeConfig(cluster.kubeconfigPath));
    for (const name of ['metallb-system', namespace]) {
      await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
    await client.create('/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools', {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'bench', namespace: 'metallb-system' },
      spec: { addresses: ['10.10.0.0/16'] },
    });
    const assignments = new Assignments(client);
    await assignments.start();

    // 1. Created at once while the controller runs: assigned as fast as they are created?
    const live = await startController();
    await live.controller.process.waitUntilReady(
      async () => live.controller.log().includes('pools loaded'),
      60_000,
    );
    console.log(`live: creating ${count} LoadBalancer Services while the controller runs…`);
    const liveWritesBefore = apiServerWrites(cluster);
    const liveStart = performance.now();
    const liveCreated = await createServices(client, count, concurrency);
    await assignments.all(count);
    const liveAssigned = seconds(liveStart);
    // Events and pool status may trail the last address by a moment.
    await sleep(3000);
    const liveWrites = writesPerService(liveWritesBefore, apiServerWrites(cluster), count, count);
    const distinct = new Set(assignments.ips.values()).size;
    failed ||= distinct !== count;
    rows.push(
      ['live: all created after', `${liveCreated.toFixed(1)} s`],
      ['live: all assigned after', `${liveAssigned.toFixed(1)} s (${(count / liveAssigned).toFixed(0)}/s)`],
      ['live: distinct addresses', String(distinct)],
      ['live: controller peak RSS (VmHWM)', `${peakRssMiB(live.controller.process.pid).toFixed(0)} MiB`],
      ['live: controller writes per assigned Service', liveWrites],
    );

    // 2. SIGKILL and restart: the new process rebuilds its state and re-validates every service.
    console.log('restart: SIGKILL, then a new controller…');
    const before = new Map(assignments.ips);
    process.kill(live.controller.process.pid as number, 'SIGKILL');
    await live.controller.process.stop();
    const restartStart = performance.now();
    const restarted = await startController();
    // Every bench service plus the default "kubernetes" Service.
    while ((await restarted.controller.serviceReconciles(restarted.port)) < count + 1) await sleep(100);
    const restartSeconds = seconds(restartStart);
    await sleep(1000);
    const changed = [...before].filter(([name, ip]) => assignments.ips.get(name) !== ip).length;
    failed ||= changed !== 0;
    rows.push(
      ['restart: every service re-validated after', `${restartSeconds.toFixed(1)} s`],
      ['restart: addresses changed', String(changed)],
      ['restart: controller peak RSS', `${peakRssMiB(restarted.controller.process.pid).toFixed(0)} MiB`],
    );

    // 3. A backlog: all services exist, pending, when the controller starts.
    console.log(`backlog: ${count} pending Services, then the controller starts…`);
    await restarted.controller.process.stop();
    // One deletecollection call; the API server needs a while for thousands of objects.
    await client.delete(`/api/v1/namespaces/${namespace}/services`, { timeoutMs: 600_000 });
    while (assignments.services > 0) await sleep(200);
    const backlogCreated = await createServices(client, count, concurrency);
    const backlogWritesBefore = apiServerWrites(cluster);
    const backlogStart = performance.now();
    const backlog = await startController();
    await assignments.all(count);
    const backlogSeconds = seconds(backlogStart);
    await sleep(3000);
    const backlogWrites = writesPerService(backlogWritesBefore, apiServerWrites(cluster), 0, count);
    failed ||= new Set(assignments.ips.values()).size !== count;
    rows.push(
      ['backlog: created (no controller) in', `${backlogCreated.toFixed(1)} s`],
      [
        'backlog: all assigned after controller start',
        `${backlogSeconds.toFixed(1)} s (${(count / backlogSeconds).toFixed(0)}/s)`,
      ],
      ['backlog: controller peak RSS', `${peakRssMiB(backlog.controller.process.pid).toFixed(0)} MiB`],
      ['backlog: controller writes per assigned Service', backlogWrites],
    );
    await assignments.stop();
    client.close();

    const width = Math.max(...rows.map(([label]) => label.length));
    console.log('');
    for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
    if (failed) process.exitCode = 1;
  } finally {
    for (const controller of controllers) await controller.process.stop();
    await cluster.stop();
    if (process.exitCode) console.log(`controller logs kept in ${logDir}`);
    else rmSync(logDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
