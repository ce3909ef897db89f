/**
 * Layer 2 end to end: three real `metallb speaker` processes, each inside its node's network namespace
 * (reaching the API server through the lab's relay), answer ARP and NDP for Service addresses on a bridged
 * LAN, and a client namespace checks them with the tools a network engineer uses (arping, ndisc6, its own
 * neighbour table). The tests write Service status themselves, as speaker.e2e.ts does, so every failure here
 * is the speaker's. Traffic stays inside the lab's namespaces.
 */
import { expect, it } from '@jest/globals';
import { createNamespace, ensureNamespace, rawClient, waitFor } from '../cluster/lab/cluster.js';
import { L2Lab, labMac, type LabProcess } from '../cluster/lab/l2-lab.js';
import {
  announcingNode as announcingNodeIn,
  l2Statuses,
  primeNeighbour as primeNeighbourWith,
  timeNeighbourMove,
  waitForLiveSpeakers,
} from '../cluster/lab/l2-speakers.js';
import {
  METALLB_NAMESPACE,
  applyMetallb,
  createLoadBalancerService,
  deleteAllMetallb,
  listEvents,
  patchNodeLabels,
  setEndpointNodes,
} from '../cluster/lab/topology-speakers.js';
import { requiring } from '../support/prerequisites.js';

// Needs root: without it every test fails with the reason; METALLB_TEST_SKIP_PRIVILEGED=1 skips
// them instead, listed in the summary.
const privileged = requiring('root');

const NODES = ['worker-0', 'worker-1', 'worker-2'] as const;
type NodeName = (typeof NODES)[number];
const POOL_V4 = '198.51.100.200-198.51.100.250';
const POOL_V6 = '2001:db8::1:10-2001:db8::1:40';

let lab: L2Lab;
const speakers = new Map<NodeName, LabProcess>();
let namespace: string;
let serviceCounter = 0;

async function startSpeaker(node: NodeName): Promise<void> {
  speakers.set(node, await lab.startSpeaker(node, ['--port', '0', '--health-probe-port', '0']));
}

async function ensureSpeakers(): Promise<void> {
  for (const node of NODES) if (!speakers.get(node)?.running) await startSpeaker(node);
}

function macOf(node: string, lan: 1 | 2 = 1): string {
  return labMac(lan, NODES.indexOf(node as NodeName));
}

function nodeOfMac(mac: string | undefined): string | undefined {
  return NODES.find((node) => macOf(node) === mac || macOf(node, 2) === mac);
}

