/**
 * The layer-2 half of the speaker's decision: for every assigned address of every Service, the one node
 * that answers ARP / Neighbor Solicitations for it, and what this node therefore claims.
 *
 * A node may answer for a Service when its speaker is live (its heartbeat Lease), it is not excluded
 * (NetworkUnavailable, the exclude-from-external-load-balancers label), an L2Advertisement of the address's
 * pool selects the Service (serviceSelectors) and the node (nodeSelectors) and one of that advertisement's
 * interfaces is up there (any interface when it lists none), and, with externalTrafficPolicy Local, a ready
 * endpoint runs there. preferredNodeSelectors keep upstream's meaning: only the nodes with the highest summed
 * preference weight are candidates.
 *
 * Placement is per Service, not per address: a dual-stack Service's two addresses answer from one node, as
 * upstream does, and Services that share an address (allow-shared-ip) are tied into one group with it, so
 * one address never has two answering nodes. Groups are then spread evenly (plan/placement.ts), counting
 * addresses, which is what loads a node. Every speaker runs this with the same inputs and gets the same map.
 *
 * Two passes keep failures from reshuffling what works. The base pass places the groups over every speaker
 * that has a heartbeat Lease, live or not, asking only the configuration (selectors, the exclude label,
 * preferences). The runtime pass keeps each group on its base node while that node can answer (live, an
 * allowed link up, not NetworkUnavailable, a local endpoint where the policy needs one) and spreads the
 * others over the least loaded nodes that can. A node dying moves its own addresses and nothing else, and
 * its return takes back exactly those.
 *
 * The caller filters Services by loadBalancerClass, as for BGP.
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { Config, L2Advertisement } from '../../config/index.js';
import { selectsAll, selectorMatches } from '../../config/selectors.js';
import { formatAddress } from '../../net/ip.js';
import type { L2Claim } from '../l2/announcer.js';
import { nodeExclusion } from './node.js';
import { placeGroups, settleGroups, type PlacementGroup } from './placement.js';
import { addressesInPools, indexPools } from './pools.js';
import {
  compareServiceRefs,
  indexServingEndpoints,
  readLoadBalancerService,
  serviceKey,
  type LoadBalancerService,
} from './service.js';
import type { PlanNode, ServiceNotice, ServiceRef } from './types.js';

/** A speaker whose heartbeat is current, with the interfaces it reports up. */
export interface LiveSpeaker {
  readonly node: string;
  /** Interfaces that are up on the node (carrier), sorted. */
  readonly interfaces: readonly string[];
}

export interface L2PlanInput {
  readonly config: Config;
  /** This speaker's node. */
  readonly node: string;
  /** Every Node object the speaker knows (labels, NetworkUnavailable). */
  readonly nodes: readonly PlanNode[];
  /** Speakers that are live now, this one included only while its own heartbeat writes succeed. */
  readonly live: readonly LiveSpeaker[];
  /**
   * Speakers that have a heartbeat Lease but are not live now (dead, cut off, stopped with a handover).
   * They stay in the base placement, so a node going away moves only its own addresses, and coming back
   * takes exactly those back.
   */
  readonly resting?: readonly LiveSpeaker[];
  /** Services of the load-balancer class this speaker serves. */
  readonly services: readonly V1Service[];
  readonly endpointSlices: readonly V1EndpointSlice[];
  /**
   * Addresses some speaker of this cluster announced before (ServiceL2Status objects, this node's current
   * claims): taking one of them over skips the duplicate-address probe.
   */
  readonly announcedBefore: ReadonlySet<string>;
  readonly ignoreExcludeLabel?: boolean;
}

/** A Service this node answers for. */
export interface L2Announcement {
  readonly service: ServiceRef;
  /** Canonical addresses, sorted. */
  readonly ips: readonly string[];
  /** Interfaces from the advertisements; empty means every interface. */
  readonly interfaces: readonly string[];
}

