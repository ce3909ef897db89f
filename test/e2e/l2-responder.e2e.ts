/**
 * The layer-2 announcer on a wire, without a control plane: a bridge LAN, two node namespaces each running
 * the announcer (test/cluster/lab/l2-responder-main.ts), and a client with the tools a network engineer uses
 * (Habets' arping, ndisc6, ip neigh). Needs root. Runs without the local control plane:
 *   METALLB_E2E_NO_CLUSTER=1 npx jest --selectProjects e2e test/e2e/l2-responder.e2e.ts
 */
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import { waitFor } from '../cluster/wait-for.js';
import { L2Lab, inNamespace, ip } from '../cluster/lab/l2-wire-lab.js';
import { ResponderProcess, counterValue } from '../cluster/lab/l2-responder-process.js';
import { requiring } from '../support/prerequisites.js';

// Needs root: without it every test fails with the reason; METALLB_TEST_SKIP_PRIVILEGED=1 skips
// them instead, listed in the summary.
const privileged = requiring('root');

jest.setTimeout(60_000);

const VIP4 = '198.51.100.100';
const VIP6 = '2001:db8::100';
const MOVING4 = '198.51.100.101';
const OTHER4 = '198.51.100.102';
const MOVING6 = '2001:db8::101';
const CLIENT_OWNED4 = '198.51.100.150';
const CLIENT_OWNED6 = '2001:db8::150';

interface ArpingResult {
  readonly macs: string[];
  readonly latenciesMs: number[];
}