async function createService(
  ips: readonly string[],
  options: { readonly pool?: string; readonly endpointNodes?: readonly string[]; local?: boolean } = {},
): Promise<string> {
  serviceCounter += 1;
  const name = `l2-svc-${serviceCounter}`;
  await createLoadBalancerService({
    namespace,
    name,
    pool: options.pool ?? 'lan',
    endpointNodes: options.endpointNodes ?? [...NODES],
    ...(options.local ? { externalTrafficPolicy: 'Local' as const } : {}),
  });
  await rawClient().patch(
    `/api/v1/namespaces/${namespace}/services/${name}/status`,
    { status: { loadBalancer: { ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' })) } } },
    'application/merge-patch+json',
  );
  return name;
}

async function lanPoolAndAdvertisement(l2Spec: Record<string, unknown> = {}): Promise<void> {
  await applyMetallb(
    { kind: 'IPAddressPool', name: 'lan', spec: { addresses: [POOL_V4, POOL_V6], autoAssign: false } },
    { kind: 'L2Advertisement', name: 'lan', spec: { ipAddressPools: ['lan'], ...l2Spec } },
  );
  await waitForLiveSpeakers(NODES);
}

const announcingNode = (service: string): Promise<string> => announcingNodeIn(namespace, service);
const primeNeighbour = (ip: string, owner: string): Promise<void> =>
  primeNeighbourWith(lab, ip, macOf(owner));

/** Runs `act` and returns the node the client's entry for `ip` moves to from `from`, and how long it took. */
async function watchMove(
  ip: string,
  from: string,
  act: () => void | Promise<void>,
): Promise<[string, number]> {
  const moved = await timeNeighbourMove(lab, ip, macOf(from), act).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${speakerLogExcerpt(ip)}`);
  });
  const to = nodeOfMac(moved.mac);
  if (!to) throw new Error(`the entry moved to an unknown MAC ${moved.mac}`);
  return [to, moved.ms];
}

/** What each speaker logged about `ip`, handover and liveness: a failed move says why without a rerun. */
function speakerLogExcerpt(ip: string): string {
  const relevant = (line: string): boolean =>
    line.includes(ip) || /handover|handing|liveness|leaving|conflict|probe/i.test(line);
  return NODES.map((node) => {
    const lines = (speakers.get(node)?.log() ?? '').split('\n').filter(relevant).slice(-30);
    return `--- ${node} (${speakers.get(node)?.logFile ?? 'no log'}):\n${lines.join('\n')}`;
  }).join('\n');
}

/**
 * Resolves the address from the client until the given node's MAC answers, and then only it. Retried as a
 * whole: on a loaded machine a speaker's heartbeat may miss its deadline, the address then moves away and
 * back (the base placement returns it), and a single look could land in that moment.
 */
async function expectAnsweredBy(ip: string, node: string, lan: 1 | 2 = 1): Promise<void> {
  const iface = lan === 1 ? 'eth0' : 'eth1';
  let answering: string[] = [];
  await waitFor(
    `${ip} to resolve to ${node} alone`,
    async () => {
      if ((await lab.resolveMac(ip, { iface })) !== macOf(node, lan)) return false;
      // ndisc6 takes any Neighbor Advertisement for the address, so let the owner's unsolicited ones (sent
      // on every interface it announces on, the other LAN's too) die down before counting who answers.
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      answering = await lab.answeringMacs(ip, { iface });
      return answering.length === 1 && answering[0] === macOf(node, lan);
    },
    20_000,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}; last answering: ${JSON.stringify(answering)}`);
  });
}

privileged.beforeAll(async () => {
  await ensureNamespace(METALLB_NAMESPACE);
  await deleteAllMetallb();
  lab = await L2Lab.create({ nodes: NODES, secondLan: true });
  namespace = await createNamespace('l2-e2e');
  await ensureSpeakers();
}, 120_000);

privileged.afterEach(async () => {
  await rawClient()
    .delete(`/api/v1/namespaces/${namespace}/services`)
    .catch(() => undefined);
  await deleteAllMetallb();
  for (const node of NODES) await patchNodeLabels(node, { 'l2-e2e': null });
  for (const node of NODES) {
    for (const iface of ['eth0', 'eth1'] as const) await lab.restoreLink(node, iface).catch(() => undefined);
  }
  await ensureSpeakers();
  await waitFor('no ServiceL2Status left', async () => (await l2Statuses()).length === 0, 20_000);
}, 120_000);

privileged.afterAll(async () => {
  for (const speaker of speakers.values()) await speaker.stop().catch(() => undefined);
  await rawClient()
    .delete(`/api/v1/namespaces/${namespace}`)
    .catch(() => undefined);
  await lab?.destroy();
}, 60_000);

