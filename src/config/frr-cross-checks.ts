/**
 * FRR runs one BGP instance per VRF on a node, so the peers a node opens sessions to must agree on what
 * belongs to that instance (myASN, routerID) and must not name the same neighbour twice. These rules apply
 * only to peers that share a node: by the Node objects when they are known, otherwise by whether the peers'
 * nodeSelectors can select a common node.
 */
import type { ParsedPeer } from './peers.js';
import { formatAddress } from '../net/ip.js';
import { quote } from './read.js';
import type { ProblemCode } from '../api/problem.js';
import { selectorListsCanOverlap } from './selectors.js';

/** The node two peers both run on: a name, '' when known only to be possible, undefined when none. */
const nodeSets = new WeakMap<ParsedPeer, ReadonlySet<string>>();

function nodeSetOf(parsed: ParsedPeer): ReadonlySet<string> {
  let set = nodeSets.get(parsed);
  if (!set) {
    set = new Set(parsed.peer.nodes);
    nodeSets.set(parsed, set);
  }
  return set;
}

function sharedNode(a: ParsedPeer, b: ParsedPeer, nodesKnown: boolean): string | undefined {
  if (!nodesKnown)
    return selectorListsCanOverlap(a.peer.nodeSelectors, b.peer.nodeSelectors) ? '' : undefined;
  const nodesOfA = nodeSetOf(a);
  return b.peer.nodes.find((node) => nodesOfA.has(node));
}

function onNode(node: string, vrf: string): string {
  const where = node
    ? `on node ${quote(node)}`
    : 'on the same nodes (their nodeSelectors can select a common node)';
  return `${where} in ${vrf ? `VRF ${quote(vrf)}` : 'the default VRF'}`;
}

function neighbourField(parsed: ParsedPeer): string {
  return parsed.peer.target.kind === 'address' ? 'spec.peerAddress' : 'spec.interface';
}

function neighbour(parsed: ParsedPeer): string {
  const { target } = parsed.peer;
  return target.kind === 'address' ? formatAddress(target.address) : `interface ${target.interface}`;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** One neighbour per VRF on a node; a peer repeated word for word is reported as such. */
function checkDuplicateNeighbours(peers: readonly ParsedPeer[], nodesKnown: boolean): void {
  for (const group of groupBy(peers, (parsed) => parsed.peer.identifier).values()) {
    group.forEach((later, index) => {
      for (let i = 0; i < index; i += 1) {
        const earlier = group[i] as ParsedPeer;
        if (earlier.specKey === later.specKey) {
          later.source.report.problem(
            'peer.duplicate',
            'spec',
            `is identical to BGPPeer ${quote(earlier.source.name)}; delete one of them`,
          );
          return;
        }
        const node = sharedNode(earlier, later, nodesKnown);
        if (node === undefined) continue;
        later.source.report.problem(
          'peer.sameNeighbour',
          neighbourField(later),
          `BGPPeer ${quote(earlier.source.name)} already peers with ${neighbour(later)} ${onNode(node, later.peer.vrf)}; FRR holds one session per neighbour and VRF on a node, so merge the two peers or give them nodeSelectors that select different nodes`,
        );
        return;
      }
    });
  }
}

interface InstanceRule {
  readonly code: ProblemCode;
  readonly field: string;
  readonly value: (parsed: ParsedPeer) => string;
  readonly message: (later: ParsedPeer, earlier: ParsedPeer, where: string) => string;
}

const routerIdOf = (parsed: ParsedPeer): string =>
  parsed.peer.routerID ? formatAddress(parsed.peer.routerID) : '';

const instanceRules: readonly InstanceRule[] = [
  {
    code: 'peer.myASNConflict',
    field: 'spec.myASN',
    value: (parsed) => String(parsed.peer.myASN),
    message: (later, earlier, where) =>
      `${later.peer.myASN} differs from myASN ${earlier.peer.myASN} of BGPPeer ${quote(earlier.source.name)}, which also runs ${where}; FRR runs one BGP instance per VRF on a node, so these peers need the same myASN (localASN can present another AS number to one router)`,
  },
  {
    code: 'peer.routerIDConflict',
    field: 'spec.routerID',
    value: routerIdOf,
    message: (later, earlier, where) => {
      const mine = routerIdOf(later) || 'unset';
      const theirs = routerIdOf(earlier) ? `routerID ${routerIdOf(earlier)}` : 'no routerID';
      return `${mine}, but BGPPeer ${quote(earlier.source.name)}, which also runs ${where}, has ${theirs}; FRR has one router ID per BGP instance, so peers sharing a node and VRF must set the same routerID or all leave it unset`;
    },
  },
];

/** Within each VRF, peers that share a node must agree on the instance's myASN and routerID. */
function checkInstanceAgreement(peers: readonly ParsedPeer[], nodesKnown: boolean): void {
  for (const vrfPeers of groupBy(peers, (parsed) => parsed.peer.vrf).values()) {
    for (const rule of instanceRules) {
      const values = groupBy(vrfPeers, rule.value);
      if (values.size < 2) continue;
      vrfPeers.forEach((later, index) => {
        const mine = rule.value(later);
        for (let i = 0; i < index; i += 1) {
          const earlier = vrfPeers[i] as ParsedPeer;
          if (rule.value(earlier) === mine) continue;
          const node = sharedNode(earlier, later, nodesKnown);
          if (node === undefined) continue;
          later.source.report.problem(
            rule.code,
            rule.field,
            rule.message(later, earlier, onNode(node, later.peer.vrf)),
          );
          return;
        }
      });
    }
  }
}

export function checkFrrPeers(peers: readonly ParsedPeer[], nodesKnown: boolean): void {
  const judged = peers.filter((parsed) => parsed.nodesComplete);
  checkDuplicateNeighbours(judged, nodesKnown);
  checkInstanceAgreement(judged, nodesKnown);
}
