/**
 * The webhook registered with the real API server: bad configurations are refused at `kubectl apply` time
 * with our message, creation order never matters, a BFD profile in use cannot be deleted, two conflicting
 * objects created at the same instant are never both admitted, a deleted object stops counting, and BGPPeer
 * round-trips between v1beta1 and v1beta2.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../cluster/processes.js';
import { ensureNamespace, kubectl, rawClient, waitFor } from '../cluster/lab/cluster.js';
import { ApiError } from '../../src/runtime/raw-client.js';
import { startProduct, type ProductProcess } from '../cluster/lab/product.js';

const ns = 'metallb-system';
let webhook: ProductProcess;

function manifest(...docs: string[]): string {
  return docs.join('\n---\n');
}

const pool = (name: string, ...addresses: string[]) =>
  `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: {addresses: [${addresses.join(', ')}]}`;
const peer = (name: string, spec: string) =>
  `apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: ${spec}`;
const bgpAd = (name: string, spec: string) =>
  `apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: ${spec}`;
const bfd = (name: string) =>
  `apiVersion: metallb.io/v1beta1\nkind: BFDProfile\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: {receiveInterval: 300}`;

async function apply(yaml: string) {
  return kubectl(['apply', '-f', '-'], yaml);
}

async function cleanMetalLBObjects(): Promise<void> {
  for (const plural of [
    'bgpadvertisements',
    'l2advertisements',
    'bgppeers',
    'bfdprofiles',
    'communities',
    'ipaddresspools',
  ]) {
    await kubectl(['delete', plural, '--all', '-n', ns, '--wait=true']);
  }
}

/** Starts the webhook on a free port and waits until the API server enforces it. */
async function startRegisteredWebhook(): Promise<ProductProcess> {
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const started = startProduct('webhook', [
    '--host=127.0.0.1',
    `--port=${port}`,
    `--local-url=${url}`,
    `--namespace=${ns}`,
  ]);
  // Enforced means an invalid object is refused by our webhook, not just by the schema.
  await waitFor(
    'the webhook to be enforced',
    async () => {
      const result = await apply(pool('probe', '"not-an-address"'));
      if (result.code === 0) await kubectl(['delete', 'ipaddresspool', 'probe', '-n', ns]);
      return result.stderr.includes('admission webhook') ? true : undefined;
    },
    60_000,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\nwebhook log:\n${started.log()}`);
  });
  return started;
}

describe('the admission and conversion webhook', () => {
  beforeAll(async () => {
    await ensureNamespace(ns);
    await cleanMetalLBObjects();
    webhook = await startRegisteredWebhook();
  });

  afterEach(async () => {
    await cleanMetalLBObjects();
  });

  afterAll(async () => {
    await webhook?.stop();
    // The webhook removes its configuration on exit; make sure, so later suites are never blocked.
    await kubectl([
      'delete',
      'validatingwebhookconfiguration',
      'metallb-webhook-configuration',
      '--ignore-not-found',
    ]);
  });

  it('refuses overlapping pools with the pool, the field and the other pool named', async () => {
    const result = await apply(
      manifest(pool('first', '192.0.2.0/24'), pool('second', '192.0.2.128-192.0.2.140')),
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/IPAddressPool\/metallb-system\/second: spec\.addresses\[0\]/);
    expect(result.stderr).toMatch(/first/);
  });

  const poolsPath = `/apis/metallb.io/v1beta1/namespaces/${ns}/ipaddresspools`;
  const poolObject = (name: string, address: string) => ({
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name, namespace: ns },
    spec: { addresses: [address] },
  });

  /** Creates the pool; 'denied' when our webhook refused it, any other failure throws. */
  async function createPool(name: string, address: string): Promise<'admitted' | 'denied'> {
    const client = rawClient();
    try {
      await client.create(poolsPath, poolObject(name, address));
      return 'admitted';
    } catch (error) {
      if (error instanceof ApiError && /admission webhook .* denied the request/.test(error.message)) {
        expect(error.message).toMatch(/overlap/);
        return 'denied';
      }
      throw error;
    } finally {
      client.close();
    }
  }

  it('admits exactly one of two overlapping pools created at the same instant, 20 times in 20', async () => {
    const outcomes: string[] = [];
    for (let trial = 0; trial < 20; trial++) {
      // Each trial has ranges of its own, so only the two pools of one trial can conflict.
      const [a, b] = await Promise.all([
        createPool(`race-${trial}-a`, `2001:db8:0:${trial}::/64`),
        createPool(`race-${trial}-b`, `2001:db8:0:${trial}::/80`),
      ]);
      outcomes.push([a, b].sort().join('+'));
    }
    expect(outcomes).toEqual(Array.from({ length: 20 }, () => 'admitted+denied'));
  });

  it('stops counting a deleted pool as soon as its cache shows the delete', async () => {
    expect(await createPool('deleted-soon', '198.51.100.0/24')).toBe('admitted');
    expect(await createPool('overlapping', '198.51.100.128/25')).toBe('denied');
    const deleted = await kubectl(['delete', 'ipaddresspool', 'deleted-soon', '-n', ns, '--wait=true']);
    expect(deleted.code).toBe(0);
    const startedAt = Date.now();
    await waitFor(
      'the overlapping pool to be admitted',
      async () => ((await createPool('overlapping', '198.51.100.128/25')) === 'admitted' ? true : undefined),
      5_000,
    );
    // Well inside the 10 s an admitted object is remembered: the cache saw the delete, nothing expired.
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });

  it('refuses an iBGP peer with ebgpMultiHop', async () => {
    const result = await apply(
      peer('ibgp', '{myASN: 64512, peerASN: 64512, peerAddress: 198.51.100.1, ebgpMultiHop: true}'),
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/BGPPeer\/metallb-system\/ibgp: spec\.ebgpMultiHop/);
  });

  it('refuses a keepalive time above the hold time', async () => {
    const result = await apply(
      peer(
        'timers',
        '{myASN: 64512, peerASN: 64513, peerAddress: 198.51.100.1, holdTime: 30s, keepaliveTime: 60s}',
      ),
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/BGPPeer\/metallb-system\/timers: spec\.keepaliveTime/);
  });

  it('refuses a localPref conflict between two advertisements of one pool', async () => {
    expect((await apply(pool('pref', '203.0.113.0/24'))).code).toBe(0);
    expect((await apply(bgpAd('pref-a', '{ipAddressPools: [pref], localPref: 100}'))).code).toBe(0);
    const result = await apply(bgpAd('pref-b', '{ipAddressPools: [pref], localPref: 200}'));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/BGPAdvertisement\/metallb-system\/pref-b: spec\.localPref/);
  });

  it('refuses a community whose value overflows', async () => {
    const result = await apply(bgpAd('overflow', '{communities: ["65536:1"]}'));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/BGPAdvertisement\/metallb-system\/overflow: spec\.communities\[0\]/);
  });

  it('refuses a second peer with a different myASN on the same nodes', async () => {
    expect(
      (await apply(peer('asn-a', '{myASN: 64512, peerASN: 64513, peerAddress: 198.51.100.1}'))).code,
    ).toBe(0);
    const result = await apply(peer('asn-b', '{myASN: 64600, peerASN: 64513, peerAddress: 198.51.100.9}'));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/BGPPeer\/metallb-system\/asn-b: .*myASN/);
  });

  it('admits objects in dependency-reversed order: advertisement before pool, peer before BFD profile', async () => {
    const reversed = await apply(
      manifest(
        bgpAd('early', '{ipAddressPools: [late]}'),
        peer('early-peer', '{myASN: 64512, peerASN: 64513, peerAddress: 198.51.100.1, bfdProfile: late-bfd}'),
        pool('late', '203.0.113.0/25'),
        bfd('late-bfd'),
      ),
    );
    expect(reversed.code).toBe(0);
    // Admitted, with a warning a person can act on rather than a silent dangling reference.
    expect(reversed.stderr).toMatch(
      /Warning: BGPAdvertisement\/metallb-system\/early: spec\.ipAddressPools\[0\]: IPAddressPool "late" does not exist/,
    );
  });

  it('denies deleting a BFD profile a peer uses', async () => {
    expect(
      (
        await apply(
          manifest(
            bfd('in-use'),
            peer('user', '{myASN: 64512, peerASN: 64513, peerAddress: 198.51.100.1, bfdProfile: in-use}'),
          ),
        )
      ).code,
    ).toBe(0);
    const result = await kubectl(['delete', 'bfdprofile', 'in-use', '-n', ns]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/BGPPeer user uses this profile/);
  });

  it('refuses objects outside the MetalLB namespace', async () => {
    await ensureNamespace('elsewhere');
    const result = await apply(
      'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: stray, namespace: elsewhere}\nspec: {addresses: [203.0.113.0/24]}',
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/must be created in namespace metallb-system/);
  });

  it('removes its configuration on exit and points conversion back at the Service', async () => {
    // Checked last in afterAll of a fresh process would be too late to assert; do it with a second webhook.
    const port = await freePort();
    const second = startProduct('webhook', [
      '--host=127.0.0.1',
      `--port=${port}`,
      `--local-url=https://127.0.0.1:${port}`,
      '--webhook-configuration=metallb-webhook-second',
    ]);
    await waitFor('the second webhook configuration', async () =>
      (await kubectl(['get', 'validatingwebhookconfiguration', 'metallb-webhook-second'])).code === 0
        ? true
        : undefined,
    );
    await second.stop();
    expect(
      (await kubectl(['get', 'validatingwebhookconfiguration', 'metallb-webhook-second'])).code,
    ).not.toBe(0);
    const crd = await rawClient().get<{
      spec: { conversion: { webhook: { clientConfig: Record<string, unknown> } } };
    }>('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/bgppeers.metallb.io');
    expect(crd.spec.conversion.webhook.clientConfig).toEqual({
      service: { name: 'metallb-webhook-service', namespace: 'metallb-system', path: '/convert', port: 443 },
    });
    // The first webhook is still running: take conversion back for the remaining tests.
    await webhook.stop();
    webhook = await startRegisteredWebhook();
  });

  it('round-trips a v1beta1 BGPPeer through the stored v1beta2', async () => {
    const v1beta1 =
      'apiVersion: metallb.io/v1beta1\nkind: BGPPeer\n' +
      `metadata: {name: legacy, namespace: ${ns}}\n` +
      'spec: {myASN: 64512, peerASN: 64513, peerAddress: 198.51.100.20, holdTime: 90s, nodeSelectors: [{matchLabels: {kubernetes.io/hostname: worker-0}}]}';
    expect((await apply(v1beta1)).code).toBe(0);
    const asV1beta2 = await rawClient().get<{ apiVersion: string; spec: Record<string, unknown> }>(
      `/apis/metallb.io/v1beta2/namespaces/${ns}/bgppeers/legacy`,
    );
    expect(asV1beta2.apiVersion).toBe('metallb.io/v1beta2');
    expect(asV1beta2.spec).toMatchObject({
      myASN: 64512,
      peerASN: 64513,
      peerAddress: '198.51.100.20',
      holdTime: '90s',
      peerPort: 179,
    });
    const asV1beta1 = await rawClient().get<{ apiVersion: string; spec: Record<string, unknown> }>(
      `/apis/metallb.io/v1beta1/namespaces/${ns}/bgppeers/legacy`,
    );
    expect(asV1beta1.apiVersion).toBe('metallb.io/v1beta1');
    expect(asV1beta1.spec).toMatchObject({
      myASN: 64512,
      peerASN: 64513,
      peerAddress: '198.51.100.20',
      nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'worker-0' } }],
    });
  });
});
