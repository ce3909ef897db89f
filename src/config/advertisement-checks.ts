/**
 * Rules between BGPAdvertisements and the pools and peers they select: aggregation that would announce
 * addresses outside a pool, advertisements repeated word for word, LOCAL_PREF values that contradict each
 * other for the same route, and BFD echo mode on peers that receive IPv6 routes.
 */
import { formatCidr, type Family } from '../net/ip.js';
import type { ParsedBgpAd } from './advertisements.js';
import type { ParsedPeer } from './peers.js';
import type { IndexedEntry, ParsedPool } from './pools.js';
import { canonicalJson, quote } from './read.js';
import { selectorListKey, selectorListsCanOverlap } from './selectors.js';
import type { BfdProfile } from './types.js';

/** Of a pool's entries of one family, the one needing the longest aggregation prefix. */
function demandingEntry(pool: ParsedPool, family: Family): IndexedEntry | undefined {
  let demanding: IndexedEntry | undefined;
  for (const entry of pool.entries) {
    if (entry.range.family !== family) continue;
    if (!demanding || entry.shortestPrefix > demanding.shortestPrefix) demanding = entry;
  }
  return demanding;
}

export function checkAggregation(ads: readonly ParsedBgpAd[]): void {
  const cache = new Map<ParsedPool, Map<Family, IndexedEntry | undefined>>();
  const demandOf = (pool: ParsedPool, family: Family): IndexedEntry | undefined => {
    let perFamily = cache.get(pool);
    if (!perFamily) {
      perFamily = new Map([
        [4, demandingEntry(pool, 4)],
        [6, demandingEntry(pool, 6)],
      ]);
      cache.set(pool, perFamily);
    }
    return perFamily.get(family);
  };
  for (const parsed of ads) {
    for (const family of [4, 6] as const) {
      const length = family === 4 ? parsed.ad.aggregationLength : parsed.ad.aggregationLengthV6;
      let worst: { pool: ParsedPool; entry: IndexedEntry } | undefined;
      for (const pool of parsed.pools) {
        const entry = demandOf(pool, family);
        if (
          entry &&
          entry.shortestPrefix > length &&
          (!worst || entry.shortestPrefix > worst.entry.shortestPrefix)
        ) {
          worst = { pool, entry };
        }
      }
      if (!worst) continue;
      const { pool, entry } = worst;
      const widest = entry.cidrs.find((cidr) => cidr.prefixLength === entry.shortestPrefix);
      const block =
        entry.kind === 'cidr'
          ? `CIDR ${entry.text}`
          : `${widest ? formatCidr(widest) : ''}, the widest block of range ${entry.text},`;
      const field = family === 4 ? 'aggregationLength' : 'aggregationLengthV6';
      parsed.source.report.problem(
        'ad.aggregationShorterThanPool',
        `spec.${field}`,
        `${length} is shorter than the /${entry.shortestPrefix} of ${block} in IPAddressPool ${quote(pool.source.name)} (spec.addresses[${entry.index}]), so the aggregated route would cover addresses outside the pool; use ${entry.shortestPrefix} or more`,
      );
    }
  }
}

/** What makes two advertisements announce the same route the same way, pools aside. */
function announcementKey(parsed: ParsedBgpAd): string {
  const { ad } = parsed;
  return canonicalJson({
    aggregation: [ad.aggregationLength, ad.aggregationLengthV6],
    localPref: ad.localPref ?? 0,
    communities: ad.communities.map((community) => community.text).sort(),
    peers: ad.peers,
    nodes: selectorListKey(ad.nodeSelectors),
    services: selectorListKey(ad.serviceSelectors),
  });
}

export function checkIdenticalAdvertisements(ads: readonly ParsedBgpAd[]): void {
  const groups = new Map<string, ParsedBgpAd[]>();
  for (const parsed of ads) {
    const key = announcementKey(parsed);
    const group = groups.get(key);
    if (!group) {
      groups.set(key, [parsed]);
      continue;
    }
    for (const earlier of group) {
      const poolsOfEarlier = new Set(earlier.pools);
      const common = parsed.pools.find((pool) => poolsOfEarlier.has(pool));
      if (!common) continue;
      parsed.source.report.problem(
        'ad.duplicate',
        'spec',
        `announces IPAddressPool ${quote(common.source.name)} exactly as BGPAdvertisement ${quote(earlier.source.name)} does (same aggregation, localPref, communities, peers, nodes and Services); delete one of them`,
      );
      break;
    }
    group.push(parsed);
  }
}

function describeLocalPref(value: number | undefined): string {
  return value === undefined ? 'no localPref' : `localPref ${value}`;
}

export interface NodeKnowledge {
  /** Whether Node objects were given; without them node sets are judged from the selectors. */
  readonly nodesKnown: boolean;
}

