import { describe, expect, it } from '@jest/globals';
import { findingsOf, problemsOf } from '../../test/support/config.js';
import { node } from '../../test/support/kube-objects.js';
import { peer } from '../../test/support/metallb-objects.js';

const rackA = [{ matchLabels: { rack: 'a' } }];
const rackB = [{ matchLabels: { rack: 'b' } }];
const nodes = [node('n1', { rack: 'a' }), node('n2', { rack: 'b' })];

describe('FRR: peers sharing a node', () => {
  it('rejects two peers to the same neighbour from one node', () => {
    const peers = [
      peer('r1', { peerAddress: '192.0.2.1' }),
      peer('r2', { peerAddress: '192.0.2.1', holdTime: '30s' }),
    ];
    expect(problemsOf({ peers, nodes })).toEqual([
      'BGPPeer/metallb-system/r2: spec.peerAddress: BGPPeer "r1" already peers with 192.0.2.1 on node "n1" in the default VRF; FRR holds one session per neighbour and VRF on a node, so merge the two peers or give them nodeSelectors that select different nodes',
    ]);
  });

  it('rejects two unnumbered peers on the same interface', () => {
    const peers = [
      peer('r1', { peerAddress: undefined, interface: 'eth1' }),
      peer('r2', { peerAddress: undefined, interface: 'eth1', holdTime: '30s' }),
    ];
    expect(findingsOf({ peers })).toEqual(['peer.sameNeighbour BGPPeer/metallb-system/r2 spec.interface']);
  });

  it('rejects a peer repeated word for word, whatever nodes it selects', () => {
    const peers = [peer('r1', { nodeSelectors: rackA }), peer('r2', { nodeSelectors: rackA })];
    expect(findingsOf({ peers, nodes: [node('n2', { rack: 'b' })] })).toEqual([
      'peer.duplicate BGPPeer/metallb-system/r2 spec',
    ]);
  });

  it('accepts the same neighbour from different nodes or in different VRFs', () => {
    expect(
      problemsOf({
        peers: [peer('r1', { nodeSelectors: rackA }), peer('r2', { nodeSelectors: rackB })],
        nodes,
      }),
    ).toEqual([]);
    expect(
      problemsOf({ peers: [peer('r1', { nodeSelectors: rackA }), peer('r2', { nodeSelectors: rackB })] }),
    ).toEqual([]);
    expect(problemsOf({ peers: [peer('r1', {}), peer('r2', { vrf: 'red' })] })).toEqual([]);
  });

  it('rejects different myASNs in one VRF on one node', () => {
    const peers = [peer('r1', {}), peer('r2', { myASN: 64600, peerAddress: '192.0.2.2' })];
    expect(findingsOf({ peers, nodes })).toEqual(['peer.myASNConflict BGPPeer/metallb-system/r2 spec.myASN']);
  });

  it('accepts different myASNs in different VRFs or on different nodes', () => {
    expect(
      problemsOf({
        peers: [peer('r1', {}), peer('r2', { myASN: 64600, peerAddress: '192.0.2.2', vrf: 'red' })],
      }),
    ).toEqual([]);
    const peers = [
      peer('r1', { nodeSelectors: rackA }),
      peer('r2', { myASN: 64600, peerAddress: '192.0.2.2', nodeSelectors: rackB }),
    ];
    expect(problemsOf({ peers, nodes })).toEqual([]);
  });

  it('rejects different routerIDs in one VRF on one node, including set against unset', () => {
    const differing = [
      peer('r1', { routerID: '192.0.2.10' }),
      peer('r2', { routerID: '192.0.2.11', peerAddress: '192.0.2.2' }),
    ];
    expect(findingsOf({ peers: differing, nodes })).toEqual([
      'peer.routerIDConflict BGPPeer/metallb-system/r2 spec.routerID',
    ]);
    const unset = [peer('r1', { routerID: '192.0.2.10' }), peer('r2', { peerAddress: '192.0.2.2' })];
    expect(findingsOf({ peers: unset, nodes })).toEqual([
      'peer.routerIDConflict BGPPeer/metallb-system/r2 spec.routerID',
    ]);
  });

  it('accepts the same routerID on every peer of a node, and different ones on different nodes', () => {
    const same = [
      peer('r1', { routerID: '192.0.2.10' }),
      peer('r2', { routerID: '192.0.2.10', peerAddress: '192.0.2.2' }),
    ];
    expect(problemsOf({ peers: same, nodes })).toEqual([]);
    const apart = [
      peer('r1', { routerID: '192.0.2.10', nodeSelectors: rackA }),
      peer('r2', { routerID: '192.0.2.11', peerAddress: '192.0.2.2', nodeSelectors: rackB }),
    ];
    expect(problemsOf({ peers: apart, nodes })).toEqual([]);
  });

  it('judges node sharing by the Nodes when they are given', () => {
    const peers = [
      peer('r1', { nodeSelectors: rackA }),
      peer('r2', { myASN: 64600, peerAddress: '192.0.2.2', nodeSelectors: [{ matchLabels: { zone: 'x' } }] }),
    ];
    // The selectors could meet on a node labelled with both, so offline this is a conflict...
    expect(problemsOf({ peers })).toHaveLength(1);
    // ...but no such node exists.
    expect(problemsOf({ peers, nodes })).toEqual([]);
  });
});
