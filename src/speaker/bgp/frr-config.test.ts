import { describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { ConfigInput } from '../../config/index.js';
import { SecretText } from '../../config/index.js';
import { planBgp } from '../plan/index.js';
import type { PlanNode } from '../plan/index.js';
import { renderFrrConfig, routeMapDelaySeconds, stableSequenceNumbers } from './frr-config.js';
import { findVtysh, readGolden, testdataDir, vtyshDryRun } from '../../../test/support/frr.js';
import { requiring } from '../../../test/support/prerequisites.js';
import { configOf } from '../../../test/support/config.js';
import { basicAuthSecret, endpointSlice, service } from '../../../test/support/kube-objects.js';
import { bfd, bgpAd, community, peer, pool } from '../../../test/support/metallb-objects.js';
import { planNode } from '../../../test/support/speaker.js';

interface GoldenCase {
  readonly name: string;
  /** What the golden shows, so a reader of a failing diff knows what to look for. */
  readonly shows: string;
  readonly config: Omit<ConfigInput, 'metallbNamespace'>;
  readonly node?: PlanNode;
  readonly services?: readonly V1Service[];
  readonly endpointSlices?: readonly V1EndpointSlice[];
}

const worker = planNode('worker-0', { 'node-role.kubernetes.io/worker': '' });
const v4Pool = pool('public', { addresses: ['198.51.100.0/24'] });
const v6Pool = pool('public-v6', { addresses: ['2001:db8:1::/64'] });
const dualPool = pool('dual', { addresses: ['198.51.100.0/24', '2001:db8:1::/64'] });
const web = service('web', { ingress: ['198.51.100.10'], pool: 'public' });
const webEndpoints = endpointSlice('web', { ready: ['worker-0'] });

const cases: readonly GoldenCase[] = [
  {
    name: 'ebgp-single-host-route',
    shows: 'one eBGP neighbor, one /32: network statement, allowed prefix-list, deny-all inbound',
    config: { pools: [v4Pool], peers: [peer('tor', {})], bgpAdvertisements: [bgpAd('all')] },
    services: [web],
    endpointSlices: [webEndpoints],
  },
  {
    name: 'ibgp-local-pref',
    shows: 'iBGP neighbor gets set local-preference from the advertisement',
    config: {
      pools: [v4Pool],
      peers: [peer('rr', { peerASN: 64512, routerID: '192.0.2.10' })],
      bgpAdvertisements: [bgpAd('preferred', { localPref: 150 })],
    },
    services: [web],
    endpointSlices: [webEndpoints],
  },
  {
    name: 'ebgp-ignores-local-pref',
    shows: 'the same advertisement towards an eBGP neighbor carries no local-preference',
    config: {
      pools: [v4Pool],
      peers: [peer('tor', {})],
      bgpAdvertisements: [bgpAd('preferred', { localPref: 150 })],
    },
    services: [web],
    endpointSlices: [webEndpoints],
  },
  {
    name: 'communities',
    shows: 'standard, large and alias communities, each set additively on the prefixes that carry it',
    config: {
      pools: [v4Pool],
      peers: [peer('tor', {})],
      communities: [
        community('aliases', {
          communities: [
            { name: 'no-advertise', value: '65535:65282' },
            { name: 'east', value: 'large:64512:1:100' },
          ],
        }),
      ],
      bgpAdvertisements: [
        bgpAd('tagged', { communities: ['64512:200', 'large:64512:2:300', 'no-advertise', 'east'] }),
      ],
    },
    services: [web],
    endpointSlices: [webEndpoints],
  },
  {
    name: 'aggregation-24',
    shows: 'two services in one /24 with aggregationLength 24: one aggregated prefix, once',
    config: {
      pools: [v4Pool],
      peers: [peer('tor', {})],
      bgpAdvertisements: [bgpAd('aggregated', { aggregationLength: 24 })],
    },
    services: [web, service('api', { ingress: ['198.51.100.20'] })],
    endpointSlices: [webEndpoints, endpointSlice('api', { ready: ['worker-1'] })],
  },
  {
    name: 'bfd-profile',
    shows: 'neighbor bfd with a profile; the bfd block with every profile field (FRR 8.4 echo syntax)',
    config: {
      pools: [v4Pool],
      peers: [peer('tor', { bfdProfile: 'full' })],
      bfdProfiles: [
        bfd('full', {
          receiveInterval: 200,
          transmitInterval: 250,
          detectMultiplier: 5,
          echoMode: true,
          echoInterval: 60,
          passiveMode: true,
          minimumTtl: 250,
        }),
        bfd('plain', {}),
      ],
      bgpAdvertisements: [bgpAd('all')],
    },
    services: [web],
    endpointSlices: [webEndpoints],
  },
  {
    name: 'password',
    shows: 'the password from a basic-auth Secret, and an inline one, written only here',
    config: {
      pools: [v4Pool],
      peers: [
        peer('tor-a', { passwordSecret: { name: 'tor-a-password' } }),
        peer('tor-b', { peerAddress: '192.0.2.253', password: 'inline-S3cret!' }),
      ],
      secrets: [basicAuthSecret('tor-a-password', 'from-the-Secret#1')],
      bgpAdvertisements: [bgpAd('all')],
    },
    services: [web],
    endpointSlices: [webEndpoints],
  },
  {
    name: 'multihop',
    shows: 'ebgp-multihop, update-source, port, timers, connect timer and local-as',
    config: {
      pools: [v4Pool],
      peers: [
        peer('far', {
          peerAddress: '203.0.113.1',
          ebgpMultiHop: true,
          sourceAddress: '192.0.2.10',
          peerPort: 1179,
          holdTime: '90s',
          keepaliveTime: '30s',
          connectTime: '5s',
          localASN: 64600,
        }),
      ],
      bgpAdvertisements: [bgpAd('all')],
    },
    services: [web],
    endpointSlices: [webEndpoints],
  },
  {
    name: 'vrf',
    shows: 'a peer in VRF red gets its own router bgp ... vrf red; names carry the -red suffix',
    config: {
      pools: [v4Pool],
      peers: [
        peer('tor', {}),
        peer('tor-red', { vrf: 'red' }),
        peer('tor-red-same-address', { peerAddress: '192.0.2.254', vrf: 'blue' }),
      ],
      bgpAdvertisements: [bgpAd('all')],
    },
    services: [web],
    endpointSlices: [webEndpoints],
  },
  {
    name: 'ipv6',
    shows: 'an IPv6 neighbor with a /128; eBGP single hop disables the connected check',
    config: {
      pools: [v6Pool],
      peers: [peer('tor-v6', { peerAddress: '2001:db8::1' })],
      bgpAdvertisements: [bgpAd('all')],
    },
    services: [service('web', { ingress: ['2001:db8:1::5'], pool: 'public-v6' })],
    endpointSlices: [webEndpoints],
  },
  {
    name: 'dual-stack',
    shows:
      'a dual-stack service: the IPv4 peer with dualStackAddressFamily gets both routes, the IPv6 peer only the IPv6 one, aggregated to /64',
    config: {
      pools: [dualPool],
      peers: [
        peer('tor', { dualStackAddressFamily: true }),
        peer('tor-v6', { peerAddress: '2001:db8::1', peerASN: 64512 }),
      ],
      bgpAdvertisements: [bgpAd('all', { aggregationLengthV6: 64, localPref: 120 })],
    },
    services: [service('web', { ingress: ['198.51.100.10', '2001:db8:1::5'], pool: 'dual' })],
    endpointSlices: [webEndpoints],
  },
  {
    name: 'interface-peer',
    shows: 'unnumbered BGP over eth1: neighbor eth1 interface remote-as, both families',
    config: {
      pools: [dualPool],
      peers: [
        peer('unnumbered', {
          peerAddress: undefined,
          interface: 'eth1',
          peerASN: undefined,
          dynamicASN: 'external',
        }),
      ],
      bgpAdvertisements: [bgpAd('all')],
    },
    services: [service('web', { ingress: ['198.51.100.10', '2001:db8:1::5'] })],
    endpointSlices: [webEndpoints],
  },
  {
    name: 'graceful-restart',
    shows: 'neighbor graceful-restart and the router-wide preserve-fw-state',
    config: {
      pools: [v4Pool],
      peers: [peer('tor', { enableGracefulRestart: true })],
      bgpAdvertisements: [bgpAd('all')],
    },
    services: [web],
    endpointSlices: [webEndpoints],
  },
  {
    name: 'dynamic-asn',
    shows: 'remote-as internal and external; local-preference only to the internal one',
    config: {
      pools: [v4Pool],
      peers: [
        peer('inside', { peerASN: undefined, dynamicASN: 'internal', peerAddress: '192.0.2.21' }),
        peer('outside', { peerASN: undefined, dynamicASN: 'external', peerAddress: '192.0.2.22' }),
      ],
      bgpAdvertisements: [bgpAd('all', { localPref: 200 })],
    },
    services: [web],
    endpointSlices: [webEndpoints],
  },
  {
    name: 'node-not-selected',
    shows: 'a peer whose nodeSelectors miss this node: no neighbor, no router',
    config: {
      pools: [v4Pool],
      peers: [peer('edge-only', { nodeSelectors: [{ matchLabels: { 'example.com/edge': 'true' } }] })],
      bgpAdvertisements: [bgpAd('all')],
    },
    services: [web],
    endpointSlices: [webEndpoints],
  },
  {
    name: 'per-peer-advertisements',
    shows: 'two peers, advertisements limited by spec.peers: each peer is allowed only its own prefixes',
    config: {
      pools: [v4Pool, pool('internal', { addresses: ['203.0.113.0/28'] })],
      peers: [peer('tor-a', {}), peer('tor-b', { peerAddress: '192.0.2.253' })],
      bgpAdvertisements: [
        bgpAd('public-to-a', { ipAddressPools: ['public'], peers: ['tor-a'] }),
        bgpAd('internal-to-b', { ipAddressPools: ['internal'], peers: ['tor-b'], communities: ['64512:7'] }),
      ],
    },
    services: [web, service('db', { ingress: ['203.0.113.5'] })],
    endpointSlices: [webEndpoints, endpointSlice('db', { ready: ['worker-0'] })],
  },
];

function render(testCase: GoldenCase): string {
  const config = configOf(testCase.config);
  const plan = planBgp({
    config,
    node: testCase.node ?? worker,
    services: testCase.services ?? [],
    endpointSlices: testCase.endpointSlices ?? [],
  });
  expect(plan.refused).toEqual([]);
  expect(plan.skippedPeers).toEqual([]);
  return renderFrrConfig(plan, config);
}

describe('frr.conf rendering (golden files)', () => {
  it.each(cases.map((testCase) => [testCase.name, testCase.shows, testCase] as const))(
    '%s: %s',
    (name, _shows, testCase) => {
      const actual = render(testCase);
      expect(actual).toBe(readGolden(name, actual));
    },
  );

  it('renders byte-identical text for the same input given in another order', () => {
    const testCase = cases.find((c) => c.name === 'per-peer-advertisements') as GoldenCase;
    const reversed: GoldenCase = {
      ...testCase,
      config: {
        ...testCase.config,
        peers: [...(testCase.config.peers ?? [])].reverse(),
        pools: [...(testCase.config.pools ?? [])].reverse(),
        bgpAdvertisements: [...(testCase.config.bgpAdvertisements ?? [])].reverse(),
      },
      services: [...(testCase.services ?? [])].reverse(),
    };
    expect(render(reversed)).toBe(render(testCase));
  });

  it('writes the BGP password into frr.conf and nowhere else in the plan', () => {
    const testCase = cases.find((c) => c.name === 'password') as GoldenCase;
    const config = configOf(testCase.config);
    const plan = planBgp({ config, node: worker, services: testCase.services ?? [], endpointSlices: [] });
    expect(JSON.stringify(plan)).not.toContain('inline-S3cret!');
    expect(JSON.stringify(config)).not.toContain('inline-S3cret!');
    expect(renderFrrConfig(plan, config)).toContain(' neighbor 192.0.2.253 password inline-S3cret!\n');
  });

  it('leaves out a peer whose password would split the frr.conf line, and says why without the password', () => {
    // buildConfig already refuses such a password; the plan must hold even for a Config that got one anyway.
    const valid = configOf({ pools: [v4Pool], peers: [peer('tor', {})], bgpAdvertisements: [bgpAd('all')] });
    const config = {
      ...valid,
      peers: new Map([
        [
          'tor',
          {
            ...valid.peers.get('tor'),
            password: new SecretText('two words\n neighbor 192.0.2.254 shutdown'),
          },
        ],
      ]),
    } as typeof valid;
    const plan = planBgp({ config, node: worker, services: [web], endpointSlices: [webEndpoints] });
    expect(plan.skippedPeers).toEqual([
      {
        peer: 'tor',
        reason:
          'the password contains a blank, a line break or a non-ASCII character, which FRR cannot read; use printable ASCII without blanks',
      },
    ]);
    expect(renderFrrConfig(plan, config)).not.toContain('shutdown');
  });

  it('refuses to render an unsafe password that bypassed the plan', () => {
    const config = configOf({ pools: [v4Pool], peers: [peer('tor', {})], bgpAdvertisements: [bgpAd('all')] });
    const plan = planBgp({ config, node: worker, services: [], endpointSlices: [] });
    const tor = config.peers.get('tor');
    const tampered = {
      ...config,
      peers: new Map([['tor', { ...tor, password: new SecretText('a b') }]]),
    } as typeof config;
    expect(() => renderFrrConfig(plan, tampered)).toThrow(
      'cannot render frr.conf: BGPPeer tor: the password contains a blank',
    );
  });

  it('uses the given hostname and log level', () => {
    const config = configOf({ pools: [v4Pool] });
    const plan = planBgp({ config, node: worker, services: [], endpointSlices: [] });
    const text = renderFrrConfig(plan, config, { hostname: 'worker-0.example.com', logLevel: 'debugging' });
    expect(text).toContain('\nhostname worker-0.example.com\nlog stdout debugging\n');
    expect(text).not.toContain('router bgp');
  });
});

describe('stable sequence numbers', () => {
  const renderServices = (services: readonly V1Service[], ads = [bgpAd('all')]): string[] => {
    const config = configOf({ pools: [v4Pool], peers: [peer('tor', {})], bgpAdvertisements: ads });
    const slices = services.map((s) => endpointSlice(s.metadata?.name ?? '', { ready: ['worker-0'] }));
    const plan = planBgp({ config, node: worker, services, endpointSlices: slices });
    return renderFrrConfig(plan, config).split('\n');
  };
  const numbered = (lines: readonly string[]): string[] =>
    lines.filter((line) => / seq \d+ permit /.test(line) || /^route-map \S+ permit \d+$/.test(line));

  it('adding an address that sorts before the others rewrites none of their lines', () => {
    const before = renderServices([
      service('b', { ingress: ['198.51.100.20'] }),
      service('c', { ingress: ['198.51.100.30'] }),
    ]);
    const after = renderServices([
      service('a', { ingress: ['198.51.100.5'] }),
      service('b', { ingress: ['198.51.100.20'] }),
      service('c', { ingress: ['198.51.100.30'] }),
    ]);
    expect(numbered(before).length).toBe(3);
    for (const line of numbered(before)) expect(after).toContain(line);
    expect(numbered(after).filter((line) => !before.includes(line))).toEqual([
      expect.stringMatching(
        /^ip prefix-list 192\.0\.2\.254-allowed-ipv4 seq \d+ permit 198\.51\.100\.5\/32$/,
      ),
    ]);
  });

  it('a new community group adds its own route-map entry and leaves the others numbered as they were', () => {
    const services = [service('b', { ingress: ['198.51.100.20'] })];
    const before = renderServices(services, [bgpAd('all', { communities: ['64512:300'] })]);
    const after = renderServices(services, [bgpAd('all', { communities: ['64512:300', '64512:100'] })]);
    const entries = (lines: readonly string[]) => lines.filter((line) => line.startsWith('route-map'));
    for (const line of entries(before)) expect(after).toContain(line);
    expect(entries(after).length).toBe(entries(before).length + 1);
    // The allowed entry has no `on-match next`, so it stays last.
    expect(entries(after).at(-1)).toBe('route-map 192.0.2.254-out permit 65001');
  });

  it('gives every key its own number, probing past a taken one, and depends on the key alone', () => {
    const alone = stableSequenceNumbers(['x'], { first: 10, last: 12 });
    const crowded = stableSequenceNumbers(['x', 'y', 'z'], { first: 10, last: 12 });
    expect(new Set(crowded.values())).toEqual(new Set([10, 11, 12]));
    expect(stableSequenceNumbers(['z', 'y', 'x'], { first: 10, last: 12 })).toEqual(crowded);
    const wide = { first: 2, last: 4_294_967_295 };
    expect(stableSequenceNumbers(['x', 'y'], wide).get('x')).toBe(
      stableSequenceNumbers(['x'], wide).get('x'),
    );
    expect(alone.get('x')).toBeGreaterThanOrEqual(10);
    expect(() => stableSequenceNumbers(['x', 'y'], { first: 1, last: 1 })).toThrow('cannot number 2 entries');
  });

  it('sets the route-map delay on purpose, never to 0 (which stops FRR 8.4 re-evaluating advertised routes)', () => {
    expect(routeMapDelaySeconds).toBeGreaterThan(0);
    expect(renderServices([])).toContain(`bgp route-map delay-timer ${routeMapDelaySeconds}`);
  });
});

const goldenFiles = readdirSync(testdataDir)
  .filter((file) => file.endsWith('.golden.conf'))
  .sort();
describe('the golden frr.conf files', () => {
  it('has a golden file for every case and no stale ones', () => {
    expect(goldenFiles).toEqual(cases.map((testCase) => `${testCase.name}.golden.conf`).sort());
  });
});

// Without FRR these fail with the reason (METALLB_TEST_SKIP_PRIVILEGED=1 skips them, listed in the summary).
requiring('frr').describe('every golden frr.conf passes FRR 8.4 vtysh -C', () => {
  it.each(goldenFiles)('%s', (file) => {
    const check = vtyshDryRun(findVtysh() as string, join(testdataDir, file));
    expect(check.output).toBe('');
    expect(check.ok).toBe(true);
  });
});
