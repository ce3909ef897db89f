import { describe, expect, it } from '@jest/globals';
import { decideAdmission, type ClusterView } from './admission-policy.js';
import type { AdmissionRequest } from './server.js';

const ns = 'metallb-system';
const emptyView: ClusterView = {
  pools: [],
  l2Advertisements: [],
  bgpAdvertisements: [],
  peers: [],
  bfdProfiles: [],
  communities: [],
  secrets: [],
  nodes: [],
  namespaces: [],
};

function object(
  kind: string,
  name: string,
  spec: Record<string, unknown>,
  apiVersion = 'metallb.io/v1beta1',
) {
  return { apiVersion, kind, metadata: { name, namespace: ns }, spec };
}

function request(
  operation: AdmissionRequest['operation'],
  obj: Record<string, unknown>,
  namespace = ns,
): AdmissionRequest {
  const kind = obj.kind as string;
  const version = (obj.apiVersion as string).split('/')[1] as string;
  return {
    uid: 'u',
    kind: { group: 'metallb.io', version, kind },
    operation,
    name: (obj.metadata as { name: string }).name,
    namespace,
    object: operation === 'DELETE' ? null : obj,
    oldObject: operation === 'DELETE' ? obj : null,
  };
}

const pool = (name: string, addresses: string[]) => object('IPAddressPool', name, { addresses });
const peer = (name: string, spec: Record<string, unknown>) =>
  object('BGPPeer', name, spec, 'metallb.io/v1beta2');

describe('admission', () => {
  it('rejects a pool that overlaps an existing one, saying which', () => {
    const view = { ...emptyView, pools: [pool('first', ['192.0.2.0/24'])] };
    const verdict = decideAdmission(request('CREATE', pool('second', ['192.0.2.128/25'])), view, ns);
    expect(verdict.allowed).toBe(false);
    expect(verdict.message).toMatch(
      /^IPAddressPool\/metallb-system\/second: spec\.addresses\[0\]: .*192\.0\.2\.0\/24/,
    );
  });

  it('admits an adjacent pool', () => {
    const view = { ...emptyView, pools: [pool('first', ['192.0.2.0/25'])] };
    expect(decideAdmission(request('CREATE', pool('second', ['192.0.2.128/25'])), view, ns)).toEqual({
      allowed: true,
    });
  });

  it('lets an update replace the object rather than overlap with its old self', () => {
    const view = { ...emptyView, pools: [pool('first', ['192.0.2.0/24'])] };
    expect(decideAdmission(request('UPDATE', pool('first', ['192.0.2.0/25'])), view, ns).allowed).toBe(true);
  });

  it('rejects objects outside the MetalLB namespace', () => {
    const verdict = decideAdmission(request('CREATE', pool('p', ['192.0.2.0/24']), 'default'), emptyView, ns);
    expect(verdict.allowed).toBe(false);
    expect(verdict.message).toMatch(
      /metadata\.namespace: MetalLB resources must be created in namespace metallb-system/,
    );
  });

  it('admits a peer before the BFD profile it names, and an ad before its pool', () => {
    const withProfile = peer('r1', {
      myASN: 64512,
      peerASN: 64513,
      peerAddress: '192.0.2.1',
      bfdProfile: 'fast',
    });
    expect(decideAdmission(request('CREATE', withProfile), emptyView, ns).allowed).toBe(true);
    const ad = object('BGPAdvertisement', 'ad', { ipAddressPools: ['later'] });
    expect(decideAdmission(request('CREATE', ad), emptyView, ns).allowed).toBe(true);
  });

  it('rejects an iBGP peer with ebgpMultiHop', () => {
    const bad = peer('r1', { myASN: 64512, peerASN: 64512, peerAddress: '192.0.2.1', ebgpMultiHop: true });
    const verdict = decideAdmission(request('CREATE', bad), emptyView, ns);
    expect(verdict.allowed).toBe(false);
    expect(verdict.message).toMatch(/BGPPeer\/metallb-system\/r1: spec\.ebgpMultiHop/);
  });

  it('does not block an unrelated change because of a problem already in the cluster', () => {
    const view = { ...emptyView, pools: [pool('a', ['192.0.2.0/24']), pool('b', ['192.0.2.0/25'])] };
    expect(decideAdmission(request('CREATE', pool('c', ['203.0.113.0/24'])), view, ns).allowed).toBe(true);
  });

  it('denies deleting a BFD profile a peer uses, and allows it once unused', () => {
    const profile = object('BFDProfile', 'fast', {});
    const user = peer('r1', { myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.1', bfdProfile: 'fast' });
    const verdict = decideAdmission(
      request('DELETE', profile),
      { ...emptyView, bfdProfiles: [profile], peers: [user] },
      ns,
    );
    expect(verdict.allowed).toBe(false);
    expect(verdict.message).toMatch(/BGPPeer r1 uses this profile/);
    expect(
      decideAdmission(request('DELETE', profile), { ...emptyView, bfdProfiles: [profile] }, ns).allowed,
    ).toBe(true);
  });

  it('applies the MetalLB resource rules', () => {
    const metallb = object('MetalLB', 'metallb', {
      speakerTolerations: [{ key: 'a', effect: 'NoSchedule', tolerationSeconds: 5 }],
    });
    const verdict = decideAdmission(request('CREATE', metallb), emptyView, ns);
    expect(verdict.allowed).toBe(false);
    expect(verdict.message).toMatch(/tolerationSeconds only applies to effect NoExecute/);
  });
});
