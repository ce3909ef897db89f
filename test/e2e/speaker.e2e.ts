/**
 * `metallb speaker` against real FRR: one speaker per simulated node, each driving that node's FRR in its
 * network namespace, announcing to an FRR router that the tests inspect. The controller is not involved:
 * the tests write Service status and EndpointSlices themselves, so every failure here is the speaker's.
 *
 * One topology and one speaker per node serve the whole file; each test writes its own MetalLB
 * configuration and Services and the afterEach hook puts the lab back (no CRs, no Services, default router,
 * links up, FRR running), then waits until the router holds no routes.
 */
import { expect, it } from '@jest/globals';
import {
  coreApi,
  createNamespace,
  ensureNamespace,
  kubectl,
  rawClient,
  waitFor,
} from '../cluster/lab/cluster.js';
import {
  AGGREGATION_POOL,
  BgpTopology,
  LOAD_BALANCER_POOL,
  NODE_ASN,
  ROUTER_ASN,
  ROUTER_LAN_ADDRESS,
  type RouterRoute,
  type TopologyNode,
} from '../cluster/lab/topology.js';
import {
  METALLB_NAMESPACE,
  applyMetallb,
  createLoadBalancerService,
  deleteAllMetallb,
  deleteSecret,
  deleteService,
  ensureBasicAuthSecret,
  listEvents,
  logRecords,
  metricValue,
  patchNodeLabels,
  setEndpointNodes,
  startSpeakers,
  type MetallbObject,
  type SpeakerHandle,
} from '../cluster/lab/topology-speakers.js';
import { requiring } from '../support/prerequisites.js';

// Needs root and frr: without it every test fails with the reason; METALLB_TEST_SKIP_PRIVILEGED=1 skips
// them instead, listed in the summary.
const privileged = requiring('root', 'frr');

const NODES = ['worker-0', 'worker-1', 'worker-2'] as const;
const POOL = 'e2e-bgp';
const PEER = 'e2e-router';
const BFD_PROFILE = 'e2e-fast';
const SELECTOR_LABEL = 'e2e.metallb.io/bgp-peer';
const BGP_PEER_LABEL = `${ROUTER_LAN_ADDRESS}:179`;

let topology: BgpTopology;
let speakers: SpeakerHandle[] = [];
let namespace: string;
let serviceCounter = 0;
const createdServices: string[] = [];
const cutLinks = new Set<string>();
const killedFrr = new Set<string>();
const labelledNodes = new Set<string>();
let routerChanged = false;

// ------------------------------------------------------------------------------------ configuration

function pool(addresses: readonly string[] = [LOAD_BALANCER_POOL]): MetallbObject {
  return { kind: 'IPAddressPool', name: POOL, spec: { addresses, autoAssign: false } };
}

function peer(spec: Readonly<Record<string, unknown>> = {}): MetallbObject {
  return {
    kind: 'BGPPeer',
    name: PEER,
    spec: { myASN: NODE_ASN, peerASN: ROUTER_ASN, peerAddress: ROUTER_LAN_ADDRESS, ...spec },
  };
}

function advertisement(spec: Readonly<Record<string, unknown>> = {}): MetallbObject {
  return { kind: 'BGPAdvertisement', name: 'e2e-bgp', spec: { ipAddressPools: [POOL], ...spec } };
}

const fastBfd: MetallbObject = {
  kind: 'BFDProfile',
  name: BFD_PROFILE,
  spec: { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3 },
};

/** A fresh service with an IP `host` in 203.0.113.0/24 and ready endpoints on `endpointNodes`. */
async function service(
  host: number,
  options: { endpointNodes?: readonly string[]; local?: boolean } = {},
): Promise<{ name: string; ip: string; prefix: string }> {
  serviceCounter += 1;
  const name = `lb-${serviceCounter}`;
  const ip = `203.0.113.${host}`;
  createdServices.push(name);
  await createLoadBalancerService({
    namespace,
    name,
    ip,
    pool: POOL,
    externalTrafficPolicy: options.local ? 'Local' : 'Cluster',
    endpointNodes: options.endpointNodes ?? ['worker-0'],
  });
  return { name, ip, prefix: `${ip}/32` };
}

