/**
 * The speaker on bad days, end to end: real FRR in network namespaces (the BGP lab of topology.ts), one
 * `metallb speaker` per node running inside that node's namespace and reaching the API server only through
 * its own relay (api-relay.ts), and a control plane of this suite's own (it stops the API server and freezes
 * etcd, which the shared one must never see).
 *
 * The guarantee, for BGP: a speaker that cannot reach the API server keeps announcing what it announced (its
 * last good state), and converges once it can again. The router's RIB is read every 500 ms through every
 * fault: each prefix keeps exactly its next hops, no BGP session to the router drops, and no speaker
 * process exits. Layer 2 is deliberately different (a speaker that loses its Lease heartbeat stops
 * answering, so that another node takes the address over) and is not covered here.
 *
 * Recovery times are measured and printed; the assertions on them are loose because the 2-core machine is
 * shared.
 */
import { expect, it } from '@jest/globals';
import { ApiRelay, type NamespaceApiAccess } from '../cluster/lab/api-relay.js';
import { rawClient, waitFor } from '../cluster/lab/cluster.js';
import {
  BgpTopology,
  LOAD_BALANCER_POOL,
  NODE_ASN,
  ROUTER_ASN,
  ROUTER_LAN_ADDRESS,
  sleep,
} from '../cluster/lab/topology.js';
import {
  METALLB_NAMESPACE,
  applyMetallb,
  createLoadBalancerService,
  deleteService,
  logRecords,
  startSpeakers,
  type SpeakerHandle,
} from '../cluster/lab/topology-speakers.js';
import { LocalCluster } from '../cluster/local-cluster.js';
import { requiring } from '../support/prerequisites.js';
import { persist } from '../cluster/persist.js';

// Needs root and frr: without it every test fails with the reason; METALLB_TEST_SKIP_PRIVILEGED=1 skips
// them instead, listed in the summary.
const privileged = requiring('root', 'frr');

const NODES = ['worker-0', 'worker-1', 'worker-2'] as const;
const POOL = 'faults-bgp';
const SERVICE_NAMESPACE = 'speaker-faults';
/** Services announced before every fault and never touched: the ones whose routes must not move. */
const STEADY_HOSTS = [130, 131, 132, 133, 134, 135];
/** The longest the router's RIB may go unread during a fault (vtysh is slow on a loaded machine). */
const MAX_RIB_GAP_MS = 10_000;

let cluster: LocalCluster | undefined;
let topology: BgpTopology | undefined;
let relay: ApiRelay | undefined;
const apiAccess = new Map<string, NamespaceApiAccess>();
let speakers: SpeakerHandle[] = [];
const figures: string[] = [];

function lab(): BgpTopology {
  if (!topology) throw new Error('no topology');
  return topology;
}

