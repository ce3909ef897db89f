/**
 * How long a LoadBalancer IP takes to reach a BGP router: from the moment its address is written into the
 * Service's status (the controller's last step) until the router has installed the /32, through
 * `metallb speaker` and FRR in network namespaces. Prints median, p90, p99 and max over N services, for the
 * first next hop and for the full ECMP set (every node). Then the way back: each address is removed from
 * its Service's status at the same pace, and timed until the router has no next hop left for it.
 *
 * Run as root with FRR installed, after `npx tsc -p .` (the speakers run from dist/):
 *   node --import tsx bench/speaker-bgp.ts [--services 200] [--nodes 2] [--interval-ms 100] [--sequential]
 *     [--order ascending|descending] [--verbose] [--speaker-log-level info]
 * Paced mode (default) writes one status every interval, as a busy controller would (--interval-ms 0: a
 * burst, every status written at once); --sequential waits for each route before the next Service,
 * measuring an idle speaker. Ascending addresses are the controller's lowest-free order; descending ones
 * sort before every existing entry, which used to renumber the speaker's prefix lists (sequence numbers are
 * now derived from each prefix, so the order should not matter).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSupervised, stopSupervised } from '../test/cluster/supervisor.js';
import { waitFor } from '../test/cluster/wait-for.js';
import { createNamespace, ensureNamespace } from '../test/cluster/lab/cluster.js';
import {
  AGGREGATION_POOL,
  BgpTopology,
  NODE_ASN,
  ROUTER_ASN,
  ROUTER_LAN_ADDRESS,
  sleep,
} from '../test/cluster/lab/topology.js';
import {
  METALLB_NAMESPACE,
  applyMetallb,
  clearServiceIngress,
  createLoadBalancerService,
  setServiceIngress,
  startSpeakers,
  type SpeakerHandle,
} from '../test/cluster/lab/topology-speakers.js';

const WARM_UP_IP = '203.0.113.0';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '200' },
    nodes: { type: 'string', default: '2' },
    'interval-ms': { type: 'string', default: '100' },
    sequential: { type: 'boolean', default: false },
    'timeout-s': { type: 'string', default: '1800' },
    verbose: { type: 'boolean', default: false },
    'speaker-log-level': { type: 'string', default: 'info' },
    order: { type: 'string', default: 'ascending' },
  },
});
const serviceCount = Number(values.services);
const nodeCount = Number(values.nodes);
const intervalMs = Number(values['interval-ms']);
const timeoutMs = Number(values['timeout-s']) * 1000;
if (!(serviceCount >= 1 && serviceCount <= 250))
  throw new Error('--services must be 1..250 (one /24 of addresses)');
if (values.order !== 'ascending' && values.order !== 'descending')
  throw new Error('--order: ascending or descending');
if (!(nodeCount >= 1 && nodeCount <= 3))
  throw new Error('--nodes must be 1..3 (the local cluster has worker-0..2)');

interface Timing {
  writtenAt: number;
  firstHopAt?: number;
  allHopsAt?: number;
  /** When the address was removed from the status again, and when the router had no next hop left. */
  clearedAt?: number;
  goneAt?: number;
}

/** Polls the router's RIB as fast as vtysh answers, stamping when each prefix gets its first and last hop. */
class RouterWatcher {
  private stopped = false;
  private polls = 0;
  private pollTimeMs = 0;
  readonly done: Promise<void>;

