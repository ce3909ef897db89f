/**
 * The BGP half of the speaker's decision: for one node, which prefixes go to which peer with which
 * attributes. Every eligible node announces (there is no election in BGP mode); eligibility comes from the
 * node itself (NetworkUnavailable, the exclude label), the advertisements (pools, nodeSelectors,
 * serviceSelectors, peers) and the endpoints (externalTrafficPolicy: Local needs one ready here).
 *
 * The caller filters services by loadBalancerClass before calling: which classes this speaker serves is
 * a deployment setting, not part of the configuration.
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { BgpAdvertisement, BgpCommunity, Config, Peer } from '../../config/index.js';
import { selectsAll } from '../../config/selectors.js';
import { formatAddress, formatCidr, prefixMask, type Address, type Cidr } from '../../net/ip.js';
import { nodeExclusion } from './node.js';
import { addressesInPools, indexPools, type PoolIndex } from './pools.js';
import { selectSessions, sessionFamilies, type SessionGroup } from './peers.js';
import {
  compareServiceRefs,
  indexServingEndpoints,
  readLoadBalancerService,
  serviceKey,
  type LoadBalancerService,
} from './service.js';
import type {
  BgpPlan,
  PeerPlan,
  PlanNode,
  Route,
  ServiceAnnouncement,
  ServiceNotice,
  ServiceRef,
  VrfPlan,
} from './types.js';

export interface BgpPlanInput {
  readonly config: Config;
  readonly node: PlanNode;
  /** Services of the load-balancer class this speaker serves; other types are ignored here. */
  readonly services: readonly V1Service[];
  readonly endpointSlices: readonly V1EndpointSlice[];
  /** Upstream's --ignore-exclude-lb. */
  readonly ignoreExcludeLabel?: boolean;
}

/** Routes by peer name, then by prefix text. */
type RouteTable = Map<string, Map<string, Route>>;

type Evaluation =
  | { readonly kind: 'announce'; readonly routes: RouteTable }
  | { readonly kind: 'withheld' | 'refused'; readonly code: string; readonly reason: string }
  | { readonly kind: 'ignored' };

function quote(text: string): string {
  return JSON.stringify(text);
}

function compareCidrs(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.prefixLength - b.prefixLength;
}

function communityOrder(community: BgpCommunity): readonly number[] {
  return community.kind === 'standard'
    ? [0, community.asn, community.value, 0]
    : [1, community.globalAdministrator, community.localData1, community.localData2];
}

export function compareCommunities(a: BgpCommunity, b: BgpCommunity): number {
  const left = communityOrder(a);
  const right = communityOrder(b);
  for (let i = 0; i < left.length; i += 1) {
    const difference = (left[i] as number) - (right[i] as number);
    if (difference !== 0) return difference;
  }
  return 0;
}

function mergeCommunities(a: readonly BgpCommunity[], b: readonly BgpCommunity[]): readonly BgpCommunity[] {
  const byText = new Map<string, BgpCommunity>();
  for (const community of [...a, ...b]) byText.set(community.text, community);
  return [...byText.values()].sort(compareCommunities);
}

function aggregationLength(ad: BgpAdvertisement, address: Address): number {
  return address.family === 4 ? ad.aggregationLength : ad.aggregationLengthV6;
}

function aggregate(address: Address, length: number): Cidr {
  return {
    family: address.family,
    network: address.value & prefixMask(address.family, length),
    prefixLength: length,
  };
}

function describeLocalPref(ad: BgpAdvertisement): string {
  return ad.localPref === undefined ? 'no localPref' : `localPref ${ad.localPref}`;
}

function peersOverlap(a: BgpAdvertisement, b: BgpAdvertisement): boolean {
  return a.peers.length === 0 || b.peers.length === 0 || a.peers.some((peer) => b.peers.includes(peer));
}

/**
 * Upstream's rule for one service: two advertisements that put different LOCAL_PREFs on the same prefix
 * for overlapping peers contradict each other. It does not depend on which peers this node happens to
 * have, so every node refuses the same services.
 */
