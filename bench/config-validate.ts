/**
 * How long buildConfig takes on a large configuration: 1,000 pools, 200 peers and 1,000 advertisements
 * (plus BFD profiles, communities, Secrets and 100 Nodes), valid and with every pool overlapping another.
 * Also doubles the size to show the cost grows about linearly. Run: node --import tsx bench/config-validate.ts
 */
import { performance } from 'node:perf_hooks';
import type { V1Node, V1Secret } from '@kubernetes/client-node';
import type {
  BFDProfile,
  BGPAdvertisement,
  BGPPeer,
  Community,
  IPAddressPool,
  L2Advertisement,
} from '../src/api/types.generated.js';
import { buildConfig, type ConfigInput } from '../src/config/index.js';

const namespace = 'metallb-system';
const meta = (name: string, labels?: Record<string, string>) => ({
  name,
  namespace,
  ...(labels ? { labels } : {}),
});

/** Pool i owns 2001:db8:i::/64 and, for the first 768, one IPv4 address of the documentation ranges. */
function pools(count: number, overlapping: boolean): IPAddressPool[] {
  const v4 = ['192.0.2', '198.51.100', '203.0.113'];
  return Array.from({ length: count }, (_, i) => {
    const block = overlapping ? Math.floor(i / 2) : i;
    const addresses = [`2001:db8:${block.toString(16)}::/64`];
    if (i < 768) addresses.push(`${v4[Math.floor(i / 256)]}.${i % 256}/32`);
    return {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: meta(`pool-${i}`, { tier: `t${i % 10}` }),
      spec: {
        addresses,
        ...(i % 7 === 0 ? { serviceAllocation: { priority: i % 5, namespaces: [`team-${i % 20}`] } } : {}),
      },
    };
  });
}

function peers(count: number): BGPPeer[] {
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: 'metallb.io/v1beta2',
    kind: 'BGPPeer',
    metadata: meta(`peer-${i}`),
    spec: {
      myASN: 64512,
      peerASN: 64600 + (i % 100),
      peerAddress: `2001:db8:ffff::${(i + 1).toString(16)}`,
      holdTime: '90s',
      nodeSelectors: [{ matchLabels: { rack: `r${i % 10}` } }],
      ...(i % 4 === 0 ? { bfdProfile: 'fast' } : {}),
      ...(i % 5 === 0 ? { passwordSecret: { name: 'bgp' } } : {}),
    },
  }));
}

function bgpAds(count: number, poolCount: number, peerCount: number): BGPAdvertisement[] {
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: 'metallb.io/v1beta1',
    kind: 'BGPAdvertisement',
    metadata: meta(`bgp-${i}`),
    spec:
      i % 100 === 99
        ? {
            ipAddressPoolSelectors: [{ matchLabels: { tier: `t${Math.floor(i / 100) % 10}` } }],
            aggregationLengthV6: 64 + Math.floor(i / 1000), // distinct per thousand, so none repeats another
            localPref: 100,
            communities: ['edge'],
          }
        : {
            ipAddressPools: [`pool-${i % poolCount}`],
            peers: [`peer-${i % peerCount}`],
            localPref: 100,
            communities: ['64512:100', 'large:64512:1:2'],
            nodeSelectors: [{ matchLabels: { rack: `r${i % 10}` } }],
          },
  }));
}

function l2Ads(count: number): L2Advertisement[] {
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: 'metallb.io/v1beta1',
    kind: 'L2Advertisement',
    metadata: meta(`l2-${i}`),
    spec: { ipAddressPools: [`pool-${i}`], interfaces: ['eth1'] },
  }));
}

function input(scale: number, overlapping = false): ConfigInput {
  const poolCount = 1000 * scale;
  const peerCount = 200 * scale;
  const bfd: BFDProfile = {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'BFDProfile',
    metadata: meta('fast'),
    spec: {},
  };
  const community: Community = {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'Community',
    metadata: meta('names'),
    spec: { communities: [{ name: 'edge', value: '64512:7' }] },
  };
  const secret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta('bgp'),
    type: 'kubernetes.io/basic-auth',
    stringData: { password: 'x' },
  };
  const nodes: V1Node[] = Array.from({ length: 100 }, (_, i) => ({
    metadata: { name: `node-${i}`, labels: { rack: `r${i % 10}` } },
  }));
  return {
    metallbNamespace: namespace,
    pools: pools(poolCount, overlapping),
    peers: peers(peerCount),
    bgpAdvertisements: bgpAds(1000 * scale, poolCount, peerCount),
    l2Advertisements: l2Ads(100 * scale),
    bfdProfiles: [bfd],
    communities: [community],
    secrets: [secret],
    nodes,
  };
}

function measure(label: string, build: () => ConfigInput, runs = 15): number {
  const value = build();
  const first = buildConfig(value); // warm-up, and the outcome to print
  const times: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const start = performance.now();
    buildConfig(value);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] as number;
  const outcome = first.ok ? 'valid' : `${first.problems.length} problems`;
  console.log(
    `${label.padEnd(58)} median ${median.toFixed(1).padStart(7)} ms  (min ${(times[0] as number).toFixed(1)} ms; ${outcome})`,
  );
  return median;
}

const base = measure('1,000 pools, 200 peers, 1,000 BGP + 100 L2 ads (valid)', () => input(1));
measure('same, every pool overlapping another (1,000 overlaps)', () => input(1, true));
const doubled = measure('2,000 pools, 400 peers, 2,000 BGP + 200 L2 ads (valid)', () => input(2));
console.log(
  `doubling the configuration multiplies the time by ${(doubled / base).toFixed(2)} (2.00 is linear)`,
);