/** Habets' arping from the client: one line per reply, "... from MAC (IP): index=N time=T usec|msec". */
async function arping(lab: L2Lab, target: string, count: number): Promise<ArpingResult> {
  const result = await inNamespace(lab.client.namespace, [
    '/usr/sbin/arping',
    '-i',
    'eth0',
    '-c',
    String(count),
    '-W',
    '0.2',
    target,
  ]);
  const macs: string[] = [];
  const latenciesMs: number[] = [];
  for (const line of result.stdout.split('\n')) {
    const match = line.match(/from ([0-9a-f:]{17}) \(([0-9.]+)\).*time=([0-9.]+) (usec|msec|sec)/);
    if (!match) continue;
    macs.push(match[1] as string);
    const value = Number(match[3]);
    latenciesMs.push(match[4] === 'usec' ? value / 1000 : match[4] === 'msec' ? value : value * 1000);
  }
  return { macs, latenciesMs };
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function neighbourMac(lab: L2Lab, address: string): Promise<string | undefined> {
  const out = await ip(lab.client.namespace, 'neigh', 'show', address, 'dev', 'eth0');
  return out.match(/lladdr ([0-9a-f:]{17})/)?.[1];
}

privileged.describe('layer-2 announcer on a wire', () => {
  let lab: L2Lab;
  let nodeA: ResponderProcess;
  let nodeB: ResponderProcess;

  beforeAll(async () => {
    lab = await L2Lab.create();
    nodeA = new ResponderProcess(lab.a.namespace);
    nodeB = new ResponderProcess(lab.b.namespace);
    await Promise.all([nodeA.ready(), nodeB.ready()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([nodeA?.stop(), nodeB?.stop()]);
    await lab?.destroy();
  });

  it('probes, announces, and answers arping for an IPv4 address with the owner MAC only', async () => {
    await nodeA.reconcile([{ ip: VIP4, interfaces: [], probe: true }]);
    // B answers for another address, so it captures on the same LAN and sees every request for VIP4 too.
    await nodeB.reconcile([{ ip: OTHER4, interfaces: [], probe: false }]);
    expect(await nodeA.waitForState(VIP4, (s) => s.phase === 'announcing')).toEqual({
      phase: 'announcing',
      interfaces: ['eth0'],
    });
    const { macs, latenciesMs } = await arping(lab, VIP4, 20);
    expect(macs).toHaveLength(20);
    expect(new Set(macs)).toEqual(new Set([lab.a.mac]));
    process.stdout.write(
      `ARP reply latency over ${latenciesMs.length} arping requests: median ${median(latenciesMs).toFixed(3)} ms, ` +
        `max ${Math.max(...latenciesMs).toFixed(3)} ms\n`,
    );
    const metrics = await nodeA.metrics();
    expect(counterValue(metrics, 'metallb_layer2_requests_received', VIP4)).toBeGreaterThanOrEqual(20);
    expect(counterValue(metrics, 'metallb_layer2_responses_sent', VIP4)).toBeGreaterThanOrEqual(20);
    expect(counterValue(metrics, 'metallb_layer2_gratuitous_sent', VIP4)).toBeGreaterThan(0);
    expect(counterValue(await nodeB.metrics(), 'metallb_layer2_responses_sent', VIP4)).toBe(0);
  });

  it('resolves an IPv6 address with ndisc6 to the owner MAC', async () => {
    await nodeA.reconcile([
      { ip: VIP4, interfaces: [], probe: true },
      { ip: VIP6, interfaces: ['eth0'], probe: true },
    ]);
    await nodeA.waitForState(VIP6, (s) => s.phase === 'announcing');
    const started = process.hrtime.bigint();
    const result = await inNamespace(lab.client.namespace, ['ndisc6', '-n', '-1', '-r', '3', VIP6, 'eth0']);
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(result.stdout.toLowerCase()).toContain(lab.a.mac);
    const lines = result.stdout.split('\n').filter((l) => /link-layer address/i.test(l));
    expect(lines).toHaveLength(1);
    process.stdout.write(`ndisc6 resolved ${VIP6} in ${elapsedMs.toFixed(1)} ms (process start included)\n`);
  });

  it('joins the solicited-node group of a claimed IPv6 address, seen in the bridge multicast database', async () => {
    const mdb = await waitFor('the MLD report in the bridge mdb', async () => {
      const out = await inNamespace(lab.lan, ['bridge', 'mdb', 'show']);
      return out.stdout.includes('ff02::1:ff00:100') ? out.stdout : undefined;
    });
    // p0 is node A's bridge port (l2-wire-lab.ts creates the ports in the order a, b, client).
    expect(mdb).toMatch(/port p0 grp ff02::1:ff00:100/);
  });

  it('moves the client neighbour entries to the new owner by gratuitous ARP / unsolicited NA alone', async () => {
    await nodeA.reconcile([
      { ip: VIP4, interfaces: [], probe: true },
      { ip: VIP6, interfaces: ['eth0'], probe: true },
      { ip: MOVING4, interfaces: [], probe: false },
      { ip: MOVING6, interfaces: [], probe: false },
    ]);
    await nodeA.waitForState(MOVING6, (s) => s.phase === 'announcing');
    // The client resolves both through ordinary traffic (nothing answers the pings; the entries are what count).
    await inNamespace(lab.client.namespace, ['ping', '-c', '1', '-W', '1', MOVING4]);
    await inNamespace(lab.client.namespace, ['ping', '-6', '-c', '1', '-W', '1', MOVING6]);
    expect(await neighbourMac(lab, MOVING4)).toBe(lab.a.mac);
    expect(await neighbourMac(lab, MOVING6)).toBe(lab.a.mac);
    // Linux ignores ARP that changes an entry updated less than neigh locktime (1 s) ago; a real failover
    // meets entries older than that, so the move starts after it.
    await new Promise((resolve) => setTimeout(resolve, 1100));

    // The move: A lets go, B takes over without probing (as on failover). The client sends nothing now.
    await nodeA.reconcile([
      { ip: VIP4, interfaces: [], probe: true },
      { ip: VIP6, interfaces: ['eth0'], probe: true },
    ]);
    const moved = Date.now();
    await nodeB.reconcile([
      { ip: MOVING4, interfaces: [], probe: false },
      { ip: MOVING6, interfaces: [], probe: false },
    ]);
    const [v4, v6] = await Promise.all([
      waitFor('the IPv4 entry to move', async () =>
        (await neighbourMac(lab, MOVING4)) === lab.b.mac ? Date.now() : undefined,
      ),
      waitFor('the IPv6 entry to move', async () =>
        (await neighbourMac(lab, MOVING6)) === lab.b.mac ? Date.now() : undefined,
      ),
    ]);
    process.stdout.write(
      `client neighbour entries moved to node B after ${v4 - moved} ms (IPv4), ${v6 - moved} ms (IPv6)\n`,
    );
    // B saw no request for either address: the gratuitous frames alone did it.
    const metrics = await nodeB.metrics();
    expect(counterValue(metrics, 'metallb_layer2_requests_received', MOVING4)).toBe(0);
    expect(counterValue(metrics, 'metallb_layer2_requests_received', MOVING6)).toBe(0);
    expect(counterValue(metrics, 'metallb_layer2_gratuitous_sent', MOVING4)).toBeGreaterThan(0);
    expect(counterValue(metrics, 'metallb_layer2_gratuitous_sent', MOVING6)).toBeGreaterThan(0);
  });

  it('refuses an address the client already uses, naming the client MAC', async () => {
    await ip(lab.client.namespace, 'addr', 'add', `${CLIENT_OWNED4}/24`, 'dev', 'eth0');
    await ip(lab.client.namespace, 'addr', 'add', `${CLIENT_OWNED6}/64`, 'dev', 'eth0', 'nodad');
    await nodeB.reconcile([
      { ip: MOVING4, interfaces: [], probe: false },
      { ip: MOVING6, interfaces: [], probe: false },
      { ip: CLIENT_OWNED4, interfaces: [], probe: true },
      { ip: CLIENT_OWNED6, interfaces: [], probe: true },
    ]);
    const expected = { phase: 'conflict', holderMac: lab.client.mac, interface: 'eth0' };
    expect(await nodeB.waitForState(CLIENT_OWNED4, (s) => s.phase !== 'probing')).toEqual(expected);
    expect(await nodeB.waitForState(CLIENT_OWNED6, (s) => s.phase !== 'probing')).toEqual(expected);
    // Refused means silent: no answers and no gratuitous frames for an address another host holds.
    const metrics = await nodeB.metrics();
    expect(counterValue(metrics, 'metallb_layer2_responses_sent', CLIENT_OWNED4)).toBe(0);
    expect(counterValue(metrics, 'metallb_layer2_gratuitous_sent', CLIENT_OWNED4)).toBe(0);
  });

  it('stops answering at once when a claim is released', async () => {
    expect((await arping(lab, VIP4, 2)).macs).toEqual([lab.a.mac, lab.a.mac]);
    await nodeA.reconcile([{ ip: VIP6, interfaces: ['eth0'], probe: true }]);
    const after = await arping(lab, VIP4, 3);
    expect(after.macs).toEqual([]);
    const ndisc = await inNamespace(lab.client.namespace, [
      'ndisc6',
      '-n',
      '-1',
      '-r',
      '1',
      '-w',
      '300',
      MOVING6,
      'eth0',
    ]);
    expect(ndisc.stdout.toLowerCase()).toContain(lab.b.mac);
    await nodeB.reconcile([]);
    const silent = await inNamespace(lab.client.namespace, [
      'ndisc6',
      '-n',
      '-1',
      '-r',
      '2',
      '-w',
      '300',
      MOVING6,
      'eth0',
    ]);
    expect(silent.stdout.toLowerCase()).not.toContain(lab.b.mac);
  });
});
