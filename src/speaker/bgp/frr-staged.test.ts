import { describe, expect, it } from '@jest/globals';
import { incrementalCommands } from './frr-incremental.js';
import { addressLines, stagedPlan } from './frr-staged.js';

const peers = ['192.0.2.1', '192.0.2.2'];
const ip = (index: number) => `10.99.${(index + 1) >> 8}.${(index + 1) & 255}/32`;

/** A configuration in the renderer's shape: per-peer lists, one router with networks. */
function config(addresses: readonly number[], peerNames = peers): string {
  const lines = ['frr defaults traditional', 'hostname worker-0', '!'];
  for (const peer of peerNames) {
    if (addresses.length === 0) lines.push(`ip prefix-list ${peer}-allowed-ipv4 seq 1 deny any`);
    for (const index of addresses)
      lines.push(`ip prefix-list ${peer}-allowed-ipv4 seq ${index + 2} permit ${ip(index)}`);
    lines.push(
      '!',
      `route-map ${peer}-out permit 65001`,
      ` match ip address prefix-list ${peer}-allowed-ipv4`,
    );
    lines.push('exit', '!');
  }
  lines.push('router bgp 64512', ' no bgp default ipv4-unicast');
  for (const peer of peerNames) lines.push(` neighbor ${peer} remote-as 64500`);
  lines.push(' !', ' address-family ipv4 unicast');
  for (const index of addresses) lines.push(`  network ${ip(index)}`);
  for (const peer of peerNames) lines.push(`  neighbor ${peer} activate`);
  lines.push(' exit-address-family', 'exit', '!');
  return `${lines.join('\n')}\n`;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => from + index);

describe('staged FRR apply', () => {
  it('leaves every address line out of the base when FRR runs none, and adds them in bounded chunks', () => {
    const desired = config(range(0, 1000));
    const plan = stagedPlan(desired, 'frr version 8.4\nhostname worker-0\n', 300);
    expect(plan.base).not.toMatch(/permit 10\.99|network 10\.99/);
    expect(plan.base).toContain('neighbor 192.0.2.2 activate');
    expect(plan.added).toBe(3000);
    // Prefix-list entries first (2,000 in chunks of 300), then the networks inside their block.
    expect(plan.chunks.map((chunk) => chunk.length)).toEqual([
      300, 300, 300, 300, 300, 300, 200, 304, 304, 304, 104,
    ]);
    expect(
      plan.chunks
        .slice(0, 7)
        .flat()
        .every((line) => line.startsWith('ip prefix-list ')),
    ).toBe(true);
    expect(plan.chunks[7]?.slice(0, 2)).toEqual(['router bgp 64512', ' address-family ipv4 unicast']);
    expect(plan.chunks[7]?.slice(-2)).toEqual([' exit-address-family', 'exit']);
    // Base plus chunks is exactly the desired configuration: what the incremental path would add.
    const added = incrementalCommands(plan.base, desired) ?? [];
    const isAddress = (line: string) => line.startsWith('ip prefix-list') || line.startsWith('  network');
    expect(plan.chunks.flat().filter(isAddress).sort()).toEqual(added.filter(isAddress).sort());
    expect(added.filter(isAddress)).toHaveLength(3000);
  });

  it('keeps the address lines FRR runs in the base, so frr-reload.py never removes a route that stays', () => {
    const running = config(range(0, 10));
    const desired = config([...range(5, 10), ...range(10, 15)]);
    const plan = stagedPlan(desired, running);
    // Staying addresses are in the base; departed ones are absent (the reload removes them); new ones wait.
    for (const index of range(5, 10)) {
      expect(plan.base).toContain(`permit ${ip(index)}`);
      expect(plan.base).toContain(`  network ${ip(index)}`);
    }
    for (const index of [...range(0, 5), ...range(10, 15)]) expect(plan.base).not.toContain(ip(index));
    expect(plan.added).toBe(15);
    expect(plan.chunks.flat().filter((line) => line.includes('10.99.0.11/32'))).toEqual([
      'ip prefix-list 192.0.2.1-allowed-ipv4 seq 12 permit 10.99.0.11/32',
      'ip prefix-list 192.0.2.2-allowed-ipv4 seq 12 permit 10.99.0.11/32',
      '  network 10.99.0.11/32',
    ]);
    // The skeleton (replayed when FRR may have restarted) holds no address line at all.
    expect(addressLines(plan.skeleton)).toEqual({ entries: new Set(), networks: new Set() });
    expect(plan.skeleton).toContain('route-map 192.0.2.1-out permit 65001');
  });

  it('needs no second stage when FRR runs every address (speaker restart), and adds only a new peer’s list', () => {
    const desired = config(range(0, 50));
    expect(stagedPlan(desired, desired)).toMatchObject({ base: desired, chunks: [], added: 0 });
    const withPeer = config(range(0, 50), [...peers, '192.0.2.3']);
    const plan = stagedPlan(withPeer, desired);
    expect(plan.added).toBe(50);
    expect(
      plan.chunks.flat().every((line) => line.startsWith('ip prefix-list 192.0.2.3-allowed-ipv4 ')),
    ).toBe(true);
    expect(plan.base).toContain('neighbor 192.0.2.3 remote-as 64500');
  });

  it('keys networks by router and address family: one running elsewhere does not count', () => {
    const running = config([0]).replace('router bgp 64512', 'router bgp 64512 vrf red');
    const plan = stagedPlan(config([0]), running);
    expect(plan.chunks).toEqual([
      [
        'router bgp 64512',
        ' address-family ipv4 unicast',
        `  network ${ip(0)}`,
        ' exit-address-family',
        'exit',
      ],
    ]);
  });
});