privileged.describe('layer 2: answering for Service addresses', () => {
  it("resolves IPv4 and IPv6 Service addresses to the owner node's MAC, with exactly one node answering", async () => {
    await lanPoolAndAdvertisement();
    const v4 = await createService(['198.51.100.201']);
    const v6 = await createService(['2001:db8::1:11']);
    await expectAnsweredBy('198.51.100.201', await announcingNode(v4));
    await expectAnsweredBy('2001:db8::1:11', await announcingNode(v6));
  }, 60_000);

  it('answers for both addresses of a dual-stack Service from one node', async () => {
    await lanPoolAndAdvertisement();
    const service = await createService(['198.51.100.205', '2001:db8::1:15']);
    const owner = await announcingNode(service);
    await expectAnsweredBy('198.51.100.205', owner);
    await expectAnsweredBy('2001:db8::1:15', owner);
  }, 60_000);

  it('answers only on the interfaces the L2Advertisement lists', async () => {
    await applyMetallb(
      { kind: 'IPAddressPool', name: 'lan2', spec: { addresses: ['192.0.2.200/32'], autoAssign: false } },
      { kind: 'L2Advertisement', name: 'lan2', spec: { ipAddressPools: ['lan2'], interfaces: ['eth1'] } },
    );
    await waitForLiveSpeakers(NODES);
    const service = await createService(['192.0.2.200'], { pool: 'lan2' });
    const owner = await announcingNode(service);
    await expectAnsweredBy('192.0.2.200', owner, 2);
    const status = await waitFor(`the ServiceL2Status of ${service}`, async () =>
      (await l2Statuses()).find((item) => item.status?.serviceName === service),
    );
    expect(status.status?.interfaces).toEqual([{ name: 'eth1' }]);
  }, 60_000);

  it('announces only from nodes the nodeSelectors pick', async () => {
    await patchNodeLabels('worker-2', { 'l2-e2e': 'edge' });
    await lanPoolAndAdvertisement({ nodeSelectors: [{ matchLabels: { 'l2-e2e': 'edge' } }] });
    const services = [];
    for (let i = 0; i < 4; i += 1) services.push(await createService([`198.51.100.${210 + i}`]));
    for (const service of services) expect(await announcingNode(service)).toBe('worker-2');
    await expectAnsweredBy('198.51.100.210', 'worker-2');
  }, 60_000);

  it('with externalTrafficPolicy Local announces from a node with a ready endpoint, and follows it', async () => {
    await lanPoolAndAdvertisement();
    const service = await createService(['198.51.100.220'], { endpointNodes: ['worker-1'], local: true });
    expect(await announcingNode(service)).toBe('worker-1');
    await expectAnsweredBy('198.51.100.220', 'worker-1');
    await setEndpointNodes(namespace, service, ['worker-0']);
    await waitFor(
      'the announcement to follow the endpoint',
      async () => (await announcingNode(service)) === 'worker-0',
    );
    await expectAnsweredBy('198.51.100.220', 'worker-0');
  }, 60_000);

  it('refuses an address another host on the LAN already uses, with a Warning event on the Service', async () => {
    await lab.addClientAddress('198.51.100.230');
    try {
      await lanPoolAndAdvertisement();
      const service = await createService(['198.51.100.230']);
      const warning = await waitFor(
        'a conflict event',
        async () =>
          (await listEvents([namespace])).find(
            (event) => event.type === 'Warning' && event.regarding === `Service/${service}`,
          ),
        20_000,
      );
      expect(warning.note).toContain('198.51.100.230');
      expect(warning.note).toContain(labMac(1, 'client'));
      // Only the client answers for its own address (asked from a node: a host never answers itself).
      expect(await lab.answeringMacs('198.51.100.230', { from: 'worker-1' })).toEqual([labMac(1, 'client')]);
    } finally {
      await lab.removeClientAddress('198.51.100.230');
    }
  }, 60_000);
});