function record(figure: string): void {
  figures.push(figure);
  process.stdout.write(`speaker-faults.e2e: ${figure}\n`);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const prefixOf = (host: number) => `203.0.113.${host}/32`;
const addressOf = (node: string) => lab().node(node).address;
const allNodeAddresses = () => NODES.map(addressOf);
const sorted = (values: readonly string[]) => [...values].sort();

async function createService(name: string, host: number): Promise<void> {
  await persist(
    () =>
      createLoadBalancerService({
        namespace: SERVICE_NAMESPACE,
        name,
        ip: `203.0.113.${host}`,
        pool: POOL,
        endpointNodes: [...NODES],
      }),
    [409],
  );
}

async function removeService(name: string): Promise<void> {
  await persist(() => deleteService(SERVICE_NAMESPACE, name));
}

/** The router's state and each speaker's last log lines, for a wait that timed out. */
async function diagnostics(): Promise<string> {
  const parts: string[] = [];
  try {
    parts.push(`router routes: ${JSON.stringify([...(await lab().routerInstalled()).entries()])}`);
  } catch (error) {
    parts.push(`router unreadable: ${String(error)}`);
  }
  for (const speaker of speakers) {
    const tail = speaker.log().trimEnd().split('\n').slice(-20).join('\n');
    parts.push(`--- speaker ${speaker.node.name} (${speaker.product.logFile}):\n${tail}`);
  }
  return parts.join('\n');
}

/** Polls the router every 100 ms until `prefix` has exactly `nextHops` (none: withdrawn); returns when. */
async function routeBecomes(
  prefix: string,
  nextHops: readonly string[],
  timeoutMs = 90_000,
): Promise<number> {
  const expected = JSON.stringify(sorted(nextHops));
  try {
    return await waitFor(
      `${prefix} via [${sorted(nextHops).join(', ')}] at the router`,
      async () =>
        JSON.stringify(sorted(await lab().routerNextHops(prefix))) === expected ? Date.now() : undefined,
      { timeoutMs, intervalMs: 100 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await diagnostics()}`, { cause: error });
  }
}

/**
 * Reads the router's RIB every 500 ms while a fault lasts and keeps every sample where an expected prefix
 * lacked one of its next hops or had another (or the router could not be read).
 */
class RibWatch {
  readonly violations: string[] = [];
  samples = 0;
  /** The longest time between two readings: a withdrawal shorter than this could go unseen. */
  longestGapMs = 0;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(private readonly expected: Map<string, readonly string[]>) {
    this.loop = this.run();
  }

  /** Stops checking a prefix the test is about to change. */
  forget(prefix: string): void {
    this.expected.delete(prefix);
  }

  private async run(): Promise<void> {
    const startedAt = Date.now();
    let previousAt = startedAt;
    while (!this.stopped) {
      const at = Date.now() - startedAt;
      try {
        const installed = await lab().routerInstalled();
        this.samples += 1;
        this.longestGapMs = Math.max(this.longestGapMs, Date.now() - previousAt);
        previousAt = Date.now();
        for (const [prefix, nextHops] of this.expected) {
          const found = sorted(installed.get(prefix) ?? []);
          if (JSON.stringify(found) !== JSON.stringify(sorted(nextHops)))
            this.violations.push(`+${seconds(at)}: ${prefix} via [${found.join(', ')}]`);
        }
      } catch (error) {
        this.violations.push(`+${seconds(at)}: router unreadable: ${String(error)}`);
      }
      await sleep(500);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** Each node's BGP session as the router counts it: a session that dropped and came back counts one more. */
async function sessionsEstablished(): Promise<Record<string, number | undefined>> {
  const counts: Record<string, number | undefined> = {};
  for (const node of NODES)
    counts[node] = (await lab().routerSession(addressOf(node))).connectionsEstablished;
  return counts;
}

function steadyRoutes(): Map<string, string[]> {
  return new Map(STEADY_HOSTS.map((host) => [prefixOf(host), allNodeAddresses()]));
}

/** Fails with the end of its log when a speaker is gone: it must ride out the fault, not restart. */
function expectSpeakersRunning(): void {
  for (const speaker of speakers) {
    if (!speaker.product.process.running)
      throw new Error(`the speaker of ${speaker.node.name} exited:\n${speaker.product.process.logTail(40)}`);
  }
}

/** When a speaker logged `message` after `since` (its JSON time), in log order. */
function loggedAfter(speaker: SpeakerHandle, since: number, messages: readonly string[]): number[] {
  return logRecords(speaker.log())
    .filter((entry) => messages.includes(String(entry.msg)) && Date.parse(String(entry.time)) >= since)
    .map((entry) => Date.parse(String(entry.time)));
}

const connectionTrouble = [
  'watch failed; reconnecting',
  'list failed; retrying',
  'watch went silent; restarting it',
];

/**
 * Samples the RIB through `fault` (which resolves with the moment the API answered again) and after it,
 * checking that nothing moved, while a Service created and one deleted as soon as the API is back are
 * announced and withdrawn by every speaker.
 */
async function rideOut(label: string, probeHost: number, fault: () => Promise<number>): Promise<void> {
  const probe = { name: `probe-${probeHost}`, prefix: prefixOf(probeHost) };
  // Deleted after the fault: announced by everyone before it.
  const doomed = { name: `doomed-${probeHost}`, prefix: prefixOf(probeHost + 1) };
  await createService(doomed.name, probeHost + 1);
  await routeBecomes(doomed.prefix, allNodeAddresses());
  const sessionsBefore = await sessionsEstablished();

  const faultAt = Date.now();
  const watch = new RibWatch(new Map([...steadyRoutes(), [doomed.prefix, allNodeAddresses()]]));
  try {
    const backAt = await fault();
    expectSpeakersRunning();
    watch.forget(doomed.prefix);
    await createService(probe.name, probeHost);
    await removeService(doomed.name);
    const [announcedAt, withdrawnAt] = await Promise.all([
      routeBecomes(probe.prefix, allNodeAddresses()),
      routeBecomes(doomed.prefix, []),
    ]);
    record(
      `${label}: a Service created as soon as the API answered was announced by every speaker ` +
        `${seconds(announcedAt - backAt)} after, one deleted then withdrawn ${seconds(withdrawnAt - backAt)} after`,
    );
    // A while longer: a speaker that withdrew on reconnecting (from caches not yet refilled) would show now.
    await sleep(5_000);
  } finally {
    await watch.stop();
  }
  expect(watch.violations).toEqual([]);
  // Readings every 500 ms, slower on a loaded machine; the session counters below catch shorter flaps.
  expect(watch.longestGapMs).toBeLessThan(MAX_RIB_GAP_MS);
  expect(await sessionsEstablished()).toEqual(sessionsBefore);
  record(
    `${label}: ${STEADY_HOSTS.length} unchanged prefixes kept all ${NODES.length} next hops in ` +
      `${watch.samples} RIB samples over ${seconds(Date.now() - faultAt)} (longest gap ` +
      `${seconds(watch.longestGapMs)}); no session dropped, no speaker exited`,
  );
  await removeService(probe.name);
  await routeBecomes(probe.prefix, []);
  expectSpeakersRunning();
  for (const speaker of speakers) expect(speaker.log()).not.toMatch(/"msg":"[^"]*exiting/);
}

privileged.beforeAll(async () => {
  cluster = await LocalCluster.start({ nodes: NODES.map((name) => ({ name })) });
  // The lab helpers (rawClient, startProduct) follow these: point them at this suite's control plane.
  process.env.METALLB_E2E_KUBECONFIG = cluster.kubeconfigPath;
  process.env.METALLB_E2E_BIN_DIR = cluster.binDir;
  for (const name of [METALLB_NAMESPACE, SERVICE_NAMESPACE])
    await rawClient().create('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    });
  topology = await BgpTopology.create({ nodes: NODES });
  relay = await ApiRelay.start(cluster.kubeconfigPath);
  for (const pid of relay.pids) topology.adoptProcess(pid);
  for (const node of topology.nodes) apiAccess.set(node.name, await relay.enterNamespace(node.namespace));
  speakers = await startSpeakers(topology, (node) => ({
    namespaceKubeconfig: apiAccess.get(node.name)?.kubeconfigPath as string,
  }));
  await applyMetallb(
    { kind: 'IPAddressPool', name: POOL, spec: { addresses: [LOAD_BALANCER_POOL], autoAssign: false } },
    {
      kind: 'BGPPeer',
      name: 'faults-router',
      spec: { myASN: NODE_ASN, peerASN: ROUTER_ASN, peerAddress: ROUTER_LAN_ADDRESS },
    },
    { kind: 'BGPAdvertisement', name: 'faults-bgp', spec: { ipAddressPools: [POOL] } },
  );
  for (const host of STEADY_HOSTS) await createService(`steady-${host}`, host);
  for (const host of STEADY_HOSTS) await routeBecomes(prefixOf(host), allNodeAddresses(), 120_000);
}, 300_000);

privileged.afterAll(async () => {
  await Promise.all(speakers.map((speaker) => speaker.stop()));
  await relay?.stop();
  await topology?.destroy();
  await cluster?.stop();
  if (figures.length > 0) process.stdout.write(`\nspeaker-faults.e2e figures:\n  ${figures.join('\n  ')}\n`);
}, 120_000);

privileged.describe('BGP speakers while the control plane is down', () => {
  it('keep every route announced while kube-apiserver is stopped for 30 s, and converge once it is back', async () => {
    await rideOut('API server restart', 150, async () => {
      if (!cluster) throw new Error('no cluster');
      const stoppedAt = Date.now();
      const { readyAt } = await cluster.restartApiServer(30_000);
      record(`API server restart: kube-apiserver down ${seconds(readyAt - stoppedAt)}`);
      // Each speaker saw the outage (its watches failed): the test is not passing on a quiet speaker.
      for (const speaker of speakers)
        expect(loggedAfter(speaker, stoppedAt, connectionTrouble).length).toBeGreaterThan(0);
      return readyAt;
    });
  }, 300_000);

  it('keep every route announced while etcd is frozen (SIGSTOP) for 20 s, and converge once it runs again', async () => {
    await rideOut('etcd pause', 160, async () => {
      if (!cluster) throw new Error('no cluster');
      // Frozen, not gone: the API server's requests hang instead of failing fast.
      cluster.pause('etcd');
      try {
        await sleep(20_000);
      } finally {
        cluster.resume('etcd');
      }
      return Date.now();
    });
  }, 300_000);
});

privileged.describe('a BGP speaker cut off from the API server', () => {
  it('keeps announcing what it had while the others follow changes, and converges when it reconnects', async () => {
    const victim = 'worker-2';
    const others = NODES.filter((node) => node !== victim).map(addressOf);
    const doomed = 'doomed-cut';
    await createService(doomed, 171);
    await routeBecomes(prefixOf(171), allNodeAddresses());
    const sessionsBefore = await sessionsEstablished();
    const speaker = speakers.find((candidate) => candidate.node.name === victim) as SpeakerHandle;

    // Its namespace's only way to the API server goes: connections reset, new ones refused.
    const cutAt = Date.now();
    await apiAccess.get(victim)?.stop();
    const watch = new RibWatch(steadyRoutes());
    let reconnectedAt: number;
    try {
      await createService('born-during-cut', 170);
      await removeService(doomed);
      // The others follow; the cut speaker keeps its last good state: the deleted Service stays via it.
      const othersAt = await routeBecomes(prefixOf(170), others);
      await routeBecomes(prefixOf(171), [addressOf(victim)]);
      record(
        `speaker cut off: the other speakers announced a new Service ${seconds(othersAt - cutAt)} after the cut; ` +
          `the cut one kept the deleted Service's route`,
      );
      await waitFor(
        'the cut speaker to notice',
        () => loggedAfter(speaker, cutAt, connectionTrouble).length > 0,
        30_000,
      );
      await sleep(Math.max(0, cutAt + 30_000 - Date.now()));
      expectSpeakersRunning();
      // Still its last good state at the end of the cut.
      expect(sorted(await lab().routerNextHops(prefixOf(170)))).toEqual(sorted(others));
      expect(await lab().routerNextHops(prefixOf(171))).toEqual([addressOf(victim)]);

      reconnectedAt = Date.now();
      const access = await relay?.enterNamespace(lab().node(victim).namespace);
      if (!access) throw new Error('no relay');
      apiAccess.set(victim, access);
      lab().adoptProcess(access.pid);
      await sleep(5_000);
    } finally {
      await watch.stop();
    }
    expect(watch.violations).toEqual([]);
    expect(watch.longestGapMs).toBeLessThan(MAX_RIB_GAP_MS);
    record(
      `speaker cut off: ${STEADY_HOSTS.length} unchanged prefixes kept all ${NODES.length} next hops in ` +
        `${watch.samples} RIB samples over ${seconds(Date.now() - cutAt)} (longest gap ${seconds(watch.longestGapMs)})`,
    );

    const announcedAt = await routeBecomes(prefixOf(170), allNodeAddresses());
    const withdrawnAt = await routeBecomes(prefixOf(171), []);
    record(
      `speaker cut off: after the relay came back (30 s cut) the new Service was announced via the cut speaker ` +
        `${seconds(announcedAt - reconnectedAt)} and the deleted one withdrawn ${seconds(withdrawnAt - reconnectedAt)} later`,
    );
    expect(await sessionsEstablished()).toEqual(sessionsBefore);
    expectSpeakersRunning();
    await removeService('born-during-cut');
    await routeBecomes(prefixOf(170), []);
  }, 300_000);
});
