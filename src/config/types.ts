/**
 * The validated configuration: what the allocator, the L2 announcer and the FRR renderer consume. Every value
 * is parsed, defaulted and cross-checked, so consumers never re-validate. Maps are keyed by object name and
 * iterate in name order, so two builds from the same objects are identical.
 */
import type { Address, AddressRange, Cidr, Family } from '../net/ip.js';
import type { Labels, Selector } from './selectors.js';
import type { SecretText } from './secret-text.js';

export interface Config {
  readonly pools: ReadonlyMap<string, Pool>;
  readonly peers: ReadonlyMap<string, Peer>;
  readonly bfdProfiles: ReadonlyMap<string, BfdProfile>;
  /** Community aliases from every Community object, by alias name. */
  readonly communityAliases: ReadonlyMap<string, BgpCommunity>;
  readonly l2Advertisements: ReadonlyMap<string, L2Advertisement>;
  readonly bgpAdvertisements: ReadonlyMap<string, BgpAdvertisement>;
}

export interface PoolEntry {
  /** The entry as written in spec.addresses. */
  readonly text: string;
  readonly kind: 'cidr' | 'range';
  readonly range: AddressRange;
  /** The entry as the fewest CIDRs, in address order (one for a CIDR entry). */
  readonly cidrs: readonly Cidr[];
}

export interface Pool {
  readonly name: string;
  readonly labels: Labels;
  /** In declared order: allocation walks them in this order, lowest address first within each. */
  readonly entries: readonly PoolEntry[];
  readonly families: readonly Family[];
  /** Defaults to true. */
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  readonly serviceAllocation?: ServiceAllocation;
  /** Names of the advertisements that announce this pool, in name order. */
  readonly l2Advertisements: readonly string[];
  readonly bgpAdvertisements: readonly string[];
}

export interface ServiceAllocation {
  /** Lower is tried first; 0 (also when unset) is tried after every positive priority. */
  readonly priority: number;
  /** spec.serviceAllocation.namespaces as listed. */
  readonly namespaces: readonly string[];
  readonly namespaceSelectors: readonly Selector[];
  /** namespaces plus the names of the Namespace objects the namespaceSelectors matched, sorted. */
  readonly resolvedNamespaces: readonly string[];
  /** True when namespaces or namespaceSelectors were given, even if they resolved to nothing. */
  readonly restrictsNamespaces: boolean;
  /**
   * Services must match one of these (OR). A serviceAllocation with neither namespaces nor selectors gets
   * [everything], as upstream does: the pool then serves every Service at its priority.
   */
  readonly serviceSelectors: readonly Selector[];
}

export type RemoteAS = number | 'internal' | 'external';

export type PeerTarget =
  | { readonly kind: 'address'; readonly address: Address }
  | { readonly kind: 'interface'; readonly interface: string };

export interface PeerTimers {
  /** Whole seconds, as FRR's `timers KEEPALIVE HOLD` takes them. */
  readonly holdSeconds: number;
  readonly keepaliveSeconds: number;
}

export interface Peer {
  readonly name: string;
  readonly myASN: number;
  /** peerASN, or dynamicASN for `remote-as internal|external`. */
  readonly remoteAS: RemoteAS;
  readonly localASN?: number;
  /** iBGP when the remote AS is ours (peerASN equal to myASN, or dynamicASN internal). */
  readonly ibgp: boolean;
  readonly target: PeerTarget;
  /** FRR's neighbour identity on a node: the address or interface, plus "-<vrf>" in a VRF. */
  readonly identifier: string;
  /** Defaults to 179. */
  readonly port: number;
  readonly sourceAddress?: Address;
  readonly routerID?: Address;
  /** Absent when neither holdTime nor keepaliveTime is set (FRR's defaults apply). */
  readonly timers?: PeerTimers;
  readonly connectTimeSeconds?: number;
  /** From spec.password or the referenced Secret; never log it (it prints as [redacted]). */
  readonly password?: SecretText;
  readonly passwordSecretName?: string;
  readonly bfdProfile?: string;
  readonly ebgpMultiHop: boolean;
  readonly enableGracefulRestart: boolean;
  /** '' for the default VRF. */
  readonly vrf: string;
  readonly dualStackAddressFamily: boolean;
  /** Empty means every node. */
  readonly nodeSelectors: readonly Selector[];
  /** The known nodes the selectors pick, sorted. */
  readonly nodes: readonly string[];
}

export interface BfdProfile {
  readonly name: string;
  /** Milliseconds; absent fields take FRR's defaults. */
  readonly receiveInterval?: number;
  readonly transmitInterval?: number;
  readonly detectMultiplier?: number;
  readonly echoInterval?: number;
  readonly echoMode: boolean;
  readonly passiveMode: boolean;
  readonly minimumTtl?: number;
}

export type BgpCommunity =
  | {
      readonly kind: 'standard';
      /** Canonical text, e.g. 64512:100. */
      readonly text: string;
      readonly asn: number;
      readonly value: number;
    }
  | {
      readonly kind: 'large';
      /** Canonical text, e.g. large:64512:1:2 (FRR wants it without the large: marker). */
      readonly text: string;
      readonly globalAdministrator: number;
      readonly localData1: number;
      readonly localData2: number;
    };

export interface PreferredNodes {
  readonly weight: number;
  readonly selector: Selector;
}

export interface L2Advertisement {
  readonly name: string;
  /** Names of the pools announced, sorted. */
  readonly pools: readonly string[];
  readonly nodeSelectors: readonly Selector[];
  readonly nodes: readonly string[];
  /** Empty means every interface. */
  readonly interfaces: readonly string[];
  /** Empty means every Service. */
  readonly serviceSelectors: readonly Selector[];
  readonly preferredNodes: readonly PreferredNodes[];
}

export interface BgpAdvertisement {
  readonly name: string;
  readonly pools: readonly string[];
  /** Defaults 32 and 128. */
  readonly aggregationLength: number;
  readonly aggregationLengthV6: number;
  /** Absent when unset or 0. */
  readonly localPref?: number;
  /** Aliases resolved, in listed order. */
  readonly communities: readonly BgpCommunity[];
  /** BGPPeer names; empty means every peer. */
  readonly peers: readonly string[];
  readonly nodeSelectors: readonly Selector[];
  readonly nodes: readonly string[];
  readonly serviceSelectors: readonly Selector[];
}
