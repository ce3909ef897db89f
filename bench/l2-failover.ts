/**
 * Layer-2 failover and handover, measured the way a client on the LAN sees them: a local control plane,
 * an L2 lab of three node namespaces each running `metallb speaker`, one Service address, and a client whose
 * neighbour entry for that address is watched. Each trial stops the owner's speaker (SIGKILL: failure
 * detection; SIGTERM: graceful handover), times until the client's entry names another node's MAC, then
 * restarts the stopped speaker and waits for the placement to settle. Prints median and worst per mode.
 *
 *   make build && node --import tsx bench/l2-failover.ts [--trials 20]
 *
 * Needs root (network namespaces). Traffic stays inside the lab's namespaces.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSupervised, stopSupervised } from '../test/cluster/supervisor.js';
import { createNamespace, ensureNamespace, rawClient } from '../test/cluster/lab/cluster.js';
import { L2Lab, labMac, type LabProcess } from '../test/cluster/lab/l2-lab.js';
import {
  primeNeighbour,
  settledAnnouncingNode,
  timeNeighbourMove,
  waitForLiveSpeakers,
} from '../test/cluster/lab/l2-speakers.js';
import {
  METALLB_NAMESPACE,
  applyMetallb,
  createLoadBalancerService,
  deleteAllMetallb,
} from '../test/cluster/lab/topology-speakers.js';

const NODES = ['worker-0', 'worker-1', 'worker-2'];
const ADDRESS = '198.51.100.200';

const { values } = parseArgs({ options: { trials: { type: 'string', default: '20' } } });
const trials = Number(values.trials);
if (!(trials >= 1 && trials <= 200)) throw new Error('--trials must be 1..200');

function summary(label: string, figures: readonly number[]): string {
  const sorted = [...figures].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
  return `${label}: median ${median} ms, worst ${sorted[sorted.length - 1]} ms over ${sorted.length} trials (${figures.join(', ')})`;
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'metallb-bench-l2-'));
  let lab: L2Lab | undefined;
  const speakers = new Map<string, LabProcess>();
  let tornDown = false;
  const tearDown = async (): Promise<void> => {
    if (tornDown) return;
    tornDown = true;
    for (const speaker of speakers.values()) await speaker.stop().catch(() => undefined);
    await lab?.destroy();
    await stopSupervised(stateDir);
  };
  // An interrupted run still removes its namespaces and processes.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void tearDown().finally(() => process.exit(130)));
  }
  try {
    const cluster = await startSupervised({ stateDir, parentPid: process.pid });
    process.env.METALLB_E2E_KUBECONFIG = cluster.kubeconfig;
    process.env.METALLB_E2E_BIN_DIR = cluster.binDir;
    process.env.METALLB_E2E_WORK_DIR = cluster.workDir;
    await ensureNamespace(METALLB_NAMESPACE);
    await deleteAllMetallb();
    const namespace = await createNamespace('bench-l2');
    lab = await L2Lab.create({ nodes: NODES });
    const live = lab;
    const start = async (node: string): Promise<void> => {
      speakers.set(
        node,
        await live.startSpeaker(node, ['--port', '0', '--health-probe-port', '0', '--log-level', 'info']),
      );
    };
    for (const node of NODES) await start(node);
    await applyMetallb(
      { kind: 'IPAddressPool', name: 'bench', spec: { addresses: [`${ADDRESS}/32`], autoAssign: false } },
      { kind: 'L2Advertisement', name: 'bench', spec: { ipAddressPools: ['bench'] } },
    );
    await waitForLiveSpeakers(NODES);
    await createLoadBalancerService({
      namespace,
      name: 'bench',
      ip: ADDRESS,
      pool: 'bench',
      endpointNodes: NODES,
    });

    const macOf = (node: string): string => labMac(1, NODES.indexOf(node));
    /** One stop of the owner, timed; repeated when the placement was still moving while the client was primed. */
    const timedTrial = async (signal: 'SIGKILL' | 'SIGTERM') => {
      for (let attempt = 1; ; attempt += 1) {
        const owner = await settledAnnouncingNode(namespace, 'bench');
        await primeNeighbour(live, ADDRESS, macOf(owner));
        try {
          const moved = await timeNeighbourMove(live, ADDRESS, macOf(owner), () =>
            speakers.get(owner)?.kill(signal),
          );
          return { owner, moved };
        } catch (error) {
          if (attempt >= 3 || !String(error).includes('placement moved')) throw error;
        }
      }
    };
    const results: Record<'SIGKILL' | 'SIGTERM', number[]> = { SIGKILL: [], SIGTERM: [] };
    for (let trial = 0; trial < trials; trial += 1) {
      for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
        const { owner, moved } = await timedTrial(signal);
        results[signal].push(moved.ms);
        process.stdout.write(`trial ${trial + 1} ${signal}: ${moved.ms} ms\n`);
        await speakers
          .get(owner)
          ?.waitForExit(10_000)
          .catch(() => undefined);
        await start(owner);
        await waitForLiveSpeakers(NODES);
      }
    }
    process.stdout.write(`\n${summary('failover after SIGKILL', results.SIGKILL)}\n`);
    process.stdout.write(`${summary('handover after SIGTERM', results.SIGTERM)}\n`);
    await rawClient().delete(`/api/v1/namespaces/${namespace}`);
  } finally {
    await tearDown();
  }
}

await main();
