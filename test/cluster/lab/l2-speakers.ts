/**
 * What the layer-2 e2e suite and benchmark both do with speakers in an L2Lab: wait until every speaker
 * heartbeats, find which node announces a Service, and time how long the client's neighbour entry takes to
 * move to another node after something happens to the owner.
 */
import type { ServiceL2Status } from '../../../src/api/types.generated.js';
import { LIVENESS_SELECTOR } from '../../../src/speaker/l2/liveness.js';
import { rawClient } from './cluster.js';
import type { L2Lab } from './l2-lab.js';
import { sleep } from './netns.js';
import { METALLB_NAMESPACE } from './topology-speakers.js';
import { waitFor } from '../wait-for.js';

const statusPath = `/apis/metallb.io/v1beta1/namespaces/${METALLB_NAMESPACE}/servicel2statuses`;
const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${METALLB_NAMESPACE}/leases`;

interface LeaseView {
  readonly metadata: { readonly name: string; readonly resourceVersion?: string };
}

export async function l2Statuses(): Promise<ServiceL2Status[]> {
  return (await rawClient().list<ServiceL2Status>(statusPath)).items;
}

/**
 * Waits until every named node's speaker renews its heartbeat Lease: layer 2 starts with the first
 * L2Advertisement, and a speaker that joins later takes its share of addresses, which would move an owner
 * just looked up.
 */
export async function waitForLiveSpeakers(nodes: readonly string[]): Promise<void> {
  const versions = async (): Promise<Map<string, string>> =>
    new Map(
      (await rawClient().list<LeaseView>(leasePath, { labelSelector: LIVENESS_SELECTOR })).items.map(
        (lease) => [lease.metadata.name, lease.metadata.resourceVersion ?? ''],
      ),
    );
  await waitFor(
    'every speaker to renew its heartbeat',
    async () => {
      const before = await versions();
      await sleep(800);
      const after = await versions();
      return nodes.every((node) => {
        const name = `metallb-speaker-${node}`;
        return after.has(name) && after.get(name) !== before.get(name);
      });
    },
    30_000,
  );
}

/** The node whose ServiceL2Status says it announces the Service (waits until exactly one does). */
export async function announcingNode(namespace: string, service: string): Promise<string> {
  return waitFor(
    `one ServiceL2Status for ${namespace}/${service}`,
    async () => {
      const mine = (await l2Statuses()).filter(
        (status) => status.status?.serviceName === service && status.status.serviceNamespace === namespace,
      );
      return mine.length === 1 ? mine[0]?.status?.node : undefined;
    },
    20_000,
  );
}

/**
 * The node announcing a Service once the placement has stopped moving: after a speaker restarts, the address
 * may still travel back to it, and a trial that starts meanwhile would time that move instead of its own.
 */
export async function settledAnnouncingNode(
  namespace: string,
  service: string,
  quietMs = 3_000,
): Promise<string> {
  let owner = await announcingNode(namespace, service);
  let since = Date.now();
  return waitFor(
    `the owner of ${namespace}/${service} to stay put for ${quietMs} ms`,
    async () => {
      const now = await announcingNode(namespace, service);
      if (now !== owner) {
        owner = now;
        since = Date.now();
      }
      return Date.now() - since >= quietMs ? owner : undefined;
    },
    30_000,
  );
}

/** Fills the client's neighbour entry for `ip` with `mac` and lets Linux's 1 s ARP lock time pass. */
export async function primeNeighbour(lab: L2Lab, ip: string, mac: string): Promise<void> {
  await lab.ping(ip);
  await waitFor(`the client's entry for ${ip}`, async () => (await lab.neighbour(ip))?.mac === mac);
  await sleep(1_200);
}

/**
 * Runs `act`, then waits until the client's neighbour entry for `ip` holds another MAC than `fromMac`;
 * returns that MAC and the milliseconds it took. The client sends nothing meanwhile, so only a gratuitous
 * ARP / unsolicited NA can have moved it.
 */
export async function timeNeighbourMove(
  lab: L2Lab,
  ip: string,
  fromMac: string,
  act: () => void | Promise<void>,
): Promise<{ readonly mac: string; readonly ms: number }> {
  const watch = await lab.watchNeighbour(ip);
  try {
    const started = Date.now();
    const movedAway = (change: { readonly mac?: string }) =>
      change.mac !== undefined && change.mac !== fromMac;
    if (watch.changes.some(movedAway)) {
      throw new Error(
        `the client's entry for ${ip} left ${fromMac} before the trial began: the placement moved`,
      );
    }
    await act();
    const moved = await waitFor(
      `the client's entry for ${ip} to leave ${fromMac}`,
      () => watch.changes.find(movedAway),
      15_000,
    );
    return { mac: moved.mac ?? '', ms: moved.atMs - started };
  } finally {
    await watch.stop();
  }
}