function nodeSetsMeet(a: ParsedBgpAd, b: ParsedBgpAd, knowledge: NodeKnowledge): boolean {
  if (!knowledge.nodesKnown) return selectorListsCanOverlap(a.nodeSelectors, b.nodeSelectors);
  const nodesOfA = new Set(a.nodes);
  return b.nodes.some((node) => nodesOfA.has(node));
}

/** Whether two advertisements of one pool can carry different LOCAL_PREFs without contradicting each other. */
function canDiffer(a: ParsedBgpAd, b: ParsedBgpAd, pool: ParsedPool, knowledge: NodeKnowledge): boolean {
  const aggregationDiffers =
    pool.families.length > 0 &&
    pool.families.every((family) =>
      family === 4
        ? a.ad.aggregationLength !== b.ad.aggregationLength
        : a.ad.aggregationLengthV6 !== b.ad.aggregationLengthV6,
    );
  if (aggregationDiffers) return true;
  if (
    a.ad.peers.length > 0 &&
    b.ad.peers.length > 0 &&
    !a.ad.peers.some((peer) => b.ad.peers.includes(peer))
  ) {
    return true;
  }
  return !nodeSetsMeet(a, b, knowledge);
}

/**
 * A route has one LOCAL_PREF: two advertisements announcing the same prefix to the same peer from the same
 * node must agree on it. Advertisements with serviceSelectors are judged per Service by the speaker instead.
 */
export function checkLocalPreferences(ads: readonly ParsedBgpAd[], knowledge: NodeKnowledge): void {
  const byPool = new Map<ParsedPool, ParsedBgpAd[]>();
  for (const parsed of ads) {
    if (parsed.ad.serviceSelectors.length > 0 || !parsed.nodesComplete) continue;
    for (const pool of parsed.pools) {
      const list = byPool.get(pool);
      if (list) list.push(parsed);
      else byPool.set(pool, [parsed]);
    }
  }
  // Pools with the same families announced by the same advertisements get the same verdict: judge each
  // such group once, so advertisements that select every pool cost one pass, not one per pool.
  const position = new Map(ads.map((parsed, index) => [parsed, index]));
  const groups = new Map<string, { pool: ParsedPool; ads: ParsedBgpAd[] }>();
  for (const [pool, poolAds] of byPool) {
    if (new Set(poolAds.map((parsed) => parsed.ad.localPref)).size < 2) continue;
    const key = `${pool.families.join()}|${poolAds.map((parsed) => position.get(parsed)).join()}`;
    if (!groups.has(key)) groups.set(key, { pool, ads: poolAds });
  }
  const flagged = new Set<ParsedBgpAd>();
  for (const { pool, ads: poolAds } of groups.values()) {
    poolAds.forEach((later, index) => {
      if (flagged.has(later)) return;
      for (let i = 0; i < index; i += 1) {
        const earlier = poolAds[i] as ParsedBgpAd;
        if (earlier.ad.localPref === later.ad.localPref || canDiffer(earlier, later, pool, knowledge))
          continue;
        flagged.add(later);
        later.source.report.problem(
          'ad.localPrefConflict',
          'spec.localPref',
          `${describeLocalPref(later.ad.localPref)} contradicts ${describeLocalPref(earlier.ad.localPref)} of BGPAdvertisement ${quote(earlier.source.name)}: both announce IPAddressPool ${quote(pool.source.name)} with the same aggregation to the same peers from the same nodes, and a route carries one LOCAL_PREF; use the same localPref, or make them differ in aggregationLength, peers or nodeSelectors`,
        );
        return;
      }
    });
  }
}

/** FRR runs BFD echo mode for IPv4 only, so a peer with an echo profile must not be sent IPv6 routes. */
export function checkEchoWithIPv6(
  ads: readonly ParsedBgpAd[],
  peers: readonly ParsedPeer[],
  profiles: ReadonlyMap<string, BfdProfile>,
): void {
  const echoPeers = peers.filter(
    ({ peer }) => peer.bfdProfile !== undefined && profiles.get(peer.bfdProfile)?.echoMode,
  );
  if (echoPeers.length === 0) return;
  const flagged = new Set<ParsedPeer>();
  for (const parsed of ads) {
    const pool = parsed.pools.find((candidate) => candidate.families.includes(6));
    if (!pool) continue;
    const targets =
      parsed.ad.peers.length === 0
        ? echoPeers
        : echoPeers.filter(({ peer }) => parsed.ad.peers.includes(peer.name));
    for (const target of targets) {
      if (flagged.has(target)) continue;
      flagged.add(target);
      target.source.report.problem(
        'bfd.echoWithIPv6',
        'spec.bfdProfile',
        `BFDProfile ${quote(target.peer.bfdProfile as string)} has echoMode, which FRR supports only for IPv4, but BGPAdvertisement ${quote(parsed.source.name)} announces IPv6 addresses of IPAddressPool ${quote(pool.source.name)} to this peer; use a profile without echoMode, or leave this peer out of the advertisement's spec.peers`,
      );
    }
  }
}
