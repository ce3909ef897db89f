/**
 * The memory of the long-running components where the project sets a bound, each as a real process against
 * the local control plane, with V8's heap printed next to the kernel's RSS so each figure is explained:
 *   speaker   1,000 LoadBalancer Services announced over BGP to 10 peers (one FRR router in a network
 *             namespace that installs every route; nine more configured peers on the lab's LAN that nobody
 *             answers, as when routers are down), measured once every route is at the router and again after
 *             a settle: bound 100 MiB;
 *   operator  a MetalLB resource reconciled, then idle: bound 80 MiB;
 *   webhook   registered with the API server, caches synced over the same configuration, then idle: 80 MiB.
 * The controller's memory at 5,000 Services is measured by bench/controller-e2e.ts.
 *
 * Run: make build && node --import tsx bench/memory.ts [--services 1000] [--peers 10] [--settle-s 30]
 * The speaker part needs root and FRR (network namespaces); without them it is skipped and says so.
 * Heap figures come from bench/support/memory-probe.mjs, loaded into each component through NODE_OPTIONS.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startSupervised, stopSupervised } from '../test/cluster/supervisor.js';
import { createNamespace, ensureNamespace, kubectl, rawClient } from '../test/cluster/lab/cluster.js';
import { startProduct, type ProductProcess } from '../test/cluster/lab/product.js';
import { BgpTopology, NODE_ASN, ROUTER_ASN, ROUTER_LAN_ADDRESS } from '../test/cluster/lab/topology.js';
import {
  METALLB_NAMESPACE,
  applyMetallb,
  createLoadBalancerService,
  startSpeakers,
  type SpeakerHandle,
} from '../test/cluster/lab/topology-speakers.js';
import { missingPrerequisite } from '../test/support/machine-probes.js';
import { componentNodeOptions } from '../src/operator/render/node-options.js';
import { freePort, sleep } from '../test/cluster/processes.js';
import { waitFor } from '../test/cluster/wait-for.js';
import { bounded } from './bounded.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    peers: { type: 'string', default: '10' },
    'settle-s': { type: 'string', default: '30' },
  },
});
const serviceCount = Number(values.services);
const peerCount = Number(values.peers);
const settleMs = Number(values['settle-s']) * 1000;
if (!(Number.isInteger(serviceCount) && serviceCount >= 1 && serviceCount <= 4000))
  throw new Error('--services must be 1..4000 (the pool is a /20)');
if (!(Number.isInteger(peerCount) && peerCount >= 1 && peerCount <= 50))
  throw new Error('--peers must be 1..50');

/** Addresses only the lab's router ever sees (it installs them as routes); nothing is sent to them. */
const POOL = '10.99.0.0/20';
const addressOf = (index: number): string => `10.99.${(index + 1) >> 8}.${(index + 1) & 255}`;
/** Peers on the lab's LAN beyond the router: configured, never answering. */
const silentPeerAddress = (index: number): string => `198.51.100.${200 + index}`;

const MiB = 1024 * 1024;
const probeDir = mkdtempSync(join(tmpdir(), 'metallb-bench-memory-'));

interface Heap {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  peakHeapUsed: number;
}

interface Figures {
  rss: number;
  peakRss: number;
  heap?: Heap;
}

function measure(pid: number | undefined): Figures {
  const status =
    pid !== undefined && existsSync(`/proc/${pid}/status`) ? readFileSync(`/proc/${pid}/status`, 'utf8') : '';
  const field = (name: string): number =>
    Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024;
  const probe = join(probeDir, `${pid}.json`);
  return {
    rss: field('VmRSS'),
    peakRss: field('VmHWM'),
    ...(existsSync(probe) ? { heap: JSON.parse(readFileSync(probe, 'utf8')) as Heap } : {}),
  };
}

const rows: string[] = [];
function record(component: string, when: string, bound: number, figures: Figures): void {
  const mib = (bytes: number | undefined): string => (bytes === undefined ? '—' : (bytes / MiB).toFixed(1));
  const { heap } = figures;
  const verdict = figures.peakRss <= bound * MiB ? 'within' : 'OVER';
  const row =
    `| ${component} | ${when} | ${mib(figures.rss)} | ${mib(figures.peakRss)} | ${mib(heap?.heapUsed)} | ` +
    `${mib(heap?.peakHeapUsed)} | ${mib(heap?.heapTotal)} | ${mib(heap?.external)} | ${bound} (${verdict}) |`;
  rows.push(row);
  process.stdout.write(`${row}\n`);
}

/** The deployed NODE_OPTIONS plus the probe (METALLB_BENCH_NODE_OPTIONS replaces the deployed flags, to compare). */
function withProbe(): Record<string, string> {
  const probe = pathToFileURL(join(import.meta.dirname, 'support/memory-probe.mjs')).href;
  const flags = process.env.METALLB_BENCH_NODE_OPTIONS ?? componentNodeOptions;
  return { NODE_OPTIONS: `${flags} --import=${probe}`.trim(), METALLB_BENCH_MEMORY_DIR: probeDir };
}