export interface L2Plan {
  readonly node: string;
  /** Set when this node answers for nothing: its heartbeat is not current. */
  readonly notLive: boolean;
  /** What to hand the announcer, sorted by address. */
  readonly claims: readonly L2Claim[];
  /** Sorted by namespace, then name. */
  readonly announced: readonly L2Announcement[];
  /** Service key → the node answering for it, for every Service some node answers for. */
  readonly owners: ReadonlyMap<string, string>;
  /** Services this node does not answer for, and why (notOwner names the node that does). */
  readonly withheld: readonly ServiceNotice[];
}

interface Candidate {
  /** Advertisements that select the Service and this node, for the claim's interfaces. */
  readonly ads: readonly L2Advertisement[];
  readonly preference: number;
}

type Evaluation =
  | {
      readonly kind: 'candidates';
      readonly service: LoadBalancerService;
      readonly ips: readonly string[];
      /** Node → what makes it eligible; empty when no node is. */
      readonly nodes: ReadonlyMap<string, Candidate>;
      readonly whyNone: { readonly code: string; readonly reason: string };
    }
  | { readonly kind: 'withheld'; readonly code: string; readonly reason: string }
  | { readonly kind: 'ignored' };

function quote(text: string): string {
  return JSON.stringify(text);
}

function interfaceUp(ad: L2Advertisement, up: readonly string[]): boolean {
  return ad.interfaces.length === 0 ? up.length > 0 : ad.interfaces.some((name) => up.includes(name));
}

interface Context {
  readonly config: Config;
  readonly pools: ReturnType<typeof indexPools>;
  readonly servingEndpoints: ReturnType<typeof indexServingEndpoints>;
  /** Not excluded nodes with their labels and up interfaces. */
  readonly speakers: readonly { readonly node: PlanNode; readonly interfaces: readonly string[] }[];
  /**
   * The base placement asks only what the configuration allows (selectors, labels, preferences); whether
   * links are up and where endpoints run change by the second, and answering them there would move other
   * Services' addresses each time. The runtime pass applies them.
   */
  readonly base: boolean;
}

function evaluate(service: LoadBalancerService, context: Context): Evaluation {
  const { config } = context;
  const inPools = addressesInPools(service.ingressIPs, service.poolName, context.pools);
  if ('kind' in inPools) return inPools;
  const ips: string[] = [];
  const adsPerIP: L2Advertisement[][] = [];
  let hasAds = false;
  for (const { address, pool } of inPools) {
    const ads = pool.l2Advertisements
      .map((name) => config.l2Advertisements.get(name))
      .filter((ad): ad is L2Advertisement => ad !== undefined);
    if (ads.length === 0) continue;
    hasAds = true;
    ips.push(formatAddress(address));
    adsPerIP.push(ads.filter((ad) => selectsAll(ad.serviceSelectors, service.labels)));
  }
  // A pool without L2Advertisements is none of layer 2's business (it may be announced over BGP).
  if (!hasAds) return { kind: 'ignored' };
  if (adsPerIP.some((ads) => ads.length === 0)) {
    return {
      kind: 'withheld',
      code: 'noMatchingAdvertisement',
      reason: 'no L2Advertisement of its pool selects this Service (spec.serviceSelectors)',
    };
  }
  const endpoints = context.servingEndpoints(service.ref);
  if (!endpoints.any) {
    return { kind: 'withheld', code: 'noEndpoints', reason: 'no endpoint of the Service is ready' };
  }
  const nodes = new Map<string, Candidate>();
  let selected = 0;
  for (const { node, interfaces } of context.speakers) {
    // Every address of the Service must be answerable from the node: one node answers for all of them.
    const perIP = adsPerIP.map((ads) => ads.filter((ad) => selectsAll(ad.nodeSelectors, node.labels)));
    if (perIP.some((ads) => ads.length === 0)) continue;
    const withInterface = context.base
      ? perIP
      : perIP.map((ads) => ads.filter((ad) => interfaceUp(ad, interfaces)));
    if (withInterface.some((ads) => ads.length === 0)) continue;
    selected += 1;
    if (!context.base && service.localTrafficPolicy && !endpoints.nodes.has(node.name)) continue;
    const ads = [...new Set(withInterface.flat())];
    const preference = ads
      .flatMap((ad) => ad.preferredNodes)
      .filter((preferred) => selectorMatches(preferred.selector, node.labels))
      .reduce((sum, preferred) => sum + preferred.weight, 0);
    nodes.set(node.name, { ads, preference });
  }
  const whyNone =
    selected > 0
      ? {
          code: 'noLocalEndpoints',
          reason:
            'externalTrafficPolicy is Local and no live speaker node that may announce the Service runs a ready endpoint',
        }
      : {
          code: 'noEligibleNode',
          reason:
            'no live speaker runs on a node that its L2Advertisements select (spec.nodeSelectors) with an allowed interface up (spec.interfaces), and that is not excluded',
        };
  return { kind: 'candidates', service, ips, nodes, whyNone };
}

