import { describe, expect, it } from '@jest/globals';
import type { V1Service } from '@kubernetes/client-node';
import { planBgp } from '../plan/index.js';
import { renderFrrConfig } from './frr-config.js';
import { incrementalCommands } from './frr-incremental.js';
import { configOf } from '../../../test/support/config.js';
import { endpointSlice, service } from '../../../test/support/kube-objects.js';
import { bgpAd, peer, pool } from '../../../test/support/metallb-objects.js';
import { planNode } from '../../../test/support/speaker.js';

const worker = planNode('worker-0', {});

interface RenderOptions {
  readonly communities?: string[];
  readonly peers?: number;
  readonly ipv6?: boolean;
  readonly password?: string;
}

function render(ips: readonly string[], options: RenderOptions = {}): string {
  const peers = options.ipv6
    ? [peer('tor-v6', { peerAddress: '2001:db8::1' })]
    : [
        peer('tor', options.password ? { password: options.password } : {}),
        peer('tor-red', { vrf: 'red' }),
      ].slice(0, options.peers ?? 2);
  const config = configOf({
    pools: [pool('public', { addresses: ['198.51.100.0/24', '2001:db8:1::/64'] })],
    peers,
    bgpAdvertisements: [bgpAd('all', options.communities ? { communities: options.communities } : {})],
  });
  const services: V1Service[] = ips.map((ip, index) => service(`svc-${index}`, { ingress: [ip] }));
  const slices = services.map((s) => endpointSlice(s.metadata?.name ?? '', { ready: ['worker-0'] }));
  return renderFrrConfig(planBgp({ config, node: worker, services, endpointSlices: slices }), config);
}

const allowed = (ip: string, peerName = '192.0.2.254') =>
  new RegExp(`^ip prefix-list ${peerName.replace(/\./g, '\\.')}-allowed-ipv4 seq \\d+ permit ${ip}/32$`);

describe('incremental FRR commands', () => {
  it('adds a new address as its prefix-list lines, then its network, in every router that carries it', () => {
    const commands = incrementalCommands(
      render(['198.51.100.20']),
      render(['198.51.100.5', '198.51.100.20']),
    );
    expect(commands).toEqual([
      expect.stringMatching(allowed('198.51.100.5')),
      expect.stringMatching(allowed('198.51.100.5', '192.0.2.254-red')),
      'router bgp 64512',
      ' address-family ipv4 unicast',
      '  network 198.51.100.5/32',
      ' exit-address-family',
      'exit',
      'router bgp 64512 vrf red',
      ' address-family ipv4 unicast',
      '  network 198.51.100.5/32',
      ' exit-address-family',
      'exit',
    ]);
  });

  it('withdraws a network before its prefix-list lines go, and puts back the empty list', () => {
    expect(incrementalCommands(render(['198.51.100.5'], { peers: 1 }), render([], { peers: 1 }))).toEqual([
      'router bgp 64512',
      ' address-family ipv4 unicast',
      '  no network 198.51.100.5/32',
      ' exit-address-family',
      'exit',
      expect.stringMatching(
        /^no ip prefix-list 192\.0\.2\.254-allowed-ipv4 seq \d+ permit 198\.51\.100\.5\/32$/,
      ),
      'ip prefix-list 192.0.2.254-allowed-ipv4 seq 1 deny any',
    ]);
  });

  it('handles IPv6 addresses the same way', () => {
    const commands = incrementalCommands(
      render(['2001:db8:1::5'], { ipv6: true }),
      render(['2001:db8:1::5', '2001:db8:1::6'], { ipv6: true }),
    );
    expect(commands).toEqual([
      expect.stringMatching(/^ipv6 prefix-list 2001:db8::1-allowed-ipv6 seq \d+ permit 2001:db8:1::6\/128$/),
      'router bgp 64512',
      ' address-family ipv6 unicast',
      '  network 2001:db8:1::6/128',
      ' exit-address-family',
      'exit',
    ]);
  });

  it('returns no commands for equal texts', () => {
    expect(incrementalCommands(render(['198.51.100.5']), render(['198.51.100.5']))).toEqual([]);
  });

  it('leaves every other change to a full reload', () => {
    const base = render(['198.51.100.5']);
    // A new community group is a new route-map entry.
    expect(incrementalCommands(base, render(['198.51.100.5'], { communities: ['64512:7'] }))).toBeUndefined();
    // A peer more or less.
    expect(incrementalCommands(base, render(['198.51.100.5'], { peers: 1 }))).toBeUndefined();
    // A neighbor option, even together with an address.
    expect(
      incrementalCommands(base, render(['198.51.100.5', '198.51.100.6'], { password: 'S3cret' })),
    ).toBeUndefined();
    // A network line outside an address family is not something the renderer writes.
    expect(
      incrementalCommands('router bgp 64512\n  network 198.51.100.5/32\nexit\n', 'router bgp 64512\nexit\n'),
    ).toBeUndefined();
  });
});
