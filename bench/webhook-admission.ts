/**
 * Admission latency through a real local API server, with a configuration of realistic size registered:
 * 1,000 IPAddressPools and 200 BGPPeers. It times server-side dry-run creates of one more pool, sequentially
 * and with 50 in flight, first with the webhook unregistered (the API server alone), then with
 * `metallb webhook` registered, and prints p50/p99 of both, what the webhook adds, and the webhook's RSS
 * (once ready, after the runs, and peak).
 *
 * Run on demand (it loads the machine for minutes): make build && node --import tsx bench/webhook-admission.ts
 *   [--pools 1000] [--peers 200] [--sequential 200] [--in-flight 50] [--concurrent-requests 500]
 * The webhook runs from dist/ (as a pod would run the built image). Targets (issue 15): the webhook adds
 * under 50 ms at p99 to a sequential create, keeps p99 with 50 in flight within 1.5x of the API server's
 * own, and its RSS under 100 MiB.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiError, RawClient, withQuery } from '../src/runtime/raw-client.js';
import { loadKubeConfig } from '../test/cluster/kube-setup.js';
import { LocalCluster, repoRoot } from '../test/cluster/local-cluster.js';
import { freePort, ManagedProcess } from '../test/cluster/processes.js';
import { componentEnv } from '../test/cluster/component-env.js';
import { bounded } from './bounded.js';

const namespace = 'metallb-system';
const poolsPath = `/apis/metallb.io/v1beta1/namespaces/${namespace}/ipaddresspools`;
const peersPath = `/apis/metallb.io/v1beta2/namespaces/${namespace}/bgppeers`;

interface Options {
  readonly pools: number;
  readonly peers: number;
  readonly sequential: number;
  readonly inFlight: number;
  readonly concurrentRequests: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      pools: { type: 'string', default: '1000' },
      peers: { type: 'string', default: '200' },
      sequential: { type: 'string', default: '200' },
      'in-flight': { type: 'string', default: '50' },
      'concurrent-requests': { type: 'string', default: '500' },
    },
  });
  const parsed = {
    pools: Number(values.pools),
    peers: Number(values.peers),
    sequential: Number(values.sequential),
    inFlight: Number(values['in-flight']),
    concurrentRequests: Number(values['concurrent-requests']),
  };
  for (const [name, value] of Object.entries(parsed)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} takes a positive integer`);
  }
  // Peers get addresses 198.51.100.1-254; pools one 2001:db8:0:N::/64 each (N below 0xffff).
  if (parsed.peers > 254) throw new Error('--peers is at most 254');
  if (parsed.pools > 0xfffe) throw new Error(`--pools is at most ${0xfffe}`);
  return parsed;
}

function pool(name: string, address: string): Record<string, unknown> {
  return {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name, namespace },
    spec: { addresses: [address] },
  };
}

function peer(index: number): Record<string, unknown> {
  return {
    apiVersion: 'metallb.io/v1beta2',
    kind: 'BGPPeer',
    metadata: { name: `peer-${index}`, namespace },
    spec: { myASN: 64512, peerASN: 64513, peerAddress: `198.51.100.${index + 1}` },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

interface Latencies {
  readonly p50: number;
  readonly p99: number;
}

/** Dry-run creates of one pool that fits (never stored, so every request judges the same configuration). */
async function timeDryRuns(client: RawClient, count: number, inFlight: number): Promise<Latencies> {
  const path = withQuery(poolsPath, { dryRun: 'All' });
  const durations: number[] = [];
  await bounded(count, inFlight, async (index) => {
    const startedAt = performance.now();
    await client.create(path, pool(`dry-run-${index}`, '2001:db8:0:ffff::/64'));
    durations.push(performance.now() - startedAt);
  });
  durations.sort((a, b) => a - b);
  return { p50: percentile(durations, 50), p99: percentile(durations, 99) };
}