/** Union-find over addresses: Services sharing an address answer from one node. */
class Groups {
  private readonly parent = new Map<string, string>();

  find(ip: string): string {
    let root = ip;
    while (this.parent.has(root) && this.parent.get(root) !== root) root = this.parent.get(root) as string;
    this.parent.set(ip, root);
    return root;
  }

  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    // The smaller address names the group, so the key does not depend on processing order.
    if (ra < rb) this.parent.set(rb, ra);
    else this.parent.set(ra, rb);
  }
}

/** Per group of shared addresses: its weight, and the top-preference nodes every member allows. */
function placementGroups(
  evaluated: readonly Extract<Evaluation, { kind: 'candidates' }>[],
  groups: Groups,
): PlacementGroup[] {
  const members = new Map<string, { ips: Set<string>; nodes: Map<string, number> | undefined }>();
  for (const evaluation of evaluated) {
    const key = groups.find(evaluation.ips[0] as string);
    let group = members.get(key);
    if (!group) {
      group = { ips: new Set(), nodes: undefined };
      members.set(key, group);
    }
    for (const ip of evaluation.ips) group.ips.add(ip);
    const previous = group.nodes;
    const next = new Map<string, number>();
    for (const [node, candidate] of evaluation.nodes) {
      if (previous && !previous.has(node)) continue;
      next.set(node, (previous?.get(node) ?? 0) + candidate.preference);
    }
    group.nodes = next;
  }
  return [...members].map(([key, group]) => ({
    key,
    weight: group.ips.size,
    candidates: group.nodes && group.nodes.size > 0 ? topTier(group.nodes) : [],
  }));
}

function topTier(candidates: ReadonlyMap<string, number>): string[] {
  const best = Math.max(...candidates.values());
  return [...candidates].filter(([, weight]) => weight === best).map(([node]) => node);
}

function claimInterfaces(ads: readonly L2Advertisement[]): string[] {
  if (ads.some((ad) => ad.interfaces.length === 0)) return [];
  return [...new Set(ads.flatMap((ad) => ad.interfaces))].sort();
}

function planSpeakers(
  speakers: readonly LiveSpeaker[],
  nodesByName: ReadonlyMap<string, PlanNode>,
  options: { readonly ignoreExcludeLabel: boolean; readonly base: boolean },
): Context['speakers'] {
  return [...speakers]
    .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
    .map((speaker) => ({
      // A speaker whose Node object is not (yet) in the cache plans as a node without labels.
      node: nodesByName.get(speaker.node) ?? { name: speaker.node, labels: {}, networkUnavailable: false },
      interfaces: speaker.interfaces,
    }))
    .filter(({ node }) => {
      // NetworkUnavailable passes, like a link going down: only the runtime pass honours it.
      const judged = options.base ? { ...node, networkUnavailable: false } : node;
      return nodeExclusion(judged, options) === undefined;
    });
}