function localPrefConflict(address: Address, ads: readonly BgpAdvertisement[]): string | undefined {
  for (let i = 0; i < ads.length; i += 1) {
    for (let j = i + 1; j < ads.length; j += 1) {
      const a = ads[i] as BgpAdvertisement;
      const b = ads[j] as BgpAdvertisement;
      if (a.localPref === b.localPref) continue;
      const length = aggregationLength(a, address);
      if (length !== aggregationLength(b, address) || !peersOverlap(a, b)) continue;
      return `BGPAdvertisements ${quote(a.name)} (${describeLocalPref(a)}) and ${quote(b.name)} (${describeLocalPref(b)}) both announce ${formatAddress(address)} as ${formatCidr(aggregate(address, length))} to the same peers, and a route carries one LOCAL_PREF; give them the same localPref, or make them differ in aggregation length, peers, nodeSelectors or serviceSelectors`;
    }
  }
  return undefined;
}

interface Context {
  readonly config: Config;
  readonly node: PlanNode;
  readonly peers: readonly Peer[];
  readonly pools: PoolIndex;
  readonly servingEndpoints: ReturnType<typeof indexServingEndpoints>;
}

function evaluate(service: LoadBalancerService, context: Context): Evaluation {
  const { config, node } = context;
  const inPools = addressesInPools(service.ingressIPs, service.poolName, context.pools);
  if ('kind' in inPools) return inPools;
  const perAddress: { address: Address; ads: BgpAdvertisement[] }[] = [];
  let hasAds = false;
  let adsOnNode = false;
  for (const { address, pool } of inPools) {
    const ads = pool.bgpAdvertisements
      .map((name) => config.bgpAdvertisements.get(name))
      .filter((ad): ad is BgpAdvertisement => ad !== undefined);
    hasAds ||= ads.length > 0;
    const onNode = ads.filter((ad) => selectsAll(ad.nodeSelectors, node.labels));
    adsOnNode ||= onNode.length > 0;
    perAddress.push({ address, ads: onNode.filter((ad) => selectsAll(ad.serviceSelectors, service.labels)) });
  }
  // A pool without BGPAdvertisements is none of BGP's business (it may be announced over L2).
  if (!hasAds) return { kind: 'ignored' };
  if (!adsOnNode) {
    return {
      kind: 'withheld',
      code: 'notOwner',
      reason: `no BGPAdvertisement of its pool selects node ${node.name} (spec.nodeSelectors)`,
    };
  }
  if (perAddress.every(({ ads }) => ads.length === 0)) {
    return {
      kind: 'withheld',
      code: 'noMatchingAdvertisement',
      reason: `the BGPAdvertisements of its pool that select node ${node.name} do not select this Service (spec.serviceSelectors)`,
    };
  }
  const endpoints = context.servingEndpoints(service.ref);
  if (service.localTrafficPolicy && !endpoints.nodes.has(node.name)) {
    return {
      kind: 'withheld',
      code: 'noLocalEndpoints',
      reason: `externalTrafficPolicy is Local and no ready endpoint runs on node ${node.name}`,
    };
  }
  if (!service.localTrafficPolicy && !endpoints.any) {
    return { kind: 'withheld', code: 'noEndpoints', reason: 'no endpoint of the Service is ready' };
  }
  for (const { address, ads } of perAddress) {
    const conflict = localPrefConflict(address, ads);
    if (conflict) return { kind: 'refused', code: 'conflictingAdvertisements', reason: conflict };
  }

  const routes: RouteTable = new Map();
  for (const { address, ads } of perAddress) {
    for (const ad of ads) {
      const prefix = aggregate(address, aggregationLength(ad, address));
      for (const peer of context.peers) {
        if (!sessionFamilies(peer).includes(address.family)) continue;
        if (ad.peers.length > 0 && !ad.peers.includes(peer.name)) continue;
        const route: Route = {
          prefix,
          ...(peer.ibgp && ad.localPref !== undefined ? { localPref: ad.localPref } : {}),
          communities: mergeCommunities([], ad.communities),
        };
        // The conflict check above guarantees equal LOCAL_PREFs here.
        addRoute(routes, peer.name, route);
      }
    }
  }
  return { kind: 'announce', routes };
}

function addRoute(table: RouteTable, peer: string, route: Route): void {
  let byPrefix = table.get(peer);
  if (!byPrefix) {
    byPrefix = new Map();
    table.set(peer, byPrefix);
  }
  const key = formatCidr(route.prefix);
  const existing = byPrefix.get(key);
  byPrefix.set(
    key,
    existing
      ? { ...existing, communities: mergeCommunities(existing.communities, route.communities) }
      : route,
  );
}

