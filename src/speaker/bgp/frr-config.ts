/**
 * Renders the one frr.conf a node's FRR runs, from the node's BGP plan and the configuration (peers, BFD
 * profiles). Pure and deterministic: everything is emitted in a fixed order, so equal inputs give equal
 * bytes and the reloader can skip configs that did not change.
 *
 * Shape: prefix-lists and route-maps per neighbor (nothing accepted inbound; outbound only the neighbor's
 * prefixes, with LOCAL_PREF and communities set per prefix), one `router bgp` per VRF with its neighbors
 * and `network` statements, then the BFD profiles. The accepted syntax is FRR 8.4's.
 */
import type { BfdProfile, BgpCommunity, Config, Peer } from '../../config/index.js';
import { formatAddress, formatCidr, type Cidr, type Family } from '../../net/ip.js';
import { compareCommunities } from '../plan/bgp.js';
import { sessionFamilies } from '../plan/peers.js';
import type { BgpPlan, PeerPlan, VrfPlan } from '../plan/types.js';
import { frrWordProblem, interfaceNameProblem, passwordProblem } from './frr-word.js';

export type FrrLogLevel =
  | 'emergencies'
  | 'alerts'
  | 'critical'
  | 'errors'
  | 'warnings'
  | 'notifications'
  | 'informational'
  | 'debugging';

export interface FrrRenderOptions {
  /** Defaults to the plan's node name. */
  readonly hostname?: string;
  /** Defaults to informational. */
  readonly logLevel?: FrrLogLevel;
}

const defaultPort = 179;
/** Why 1 s: see where it is written. */
export const routeMapDelaySeconds = 1;
const families: readonly Family[] = [4, 6];

/** A value the plan should have refused already: reaching here is a bug, not a user error. */
function checkedWord(what: string, value: string, problem: string | undefined): string {
  if (problem) throw new Error(`cannot render frr.conf: ${what} ${problem}`);
  return value;
}

function familyName(family: Family): 'ipv4' | 'ipv6' {
  return family === 4 ? 'ipv4' : 'ipv6';
}

/** `ip prefix-list` for IPv4, `ipv6 prefix-list` for IPv6; likewise in route-map matches. */
function ipKeyword(family: Family): 'ip' | 'ipv6' {
  return family === 4 ? 'ip' : 'ipv6';
}

/**
 * FRR 8.4 shows these standard communities by name in its running config. Writing them the same way keeps
 * frr-reload.py from seeing a difference (and re-applying the route-map) on every reload.
 */
const wellKnownCommunities: ReadonlyMap<string, string> = new Map([
  ['0:0', 'internet'],
  ['65535:0', 'graceful-shutdown'],
  ['65535:1', 'accept-own'],
  ['65535:2', 'route-filter-translated-v4'],
  ['65535:3', 'route-filter-v4'],
  ['65535:4', 'route-filter-translated-v6'],
  ['65535:5', 'route-filter-v6'],
  ['65535:6', 'llgr-stale'],
  ['65535:7', 'no-llgr'],
  ['65535:8', 'accept-own-nexthop'],
  ['65535:666', 'blackhole'],
  ['65535:65281', 'no-export'],
  ['65535:65282', 'no-advertise'],
  ['65535:65283', 'local-AS'],
  ['65535:65284', 'no-peer'],
]);

function communitySetValue(community: BgpCommunity): string {
  const value = communityValue(community);
  return community.kind === 'standard' ? (wellKnownCommunities.get(value) ?? value) : value;
}

function communityValue(community: BgpCommunity): string {
  return community.kind === 'standard'
    ? `${community.asn}:${community.value}`
    : `${community.globalAdministrator}:${community.localData1}:${community.localData2}`;
}

/** A group of a neighbor's prefixes that get the same `set` clause. */
interface AttributeGroup {
  /** Unique among the neighbor's groups, part of the prefix-list name. */
  readonly label: string;
  readonly set: string;
  readonly prefixes: Cidr[];
}

