/**
 * The controller end to end through a real local API server, with 5,000 LoadBalancer Services:
 *   live     created at once (bounded concurrency) while the controller runs: seconds until all have an IP;
 *   restart  SIGKILL and restart with all assigned: seconds until every service is re-validated, IPs moved;
 *   backlog  all created while no controller runs, then it starts: seconds until all have an IP;
 * and the controller's peak RSS (VmHWM) in each phase, and in each phase the write requests the API server
 * served for the controller (its apiserver_request_total for Services, events, pools and configuration
 * states, less the bench's own creates), per assigned Service and by resource.
 *
 * Run: npx tsc -p . && node --import tsx bench/controller-e2e.ts [--services 5000] [--concurrency 50]
 * The controller runs from dist/ (as a pod would run the built image), so build first.
 *
 * Another MetalLB-compatible controller runs in the same harness with --controller-cmd (a command line with
 * placeholders, see `placeholders`), --controller-env NAME=VALUE (repeatable) and --controller-crds DIR (CRDs
 * it needs that crds/ lacks: only those not yet in the cluster are installed, so ours keep their schema).
 * --compare runs ours and that one in the same run against the same control plane, --rounds times each,
 * in the order ours, other, other, ours, ours, … (each round reverses the previous one, so a drift of the
 * shared machine or of the cluster's etcd falls on both), and prints both and their ratio. Without
 * --controller-cmd, --compare takes upstream MetalLB's controller as bench/upstream/build-controller.sh
 * builds it (see upstreamCommand).
 *
 * Same cluster for every run: the issue asks for both against the same control plane in the same run.
 * Between runs the controller is stopped and every bench Service deleted (one deletecollection, then waited
 * for), so each run starts from the same empty namespace and the same pool; only events and etcd history
 * accumulate, which the alternating order spreads over both.
 *
 * Allocation only: the pool is 10.10.0.0/16 and no traffic is ever sent to an assigned address.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { V1CustomResourceDefinition, V1Service } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { ingressIPsOf } from '../src/controller/allocator/index.js';
import { Informer } from '../src/runtime/informer.js';
import { RawClient, apiStatus } from '../src/runtime/raw-client.js';
import { installCrds, loadKubeConfig } from '../test/cluster/kube-setup.js';
import { LocalCluster, repoRoot } from '../test/cluster/local-cluster.js';
import { ManagedProcess, freePort, sleep } from '../test/cluster/processes.js';
import { componentNodeOptions } from '../src/operator/render/node-options.js';
import { bounded } from './bounded.js';

const namespace = 'bench';
const systemNamespace = 'metallb-system';
const pool = 'bench';
/** The Pod both controllers are told they run in (upstream reads its own Pod at start for owner references). */
const podName = 'bench-controller';

/**
 * What --controller-cmd and --controller-env may contain: {kubeconfig}, {namespace} (where the pools are),
 * {podName}, {metricsPort} and {healthPort} (free ports drawn for each start).
 */
type Placeholders = Record<'kubeconfig' | 'namespace' | 'podName' | 'metricsPort' | 'healthPort', string>;

interface ControllerSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** How /metrics is served: ours plain HTTP (--metrics-insecure), upstream's HTTPS with token review. */
  readonly metricsScheme: 'http' | 'https';
  readonly crdsDir?: string;
}

const upstreamDir = process.env.METALLB_UPSTREAM_DIR ?? join(homedir(), '.cache/metallb-ts/upstream-metallb');

/** Upstream's controller outside a pod: no webhook (so no cert rotation), metrics and probes on free ports. */
const upstreamCommand =
  `${join(upstreamDir, 'controller')} --kubeconfig={kubeconfig} --namespace={namespace} --pod-name={podName}` +
  ' --port={metricsPort} --health-probe-port={healthPort} --webhook-mode=disabled --log-level=info';

