/**
 * What one node's speaker announces over BGP, and why it leaves out what it leaves out. The plan is data
 * only: the FRR renderer turns it into frr.conf, the status writer into ServiceBGPStatus objects, the
 * event recorder into events.
 */
import type { Address, Cidr } from '../../net/ip.js';
import type { BgpCommunity } from '../../config/index.js';
import type { Labels } from '../../config/selectors.js';

/** The node a speaker runs on, as far as announcing is concerned. */
export interface PlanNode {
  readonly name: string;
  readonly labels: Labels;
  /** The node's NetworkUnavailable condition is True: its network is not set up, so it must not attract traffic. */
  readonly networkUnavailable: boolean;
}

export interface ServiceRef {
  readonly namespace: string;
  readonly name: string;
}

/** One prefix sent to one peer, with the attributes it carries. */
export interface Route {
  readonly prefix: Cidr;
  /** Only on iBGP sessions: LOCAL_PREF does not cross AS boundaries. */
  readonly localPref?: number;
  /** Standard communities first, then large ones, each in numeric order, each once. */
  readonly communities: readonly BgpCommunity[];
}

export interface PeerPlan {
  /** The BGPPeer name: the key into Config.peers. */
  readonly peer: string;
  /** Sorted by family, then address, then prefix length. */
  readonly routes: readonly Route[];
}

/** One `router bgp` instance: the default VRF ('') or a named one. */
export interface VrfPlan {
  readonly vrf: string;
  readonly myASN: number;
  readonly routerID?: Address;
  /** Sorted by peer name. */
  readonly peers: readonly PeerPlan[];
}

/** What ServiceBGPStatus reports for a service on this node: the peers it is configured to go to. */
export interface ServiceAnnouncement {
  readonly service: ServiceRef;
  /** BGPPeer names, sorted; empty when no peer of this node takes any of the service's routes. */
  readonly peers: readonly string[];
}

/**
 * Why a service is not announced from this node. Codes follow upstream's reasons where it has one, so
 * events and logs read the same: notOwner, noMatchingAdvertisement, noLocalEndpoints, noEndpoints,
 * ipNotAllowed, conflictingAdvertisements; noIPAllocated is ours.
 */
export interface ServiceNotice {
  readonly service: ServiceRef;
  readonly code: string;
  readonly reason: string;
}

/** A BGPPeer that selects this node but cannot be configured on it. */
export interface SkippedPeer {
  readonly peer: string;
  readonly reason: string;
}

export interface NodeExclusion {
  readonly code: 'nodeNetworkUnavailable' | 'nodeLabeledExcludeBalancers';
  readonly reason: string;
}

export interface BgpPlan {
  readonly node: string;
  /** Set when the node announces nothing at all; its sessions stay up, with no routes. */
  readonly excluded?: NodeExclusion;
  /** The default VRF first, then by name. */
  readonly vrfs: readonly VrfPlan[];
  /** Sorted by namespace, then name. */
  readonly announced: readonly ServiceAnnouncement[];
  /** Services whose advertisements contradict each other: nothing of theirs is announced. */
  readonly refused: readonly ServiceNotice[];
  /** Services this node does not announce for an ordinary reason (no endpoints here, not selected, ...). */
  readonly withheld: readonly ServiceNotice[];
  readonly skippedPeers: readonly SkippedPeer[];
}
