/**
 * The BGP and BFD half of monitoring against a real Prometheus: two `metallb speaker` processes drive FRR in
 * node namespaces peering (BGP with BFD, 300 ms × 3) with an FRR router (the topology of speaker.e2e.ts);
 * they serve metrics as in a cluster (HTTPS, TokenReview, SubjectAccessReview), and Debian's Prometheus
 * scrapes them every second with the token of a ServiceAccount bound to exactly the metrics-reader
 * ClusterRole the operator renders, evaluating the alerts of the test profile (`for: 5s`).
 *
 * Proven: plain HTTP on the metrics port gets no metrics; every speaker's session is up in Prometheus; every
 * dashboard query the speakers answer returns a series (test/support/dashboard-coverage.ts: together with
 * monitoring.e2e.ts that is every query of every panel); taking the router's link down drops
 * metallb_bfd_session_up and brings MetalLBBFDSessionDown and MetalLBBGPSessionDown to firing for each
 * speaker.
 *
 * MetalLB CRs live in metallb-system; this suite deletes every one there at its start and end.
 */
import { expect, it } from '@jest/globals';
import { coreApi, createNamespace, ensureNamespace, rawClient, waitFor } from '../cluster/lab/cluster.js';
import { metricsReader, scrape, type MetricsIdentity } from '../cluster/lab/metrics-access.js';
import { LocalPrometheus, type PrometheusAlert } from '../cluster/lab/prometheus.js';
import { BgpTopology, NODE_ASN, ROUTER_ASN, ROUTER_LAN_ADDRESS } from '../cluster/lab/topology.js';
import {
  METALLB_NAMESPACE,
  applyMetallb,
  createLoadBalancerService,
  deleteAllMetallb,
  deleteService,
  startSpeakers,
  type SpeakerHandle,
} from '../cluster/lab/topology-speakers.js';
import { dashboardQueriesAnsweredBy } from '../support/dashboard-coverage.js';
import { requiring } from '../support/prerequisites.js';

// Needs root and frr: without it every test fails with the reason; METALLB_TEST_SKIP_PRIVILEGED=1 skips
// them instead, listed in the summary.
const privileged = requiring('root', 'frr');

const NODES = ['worker-0', 'worker-1'] as const;
const POOL = 'monitoring-bgp';
const PEER = 'monitoring-router';
const BFD_PROFILE = 'monitoring-fast';
const SERVICE = 'monitoring-bgp-lb';
const SERVICE_IP = '203.0.113.210';
/** The peer label of the BGP metrics (address:port) and of the BFD metrics (address), as upstream's. */
const BGP_PEER_LABEL = `${ROUTER_LAN_ADDRESS}:179`;
const BFD_PEER_LABEL = ROUTER_LAN_ADDRESS;

let topology: BgpTopology | undefined;
let speakers: SpeakerHandle[] = [];
let reader: MetricsIdentity | undefined;
let prometheus: LocalPrometheus | undefined;
let namespace = '';
let routerCut = false;

function prom(): LocalPrometheus {
  if (!prometheus) throw new Error('Prometheus did not start');
  return prometheus;
}

const instances = (): string[] => speakers.map((speaker) => `127.0.0.1:${speaker.metricsPort}`).sort();

/** What a timed-out wait should show: Prometheus' targets, the router's BFD view, the speakers' last lines. */
async function diagnostics(): Promise<string> {
  const parts: string[] = [];
  parts.push(
    `targets:\n${await prom()
      .targets()
      .catch((error: unknown) => String(error))}`,
  );
  parts.push(
    `router BFD peers: ${JSON.stringify(await topology?.bfdPeers().catch((error: unknown) => String(error)))}`,
  );
  for (const speaker of speakers) {
    const tail = speaker.log().trimEnd().split('\n').slice(-15).join('\n');
    parts.push(`--- speaker ${speaker.node.name} (${speaker.product.logFile}):\n${tail}`);
  }
  return parts.join('\n');
}