privileged.describe('layer 2: failover', () => {
  it('moves an address to another node within 2 s when the owner speaker is killed, by gratuitous ARP alone', async () => {
    await lanPoolAndAdvertisement();
    const service = await createService(['198.51.100.240']);
    const owner = await announcingNode(service);
    await expectAnsweredBy('198.51.100.240', owner);
    await primeNeighbour('198.51.100.240', owner);
    // The client sends nothing from here on: only the new owner's gratuitous ARP can change its entry.
    const [to, ms] = await watchMove('198.51.100.240', owner, () =>
      speakers.get(owner as NodeName)?.kill('SIGKILL'),
    );
    process.stdout.write(`L2 failover after SIGKILL: ${ms} ms (${owner} -> ${to})\n`);
    expect(to).not.toBe(owner);
    expect(ms).toBeLessThan(3_000);
    // The dead speaker's ServiceL2Status may outlive it for a moment; the new owner's replaces it.
    await waitFor(
      `the ServiceL2Status of ${service} to name ${to}`,
      async () => (await announcingNode(service)) === to,
      20_000,
    );
  }, 60_000);

  it('moves an IPv6 address when the owner node loses its links', async () => {
    await lanPoolAndAdvertisement();
    const service = await createService(['2001:db8::1:20']);
    const owner = await announcingNode(service);
    await expectAnsweredBy('2001:db8::1:20', owner);
    await primeNeighbour('2001:db8::1:20', owner);
    // The advertisement names no interface, so the owner answers on both LANs: it must lose both.
    const [to, ms] = await watchMove('2001:db8::1:20', owner, async () => {
      await lab.cutLink(owner, 'eth0');
      await lab.cutLink(owner, 'eth1');
    });
    process.stdout.write(`L2 failover after a cut link (IPv6): ${ms} ms (${owner} -> ${to})\n`);
    expect(to).not.toBe(owner);
    expect(ms).toBeLessThan(3_000);
  }, 60_000);

  it('hands an address over within 500 ms when the owner speaker is stopped with SIGTERM', async () => {
    await lanPoolAndAdvertisement();
    const service = await createService(['198.51.100.241']);
    const owner = await announcingNode(service);
    await expectAnsweredBy('198.51.100.241', owner);
    await primeNeighbour('198.51.100.241', owner);
    const [to, ms] = await watchMove('198.51.100.241', owner, () =>
      speakers.get(owner as NodeName)?.kill('SIGTERM'),
    );
    process.stdout.write(`L2 handover after SIGTERM: ${ms} ms (${owner} -> ${to})\n`);
    expect(to).not.toBe(owner);
    expect(ms).toBeLessThan(1_000);
    await speakers.get(owner as NodeName)?.waitForExit(10_000);
  }, 60_000);
});

privileged.describe('layer 2: placement', () => {
  it('spreads 100 addresses over the nodes, one ServiceL2Status each, and the wire agrees', async () => {
    await lanPoolAndAdvertisement();
    await applyMetallb({
      kind: 'IPAddressPool',
      name: 'lan',
      spec: { addresses: ['198.51.100.128/25', POOL_V6], autoAssign: false },
    });
    const services = new Map<string, string>();
    for (let i = 0; i < 100; i += 1) {
      const ip = `198.51.100.${130 + i}`;
      services.set(await createService([ip]), ip);
    }
    const owners = await waitFor(
      'one ServiceL2Status per Service',
      async () => {
        const statuses = (await l2Statuses()).filter(
          (status) => status.status?.serviceNamespace === namespace,
        );
        const byService = new Map(statuses.map((status) => [status.status?.serviceName ?? '', status]));
        return statuses.length === 100 && byService.size === 100 ? byService : undefined;
      },
      60_000,
    );
    const counts = new Map<string, number>();
    for (const status of owners.values()) {
      const node = status.status?.node ?? '';
      counts.set(node, (counts.get(node) ?? 0) + 1);
    }
    const loads = NODES.map((node) => counts.get(node) ?? 0);
    process.stdout.write(`100 L2 addresses over 3 nodes: ${loads.join(' / ')}\n`);
    expect(Math.max(...loads) / Math.min(...loads)).toBeLessThanOrEqual(1.5);
    // Sample the wire: each address answers from the node its status names.
    for (const service of [...services.keys()].filter((_, index) => index % 20 === 0)) {
      const node = owners.get(service)?.status?.node ?? '';
      expect(await lab.answeringMacs(services.get(service) ?? '')).toEqual([macOf(node)]);
    }
  }, 180_000);
});
