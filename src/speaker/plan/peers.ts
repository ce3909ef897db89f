/**
 * The BGP sessions a node runs: the peers whose nodeSelectors pick it, grouped into one BGP instance per
 * VRF. FRR has one AS number and one router ID per instance and one neighbor per address in it, so a peer
 * that contradicts an earlier one (by name) on this node is left out rather than rendered wrongly.
 */
import type { Config, Peer } from '../../config/index.js';
import { selectsAll } from '../../config/selectors.js';
import { formatAddress, type Address, type Family } from '../../net/ip.js';
import { interfaceNameProblem, passwordProblem } from '../bgp/frr-word.js';
import type { PlanNode, SkippedPeer } from './types.js';

export interface SessionGroup {
  readonly vrf: string;
  readonly myASN: number;
  readonly routerID?: Address;
  readonly peers: Peer[];
}

export interface Sessions {
  /** By VRF name, '' being the default VRF. */
  readonly groups: ReadonlyMap<string, SessionGroup>;
  readonly skipped: readonly SkippedPeer[];
}

/** The address families a session carries: its own, or both when unnumbered or dualStackAddressFamily. */
export function sessionFamilies(peer: Peer): readonly Family[] {
  if (peer.target.kind === 'interface' || peer.dualStackAddressFamily) return [4, 6];
  return [peer.target.address.family];
}

function quote(text: string): string {
  return JSON.stringify(text);
}

function describeRouterID(routerID: Address | undefined): string {
  return routerID ? `routerID ${formatAddress(routerID)}` : 'no routerID';
}

/** Why the peer's own fields cannot go into frr.conf, or undefined when they can. */
function unrenderable(peer: Peer, config: Config): string | undefined {
  if (peer.target.kind === 'interface') {
    const problem = interfaceNameProblem(peer.target.interface);
    if (problem) return `spec.interface ${quote(peer.target.interface)} ${problem}`;
  }
  if (peer.vrf !== '') {
    const problem = interfaceNameProblem(peer.vrf);
    if (problem) return `spec.vrf ${quote(peer.vrf)} ${problem}`;
  }
  if (peer.password) {
    const problem = passwordProblem(peer.password.reveal());
    if (problem) return `${problem}; use printable ASCII without blanks`;
  }
  if (peer.bfdProfile !== undefined && !config.bfdProfiles.has(peer.bfdProfile)) {
    return `BFDProfile ${quote(peer.bfdProfile)} does not exist`;
  }
  return undefined;
}

export function selectSessions(config: Config, node: PlanNode): Sessions {
  const groups = new Map<
    string,
    SessionGroup & { readonly firstPeer: string; identifiers: Map<string, string> }
  >();
  const skipped: SkippedPeer[] = [];
  const peers = [...config.peers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const peer of peers) {
    if (!selectsAll(peer.nodeSelectors, node.labels)) continue;
    const problem = unrenderable(peer, config);
    if (problem) {
      skipped.push({ peer: peer.name, reason: problem });
      continue;
    }
    const group = groups.get(peer.vrf);
    if (!group) {
      groups.set(peer.vrf, {
        vrf: peer.vrf,
        myASN: peer.myASN,
        ...(peer.routerID ? { routerID: peer.routerID } : {}),
        peers: [peer],
        firstPeer: peer.name,
        identifiers: new Map([[peer.identifier, peer.name]]),
      });
      continue;
    }
    const where = peer.vrf ? `VRF ${quote(peer.vrf)}` : 'the default VRF';
    const earlier = `BGPPeer ${quote(group.firstPeer)}, which also selects node ${node.name} in ${where}`;
    if (peer.myASN !== group.myASN) {
      skipped.push({
        peer: peer.name,
        reason: `its myASN ${peer.myASN} differs from myASN ${group.myASN} of ${earlier}; FRR runs one BGP instance per VRF, so such peers need the same myASN`,
      });
      continue;
    }
    const sameRouterID =
      peer.routerID === undefined
        ? group.routerID === undefined
        : group.routerID !== undefined && group.routerID.value === peer.routerID.value;
    if (!sameRouterID) {
      skipped.push({
        peer: peer.name,
        reason: `it has ${describeRouterID(peer.routerID)} but ${earlier} has ${describeRouterID(group.routerID)}; one BGP instance has one router ID, so such peers need the same routerID`,
      });
      continue;
    }
    const holder = group.identifiers.get(peer.identifier);
    if (holder !== undefined) {
      skipped.push({
        peer: peer.name,
        reason: `BGPPeer ${quote(holder)} already peers with the same address or interface from node ${node.name} in ${where}; FRR has one neighbor per address`,
      });
      continue;
    }
    group.identifiers.set(peer.identifier, peer.name);
    group.peers.push(peer);
  }
  const plain = new Map<string, SessionGroup>();
  for (const [vrf, group] of groups) {
    plain.set(vrf, {
      vrf,
      myASN: group.myASN,
      ...(group.routerID ? { routerID: group.routerID } : {}),
      peers: group.peers,
    });
  }
  return { groups: plain, skipped };
}