/** waitFor with the lab's state on timeout. 90 s: scrapes time out when the 2-core VM is loaded (tens). */
async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 90_000,
): Promise<T> {
  try {
    return await waitFor(what, check, timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await diagnostics()}`, { cause: error });
  }
}

/** The instances for which `expr` returns a series, sorted. */
async function instancesMatching(expr: string): Promise<string[]> {
  return (await prom().query(expr)).map((series) => series.metric.instance ?? '').sort();
}

function firingFor(alerts: readonly PrometheusAlert[], alertname: string): string[] {
  return alerts
    .filter((alert) => alert.labels.alertname === alertname)
    .map((alert) => alert.labels.instance ?? '')
    .sort();
}

privileged.beforeAll(async () => {
  await ensureNamespace(METALLB_NAMESPACE);
  await deleteAllMetallb();
  namespace = await createNamespace('monitoring-bgp');
  topology = await BgpTopology.create({ nodes: NODES });
  speakers = await startSpeakers(topology, { secureMetrics: true });
  await applyMetallb(
    { kind: 'IPAddressPool', name: POOL, spec: { addresses: [`${SERVICE_IP}/32`], autoAssign: false } },
    {
      kind: 'BFDProfile',
      name: BFD_PROFILE,
      spec: { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3 },
    },
    {
      kind: 'BGPPeer',
      name: PEER,
      spec: {
        myASN: NODE_ASN,
        peerASN: ROUTER_ASN,
        peerAddress: ROUTER_LAN_ADDRESS,
        bfdProfile: BFD_PROFILE,
      },
    },
    { kind: 'BGPAdvertisement', name: POOL, spec: { ipAddressPools: [POOL] } },
  );
  // An announced address, so the prefix and announcement panels have something to count.
  await createLoadBalancerService({
    namespace,
    name: SERVICE,
    ip: SERVICE_IP,
    pool: POOL,
    endpointNodes: [...NODES],
  });
  // Prometheus starts once the router sees both sessions: the first frr.conf goes through frr-reload.py,
  // which has taken over a minute on the loaded 2-core VM, and a scrape reads FRR with vtysh, which then
  // waits for FRR and competes with the reload for the CPU.
  const lab = topology;
  await waitFor(
    'the router to see every node’s session established',
    async () => {
      const states = await Promise.all(lab.nodes.map((node) => lab.routerSession(node.address)));
      return states.every((state) => state.state === 'Established') ? true : undefined;
    },
    150_000,
  );
  reader = await metricsReader(rawClient(), namespace, 'prometheus', true);
  prometheus = await LocalPrometheus.start({
    namespace: METALLB_NAMESPACE,
    targets: { controller: [], speaker: instances() },
    token: reader.token,
    // A speaker's scrape reads FRR (three vtysh processes, at most once a second): on the loaded 2-core VM
    // that alone has taken seconds, and Prometheus gives up on a scrape after one interval.
    scrapeInterval: '5s',
  });
}, 300_000);

privileged.afterAll(async () => {
  if (routerCut) await topology?.restoreRouterLink().catch(() => undefined);
  await prometheus?.stop();
  await Promise.all(speakers.map((speaker) => speaker.stop()));
  await topology?.destroy();
  await reader?.remove().catch(() => undefined);
  if (namespace) {
    await deleteService(namespace, SERVICE).catch(() => undefined);
    await coreApi()
      .deleteNamespace({ name: namespace })
      .catch(() => undefined);
  }
  await deleteAllMetallb().catch(() => undefined);
}, 120_000);

privileged.describe('Prometheus scraping the speakers', () => {
  it('gets no metrics from the speaker’s port over plain HTTP, only over HTTPS with the reader’s token', async () => {
    const token = (reader as MetricsIdentity).token;
    for (const speaker of speakers) {
      const plain = await scrape(speaker.metricsPort, { scheme: 'http', token });
      expect(plain.status).not.toBe(200);
      expect(plain.body).not.toContain('metallb_');
      // Status 0 is a request that did not complete in 10 s (a starved machine): ask again.
      const anonymous = await waitFor(
        `an answer to a token-less HTTPS scrape of ${speaker.node.name}'s speaker`,
        async () => {
          const result = await scrape(speaker.metricsPort);
          if (result.status !== 0) return result;
          throw new Error(`no answer: ${result.body.slice(0, 200)}`);
        },
        90_000,
      );
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).not.toContain('metallb_');
      // The same port and token over HTTPS: what Prometheus does, and what the refusals above are not. A
      // scrape waits for FRR (vtysh, up to 10 s each) and can time out under load, hence the retries.
      const secured = await waitFor(
        `an HTTPS scrape of ${speaker.node.name}'s speaker with the reader's token`,
        async () => {
          const result = await scrape(speaker.metricsPort, { token });
          if (result.status === 200) return result;
          // waitFor reports the last error on timeout: say what the speaker answered.
          throw new Error(`status ${result.status}: ${result.body.slice(0, 200)}`);
        },
        90_000,
      );
      expect(secured.body).toContain('metallb_bgp_session_up');
    }
  }, 400_000);

  it('sees metallb_bgp_session_up == 1 for the router peer from each speaker', async () => {
    const expr = `metallb_bgp_session_up{peer="${BGP_PEER_LABEL}"} == 1`;
    await eventually(
      `${expr} for ${instances().join(', ')}`,
      async () =>
        JSON.stringify(await instancesMatching(expr)) === JSON.stringify(instances()) ? true : undefined,
      90_000,
    );
    const series = await prom().query(expr);
    expect(series.map((s) => [s.metric.instance, s.metric.job, s.metric.vrf]).sort()).toEqual(
      instances().map((instance) => [instance, 'metallb-speaker', 'default']),
    );
  });

  it('returns a series for every dashboard query the speakers answer', async () => {
    const queries = dashboardQueriesAnsweredBy('speaker');
    expect(queries.map((q) => q.expr)).toEqual(
      expect.arrayContaining(['metallb_bgp_session_up', 'metallb_bfd_session_up']),
    );
    let missing: string[] = [];
    await waitFor(
      'every speaker dashboard query to return a series',
      async () => {
        missing = [];
        for (const q of queries)
          if ((await prom().query(q.expr)).length === 0) missing.push(`${q.panel}: ${q.expr}`);
        return missing.length === 0;
      },
      45_000,
    ).catch(() => undefined);
    expect(missing).toEqual([]);
  });

  it('drops metallb_bfd_session_up and fires the BFD and BGP session alerts for each speaker when the router’s link goes down', async () => {
    await eventually('BFD up in Prometheus for every speaker', async () =>
      JSON.stringify(await instancesMatching(`metallb_bfd_session_up{peer="${BFD_PEER_LABEL}"} == 1`)) ===
      JSON.stringify(instances())
        ? true
        : undefined,
    );
    expect(await prom().firingAlerts()).not.toContainEqual(
      expect.objectContaining({ labels: expect.objectContaining({ alertname: 'MetalLBBFDSessionDown' }) }),
    );

    routerCut = true;
    const cutAt = Date.now();
    await (topology as BgpTopology).cutRouterLink();

    await eventually('metallb_bfd_session_up to drop to 0 for every speaker', async () =>
      JSON.stringify(await instancesMatching(`metallb_bfd_session_up{peer="${BFD_PEER_LABEL}"} == 0`)) ===
      JSON.stringify(instances())
        ? true
        : undefined,
    );
    const bfdDownAfterMs = Date.now() - cutAt;
    await eventually('metallb_bgp_session_up to drop to 0 for every speaker', async () =>
      JSON.stringify(await instancesMatching(`metallb_bgp_session_up{peer="${BGP_PEER_LABEL}"} == 0`)) ===
      JSON.stringify(instances())
        ? true
        : undefined,
    );
    const bgpDownAfterMs = Date.now() - cutAt;
    const firing = await eventually(
      'MetalLBBFDSessionDown and MetalLBBGPSessionDown to fire for every speaker',
      async () => {
        const alerts = await prom().firingAlerts();
        const bfd = firingFor(alerts, 'MetalLBBFDSessionDown');
        const bgp = firingFor(alerts, 'MetalLBBGPSessionDown');
        return JSON.stringify(bfd) === JSON.stringify(instances()) &&
          JSON.stringify(bgp) === JSON.stringify(instances())
          ? alerts
          : undefined;
      },
    );
    process.stdout.write(
      `monitoring-bgp: after the cut, Prometheus saw BFD down at ${bfdDownAfterMs} ms, BGP down at ` +
        `${bgpDownAfterMs} ms, both alerts firing at ${Date.now() - cutAt} ms\n`,
    );
    for (const alertname of ['MetalLBBFDSessionDown', 'MetalLBBGPSessionDown']) {
      for (const alert of firing.filter((a) => a.labels.alertname === alertname)) {
        expect(alert.labels).toMatchObject({ severity: 'critical', job: 'metallb-speaker' });
      }
    }
    expect(
      firing.filter((a) => a.labels.alertname === 'MetalLBBGPSessionDown').map((a) => a.labels.peer),
    ).toEqual([BGP_PEER_LABEL, BGP_PEER_LABEL]);
  }, 400_000);
});