const addressOf = (name: string): string => topology.node(name).address;
const allNodeAddresses = (): string[] => topology.nodes.map((node) => node.address);

// ------------------------------------------------------------------------------------- observations

/** Everything worth seeing when a wait times out: the router's state and each speaker's latest log lines. */
async function diagnostics(): Promise<string> {
  const parts: string[] = [];
  try {
    parts.push(`router routes: ${JSON.stringify(await topology.routerRoutes())}`);
    for (const node of topology.nodes) {
      parts.push(
        `router session ${node.name}: ${JSON.stringify(await topology.routerSession(node.address))}`,
      );
    }
    parts.push(`router BFD peers: ${JSON.stringify(await topology.bfdPeers())}`);
  } catch (error) {
    parts.push(`router unreadable: ${String(error)}`);
  }
  for (const speaker of speakers) {
    const tail = speaker.log().trimEnd().split('\n').slice(-25).join('\n');
    parts.push(`--- speaker ${speaker.node.name} (${speaker.product.logFile}):\n${tail}`);
  }
  return parts.join('\n');
}

/** waitFor, with the lab's state attached to a timeout. */
async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 45_000,
): Promise<T> {
  try {
    return await waitFor(what, check, timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await diagnostics()}`, { cause: error });
  }
}

/** Waits until the router installs `prefix` with exactly these next hops, and returns the route. */
async function routeWithNextHops(prefix: string, nextHops: readonly string[]): Promise<RouterRoute> {
  const expected = [...nextHops].sort();
  return eventually(`${prefix} via ${expected.join(', ')} at the router`, async () => {
    const [route] = await topology.routerRoutes(prefix);
    return route && JSON.stringify([...route.nextHops].sort()) === JSON.stringify(expected)
      ? route
      : undefined;
  });
}

async function routeGone(prefix: string): Promise<void> {
  await eventually(`${prefix} withdrawn at the router`, async () =>
    (await topology.routerNextHops(prefix)).length === 0 ? true : undefined,
  );
}

async function sessionsEstablished(nodes: readonly TopologyNode[]): Promise<void> {
  await eventually(`BGP sessions from ${nodes.map((n) => n.name).join(', ')} established`, async () => {
    const states = await Promise.all(nodes.map((node) => topology.routerSession(node.address)));
    return states.every((state) => state.state === 'Established') ? true : undefined;
  });
}

async function bfdUpWith(nodes: readonly TopologyNode[]): Promise<void> {
  await eventually(`BFD up with ${nodes.map((n) => n.name).join(', ')}`, async () => {
    const peers = await topology.bfdPeers();
    const up = new Set(peers.filter((peer) => peer.status === 'up').map((peer) => peer.peer));
    return nodes.every((node) => up.has(node.address)) ? true : undefined;
  });
}

function speakerFor(name: string): SpeakerHandle {
  const speaker = speakers.find((candidate) => candidate.node.name === name);
  if (!speaker) throw new Error(`no speaker for ${name}`);
  return speaker;
}

// ---------------------------------------------------------------------------------------- lifecycle

privileged.beforeAll(async () => {
  await ensureNamespace(METALLB_NAMESPACE);
  // Objects other suites left in the shared namespace would join the speakers' configuration.
  const leftovers = await deleteAllMetallb();
  if (leftovers.length > 0) process.stdout.write(`speaker suite: removed leftover ${leftovers.join(', ')}\n`);
  namespace = await createNamespace('speaker');
  topology = await BgpTopology.create({ nodes: NODES });
  speakers = await startSpeakers(topology);
}, 180_000);

privileged.afterEach(async () => {
  for (const name of createdServices.splice(0)) await deleteService(namespace, name);
  await deleteAllMetallb();
  await deleteSecret('e2e-bgp-auth');
  for (const node of labelledNodes) await patchNodeLabels(node, { [SELECTOR_LABEL]: null });
  labelledNodes.clear();
  for (const node of cutLinks) await topology.restoreLink(node);
  cutLinks.clear();
  for (const node of killedFrr) await topology.startFrr(node);
  killedFrr.clear();
  if (routerChanged) {
    await topology.resetRouter();
    routerChanged = false;
  }
  await eventually('the router to hold no routes between tests', async () =>
    (await topology.routerInstalled()).size === 0 ? true : undefined,
  );
}, 120_000);

privileged.afterAll(async () => {
  await Promise.all(speakers.map((speaker) => speaker.stop()));
  await topology?.destroy();
  for (const node of labelledNodes)
    await patchNodeLabels(node, { [SELECTOR_LABEL]: null }).catch(() => undefined);
  await deleteAllMetallb().catch(() => undefined);
  if (namespace)
    await coreApi()
      .deleteNamespace({ name: namespace })
      .catch(() => undefined);
}, 120_000);

// -------------------------------------------------------------------------------------------- tests

privileged.describe('the speaker announcing over BGP', () => {
  it('announces a LoadBalancer IP as a /32 from every node (ECMP) with standard and large communities, and reports it in ServiceBGPStatus', async () => {
    await applyMetallb(
      pool(),
      peer(),
      {
        kind: 'Community',
        name: 'e2e-communities',
        spec: {
          communities: [
            { name: 'e2e-gold', value: '64512:200' },
            { name: 'e2e-region', value: 'large:64512:7:9' },
          ],
        },
      },
      advertisement({ communities: ['64512:100', 'e2e-gold', 'e2e-region', 'large:64512:1:2'] }),
    );
    const svc = await service(130);

    const route = await routeWithNextHops(svc.prefix, allNodeAddresses());
    expect(route.communities).toEqual(['64512:100', '64512:200']);
    expect(route.largeCommunities).toEqual(['64512:1:2', '64512:7:9']);
    expect(route.paths.every((path) => path.asPath === String(NODE_ASN))).toBe(true);

    const statuses = await eventually('a ServiceBGPStatus per announcing node', async () => {
      const list = await rawClient().list<{
        status?: { node?: string; serviceName?: string; serviceNamespace?: string; peers?: string[] };
      }>(`/apis/metallb.io/v1beta1/namespaces/${METALLB_NAMESPACE}/servicebgpstatuses`);
      const ours = list.items
        .map((item) => item.status ?? {})
        .filter((status) => status.serviceName === svc.name && status.serviceNamespace === namespace);
      return ours.length === NODES.length ? ours : undefined;
    });
    expect(statuses.map((status) => status.node).sort()).toEqual([...NODES]);
    expect(statuses.every((status) => JSON.stringify(status.peers) === JSON.stringify([PEER]))).toBe(true);

    await deleteService(namespace, svc.name);
    await routeGone(svc.prefix);
  });

  it('sends the advertisement localPref to an iBGP peer', async () => {
    routerChanged = true;
    await topology.reconfigureRouter({ asn: NODE_ASN });
    await applyMetallb(pool(), peer({ peerASN: NODE_ASN }), advertisement({ localPref: 150 }));
    const svc = await service(131);

    const route = await routeWithNextHops(svc.prefix, allNodeAddresses());
    expect(route.localPref).toBe(150);
    expect(route.paths.map((path) => path.localPref)).toEqual([150, 150, 150]);
  });

  it('announces the aggregated /24 instead of the /32 with aggregationLength 24', async () => {
    await applyMetallb(pool([AGGREGATION_POOL]), peer(), advertisement({ aggregationLength: 24 }));
    const svc = await service(140);

    const route = await routeWithNextHops(AGGREGATION_POOL, allNodeAddresses());
    expect(route.prefix).toBe(AGGREGATION_POOL);
    expect([...(await topology.routerInstalled()).keys()]).toEqual([AGGREGATION_POOL]);
    expect(await topology.routerNextHops(svc.prefix)).toEqual([]);
  });

  it('with externalTrafficPolicy Local announces only from nodes with a ready endpoint, and follows the endpoints', async () => {
    await applyMetallb(pool(), peer(), advertisement());
    const svc = await service(150, { local: true, endpointNodes: ['worker-1'] });
    await routeWithNextHops(svc.prefix, [addressOf('worker-1')]);

    await setEndpointNodes(namespace, svc.name, ['worker-2']);
    await routeWithNextHops(svc.prefix, [addressOf('worker-2')]);

    await setEndpointNodes(namespace, svc.name, ['worker-0', 'worker-2']);
    await routeWithNextHops(svc.prefix, [addressOf('worker-0'), addressOf('worker-2')]);

    await setEndpointNodes(namespace, svc.name, []);
    await routeGone(svc.prefix);
  });

  it('peers only from the nodes a BGPPeer nodeSelector picks', async () => {
    labelledNodes.add('worker-1');
    await patchNodeLabels('worker-1', { [SELECTOR_LABEL]: 'yes' });
    await applyMetallb(
      pool(),
      peer({ nodeSelectors: [{ matchLabels: { [SELECTOR_LABEL]: 'yes' } }] }),
      advertisement(),
    );
    const svc = await service(160, { endpointNodes: ['worker-0', 'worker-1', 'worker-2'] });

    await routeWithNextHops(svc.prefix, [addressOf('worker-1')]);
    await sessionsEstablished([topology.node('worker-1')]);
    // The router keeps trying the other nodes every second; a few seconds of refusals show none peers.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    for (const name of ['worker-0', 'worker-2']) {
      expect((await topology.routerSession(addressOf(name))).state).not.toBe('Established');
    }
    expect(await topology.routerNextHops(svc.prefix)).toEqual([addressOf('worker-1')]);

    labelledNodes.add('worker-2');
    await patchNodeLabels('worker-2', { [SELECTOR_LABEL]: 'yes' });
    await routeWithNextHops(svc.prefix, [addressOf('worker-1'), addressOf('worker-2')]);
  });
});

privileged.describe('the speaker when links and routers fail', () => {
  it('with a BFD profile of 300 ms x 3, withdraws a cut node at the router in under 1.5 s', async () => {
    await applyMetallb(pool(), fastBfd, peer({ bfdProfile: BFD_PROFILE }), advertisement());
    const svc = await service(170);
    await routeWithNextHops(svc.prefix, allNodeAddresses());
    await bfdUpWith(topology.nodes);
    // The router learns each node's timers from its control packets: the BFDProfile reached FRR.
    for (const peer of await topology.bfdPeers()) {
      expect(peer).toMatchObject({
        remoteReceiveIntervalMs: 300,
        remoteTransmitIntervalMs: 300,
        remoteDetectMultiplier: 3,
      });
    }

    const victim = topology.node('worker-2');
    cutLinks.add(victim.name);
    const cutAt = Date.now();
    await topology.cutLink(victim.name);
    const withdrawnAfterMs = await topology.waitForNextHopWithdrawal(svc.prefix, victim.address, cutAt, {
      pollMs: 50,
      timeoutMs: 20_000,
    });
    process.stdout.write(
      `speaker e2e: BFD withdrawal of ${victim.name}'s next hop took ${withdrawnAfterMs} ms\n`,
    );
    expect(withdrawnAfterMs).toBeLessThan(1_500);
    expect(await topology.routerNextHops(svc.prefix)).toEqual([addressOf('worker-0'), addressOf('worker-1')]);

    await topology.restoreLink(victim.name);
    cutLinks.delete(victim.name);
    await routeWithNextHops(svc.prefix, allNodeAddresses());
  });

  it('without BFD, withdraws a cut node only when the hold timer (3 s) expires', async () => {
    await applyMetallb(pool(), peer({ keepaliveTime: '1s', holdTime: '3s' }), advertisement());
    const svc = await service(171);
    await routeWithNextHops(svc.prefix, allNodeAddresses());
    const session = await eventually('the router to negotiate the 3 s hold time', async () => {
      const state = await topology.routerSession(addressOf('worker-2'));
      return state.state === 'Established' && state.holdTimeMs === 3_000 ? state : undefined;
    });
    expect(session.holdTimeMs).toBe(3_000);

    const victim = topology.node('worker-2');
    cutLinks.add(victim.name);
    const cutAt = Date.now();
    await topology.cutLink(victim.name);
    const withdrawnAfterMs = await topology.waitForNextHopWithdrawal(svc.prefix, victim.address, cutAt, {
      pollMs: 50,
      timeoutMs: 20_000,
    });
    process.stdout.write(
      `speaker e2e: hold-timer withdrawal of ${victim.name}'s next hop took ${withdrawnAfterMs} ms\n`,
    );
    // The last keepalive arrived at most ~1 s before the cut, so expiry comes 2-3 s after it.
    expect(withdrawnAfterMs).toBeGreaterThan(1_500);
    expect(withdrawnAfterMs).toBeLessThan(8_000);

    await topology.restoreLink(victim.name);
    cutLinks.delete(victim.name);
    await routeWithNextHops(svc.prefix, allNodeAddresses());
  });

  it('establishes with the password from a basic-auth Secret, refuses a wrong one, and never logs either', async () => {
    const rightPassword = 'e2e-Right-pw-4417';
    const wrongPassword = 'e2e-Wrong-pw-9932';
    routerChanged = true;
    await topology.setRouterPassword(rightPassword);
    await ensureBasicAuthSecret('e2e-bgp-auth', rightPassword);
    await applyMetallb(
      pool(),
      peer({ passwordSecret: { name: 'e2e-bgp-auth', namespace: METALLB_NAMESPACE } }),
      advertisement(),
    );
    const svc = await service(180);
    await routeWithNextHops(svc.prefix, allNodeAddresses());
    await sessionsEstablished(topology.nodes);

    const changedAt = new Date();
    await ensureBasicAuthSecret('e2e-bgp-auth', wrongPassword);
    await routeGone(svc.prefix);
    // TCP MD5 drops every segment with the wrong digest: the session must stay down, not flap.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    for (const node of topology.nodes) {
      expect((await topology.routerSession(node.address)).state).not.toBe('Established');
    }

    const speaker = speakerFor('worker-0');
    const complaint = await eventually(
      'the speaker to report the peer it cannot establish',
      async () => {
        const records = logRecords(speaker.log()).filter(
          (record) =>
            typeof record.time === 'string' &&
            Date.parse(record.time) >= changedAt.getTime() &&
            (record.level === 'warn' || record.level === 'error') &&
            JSON.stringify(record).includes(PEER),
        );
        return records[0];
      },
      120_000,
    );
    expect(JSON.stringify(complaint)).not.toContain(wrongPassword);

    const events = await listEvents([METALLB_NAMESPACE, 'default']);
    const peerEvents = events.filter(
      (event) => event.type === 'Warning' && `${event.regarding} ${event.note}`.includes(PEER),
    );
    expect(peerEvents.length).toBeGreaterThan(0);
    for (const event of events) {
      expect(event.note).not.toContain(rightPassword);
      expect(event.note).not.toContain(wrongPassword);
    }
    for (const each of speakers) {
      expect(each.log()).not.toContain(rightPassword);
      expect(each.log()).not.toContain(wrongPassword);
    }
  });

  it("re-applies its configuration after the node's FRR daemons are killed and come back", async () => {
    await applyMetallb(pool(), peer(), advertisement());
    const svc = await service(190);
    await routeWithNextHops(svc.prefix, allNodeAddresses());

    const victim = topology.node('worker-1');
    killedFrr.add(victim.name);
    await topology.killFrr(victim.name);
    await routeWithNextHops(svc.prefix, [addressOf('worker-0'), addressOf('worker-2')]);

    await topology.startFrr(victim.name);
    killedFrr.delete(victim.name);
    await routeWithNextHops(svc.prefix, allNodeAddresses());
    expect(await topology.nodeVtysh(victim.name, ['show running-config'])).toContain(
      `router bgp ${NODE_ASN}`,
    );
  });
});

