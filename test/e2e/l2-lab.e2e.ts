/**
 * The L2 lab itself (test/cluster/lab/l2-lab.ts), before any L2 feature is tested on it: a process inside a node's
 * namespace reaches the API server through the relay, the switch delivers Neighbor Solicitations only to
 * ports that joined the group, the client's tools see what a network engineer's would, and a cut cable
 * cuts. Traffic stays inside the lab's namespaces.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from '@jest/globals';
import { binDir, ensureNamespace } from '../cluster/lab/cluster.js';
import { L2Lab, labMac } from '../cluster/lab/l2-lab.js';
import { isRunning } from '../cluster/lab/netns.js';
import { requiring } from '../support/prerequisites.js';

// Needs root: without it every test fails with the reason; METALLB_TEST_SKIP_PRIVILEGED=1 skips
// them instead, listed in the summary.
const privileged = requiring('root');

const NODES = ['worker-0', 'worker-1', 'worker-2'];

let lab: L2Lab;

privileged.beforeAll(async () => {
  await ensureNamespace('metallb-system');
  const started = Date.now();
  lab = await L2Lab.create({ nodes: NODES, secondLan: true });
  process.stdout.write(
    `L2 lab with ${NODES.length} nodes and two LANs built in ${Date.now() - started} ms\n`,
  );
}, 60_000);

privileged.afterAll(async () => {
  await lab?.destroy();
});

privileged.describe('L2 lab: the API server from inside a node namespace', () => {
  it('serves kubectl inside a namespace that has no address but loopback to reach the host', async () => {
    const node = lab.node('worker-1');
    const output = await lab.inNode(node.name, [
      join(binDir(), 'kubectl'),
      `--kubeconfig=${lab.kubeconfigFor(node.name)}`,
      'get',
      'nodes',
      '-o',
      'name',
    ]);
    expect(output.split('\n')).toContain('node/worker-1');
    // The namespace's only route off loopback is the lab LAN: the relay is the way in.
    expect(await lab.inNode(node.name, ['ip', '-4', 'route', 'show'])).not.toContain('default');
  }, 60_000);

  it('runs a metallb speaker inside a node namespace that lists the cluster through the relay', async () => {
    const speaker = await lab.startSpeaker('worker-0');
    try {
      const credentials = await speaker.waitForLog('"msg":"credentials"');
      expect(JSON.parse(credentials)).toMatchObject({ server: 'https://127.0.0.1:6443' });
      await speaker.waitForLog('"msg":"speaker ready"');
      expect(speaker.log()).toContain('caches synced; reconciling');
    } finally {
      await speaker.stop();
    }
    expect(speaker.running).toBe(false);
  }, 60_000);

  it('stops its relays and removes the socket file and namespaces when destroyed', async () => {
    const small = await L2Lab.create({ nodes: ['worker-2'] });
    const relayPids = small.relayPids;
    const socket = small.relaySocketPath;
    expect(relayPids).toHaveLength(2);
    expect(relayPids.every(isRunning)).toBe(true);
    expect(socket !== undefined && existsSync(socket)).toBe(true);
    await small.destroy();
    expect(relayPids.filter(isRunning)).toEqual([]);
    expect(socket !== undefined && existsSync(socket)).toBe(false);
    expect(small.namespaces.filter((namespace) => existsSync(`/run/netns/${namespace}`))).toEqual([]);
  }, 60_000);
});

privileged.describe('L2 lab: the wire and the client tools', () => {
  it("resolves each node's own addresses to its MAC, over IPv4 and IPv6, on both LANs", async () => {
    for (const [index, node] of lab.nodes.entries()) {
      expect(node.lan.mac).toBe(labMac(1, index));
      expect(await lab.resolveMac(node.lan.ipv4)).toBe(node.lan.mac);
      expect(await lab.resolveMac(node.lan.ipv6)).toBe(node.lan.mac);
      const second = node.interfaces[1];
      if (!second) throw new Error('the lab was built with a second LAN');
      expect(await lab.resolveMac(second.ipv4, { iface: 'eth1' })).toBe(second.mac);
      expect(await lab.answeringMacs(second.ipv6, { iface: 'eth1' })).toEqual([second.mac]);
    }
  }, 60_000);

  it('delivers a Neighbor Solicitation only to the port that joined its solicited-node group', async () => {
    const solicitsAt = async (nodeName: string): Promise<number> =>
      (await lab.counters(lab.node(nodeName).namespace)).get('Icmp6InNeighborSolicits') ?? 0;
    // Counters are per namespace and see every solicitation (unicast NUD probes too), so send enough
    // that a stray one cannot pass for delivery: five to worker-1's group, five to a group nobody joined.
    const before = await Promise.all(NODES.map(solicitsAt));
    for (let i = 0; i < 5; i++) {
      expect(await lab.resolveMac(lab.node('worker-1').lan.ipv6)).toBe(lab.node('worker-1').lan.mac);
      expect(await lab.resolveMac('2001:db8::1:99', { timeoutMs: 100 })).toBeUndefined();
    }
    const received = (await Promise.all(NODES.map(solicitsAt))).map(
      (count, index) => count - (before[index] ?? 0),
    );
    expect(received[1]).toBeGreaterThanOrEqual(5);
    expect(received[0]).toBeLessThan(5);
    expect(received[2]).toBeLessThan(5);
  }, 60_000);

  it("records the client's neighbour entry changing on a gratuitous ARP alone, without a request", async () => {
    const [first, second] = [lab.node('worker-0'), lab.node('worker-1')];
    expect(await lab.ping(first.lan.ipv4)).toBe(true);
    expect((await lab.neighbour(first.lan.ipv4))?.mac).toBe(first.lan.mac);
    const watch = await lab.watchNeighbour(first.lan.ipv4);
    try {
      expect(watch.current()).toBe(first.lan.mac);
      const sent = Date.now();
      // worker-1 claims worker-0's address, as a new owner of a Service IP does.
      await lab.gratuitousArp(second.name, { address: first.lan.ipv4 });
      const seen = await watch.waitForMac(second.lan.mac, { sinceMs: sent, timeoutMs: 5_000 });
      expect(seen - sent).toBeLessThan(5_000);
      expect(watch.changes.map((change) => change.mac)).toEqual([first.lan.mac, second.lan.mac]);
    } finally {
      await watch.stop();
      await lab.flushNeighbours();
    }
  }, 60_000);

  it('makes a node unreachable when its cable is cut, and reachable again when restored', async () => {
    const node = lab.node('worker-2');
    await lab.cutLink(node.name);
    try {
      expect(await lab.resolveMac(node.lan.ipv4, { timeoutMs: 300 })).toBeUndefined();
      expect(await lab.resolveMac(node.lan.ipv6, { timeoutMs: 300 })).toBeUndefined();
      expect(await lab.ping(node.lan.ipv4)).toBe(false);
      // Only eth0's cable: the second LAN still reaches it.
      expect(await lab.resolveMac(node.interfaces[1]?.ipv4 ?? '', { iface: 'eth1' })).toBe(
        node.interfaces[1]?.mac,
      );
    } finally {
      await lab.restoreLink(node.name);
    }
    expect(await lab.resolveMac(node.lan.ipv4, { timeoutMs: 2_000 })).toBe(node.lan.mac);
  }, 60_000);

  it('answers for an address added to the client, as a host that already uses it would', async () => {
    await lab.addClientAddress('198.51.100.129');
    await lab.addClientAddress('2001:db8::1:1');
    try {
      expect(await lab.resolveMac('198.51.100.129', { from: 'worker-0' })).toBe(lab.client.lan.mac);
      expect(await lab.resolveMac('2001:db8::1:1', { from: 'worker-0' })).toBe(lab.client.lan.mac);
    } finally {
      await lab.removeClientAddress('198.51.100.129');
      await lab.removeClientAddress('2001:db8::1:1');
    }
  }, 60_000);
});