interface NodeTable {
  readonly routes: RouteTable;
  /** Which service first put each peer's prefix in the table, for conflict messages. */
  readonly owners: Map<string, ServiceRef>;
}

/**
 * Services share prefixes when they share an IP; the route still carries one LOCAL_PREF. A service whose
 * routes would change an earlier (by name) service's LOCAL_PREF is refused, whole.
 */
function crossServiceConflict(table: NodeTable, routes: RouteTable): string | undefined {
  for (const [peer, byPrefix] of routes) {
    for (const [key, route] of byPrefix) {
      const existing = table.routes.get(peer)?.get(key);
      if (!existing || existing.localPref === route.localPref) continue;
      const owner = table.owners.get(`${peer} ${key}`) as ServiceRef;
      const describe = (value: number | undefined) =>
        value === undefined ? 'no localPref' : `localPref ${value}`;
      return `its advertisements send ${key} to BGPPeer ${quote(peer)} with ${describe(route.localPref)}, but Service ${serviceKey(owner)} sends the same route with ${describe(existing.localPref)}, and a route carries one LOCAL_PREF; align the localPref of the BGPAdvertisements that select the two Services`;
    }
  }
  return undefined;
}

function vrfPlans(groups: Iterable<SessionGroup>, routes: RouteTable): VrfPlan[] {
  return [...groups]
    .sort((a, b) => (a.vrf < b.vrf ? -1 : a.vrf > b.vrf ? 1 : 0))
    .map((group) => ({
      vrf: group.vrf,
      myASN: group.myASN,
      ...(group.routerID ? { routerID: group.routerID } : {}),
      peers: group.peers
        .map((peer): PeerPlan => ({
          peer: peer.name,
          routes: [...(routes.get(peer.name)?.values() ?? [])].sort((a, b) =>
            compareCidrs(a.prefix, b.prefix),
          ),
        }))
        .sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0)),
    }));
}

export function planBgp(input: BgpPlanInput): BgpPlan {
  const { config, node } = input;
  const sessions = selectSessions(config, node);
  const excluded = nodeExclusion(node, { ignoreExcludeLabel: input.ignoreExcludeLabel ?? false });
  const empty = {
    node: node.name,
    announced: [] as ServiceAnnouncement[],
    refused: [] as ServiceNotice[],
    withheld: [] as ServiceNotice[],
    skippedPeers: sessions.skipped,
  };
  if (excluded) return { ...empty, excluded, vrfs: vrfPlans(sessions.groups.values(), new Map()) };

  const context: Context = {
    config,
    node,
    peers: [...sessions.groups.values()].flatMap((group) => group.peers),
    pools: indexPools(config),
    servingEndpoints: indexServingEndpoints(input.endpointSlices),
  };
  const services = input.services
    .map(readLoadBalancerService)
    .filter((service): service is LoadBalancerService => service !== undefined)
    .sort((a, b) => compareServiceRefs(a.ref, b.ref));
  const table: NodeTable = { routes: new Map(), owners: new Map() };
  const { announced, refused, withheld } = empty;
  for (const service of services) {
    const evaluation = evaluate(service, context);
    if (evaluation.kind === 'ignored') continue;
    if (evaluation.kind !== 'announce') {
      const notice = { service: service.ref, code: evaluation.code, reason: evaluation.reason };
      (evaluation.kind === 'refused' ? refused : withheld).push(notice);
      continue;
    }
    const conflict = crossServiceConflict(table, evaluation.routes);
    if (conflict) {
      refused.push({ service: service.ref, code: 'conflictingAdvertisements', reason: conflict });
      continue;
    }
    for (const [peer, byPrefix] of evaluation.routes) {
      for (const [key, route] of byPrefix) {
        if (!table.owners.has(`${peer} ${key}`)) table.owners.set(`${peer} ${key}`, service.ref);
        addRoute(table.routes, peer, route);
      }
    }
    announced.push({
      service: service.ref,
      peers: [...evaluation.routes.keys()].sort(),
    });
  }
  return { ...empty, vrfs: vrfPlans(sessions.groups.values(), table.routes) };
}
