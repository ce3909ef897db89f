import { describe, expect, it } from '@jest/globals';
import { node, peer, problemsOf } from './test-fixtures.js';

const rackA = [{ matchLabels: { rack: 'a' } }];
const rackB = [{ matchLabels: { rack: 'b' } }];
const nodes = [node('n1', { rack: 'a' }), node('n2', { rack: 'b' })];

describe('FRR: peers sharing a node', () => {
  it('rejects two peers to the same neighbour from one node', () => {
    const peers = [peer('r1', {}), peer('r2', { holdTime: '30s' })];
    expect(problemsOf({ peers, nodes })).toEqual([
      'BGPPeer/metallb-system/r2: spec.peerAddress: BGPPeer "r1" already peers with 192.0.2.1 on node "n1" in the default VRF; FRR holds one session per neighbour and VRF on a node, so merge the two peers or give them nodeSelectors that select different nodes',
    ]);
  });

  it('rejects two unnumbered peers on the same interface', () => {
    const peers = [
      peer('r1', { peerAddress: undefined, interface: 'eth1' }),
      peer('r2', { peerAddress: undefined, interface: 'eth1', holdTime: '30s' }),
    ];
    expect(problemsOf({ peers })).toEqual([
      'BGPPeer/metallb-system/r2: spec.interface: BGPPeer "r1" already peers with interface eth1 on the same nodes (their nodeSelectors can select a common node) in the default VRF; FRR holds one session per neighbour and VRF on a node, so merge the two peers or give them nodeSelectors that select different nodes',
    ]);
  });

  it('rejects a peer repeated word for word, whatever nodes it selects', () => {
    const peers = [peer('r1', { nodeSelectors: rackA }), peer('r2', { nodeSelectors: rackA })];
    expect(problemsOf({ peers, nodes: [node('n2', { rack: 'b' })] })).toEqual([
      'BGPPeer/metallb-system/r2: spec: is identical to BGPPeer "r1"; delete one of them',
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
    expect(problemsOf({ peers, nodes })).toEqual([
      'BGPPeer/metallb-system/r2: spec.myASN: 64600 differs from myASN 64512 of BGPPeer "r1", which also runs on node "n1" in the default VRF; FRR runs one BGP instance per VRF on a node, so these peers need the same myASN (localASN can present another AS number to one router)',
    ]);
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
    expect(problemsOf({ peers: differing, nodes })).toEqual([
      'BGPPeer/metallb-system/r2: spec.routerID: 192.0.2.11, but BGPPeer "r1", which also runs on node "n1" in the default VRF, has routerID 192.0.2.10; FRR has one router ID per BGP instance, so peers sharing a node and VRF must set the same routerID or all leave it unset',
    ]);
    const unset = [peer('r1', { routerID: '192.0.2.10' }), peer('r2', { peerAddress: '192.0.2.2' })];
    expect(problemsOf({ peers: unset, nodes })).toEqual([
      'BGPPeer/metallb-system/r2: spec.routerID: unset, but BGPPeer "r1", which also runs on node "n1" in the default VRF, has routerID 192.0.2.10; FRR has one router ID per BGP instance, so peers sharing a node and VRF must set the same routerID or all leave it unset',
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