export function planL2(input: L2PlanInput): L2Plan {
  const nodesByName = new Map(input.nodes.map((node) => [node.name, node]));
  const ignoreExcludeLabel = input.ignoreExcludeLabel ?? false;
  const live = new Set(input.live.map((speaker) => speaker.node));
  // A resting speaker whose Node is gone will not come back; its Lease goes with the Node.
  const resting = (input.resting ?? []).filter(
    (speaker) => !live.has(speaker.node) && nodesByName.has(speaker.node),
  );
  const everySpeaker = [...input.live, ...resting];
  const shared = {
    config: input.config,
    pools: indexPools(input.config),
    servingEndpoints: indexServingEndpoints(input.endpointSlices),
  };
  const context: Context = {
    ...shared,
    speakers: planSpeakers(input.live, nodesByName, { ignoreExcludeLabel, base: false }),
    base: false,
  };
  const baseContext: Context = {
    ...shared,
    speakers: planSpeakers(everySpeaker, nodesByName, { ignoreExcludeLabel, base: true }),
    base: true,
  };
  const services = input.services
    .map(readLoadBalancerService)
    .filter((service): service is LoadBalancerService => service !== undefined)
    .sort((a, b) => compareServiceRefs(a.ref, b.ref));

  const withheld: ServiceNotice[] = [];
  type Candidates = Extract<Evaluation, { kind: 'candidates' }>;
  const evaluated: Candidates[] = [];
  const baseEvaluated: Candidates[] = [];
  for (const service of services) {
    const evaluation = evaluate(service, context);
    if (evaluation.kind === 'ignored') continue;
    if (evaluation.kind === 'withheld') {
      withheld.push({ service: service.ref, code: evaluation.code, reason: evaluation.reason });
    } else {
      evaluated.push(evaluation);
      // Whether a Service is withheld or ignored does not depend on the nodes, so both passes agree on it.
      baseEvaluated.push(evaluate(service, baseContext) as Candidates);
    }
  }

  const groups = new Groups();
  for (const { ips } of evaluated) for (const ip of ips) groups.union(ips[0] as string, ip);
  const placement = settleGroups(
    placeGroups(placementGroups(baseEvaluated, groups)),
    placementGroups(evaluated, groups),
  );

  const self = input.node;
  const notLive = !input.live.some((speaker) => speaker.node === self);
  const owners = new Map<string, string>();
  const announced: L2Announcement[] = [];
  const claimAds = new Map<string, L2Advertisement[]>();
  for (const evaluation of evaluated) {
    const { service, ips } = evaluation;
    const key = groups.find(ips[0] as string);
    const owner = placement.get(key);
    if (owner === undefined) {
      const code = evaluation.nodes.size > 0 ? 'noCommonNode' : evaluation.whyNone.code;
      const reason =
        evaluation.nodes.size > 0
          ? 'it shares an address with Services whose advertisements, endpoints or node selectors allow no common node'
          : evaluation.whyNone.reason;
      withheld.push({ service: service.ref, code, reason });
      continue;
    }
    owners.set(serviceKey(service.ref), owner);
    if (owner !== self) {
      withheld.push({
        service: service.ref,
        code: 'notOwner',
        reason: `node ${quote(owner)} answers for its addresses`,
      });
      continue;
    }
    const ads = evaluation.nodes.get(self)?.ads ?? [];
    for (const ip of ips) claimAds.set(ip, [...(claimAds.get(ip) ?? []), ...ads]);
    announced.push({ service: service.ref, ips: [...ips].sort(), interfaces: claimInterfaces(ads) });
  }
  const claims: L2Claim[] = notLive
    ? []
    : [...claimAds]
        .map(([ip, ads]) => ({
          ip,
          interfaces: claimInterfaces(ads),
          probe: !input.announcedBefore.has(ip),
        }))
        .sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  withheld.sort((a, b) => compareServiceRefs(a.service, b.service));
  return {
    node: self,
    notLive,
    claims,
    announced: notLive ? [] : announced,
    owners,
    withheld,
  };
}
