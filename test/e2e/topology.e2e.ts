/**
 * The BGP lab on its own, without the speaker: node FRRs configured by hand reach the router, ECMP, BFD
 * and the failure helpers behave, and nothing survives destroy(). If this suite fails, speaker failures
 * say nothing about the speaker.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { BgpTopology, NODE_ASN, ROUTER_ASN, ROUTER_LAN_ADDRESS } from '../cluster/lab/topology.js';
import { waitFor } from '../cluster/lab/cluster.js';
import { requiring } from '../support/prerequisites.js';

// Needs root and frr: without it every test fails with the reason; METALLB_TEST_SKIP_PRIVILEGED=1 skips
// them instead, listed in the summary.
const privileged = requiring('root', 'frr');

const PREFIX = '203.0.113.200/32';

/** What the speaker would render for one static prefix, minus route-maps: enough to prove the plumbing. */
function staticNodeConfig(hostname: string, options: { bfd: boolean }): string {
  return [
    'frr defaults traditional',
    `hostname ${hostname}`,
    '!',
    ...(options.bfd
      ? [
          'bfd',
          ' profile fast',
          '  receive-interval 300',
          '  transmit-interval 300',
          '  detect-multiplier 3',
          ' exit',
          'exit',
          '!',
        ]
      : []),
    `router bgp ${NODE_ASN}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    ' no bgp network import-check',
    ` neighbor ${ROUTER_LAN_ADDRESS} remote-as ${ROUTER_ASN}`,
    ` neighbor ${ROUTER_LAN_ADDRESS} timers connect 1`,
    ...(options.bfd
      ? [` neighbor ${ROUTER_LAN_ADDRESS} bfd`, ` neighbor ${ROUTER_LAN_ADDRESS} bfd profile fast`]
      : []),
    ' !',
    ' address-family ipv4 unicast',
    `  network ${PREFIX}`,
    `  neighbor ${ROUTER_LAN_ADDRESS} activate`,
    ' exit-address-family',
    'exit',
    '!',
    '',
  ].join('\n');
}

function netnsList(): string {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
}

function processesMentioning(text: string): string {
  try {
    return execFileSync('pgrep', ['-a', '-f', '--', text], { encoding: 'utf8' });
  } catch {
    return ''; // pgrep exits 1 when nothing matches
  }
}

privileged.describe('the BGP test topology', () => {
  let topology: BgpTopology;

  beforeAll(async () => {
    topology = await BgpTopology.create({ nodes: ['worker-0', 'worker-1'] });
  });

  afterAll(async () => {
    await topology?.destroy();
  });

  it('carries a prefix that a node FRR announces to the router, with ECMP once both nodes announce it', async () => {
    const [first, second] = topology.nodes as [(typeof topology.nodes)[0], (typeof topology.nodes)[0]];
    await topology.reloadConfig(first.pathspace, staticNodeConfig(first.name, { bfd: true }));
    expect(
      await waitFor(
        'the prefix from one node',
        async () => {
          const hops = await topology.routerNextHops(PREFIX);
          return hops.length === 1 ? hops : undefined;
        },
        30_000,
      ),
    ).toEqual([first.address]);

    await topology.reloadConfig(second.pathspace, staticNodeConfig(second.name, { bfd: true }));
    const routes = await waitFor(
      'the prefix from both nodes',
      async () => {
        const found = await topology.routerRoutes(PREFIX);
        return found[0]?.nextHops.length === 2 ? found : undefined;
      },
      30_000,
    );
    expect(routes).toHaveLength(1);
    expect(routes[0]?.nextHops).toEqual([first.address, second.address]);
    expect(routes[0]?.paths.map((path) => path.asPath)).toEqual([String(NODE_ASN), String(NODE_ASN)]);
    expect((await topology.routerSession(first.address)).state).toBe('Established');
  });

  it('withdraws a cut node through BFD in well under the hold time, and takes it back after the link returns', async () => {
    const node = topology.node('worker-1');
    await waitFor(
      'BFD up with both nodes',
      async () => {
        const peers = await topology.bfdPeers();
        return peers.filter((peer) => peer.status === 'up').length === 2 ? peers : undefined;
      },
      30_000,
    );

    const cutAt = Date.now();
    await topology.cutLink(node.name);
    const withdrawnAfterMs = await topology.waitForNextHopWithdrawal(PREFIX, node.address, cutAt);
    process.stdout.write(
      `topology: BFD withdrew ${node.name}'s next hop ${withdrawnAfterMs} ms after the cut\n`,
    );
    expect(withdrawnAfterMs).toBeLessThan(1_500);
    expect(await topology.routerNextHops(PREFIX)).toEqual([topology.node('worker-0').address]);

    await topology.restoreLink(node.name);
    await waitFor(
      'the next hop back after the link returns',
      async () => ((await topology.routerNextHops(PREFIX)).length === 2 ? true : undefined),
      30_000,
    );
  });

  it('loses a node whose FRR is killed and starts that FRR again empty', async () => {
    const node = topology.node('worker-0');
    await topology.killFrr(node.name);
    await waitFor(
      'the killed node withdrawn',
      async () => ((await topology.routerNextHops(PREFIX)).includes(node.address) ? undefined : true),
      30_000,
    );
    await topology.startFrr(node.name);
    const running = await topology.nodeVtysh(node.name, ['show running-config']);
    expect(running).not.toMatch(/router bgp/);
  });

  it('rejects a node whose password does not match the router, and accepts it once it does', async () => {
    const node = topology.node('worker-1');
    await topology.setRouterPassword('e2e-secret');
    await waitFor(
      'the session to drop on the password mismatch',
      async () => ((await topology.routerSession(node.address)).state !== 'Established' ? true : undefined),
      30_000,
    );
    await topology.reloadConfig(
      node.pathspace,
      staticNodeConfig(node.name, { bfd: true }).replace(
        ' !\n address-family',
        ` neighbor ${ROUTER_LAN_ADDRESS} password e2e-secret\n !\n address-family`,
      ),
    );
    await waitFor(
      'the session with the password',
      async () => ((await topology.routerSession(node.address)).state === 'Established' ? true : undefined),
      30_000,
    );
    await topology.setRouterPassword(undefined);
  });

  it('drops every session while the router is stopped, and resetRouter brings it back with its first settings', async () => {
    const node = topology.node('worker-1');
    await topology.reconfigureRouter({ password: 'e2e-secret' });
    await topology.stopRouter();
    await expect(topology.routerSession(node.address)).rejects.toThrow();
    await topology.resetRouter();
    expect(topology.router.password).toBeUndefined();
    await topology.reloadConfig(node.pathspace, staticNodeConfig(node.name, { bfd: true }));
    await waitFor(
      'the session after the router came back',
      async () => ((await topology.routerSession(node.address)).state === 'Established' ? true : undefined),
      30_000,
    );
  });

  it('removes every namespace, FRR process and FRR directory on destroy, and destroy is idempotent', async () => {
    const other = await BgpTopology.create({ nodes: ['worker-0'] });
    const prefix = other.prefix;
    expect(netnsList()).toContain(`${prefix}-worker-0`);
    expect(processesMentioning(`--pathspace ${prefix}-`)).not.toBe('');
    await other.destroy();
    await other.destroy();
    expect(netnsList()).not.toContain(prefix);
    expect(processesMentioning(`--pathspace ${prefix}-`)).toBe('');
    expect(existsSync(`/var/run/frr/${prefix}-worker-0`)).toBe(false);
    expect(existsSync(`/etc/frr/${prefix}-worker-0`)).toBe(false);
  });
});