function statusMiB(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number {
  if (pid === undefined || !existsSync(`/proc/${pid}/status`)) return Number.NaN;
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** Starts `metallb webhook` registered at a local URL and waits until the API server calls it. */
async function startWebhook(client: RawClient, kubeconfig: string, logDir: string): Promise<ManagedProcess> {
  const port = await freePort();
  const webhook = ManagedProcess.start(
    'metallb webhook',
    process.execPath,
    [
      join(repoRoot, 'dist/src/cli/main.js'),
      'webhook',
      `--kubeconfig=${kubeconfig}`,
      '--host=127.0.0.1',
      `--port=${port}`,
      `--local-url=https://127.0.0.1:${port}`,
      `--namespace=${namespace}`,
      '--log-level=warn',
    ],
    join(logDir, 'webhook.log'),
    componentEnv(),
  );
  const probe = withQuery(poolsPath, { dryRun: 'All' });
  await webhook.waitUntilReady(async () => {
    try {
      await client.create(probe, pool('probe', 'not-an-address'));
      return false;
    } catch (error) {
      return error instanceof ApiError && error.message.includes('admission webhook');
    }
  }, 120_000);
  return webhook;
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const config = options();
  if (!existsSync(join(repoRoot, 'dist/src/cli/main.js'))) {
    throw new Error('dist/ is missing: run `make build` first');
  }
  const logDir = mkdtempSync(join(tmpdir(), 'metallb-bench-admission-'));
  console.log('starting a local control plane…');
  const cluster = await LocalCluster.start();
  let webhook: ManagedProcess | undefined;
  const client = new RawClient(loadKubeConfig(cluster.kubeconfigPath));
  try {
    await client.create('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace },
    });
    console.log(`registering ${config.pools} pools and ${config.peers} peers (webhook not registered)…`);
    await bounded(config.pools, 20, async (index) => {
      await client.create(poolsPath, pool(`pool-${index}`, `2001:db8:0:${index.toString(16)}::/64`));
    });
    await bounded(config.peers, 20, async (index) => {
      await client.create(peersPath, peer(index));
    });

    console.log('API server alone…');
    const aloneSequential = await timeDryRuns(client, config.sequential, 1);
    const aloneConcurrent = await timeDryRuns(client, config.concurrentRequests, config.inFlight);

    console.log('starting the webhook…');
    webhook = await startWebhook(client, cluster.kubeconfigPath, logDir);
    const idleRss = statusMiB(webhook.pid, 'VmRSS');
    console.log('with the webhook…');
    const withSequential = await timeDryRuns(client, config.sequential, 1);
    const withConcurrent = await timeDryRuns(client, config.concurrentRequests, config.inFlight);
    const rss = statusMiB(webhook.pid, 'VmRSS');
    const peak = statusMiB(webhook.pid, 'VmHWM');

    const rows: [string, string, string, string][] = [
      ['', 'API server alone', 'with the webhook', 'webhook adds / ratio'],
      [
        `sequential p50 (${config.sequential})`,
        ms(aloneSequential.p50),
        ms(withSequential.p50),
        ms(withSequential.p50 - aloneSequential.p50),
      ],
      [
        'sequential p99',
        ms(aloneSequential.p99),
        ms(withSequential.p99),
        `${ms(withSequential.p99 - aloneSequential.p99)} (target < 50 ms)`,
      ],
      [
        `${config.inFlight} in flight p50 (${config.concurrentRequests})`,
        ms(aloneConcurrent.p50),
        ms(withConcurrent.p50),
        `${(withConcurrent.p50 / aloneConcurrent.p50).toFixed(2)}x`,
      ],
      [
        `${config.inFlight} in flight p99`,
        ms(aloneConcurrent.p99),
        ms(withConcurrent.p99),
        `${(withConcurrent.p99 / aloneConcurrent.p99).toFixed(2)}x (target <= 1.5x)`,
      ],
    ];
    console.log(
      `\n${config.pools} pools and ${config.peers} peers registered; dry-run creates of one more pool\n`,
    );
    for (const row of rows) console.log(`| ${row.join(' | ')} |`);
    console.log(
      `\nwebhook RSS: ${idleRss.toFixed(0)} MiB once ready, ${rss.toFixed(0)} MiB after the runs, ` +
        `peak ${peak.toFixed(0)} MiB (target < 100 MiB); log: ${join(logDir, 'webhook.log')}`,
    );
  } finally {
    // The webhook removes its registration on exit; the cluster goes anyway.
    await webhook?.stop();
    client.close();
    await cluster.stop();
  }
}

await main();