privileged.describe('the speaker metrics', () => {
  it('report BGP and BFD sessions up, prefix counts that match the router, and sessions down while the router is stopped', async () => {
    await applyMetallb(pool(), fastBfd, peer({ bfdProfile: BFD_PROFILE }), advertisement());
    const first = await service(200, { endpointNodes: ['worker-0'] });
    const second = await service(201, { endpointNodes: ['worker-0'] });
    await routeWithNextHops(first.prefix, allNodeAddresses());
    await routeWithNextHops(second.prefix, allNodeAddresses());
    await bfdUpWith(topology.nodes);

    for (const speaker of speakers) {
      // Both sides settle independently (FRR counts sent prefixes per update group): compare until they agree.
      const samples = await eventually(`${speaker.node.name}'s metrics to match the router`, async () => {
        const routerView = await topology.routerSession(speaker.node.address);
        const scraped = await speaker.metrics();
        const up = metricValue(scraped, 'metallb_bgp_session_up', { peer: BGP_PEER_LABEL });
        const bfdUp = metricValue(scraped, 'metallb_bfd_session_up', { peer: ROUTER_LAN_ADDRESS });
        const announced = metricValue(scraped, 'metallb_bgp_announced_prefixes_total', {
          peer: BGP_PEER_LABEL,
        });
        if (up === 1 && bfdUp === 1 && routerView.acceptedPrefixes === 2 && announced === 2) return scraped;
        throw new Error(
          `session_up ${up}, bfd_session_up ${bfdUp}, announced_prefixes ${announced}, router accepted ${routerView.acceptedPrefixes}`,
        );
      });
      expect(samples.filter((sample) => sample.name === 'metallb_bgp_session_up')).toEqual([
        { name: 'metallb_bgp_session_up', labels: { peer: BGP_PEER_LABEL, vrf: 'default' }, value: 1 },
      ]);
      expect(metricValue(samples, 'metallb_bgp_updates_total', { peer: BGP_PEER_LABEL })).toBeGreaterThan(0);
      expect(
        metricValue(samples, 'metallb_bfd_control_packet_output', { peer: ROUTER_LAN_ADDRESS }),
      ).toBeGreaterThan(0);
    }

    routerChanged = true;
    await topology.stopRouter();
    try {
      for (const speaker of speakers) {
        await eventually(`${speaker.node.name}'s metrics to show the session down`, async () => {
          const scraped = await speaker.metrics();
          const up = metricValue(scraped, 'metallb_bgp_session_up', { peer: BGP_PEER_LABEL });
          const bfdUp = metricValue(scraped, 'metallb_bfd_session_up', { peer: ROUTER_LAN_ADDRESS });
          return up === 0 && bfdUp === 0 ? true : undefined;
        });
      }
    } finally {
      await topology.startRouter();
    }
    await routeWithNextHops(first.prefix, allNodeAddresses());
    for (const speaker of speakers) {
      await eventually(`${speaker.node.name}'s metrics to show the session up again`, async () =>
        metricValue(await speaker.metrics(), 'metallb_bgp_session_up', { peer: BGP_PEER_LABEL }) === 1
          ? true
          : undefined,
      );
    }
  });
});