  constructor(
    private readonly topology: BgpTopology,
    private readonly timings: Map<string, Timing>,
    private readonly expectedHops: number,
  ) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const started = Date.now();
      const installed = await this.topology.routerInstalled().catch(() => new Map<string, string[]>());
      const seenAt = Date.now();
      this.polls += 1;
      this.pollTimeMs += seenAt - started;
      for (const [prefix, hops] of installed) {
        const timing = this.timings.get(prefix);
        if (!timing) continue;
        timing.firstHopAt ??= seenAt;
        if (hops.length >= this.expectedHops) timing.allHopsAt ??= seenAt;
      }
      for (const [prefix, timing] of this.timings) {
        // Only a poll that started after the removal can tell that it took effect.
        if (timing.clearedAt !== undefined && timing.clearedAt <= started && !installed.has(prefix))
          timing.goneAt ??= seenAt;
      }
      await sleep(Math.max(0, 20 - (Date.now() - started)));
    }
  }

  get meanPollMs(): number {
    return this.polls === 0 ? 0 : this.pollTimeMs / this.polls;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

function summary(label: string, latencies: readonly number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  const cell = (value: number): string => `${Math.round(value)} ms`.padStart(9);
  return `${label.padEnd(22)} n=${String(sorted.length).padStart(3)}  median${cell(percentile(sorted, 0.5))}  p90${cell(
    percentile(sorted, 0.9),
  )}  p99${cell(percentile(sorted, 0.99))}  max${cell(sorted[sorted.length - 1] ?? Number.NaN)}`;
}

/** waitFor until an absolute deadline, polling often enough not to blur the figures. */
async function waitUntil(
  what: string,
  deadline: number,
  check: () => Promise<boolean> | boolean,
): Promise<void> {
  await waitFor(what, check, { timeoutMs: Math.max(0, deadline - Date.now()), intervalMs: 50 });
}

/** What the router and the speakers show, for a run that times out. */
async function labState(
  lab: BgpTopology,
  speakers: readonly SpeakerHandle[],
  prefix: string,
): Promise<string> {
  const lines = [`router route ${prefix}: ${JSON.stringify(await lab.routerRoutes(prefix).catch(String))}`];
  for (const node of lab.nodes) {
    lines.push(
      `router session ${node.name}: ${JSON.stringify(await lab.routerSession(node.address).catch(String))}`,
    );
  }
  for (const speaker of speakers) {
    lines.push(
      `--- ${speaker.node.name} (${speaker.product.logFile})`,
      ...speaker.log().trimEnd().split('\n').slice(-15),
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'metallb-bench-bgp-'));
  let topology: BgpTopology | undefined;
  let speakers: SpeakerHandle[] = [];
  const stopSpeakersNow = (): void => {
    for (const speaker of speakers) {
      if (speaker.product.process.pid) process.kill(speaker.product.process.pid, 'SIGTERM');
    }
  };
  process.once('SIGINT', () => {
    stopSpeakersNow();
    process.exit(130); // the topology's exit hook and the cluster's parent watch clean up the rest
  });
  try {
    const startedAt = Date.now();
    const cluster = await startSupervised({ stateDir, parentPid: process.pid });
    process.env.METALLB_E2E_KUBECONFIG = cluster.kubeconfig;
    process.env.METALLB_E2E_BIN_DIR = cluster.binDir;
    process.env.METALLB_E2E_WORK_DIR = cluster.workDir;
    await ensureNamespace(METALLB_NAMESPACE);
    const namespace = await createNamespace('bench-bgp');
    const nodeNames = ['worker-0', 'worker-1', 'worker-2'].slice(0, nodeCount);
    topology = await BgpTopology.create({ nodes: nodeNames });
    const lab = topology;
    speakers = await startSpeakers(lab, { extraArgs: ['--log-level', values['speaker-log-level']] });
    process.stdout.write(
      `cluster, ${nodeCount}-node topology and speakers ready in ${Date.now() - startedAt} ms\n`,
    );

    await applyMetallb(
      { kind: 'IPAddressPool', name: 'bench', spec: { addresses: [AGGREGATION_POOL], autoAssign: false } },
      {
        kind: 'BGPPeer',
        name: 'bench-router',
        spec: { myASN: NODE_ASN, peerASN: ROUTER_ASN, peerAddress: ROUTER_LAN_ADDRESS },
      },
      { kind: 'BGPAdvertisement', name: 'bench', spec: { ipAddressPools: ['bench'] } },
    );

    // Warm-up: sessions up and one route through, so the figures measure announcements, not session setup.
    // Its address sorts before every measured one, so it does not turn ascending writes into insertions.
    await createLoadBalancerService({
      namespace,
      name: 'warm-up',
      ip: WARM_UP_IP,
      pool: 'bench',
      endpointNodes: nodeNames,
    });
    // Sessions and the first full apply: minutes on a machine shared with other work.
    await waitUntil('the warm-up route', Date.now() + 600_000, async () => {
      return (await lab.routerNextHops(`${WARM_UP_IP}/32`)).length === nodeCount;
    });

    const timings = new Map<string, Timing>();
    const names = Array.from({ length: serviceCount }, (_, index) => `bench-${index + 1}`);
    for (const name of names) {
      await createLoadBalancerService({ namespace, name, pool: 'bench', endpointNodes: nodeNames });
    }
    const watcher = new RouterWatcher(lab, timings, nodeCount);
    const deadline = Date.now() + timeoutMs;
    const hostOf = (index: number): number =>
      values.order === 'ascending' ? index + 1 : serviceCount - index;
    const runStarted = Date.now();
    for (const [index, name] of names.entries()) {
      const ip = `203.0.113.${hostOf(index)}`;
      const timing: Timing = { writtenAt: Date.now() };
      if (values.verbose)
        process.stdout.write(`${new Date(timing.writtenAt).toISOString()} writing ${ip} into ${name}\n`);
      timings.set(`${ip}/32`, timing);
      await setServiceIngress(namespace, name, ip);
      if (values.sequential) {
        const perServiceDeadline = Math.min(deadline, Date.now() + 60_000);
        await waitUntil(
          `${ip} at the router`,
          perServiceDeadline,
          () => timing.allHopsAt !== undefined,
        ).catch(async (error: unknown) => {
          process.stderr.write(`${await labState(lab, speakers, `${ip}/32`)}\n`);
          throw error;
        });
        if (values.verbose) {
          process.stdout.write(
            `${ip}: first hop ${(timing.firstHopAt as number) - timing.writtenAt} ms, all ${(timing.allHopsAt as number) - timing.writtenAt} ms\n`,
          );
        }
      } else {
        await sleep(Math.max(0, runStarted + (index + 1) * intervalMs - Date.now()));
      }
    }
    await waitUntil('every route at the router', deadline, () =>
      [...timings.values()].every((timing) => timing.allHopsAt !== undefined),
    );

    // The way back, in the same order and at the same pace.
    const withdrawalStarted = Date.now();
    for (const [index, name] of names.entries()) {
      const ip = `203.0.113.${hostOf(index)}`;
      const timing = timings.get(`${ip}/32`) as Timing;
      timing.clearedAt = Date.now();
      await clearServiceIngress(namespace, name);
      if (values.sequential) {
        await waitUntil(`${ip} gone from the router`, Math.min(deadline, Date.now() + 60_000), () => {
          return timing.goneAt !== undefined;
        }).catch(async (error: unknown) => {
          process.stderr.write(`${await labState(lab, speakers, `${ip}/32`)}\n`);
          throw error;
        });
      } else {
        await sleep(Math.max(0, withdrawalStarted + (index + 1) * intervalMs - Date.now()));
      }
    }
    await waitUntil('every route gone from the router', deadline, () =>
      [...timings.values()].every((timing) => timing.goneAt !== undefined),
    );
    await watcher.stop();

    const first = [...timings.values()].map((t) => (t.firstHopAt as number) - t.writtenAt);
    const all = [...timings.values()].map((t) => (t.allHopsAt as number) - t.writtenAt);
    const gone = [...timings.values()].map((t) => (t.goneAt as number) - (t.clearedAt as number));
    const mode = `${values.sequential ? 'sequential' : `one status write every ${intervalMs} ms`}, ${values.order} addresses`;
    process.stdout.write(
      [
        '',
        `Service status written → route installed at the router (${serviceCount} services, ${nodeCount} nodes, ${mode})`,
        summary('first next hop', first),
        summary(`all ${nodeCount} next hops (ECMP)`, all),
        `Service status cleared → route gone from the router (same pace and order)`,
        summary('no next hop left', gone),
        `router polled every ~${Math.round(watcher.meanPollMs)} ms (figures are rounded up by up to that much)`,
        '',
      ].join('\n'),
    );
  } finally {
    await Promise.all(speakers.map((speaker) => speaker.stop()));
    await topology?.destroy();
    await stopSupervised(stateDir).catch(() => false);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