function attributeGroups(plan: PeerPlan): AttributeGroup[] {
  const localPrefs = new Map<number, AttributeGroup>();
  const communities = new Map<string, { community: BgpCommunity; group: AttributeGroup }>();
  for (const route of plan.routes) {
    if (route.localPref !== undefined) {
      let group = localPrefs.get(route.localPref);
      if (!group) {
        group = {
          label: `localpref-${route.localPref}`,
          set: `set local-preference ${route.localPref}`,
          prefixes: [],
        };
        localPrefs.set(route.localPref, group);
      }
      group.prefixes.push(route.prefix);
    }
    for (const community of route.communities) {
      let entry = communities.get(community.text);
      if (!entry) {
        const value = communityValue(community);
        const group =
          community.kind === 'standard'
            ? {
                label: `community-${value}`,
                set: `set community ${communitySetValue(community)} additive`,
                prefixes: [],
              }
            : {
                label: `large-community-${value}`,
                set: `set large-community ${value} additive`,
                prefixes: [],
              };
        entry = { community, group };
        communities.set(community.text, entry);
      }
      entry.group.prefixes.push(route.prefix);
    }
  }
  const byLocalPref = [...localPrefs.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
  const byCommunity = [...communities.values()]
    .sort((a, b) => compareCommunities(a.community, b.community))
    .map(({ group }) => group);
  return [...byLocalPref, ...byCommunity];
}

/** FRR's prefix-list sequence numbers run 1..4294967295; 1 is kept for an empty list's `deny any`. */
const prefixListSeqs = { first: 2, last: 4_294_967_295 } as const;
/**
 * FRR's route-map sequence numbers run 1..65535. The attribute entries take stable numbers below the
 * `allowed` entries, which must come last: an entry without `on-match next` ends the evaluation.
 */
const attributeEntrySeqs = { first: 1, last: 65_000 } as const;
const allowedEntrySeq: Readonly<Record<Family, number>> = { 4: 65_001, 6: 65_002 };

/** 32-bit FNV-1a: small, fast, and the same in every release (the numbers end up in FRR's config). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * Gives every key a sequence number in [first, last] derived from the key alone, so that adding or removing
 * one key leaves every other key's number (and so its line in frr.conf) as it was: frr-reload.py, or the
 * incremental apply, then touches only the lines that really changed, and FRR never sees the list reshuffled.
 * Keys are taken in sorted order; a key whose number is taken probes the next free one. Collisions are rare
 * (about n²/2^33 for n prefixes in one list) and cost only that one renumbered line, never correctness.
 */
export function stableSequenceNumbers(
  keys: readonly string[],
  range: { readonly first: number; readonly last: number },
): Map<string, number> {
  const size = range.last - range.first + 1;
  const sorted = [...new Set(keys)].sort();
  if (sorted.length > size) throw new Error(`cannot number ${sorted.length} entries in a range of ${size}`);
  const taken = new Set<number>();
  const numbers = new Map<string, number>();
  for (const key of sorted) {
    let offset = fnv1a(key) % size;
    while (taken.has(range.first + offset)) offset = (offset + 1) % size;
    taken.add(range.first + offset);
    numbers.set(key, range.first + offset);
  }
  return numbers;
}

/** The list's lines in sequence order, which is how FRR prints them back. */
function prefixListLines(name: string, family: Family, prefixes: readonly Cidr[]): string[] {
  if (prefixes.length === 0) return [`${ipKeyword(family)} prefix-list ${name} seq 1 deny any`];
  const texts = prefixes.map(formatCidr);
  const seqs = stableSequenceNumbers(texts, prefixListSeqs);
  return [...seqs.entries()]
    .sort(([, a], [, b]) => a - b)
    .map(([text, seq]) => `${ipKeyword(family)} prefix-list ${name} seq ${seq} permit ${text}`);
}

/** The neighbor's name in FRR: its address, or its interface for unnumbered BGP. */
function neighborName(peer: Peer): string {
  return peer.target.kind === 'address'
    ? formatAddress(peer.target.address)
    : checkedWord('interface', peer.target.interface, interfaceNameProblem(peer.target.interface));
}

/** Route-map and prefix-list names: the peer's identifier (address or interface, plus -vrf) is unique on a node. */
function filterPrefix(peer: Peer): string {
  return checkedWord('peer identifier', peer.identifier, frrWordProblem(peer.identifier));
}

function renderFilters(peer: Peer, plan: PeerPlan): string[] {
  const id = filterPrefix(peer);
  const lines: string[] = [];
  const carried = sessionFamilies(peer);
  const attributeEntries: { list: string; lines: string[] }[] = [];
  for (const group of attributeGroups(plan)) {
    for (const family of families) {
      const prefixes = group.prefixes.filter((prefix) => prefix.family === family);
      if (prefixes.length === 0) continue;
      const list = `${id}-${group.label}-${familyName(family)}`;
      lines.push(...prefixListLines(list, family, prefixes));
      // Attribute entries set additive communities or the one LOCAL_PREF a route carries, so their order
      // among themselves does not matter: numbering them by their list keeps them put when groups come and go.
      attributeEntries.push({
        list,
        lines: [` match ${ipKeyword(family)} address prefix-list ${list}`, ` ${group.set}`, ' on-match next'],
      });
    }
  }
  const attributeSeqs = stableSequenceNumbers(
    attributeEntries.map((entry) => entry.list),
    attributeEntrySeqs,
  );
  const entries = attributeEntries.map((entry) => ({
    seq: attributeSeqs.get(entry.list) as number,
    lines: entry.lines,
  }));
  for (const family of families) {
    if (!carried.includes(family)) continue;
    const list = `${id}-allowed-${familyName(family)}`;
    const prefixes = plan.routes.map((route) => route.prefix).filter((prefix) => prefix.family === family);
    lines.push(...prefixListLines(list, family, prefixes));
    entries.push({
      seq: allowedEntrySeq[family],
      lines: [` match ${ipKeyword(family)} address prefix-list ${list}`],
    });
  }
  const routeMaps: string[] = [`route-map ${id}-in deny 1`, 'exit', '!'];
  for (const entry of entries.sort((a, b) => a.seq - b.seq)) {
    routeMaps.push(`route-map ${id}-out permit ${entry.seq}`, ...entry.lines, 'exit', '!');
  }
  return [...lines, '!', ...routeMaps];
}

/**
 * FRR refuses a single-hop eBGP session to an IPv6 address it does not see on a connected prefix (nodes
 * often hold their IPv6 address as a /128); upstream turns the check off for exactly these sessions.
 */
function needsConnectedCheckDisabled(peer: Peer): boolean {
  return (
    peer.target.kind === 'address' && peer.target.address.family === 6 && !peer.ibgp && !peer.ebgpMultiHop
  );
}

function neighborLines(peer: Peer): string[] {
  const name = neighborName(peer);
  const remoteAS = String(peer.remoteAS);
  const lines =
    peer.target.kind === 'interface'
      ? [` neighbor ${name} interface remote-as ${remoteAS}`]
      : [` neighbor ${name} remote-as ${remoteAS}`];
  const option = (text: string) => lines.push(` neighbor ${name} ${text}`);
  if (peer.localASN !== undefined) option(`local-as ${peer.localASN} no-prepend replace-as`);
  if (peer.port !== defaultPort) option(`port ${peer.port}`);
  // The minimum time between two UPDATEs to the neighbor (MRAI). FRR 8.4 defaults to 0 for both iBGP and
  // eBGP, but older releases used 30 s for eBGP and 5 s for iBGP; written so an address reaches the router as
  // soon as it is applied, and is withdrawn as fast, whatever the FRR build. FRR prints it back as written.
  option('advertisement-interval 0');
  if (peer.timers) option(`timers ${peer.timers.keepaliveSeconds} ${peer.timers.holdSeconds}`);
  if (peer.connectTimeSeconds !== undefined) option(`timers connect ${peer.connectTimeSeconds}`);
  if (peer.password) {
    const password = peer.password.reveal();
    option(`password ${checkedWord(`BGPPeer ${peer.name}:`, password, passwordProblem(password))}`);
  }
  // 255 is what a bare ebgp-multihop means; FRR prints it, so writing it keeps reloads free of diffs.
  if (peer.ebgpMultiHop) option('ebgp-multihop 255');
  if (peer.sourceAddress) option(`update-source ${formatAddress(peer.sourceAddress)}`);
  if (peer.bfdProfile !== undefined) {
    option('bfd');
    option(`bfd profile ${checkedWord('BFD profile', peer.bfdProfile, frrWordProblem(peer.bfdProfile))}`);
  }
  if (peer.enableGracefulRestart) option('graceful-restart');
  if (needsConnectedCheckDisabled(peer)) option('disable-connected-check');
  return lines;
}

function renderRouter(vrf: VrfPlan, peers: ReadonlyMap<string, Peer>): string[] {
  const entries = vrf.peers.map((plan) => ({ plan, peer: peers.get(plan.peer) as Peer }));
  const vrfSuffix = vrf.vrf ? ` vrf ${checkedWord('VRF', vrf.vrf, interfaceNameProblem(vrf.vrf))}` : '';
  const lines = [`router bgp ${vrf.myASN}${vrfSuffix}`];
  if (vrf.routerID) lines.push(` bgp router-id ${formatAddress(vrf.routerID)}`);
  lines.push(' no bgp ebgp-requires-policy', ' no bgp default ipv4-unicast', ' no bgp network import-check');
  if (entries.some(({ peer }) => peer.enableGracefulRestart))
    lines.push(' bgp graceful-restart preserve-fw-state');
  for (const { peer } of entries) lines.push(...neighborLines(peer));
  for (const family of families) {
    const carriers = entries.filter(({ peer }) => sessionFamilies(peer).includes(family));
    const networks = new Map<string, Cidr>();
    for (const { plan } of entries) {
      for (const route of plan.routes) {
        if (route.prefix.family === family) networks.set(formatCidr(route.prefix), route.prefix);
      }
    }
    if (carriers.length === 0 && networks.size === 0) continue;
    lines.push(' !', ` address-family ${familyName(family)} unicast`);
    const sorted = [...networks.values()].sort((a, b) =>
      a.network !== b.network ? (a.network < b.network ? -1 : 1) : a.prefixLength - b.prefixLength,
    );
    for (const prefix of sorted) lines.push(`  network ${formatCidr(prefix)}`);
    for (const { peer } of carriers) {
      const name = neighborName(peer);
      const id = filterPrefix(peer);
      lines.push(
        `  neighbor ${name} activate`,
        `  neighbor ${name} route-map ${id}-in in`,
        `  neighbor ${name} route-map ${id}-out out`,
      );
    }
    lines.push(' exit-address-family');
  }
  lines.push('exit', '!');
  return lines;
}

function renderBfdProfile(profile: BfdProfile): string[] {
  const lines = [` profile ${checkedWord('BFD profile', profile.name, frrWordProblem(profile.name))}`];
  if (profile.detectMultiplier !== undefined) lines.push(`  detect-multiplier ${profile.detectMultiplier}`);
  if (profile.receiveInterval !== undefined) lines.push(`  receive-interval ${profile.receiveInterval}`);
  if (profile.transmitInterval !== undefined) lines.push(`  transmit-interval ${profile.transmitInterval}`);
  if (profile.echoMode) lines.push('  echo-mode');
  if (profile.echoInterval !== undefined) {
    // FRR 8.4 sets the two directions separately; its single echo-interval is deprecated.
    lines.push(
      `  echo receive-interval ${profile.echoInterval}`,
      `  echo transmit-interval ${profile.echoInterval}`,
    );
  }
  if (profile.passiveMode) lines.push('  passive-mode');
  if (profile.minimumTtl !== undefined) lines.push(`  minimum-ttl ${profile.minimumTtl}`);
  lines.push(' exit', ' !');
  return lines;
}

export function renderFrrConfig(plan: BgpPlan, config: Config, options: FrrRenderOptions = {}): string {
  const hostname = options.hostname ?? plan.node;
  const lines = [
    `! Rendered by the MetalLB speaker for node ${plan.node}; changes made here are overwritten.`,
    'frr defaults traditional',
    `hostname ${checkedWord('hostname', hostname, frrWordProblem(hostname))}`,
    `log stdout ${options.logLevel ?? 'informational'}`,
    'log timestamp precision 3',
    // Multihop peers are often reachable only through the default route.
    'ip nht resolve-via-default',
    'ipv6 nht resolve-via-default',
    // After a prefix-list or route-map changes, bgpd waits this long (restarted by every further change)
    // before it re-evaluates the routes it already advertised; FRR's default is 5 s. New and withdrawn
    // Service addresses do not wait for it (their `network` line is applied after their prefix-list lines
    // and is filtered on the spot), but attribute changes (communities, LOCAL_PREF, per-peer selection) do,
    // so 1 s. Not 0: in FRR 8.4, 0 turns the re-evaluation off, and such changes would never reach peers.
    `bgp route-map delay-timer ${routeMapDelaySeconds}`,
    '!',
  ];
  const peerOf = (name: string): Peer => {
    const peer = config.peers.get(name);
    if (!peer)
      throw new Error(
        `cannot render frr.conf: the plan names BGPPeer ${name}, which the configuration lacks`,
      );
    return peer;
  };
  for (const vrf of plan.vrfs) {
    for (const peerPlan of vrf.peers) lines.push(...renderFilters(peerOf(peerPlan.peer), peerPlan));
  }
  for (const vrf of plan.vrfs)
    lines.push(...renderRouter(vrf, new Map(vrf.peers.map((p) => [p.peer, peerOf(p.peer)]))));
  const profiles = [...config.bfdProfiles.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  if (profiles.length > 0) {
    lines.push('bfd');
    for (const profile of profiles) lines.push(...renderBfdProfile(profile));
    lines.push('exit', '!');
  }
  return `${lines.join('\n')}\n`;
}