// ------------------------------------------------------------------------------ BGPSessionState

interface SessionStateRow {
  readonly name: string;
  readonly node: string;
  readonly peer: string;
  readonly state: string;
  readonly bfd: string;
}

/** `kubectl get bgpsessionstates -n metallb-system`: the table as printed, and its rows. */
async function sessionStateTable(): Promise<{ text: string; rows: SessionStateRow[] }> {
  const result = await kubectl(['get', 'bgpsessionstates', '-n', METALLB_NAMESPACE]);
  if (result.code !== 0) throw new Error(`kubectl get bgpsessionstates failed: ${result.stderr}`);
  const [header, ...lines] = result.stdout.trimEnd().split('\n');
  expect(header?.split(/\s+/)).toEqual(['NAME', 'NODE', 'PEER', 'STATE', 'BFD', 'AGE']);
  const rows = lines
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [name = '', node = '', peer = '', state = '', bfd = ''] = line.split(/\s+/);
      return { name, node, peer, state, bfd };
    });
  return { text: result.stdout.trimEnd(), rows };
}

interface SessionStateObject {
  readonly metadata: { readonly name: string; readonly resourceVersion?: string };
  readonly status?: Readonly<Record<string, unknown>>;
}

async function sessionStateObjects(): Promise<SessionStateObject[]> {
  const list = await rawClient().list<SessionStateObject>(
    `/apis/metallb.io/v1beta1/namespaces/${METALLB_NAMESPACE}/bgpsessionstates`,
  );
  return list.items;
}