function ours(): ControllerSpec {
  return {
    name: 'ours',
    command: process.execPath,
    args: [
      join(repoRoot, 'dist/src/cli/main.js'),
      'controller',
      '--kubeconfig={kubeconfig}',
      '--namespace={namespace}',
      '--port={metricsPort}',
      '--health-probe-port={healthPort}',
      '--metrics-insecure',
    ],
    // The same pod name across the restart, as a restarted container has: it takes the Lease back at once.
    // NODE_OPTIONS as the controller's container sets it (src/operator/render/node-options.ts).
    env: { METALLB_POD_NAME: '{podName}', NODE_OPTIONS: componentNodeOptions },
    metricsScheme: 'http',
  };
}

interface Options {
  services: number;
  concurrency: number;
  rounds: number;
  /** In the order they run in the first round. */
  controllers: ControllerSpec[];
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      services: { type: 'string', default: '5000' },
      concurrency: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '1' },
      compare: { type: 'boolean', default: false },
      'controller-cmd': { type: 'string' },
      'controller-env': { type: 'string', multiple: true, default: [] },
      'controller-crds': { type: 'string' },
      'controller-name': { type: 'string' },
      'controller-metrics': { type: 'string', default: 'https' },
    },
  });
  const services = Number(values.services);
  const concurrency = Number(values.concurrency);
  const rounds = Number(values.rounds);
  for (const [flag, value] of [
    ['--services', services],
    ['--concurrency', concurrency],
    ['--rounds', rounds],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} takes a positive integer`);
  }
  const scheme = values['controller-metrics'];
  if (scheme !== 'http' && scheme !== 'https') throw new Error('--controller-metrics is http or https');
  const upstream = values['controller-cmd'] === undefined;
  const words = splitCommand(values['controller-cmd'] ?? upstreamCommand);
  const env: Record<string, string> = {};
  for (const pair of values['controller-env']) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`--controller-env takes NAME=VALUE, not ${pair}`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const other: ControllerSpec = {
    name: values['controller-name'] ?? (upstream ? 'upstream' : 'other'),
    command: words[0] as string,
    args: words.slice(1),
    env,
    metricsScheme: scheme,
    crdsDir:
      values['controller-crds'] ?? (upstream ? join(upstreamDir, 'src-current/config/crd/bases') : undefined),
  };
  if (upstream && values.compare && !existsSync(other.command)) {
    throw new Error(`${other.command} is missing: run bench/upstream/build-controller.sh first`);
  }
  const controllers = values.compare
    ? [ours(), other]
    : values['controller-cmd'] !== undefined
      ? [other]
      : [ours()];
  if (controllers.includes(other) && other.crdsDir !== undefined && !existsSync(other.crdsDir)) {
    throw new Error(`--controller-crds ${other.crdsDir} does not exist`);
  }
  return { services, concurrency, rounds, controllers };
}

/** Words of a command line: split at spaces, with '…' or "…" keeping spaces inside one word. */
function splitCommand(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g))
    words.push(match[1] ?? match[2] ?? match[3] ?? '');
  if (words.length === 0) throw new Error('--controller-cmd is empty');
  return words;
}

function fill(text: string, values: Placeholders): string {
  return text.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in values ? values[key as keyof Placeholders] : whole,
  );
}

/** The run order: the first round as given, every next round reversed from the one before. */
function schedule(controllers: ControllerSpec[], rounds: number): ControllerSpec[] {
  const order: ControllerSpec[] = [];
  for (let round = 0; round < rounds; round++) {
    order.push(...(round % 2 === 0 ? controllers : [...controllers].reverse()));
  }
  return order;
}

function serviceName(index: number): string {
  return `svc-${String(index).padStart(5, '0')}`;
}

function memoryMiB(pid: number | undefined, field: 'VmHWM' | 'VmRSS'): number {
  if (pid === undefined || !existsSync(`/proc/${pid}/status`)) return Number.NaN;
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

const writeVerbs = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/**
 * What the controllers write besides their Lease (renewals are time, not work); upstream also keeps a
 * ConfigurationState. kube-controller-manager writes endpoints, EndpointSlices and ClusterIP objects for every
 * new Service meanwhile: not theirs to count.
 */
const controllerWrites = new Set(['services', 'events', 'ipaddresspools', 'configurationstates']);

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

interface Writes {
  readonly total: number;
  /** False when the controller was still writing when measured (settledWrites gave up). */
  readonly settled: boolean;
  /** "VERB resource" → requests, largest first. */
  readonly parts: [string, number][];
}

/**
 * The controller's writes between two snapshots: everything written in between to the resources it writes,
 * less the `created` Services the bench posted itself.
 */
function controllerWritesBetween(
  before: Map<string, number>,
  after: Map<string, number>,
  created: number,
  settled = true,
): Writes {
  const delta = new Map<string, number>();
  for (const [key, value] of after) {
    const added = value - (before.get(key) ?? 0);
    if (added > 0 && controllerWrites.has(key.split(' ')[1]?.split('/')[0] ?? '')) delta.set(key, added);
  }
  delta.set('POST services', (delta.get('POST services') ?? 0) - created);
  const parts = [...delta].filter(([, value]) => value > 0).sort(([, a], [, b]) => b - a);
  return { total: parts.reduce((sum, [, value]) => sum + value, 0), parts, settled };
}

/**
 * The writes since `before` once the controller has stopped writing: events, pool status and a second status
 * write may trail the last address, and a client-side rate limit can hold them back for a while. Sampled
 * every 3 s until two samples agree, for at most `capMs`.
 */
async function settledWrites(
  cluster: LocalCluster,
  before: Map<string, number>,
  created: number,
  capMs: number,
): Promise<Writes> {
  const deadline = Date.now() + capMs;
  let last = controllerWritesBetween(before, apiServerWrites(cluster), created);
  for (;;) {
    await sleep(3000);
    const now = controllerWritesBetween(before, apiServerWrites(cluster), created);
    if (now.total === last.total) return now;
    if (Date.now() > deadline) return { ...now, settled: false };
    last = now;
  }
}

function describeWrites(writes: Writes, per: number, digits = 2): string {
  const detail = writes.parts.map(([key, value]) => `${key} ${(value / per).toFixed(digits)}`).join(', ');
  const unsettled = writes.settled ? '' : ', still writing when counted';
  return `${(writes.total / per).toFixed(digits)} (${detail || 'none'}${unsettled})`;
}

/** GET a metrics page; HTTPS endpoints are self-signed and want a bearer token (loopback only). */
function scrape(scheme: 'http' | 'https', port: number, token: string): Promise<string> {
  if (scheme === 'http') {
    return fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) =>
      r.text(),
    );
  }
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/metrics',
        rejectUnauthorized: false,
        headers: { authorization: `Bearer ${token}` },
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(body)
            : reject(new Error(`metrics: HTTP ${res.statusCode}: ${body}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('metrics: timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** The value of one sample (`name{labels}` exactly as exposed, labels in any order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const labelText = line[name.length] === '{' ? line.slice(name.length + 1, line.indexOf('}')) : '';
    const have = new Map([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!Object.entries(labels).every(([key, value]) => have.get(key) === value)) continue;
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Heap in use as the controller's own metrics report it: Node's V8 heap, or Go's heap in use. */
function heapMiB(text: string): number {
  const bytes = sample(text, 'nodejs_heap_size_used_bytes') ?? sample(text, 'go_memstats_heap_inuse_bytes');
  return bytes === undefined ? Number.NaN : bytes / 1024 / 1024;
}

class ControllerRun {
  private constructor(
    readonly spec: ControllerSpec,
    readonly process: ManagedProcess,
    readonly metricsPort: number,
    private readonly token: string,
  ) {}

  static async start(
    spec: ControllerSpec,
    kubeconfig: string,
    logFile: string,
    token: string,
  ): Promise<ControllerRun> {
    const metricsPort = await freePort();
    let healthPort = await freePort();
    while (healthPort === metricsPort) healthPort = await freePort();
    const values: Placeholders = {
      kubeconfig,
      namespace: systemNamespace,
      podName,
      metricsPort: String(metricsPort),
      healthPort: String(healthPort),
    };
    const env = { ...globalThis.process.env };
    for (const [key, value] of Object.entries(spec.env)) env[key] = fill(value, values);
    const process = ManagedProcess.start(
      `${spec.name} controller`,
      spec.command,
      spec.args.map((arg) => fill(arg, values)),
      logFile,
      env,
    );
    return new ControllerRun(spec, process, metricsPort, token);
  }

  metrics(): Promise<string> {
    return scrape(this.spec.metricsScheme, this.metricsPort, this.token);
  }

  /** Until the controller has loaded the bench pool (its allocator gauges name it). */
  async poolLoaded(): Promise<void> {
    await this.process.waitUntilReady(
      async () => (sample(await this.metrics(), 'metallb_allocator_addresses_total', { pool }) ?? 0) > 0,
      60_000,
    );
  }

  /**
   * Every bench service re-validated: its allocator holds `count` addresses of the pool, and the service
   * controller has finished `count + 1` reconciles (the bench services and "kubernetes"). Both are needed:
   * ours rebuilds the allocator from Service status before reconciling, so the count of reconciles is what
   * binds; upstream finishes a reconcile for each Service at once while it waits for its first full pass (which
   * assigns every address again), so the addresses in use are what binds.
   */
  async revalidated(count: number): Promise<boolean> {
    const text = await this.metrics();
    const inUse = sample(text, 'metallb_allocator_addresses_in_use_total', { pool }) ?? 0;
    const reconciles =
      sample(text, 'controller_runtime_reconcile_total', { controller: 'service', result: 'success' }) ?? 0;
    return inUse >= count && reconciles >= count + 1;
  }

  peak(): number {
    return memoryMiB(this.process.pid, 'VmHWM');
  }

  async heap(): Promise<number> {
    try {
      return heapMiB(await this.metrics());
    } catch {
      return Number.NaN;
    }
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

  /** Resolves once `count` services have an address, rejects after `timeoutMs`. */
  all(count: number, timeoutMs: number): Promise<void> {
    if (this.ips.size >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${this.ips.size} of ${count} services assigned after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve();
        },
      };
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

/**
 * One deletecollection for every bench Service, then until the watch has seen them all go. On a loaded machine
 * the API server may answer 504 after its request timeout while it goes on deleting: then wait, and ask again
 * only if nothing went for a minute.
 */
async function deleteServices(client: RawClient, assignments: Assignments): Promise<void> {
  for (;;) {
    try {
      await client.delete(`/api/v1/namespaces/${namespace}/services`, { timeoutMs: 600_000 });
    } catch (error) {
      if (apiStatus(error) !== 504) throw error;
      console.log(`deleting services: the API server timed out with ${assignments.services} left; waiting`);
    }
    let left = assignments.services;
    let since = Date.now();
    while (assignments.services > 0 && Date.now() - since < 60_000) {
      await sleep(500);
      if (assignments.services < left) {
        left = assignments.services;
        since = Date.now();
      }
    }
    if (assignments.services === 0) return;
  }
}

const seconds = (since: number): number => (performance.now() - since) / 1000;

/** The figures of one run of one controller through the three phases. */
interface RunResult {
  readonly controller: string;
  readonly liveCreated: number;
  readonly liveAssigned: number;
  readonly distinct: number;
  readonly livePeak: number;
  readonly liveHeap: number;
  readonly liveWrites: Writes;
  readonly restartSeconds: number;
  readonly changed: number;
  readonly restartPeak: number;
  readonly restartWrites: Writes;
  readonly backlogCreated: number;
  readonly backlogSeconds: number;
  readonly backlogDistinct: number;
  readonly backlogPeak: number;
  readonly backlogHeap: number;
  readonly backlogWrites: Writes;
}

interface Bench {
  readonly cluster: LocalCluster;
  readonly client: RawClient;
  readonly assignments: Assignments;
  readonly logDir: string;
  readonly token: string;
  readonly count: number;
  readonly concurrency: number;
  readonly running: ControllerRun[];
}

async function runOnce(bench: Bench, spec: ControllerSpec, run: number): Promise<RunResult> {
  const { cluster, client, assignments, count, concurrency } = bench;
  let starts = 0;
  const start = async (): Promise<ControllerRun> => {
    starts += 1;
    const logFile = join(bench.logDir, `run-${run}-${spec.name}-${starts}.log`);
    const controller = await ControllerRun.start(spec, cluster.kubeconfigPath, logFile, bench.token);
    bench.running.push(controller);
    return controller;
  };
  const timeoutMs = Math.max(600_000, count * 200);
  const settleMs = 120_000;

  // 1. Created at once while the controller runs: assigned as fast as they are created?
  const live = await start();
  await live.poolLoaded();
  console.log(`[run ${run}: ${spec.name}] live: creating ${count} LoadBalancer Services while it runs…`);
  const liveWritesBefore = apiServerWrites(cluster);
  const liveStart = performance.now();
  const liveCreated = await createServices(client, count, concurrency);
  await assignments.all(count, timeoutMs);
  const liveAssigned = seconds(liveStart);
  const liveWrites = await settledWrites(cluster, liveWritesBefore, count, settleMs);
  const distinct = new Set(assignments.ips.values()).size;
  const livePeak = live.peak();
  const liveHeap = await live.heap();

  // 2. SIGKILL and restart: the new process rebuilds its state and re-validates every service.
  console.log(`[run ${run}: ${spec.name}] restart: SIGKILL, then a new process…`);
  const before = new Map(assignments.ips);
  process.kill(live.process.pid as number, 'SIGKILL');
  await live.process.stop();
  const restartWritesBefore = apiServerWrites(cluster);
  const restartStart = performance.now();
  const restarted = await start();
  await restarted.process.waitUntilReady(() => restarted.revalidated(count), timeoutMs);
  const restartSeconds = seconds(restartStart);
  const restartWrites = await settledWrites(cluster, restartWritesBefore, 0, settleMs);
  const changed = [...before].filter(([name, ip]) => assignments.ips.get(name) !== ip).length;
  const restartPeak = restarted.peak();
  await restarted.process.stop();

  // 3. A backlog: all services exist, pending, when the controller starts.
  console.log(`[run ${run}: ${spec.name}] backlog: ${count} pending Services, then it starts…`);
  await deleteServices(client, assignments);
  const backlogCreated = await createServices(client, count, concurrency);
  const backlogWritesBefore = apiServerWrites(cluster);
  const backlogStart = performance.now();
  const backlog = await start();
  await assignments.all(count, timeoutMs);
  const backlogSeconds = seconds(backlogStart);
  const backlogWrites = await settledWrites(cluster, backlogWritesBefore, 0, settleMs);
  const backlogDistinct = new Set(assignments.ips.values()).size;
  const backlogPeak = backlog.peak();
  const backlogHeap = await backlog.heap();
  await backlog.process.stop();
  // The next run starts from an empty namespace.
  await deleteServices(client, assignments);

  return {
    controller: spec.name,
    liveCreated,
    liveAssigned,
    distinct,
    livePeak,
    liveHeap,
    liveWrites,
    restartSeconds,
    changed,
    restartPeak,
    restartWrites,
    backlogCreated,
    backlogSeconds,
    backlogDistinct,
    backlogPeak,
    backlogHeap,
    backlogWrites,
  };
}

/** A row of the report: a label, and the figure of a run (for the ratio) with how it is printed. */
interface Row {
  readonly label: string;
  readonly value: (r: RunResult) => number;
  readonly show: (r: RunResult) => string;
  /** Whether a ratio between controllers says something (counts that must be 0 or equal: no). */
  readonly ratio: boolean;
}

function rows(count: number): Row[] {
  const s = (n: number): string => `${n.toFixed(1)} s`;
  const mib = (n: number): string => `${n.toFixed(0)} MiB`;
  return [
    {
      label: 'live: all created after',
      value: (r) => r.liveCreated,
      show: (r) => s(r.liveCreated),
      ratio: true,
    },
    {
      label: 'live: all assigned after',
      value: (r) => r.liveAssigned,
      show: (r) => `${s(r.liveAssigned)} (${(count / r.liveAssigned).toFixed(0)}/s)`,
      ratio: true,
    },
    {
      label: 'live: distinct addresses',
      value: (r) => r.distinct,
      show: (r) => String(r.distinct),
      ratio: false,
    },
    { label: 'live: peak RSS (VmHWM)', value: (r) => r.livePeak, show: (r) => mib(r.livePeak), ratio: true },
    {
      label: 'live: heap in use at the end',
      value: (r) => r.liveHeap,
      show: (r) => mib(r.liveHeap),
      ratio: true,
    },
    {
      label: 'live: writes per assigned Service',
      value: (r) => r.liveWrites.total / count,
      show: (r) => describeWrites(r.liveWrites, count),
      ratio: true,
    },
    {
      label: 'restart: all re-validated after',
      value: (r) => r.restartSeconds,
      show: (r) => s(r.restartSeconds),
      ratio: true,
    },
    {
      label: 'restart: addresses moved',
      value: (r) => r.changed,
      show: (r) => String(r.changed),
      ratio: false,
    },
    {
      label: 'restart: write requests',
      value: (r) => r.restartWrites.total,
      show: (r) => describeWrites(r.restartWrites, 1, 0),
      ratio: false,
    },
    { label: 'restart: peak RSS', value: (r) => r.restartPeak, show: (r) => mib(r.restartPeak), ratio: true },
    {
      label: 'backlog: created (no controller) in',
      value: (r) => r.backlogCreated,
      show: (r) => s(r.backlogCreated),
      ratio: true,
    },
    {
      label: 'backlog: all assigned after start',
      value: (r) => r.backlogSeconds,
      show: (r) => `${s(r.backlogSeconds)} (${(count / r.backlogSeconds).toFixed(0)}/s)`,
      ratio: true,
    },
    {
      label: 'backlog: distinct addresses',
      value: (r) => r.backlogDistinct,
      show: (r) => String(r.backlogDistinct),
      ratio: false,
    },
    { label: 'backlog: peak RSS', value: (r) => r.backlogPeak, show: (r) => mib(r.backlogPeak), ratio: true },
    {
      label: 'backlog: heap in use at the end',
      value: (r) => r.backlogHeap,
      show: (r) => mib(r.backlogHeap),
      ratio: true,
    },
    {
      label: 'backlog: writes per assigned Service',
      value: (r) => r.backlogWrites.total / count,
      show: (r) => describeWrites(r.backlogWrites, count),
      ratio: true,
    },
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A Markdown table: one column per controller (every run's figure, in run order), and first / second. */
function report(results: RunResult[], names: string[], count: number): string {
  const header = ['', ...names, ...(names.length === 2 ? [`${names[0]} / ${names[1]} (median)`] : [])];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows(count)) {
    const cells = names.map((name) =>
      results
        .filter((r) => r.controller === name)
        .map(row.show)
        .join('; '),
    );
    if (names.length === 2) {
      const [a, b] = names.map((name) => median(results.filter((r) => r.controller === name).map(row.value)));
      cells.push(row.ratio && b ? `${((a as number) / b).toFixed(2)}` : '');
    }
    lines.push(`| ${row.label} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/**
 * CRDs from `dir` the cluster does not have yet (upstream's ConfigurationState, say); the ones it has stay as
 * crds/ installed them, so every controller sees the same schema.
 */
async function installMissingCrds(client: RawClient, kubeconfig: string, dir: string): Promise<string[]> {
  const missing: V1CustomResourceDefinition[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const crd = doc.toJS() as V1CustomResourceDefinition | null;
      if (crd?.kind !== 'CustomResourceDefinition' || !crd.metadata?.name) continue;
      try {
        await client.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
      } catch (error) {
        if (apiStatus(error) !== 404) throw error;
        missing.push(crd);
      }
    }
  }
  if (missing.length === 0) return [];
  const staging = mkdtempSync(join(tmpdir(), 'metallb-bench-crds-'));
  try {
    for (const crd of missing) writeFileSync(join(staging, `${crd.metadata?.name}.yaml`), stringify(crd));
    await installCrds(kubeconfig, staging);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return missing.map((crd) => crd.metadata?.name as string);
}

/**
 * A bearer token that may GET /metrics: upstream serves its metrics over HTTPS behind a TokenReview and a
 * SubjectAccessReview, which the admin's client certificate cannot pass as a header.
 */
async function metricsToken(client: RawClient): Promise<string> {
  const sa = 'bench-metrics-reader';
  await client.create(`/api/v1/namespaces/${systemNamespace}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: sa, namespace: systemNamespace },
  });
  await client.create('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: sa },
    rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }],
  });
  await client.create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: sa },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: sa },
    subjects: [{ kind: 'ServiceAccount', name: sa, namespace: systemNamespace }],
  });
  const review = await client.create<{ status?: { token?: string } }>(
    `/api/v1/namespaces/${systemNamespace}/serviceaccounts/${sa}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 86_400 } },
  );
  const token = review.status?.token;
  if (!token) throw new Error('TokenRequest returned no token');
  return token;
}

function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

async function main(): Promise<void> {
  const { services: count, concurrency, rounds, controllers } = options();
  if (controllers.some((c) => c.name === 'ours') && !existsSync(join(repoRoot, 'dist/src/cli/main.js'))) {
    throw new Error('dist/ is missing: run `npx tsc -p .` first');
  }
  const logDir = mkdtempSync(join(tmpdir(), 'metallb-bench-'));
  mkdirSync(logDir, { recursive: true });
  const startLoad = loadAverage();
  console.log(`load average at start: ${startLoad}; starting a local control plane…`);
  const cluster = await LocalCluster.start();
  const running: ControllerRun[] = [];
  let failed = false;
  try {
    const client = new RawClient(loadKubeConfig(cluster.kubeconfigPath));
    for (const name of [systemNamespace, namespace]) {
      await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
    for (const spec of controllers) {
      if (spec.crdsDir === undefined) continue;
      const added = await installMissingCrds(client, cluster.kubeconfigPath, spec.crdsDir);
      console.log(`CRDs for ${spec.name} from ${spec.crdsDir}: ${added.join(', ') || 'none missing'}`);
    }
    await client.create(`/apis/metallb.io/v1beta1/namespaces/${systemNamespace}/ipaddresspools`, {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: pool, namespace: systemNamespace },
      spec: { addresses: ['10.10.0.0/16'] },
    });
    const token = await metricsToken(client);
    // The Pod the controllers say they run in; kwok keeps it Running on a simulated worker.
    await client.create(`/api/v1/namespaces/${systemNamespace}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: podName,
        namespace: systemNamespace,
        labels: { app: 'metallb', component: 'controller' },
      },
      spec: {
        nodeName: 'worker-0',
        // Its own account: the namespace's "default" may not exist yet (kube-controller-manager makes it).
        serviceAccountName: 'bench-metrics-reader',
        automountServiceAccountToken: false,
        containers: [{ name: 'controller', image: 'bench.invalid/controller' }],
      },
    });
    const assignments = new Assignments(client);
    await assignments.start();
    const bench: Bench = { cluster, client, assignments, logDir, token, count, concurrency, running };

    const results: RunResult[] = [];
    let run = 0;
    for (const spec of schedule(controllers, rounds)) {
      run += 1;
      const result = await runOnce(bench, spec, run);
      failed ||= result.distinct !== count || result.backlogDistinct !== count || result.changed !== 0;
      results.push(result);
      // Each run's figures as soon as it ends: a later failure must not lose them.
      console.log(report([result], [spec.name], count));
    }
    await assignments.stop();
    client.close();

    const names = controllers.map((c) => c.name);
    console.log('');
    console.log(`services ${count}, creation concurrency ${concurrency}, rounds ${rounds}`);
    console.log(`run order: ${results.map((r) => r.controller).join(', ')}`);
    console.log(`load average at start: ${startLoad}; at the end: ${loadAverage()}`);
    console.log('');
    console.log(report(results, names, count));
    if (failed) process.exitCode = 1;
  } finally {
    for (const controller of running) await controller.process.stop();
    await cluster.stop();
    if (process.exitCode) console.log(`controller logs kept in ${logDir}`);
    else rmSync(logDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