async function configure(): Promise<string> {
  await ensureNamespace(METALLB_NAMESPACE);
  const peers = [
    {
      kind: 'BGPPeer' as const,
      name: 'router',
      spec: { myASN: NODE_ASN, peerASN: ROUTER_ASN, peerAddress: ROUTER_LAN_ADDRESS },
    },
    ...Array.from({ length: peerCount - 1 }, (_, index) => ({
      kind: 'BGPPeer' as const,
      name: `silent-${index + 1}`,
      spec: { myASN: NODE_ASN, peerASN: ROUTER_ASN, peerAddress: silentPeerAddress(index) },
    })),
  ];
  await applyMetallb(
    { kind: 'IPAddressPool', name: 'bench', spec: { addresses: [POOL], autoAssign: false } },
    ...peers,
    { kind: 'BGPAdvertisement', name: 'bench', spec: { ipAddressPools: ['bench'] } },
  );
  const namespace = await createNamespace('bench-memory');
  const started = Date.now();
  await bounded(serviceCount, 20, (index) =>
    createLoadBalancerService({
      namespace,
      name: `svc-${String(index).padStart(4, '0')}`,
      ip: addressOf(index),
      pool: 'bench',
      endpointNodes: ['worker-0'],
    }),
  );
  process.stdout.write(
    `${serviceCount} Services with addresses and endpoints, ${peerCount} BGPPeers: ${Date.now() - started} ms\n`,
  );
  return namespace;
}

async function measureSpeaker(): Promise<void> {
  const missing = missingPrerequisite('root', 'frr');
  if (missing !== undefined) {
    process.stdout.write(`speaker: skipped (${missing})\n`);
    return;
  }
  let topology: BgpTopology | undefined;
  let speakers: SpeakerHandle[] = [];
  try {
    topology = await BgpTopology.create({ nodes: ['worker-0'] });
    const lab = topology;
    const started = Date.now();
    // Info, as the operator deploys it: the lab's default debug logging allocates a line per object.
    speakers = await startSpeakers(lab, { extraArgs: ['--log-level', 'info'], env: withProbe() });
    const speaker = speakers[0] as SpeakerHandle;
    await waitFor(
      `all ${serviceCount} routes at the router`,
      async () =>
        (await lab.routerInstalled().catch(() => new Map())).size >= serviceCount ? true : undefined,
      { timeoutMs: 900_000, intervalMs: 2000 },
    );
    process.stdout.write(`speaker: every route at the router ${Date.now() - started} ms after start\n`);
    await sleep(1000);
    record(
      'speaker',
      `${serviceCount} routes announced, ${peerCount} peers`,
      100,
      measure(speaker.product.process.pid),
    );
    await sleep(settleMs);
    record('speaker', `after ${settleMs / 1000} s more`, 100, measure(speaker.product.process.pid));
  } finally {
    await Promise.all(speakers.map((speaker) => speaker.stop()));
    await topology?.destroy();
  }
}

async function measureOperatorAndWebhook(): Promise<void> {
  const products: ProductProcess[] = [];
  try {
    const env = withProbe();
    const operator = startProduct(
      'operator',
      ['--health-probe-bind-address=127.0.0.1:0', '--metrics-bind-address=0'],
      { env: { ...env, OPERATOR_NAMESPACE: METALLB_NAMESPACE } },
    );
    products.push(operator);
    const port = await freePort();
    const webhook = startProduct(
      'webhook',
      [
        '--host=127.0.0.1',
        `--port=${port}`,
        `--local-url=https://127.0.0.1:${port}`,
        `--namespace=${METALLB_NAMESPACE}`,
      ],
      { env },
    );
    products.push(webhook);
    await rawClient().apply(
      `/apis/metallb.io/v1beta1/namespaces/${METALLB_NAMESPACE}/metallbs/metallb`,
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'MetalLB',
        metadata: { name: 'metallb', namespace: METALLB_NAMESPACE },
        spec: {},
      },
      'bench-memory',
    );
    await waitFor(
      'the MetalLB resource to be Available',
      async () => {
        const result = await kubectl([
          'get',
          'metallb',
          'metallb',
          '-n',
          METALLB_NAMESPACE,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Available")].status}',
        ]);
        return result.stdout === 'True' ? true : undefined;
      },
      120_000,
    );
    // Enforced: a pool overlapping the bench's is refused by the webhook, which judged it from its caches.
    await waitFor(
      'the webhook to judge from its synced caches',
      async () => {
        const result = await kubectl(
          ['apply', '--dry-run=server', '-f', '-'],
          `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: overlap, namespace: ${METALLB_NAMESPACE}}\nspec: {addresses: ["${addressOf(0)}/32"]}\n`,
        );
        return result.code !== 0 && result.stderr.includes('admission webhook') ? true : undefined;
      },
      60_000,
    );
    process.stdout.write(`operator and webhook ready; idle for ${settleMs / 1000} s\n`);
    await sleep(settleMs);
    record('operator', `MetalLB reconciled, idle ${settleMs / 1000} s`, 80, measure(operator.process.pid));
    record('webhook', `caches synced, idle ${settleMs / 1000} s`, 80, measure(webhook.process.pid));
  } finally {
    for (const product of products.reverse()) await product.stop();
  }
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'metallb-bench-memory-cluster-'));
  try {
    const cluster = await startSupervised({ stateDir, parentPid: process.pid });
    process.env.METALLB_E2E_KUBECONFIG = cluster.kubeconfig;
    process.env.METALLB_E2E_BIN_DIR = cluster.binDir;
    process.env.METALLB_E2E_WORK_DIR = cluster.workDir;
    await configure();
    process.stdout.write(
      '\n| component | when | RSS MiB | peak RSS MiB | heap used MiB | peak heap used MiB | heap total MiB | external MiB | bound MiB |\n' +
        '|---|---|---:|---:|---:|---:|---:|---:|---|\n',
    );
    await measureOperatorAndWebhook();
    await measureSpeaker();
    process.stdout.write(`\n${rows.join('\n')}\n`);
  } finally {
    await stopSupervised(stateDir).catch(() => false);
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(probeDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