privileged.describe('BGPSessionState', () => {
  it('kubectl get shows Established for each node and peer, the cut session within seconds, and nothing once the peer is gone', async () => {
    // Timers below the router's (180 s / 60 s): the hold time negotiated is the speaker's.
    await applyMetallb(
      pool(),
      fastBfd,
      peer({ bfdProfile: BFD_PROFILE, holdTime: '9s', keepaliveTime: '3s' }),
      advertisement(),
    );
    await service(210);
    // Not the route: its wait is tuned for an idle machine, and this test is about the speakers' view.

    const established = await eventually(
      'every session Established with BFD up in kubectl get',
      async () => {
        const table = await sessionStateTable();
        const ours = table.rows.filter((row) => row.peer === PEER);
        const good = ours.filter((row) => row.state === 'Established' && row.bfd === 'up');
        return good.length === NODES.length && ours.length === NODES.length ? table : undefined;
      },
      150_000,
    );
    await bfdUpWith(topology.nodes);
    process.stdout.write(`speaker e2e: established sessions:\n${established.text}\n`);
    expect(established.rows.map((row) => row.node).sort()).toEqual([...NODES]);

    // The details, and that a steady session is not rewritten (uptime and message counters tick in FRR).
    const settled = await eventually('each object to count the one prefix sent', async () => {
      const objects = (await sessionStateObjects()).filter((o) => o.status?.peer === PEER);
      return objects.length === NODES.length && objects.every((o) => o.status?.prefixesSent === 1)
        ? objects
        : undefined;
    });
    for (const object of settled) {
      expect(object.status).toMatchObject({
        peerAddress: ROUTER_LAN_ADDRESS,
        bgpStatus: 'Established',
        bfdStatus: 'up',
        prefixesReceived: 0,
        holdTime: '9s',
        keepaliveTime: '3s',
      });
      expect(Date.parse(String(object.status?.establishedSince))).toBeLessThanOrEqual(Date.now());
    }
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    const later = await sessionStateObjects();
    for (const object of settled) {
      const now = later.find((o) => o.metadata.name === object.metadata.name);
      expect(now?.metadata.resourceVersion).toBe(object.metadata.resourceVersion);
    }

    const victim = topology.node('worker-2');
    cutLinks.add(victim.name);
    const cutAt = Date.now();
    await topology.cutLink(victim.name);
    // Timed on the API (a kubectl process per poll would add its own start-up to the figure).
    await eventually(
      `${victim.name}'s BGPSessionState to show the session down`,
      async () => {
        const object = (await sessionStateObjects()).find(
          (o) => o.status?.node === victim.name && o.status?.peer === PEER,
        );
        return object?.status?.bfdStatus === 'down' && object.status.bgpStatus !== 'Established'
          ? true
          : undefined;
      },
      30_000,
    );
    const shownAfterMs = Date.now() - cutAt;
    const afterCut = await sessionStateTable();
    process.stdout.write(
      `speaker e2e: ${victim.name}'s BGPSessionState showed the session down ${shownAfterMs} ms after the cut:\n${afterCut.text}\n`,
    );
    expect(shownAfterMs).toBeLessThan(6_000);
    const victimRow = afterCut.rows.find((r) => r.node === victim.name && r.peer === PEER);
    expect(victimRow?.bfd).toBe('down');
    expect(victimRow?.state).not.toBe('Established');
    for (const row of afterCut.rows.filter((r) => r.node !== victim.name && r.peer === PEER)) {
      expect([row.state, row.bfd]).toEqual(['Established', 'up']);
    }

    await topology.restoreLink(victim.name);
    cutLinks.delete(victim.name);
    await eventually(
      `${victim.name}'s session Established again in kubectl get`,
      async () => {
        const row = (await sessionStateTable()).rows.find((r) => r.node === victim.name && r.peer === PEER);
        return row?.state === 'Established' && row.bfd === 'up' ? true : undefined;
      },
      120_000,
    );

    await deleteAllMetallb();
    await eventually('every BGPSessionState of the deleted peer removed', async () =>
      (await sessionStateObjects()).some((o) => o.status?.peer === PEER) ? undefined : true,
    );
  }, 420_000);
});
