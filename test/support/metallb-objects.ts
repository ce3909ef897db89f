/**
 * Builders for MetalLB's configuration objects as users write them: small, typed, in the metallb-system
 * namespace, with documentation addresses and private ASNs.
 */
import type {
  BFDProfile,
  BFDProfileSpec,
  BGPAdvertisement,
  BGPAdvertisementSpec,
  BGPPeer,
  BGPPeerSpec,
  Community,
  CommunitySpec,
  IPAddressPool,
  IPAddressPoolSpec,
  L2Advertisement,
  L2AdvertisementSpec,
} from '../../src/api/types.generated.js';

export const ns = 'metallb-system';

export interface Meta {
  readonly labels?: Record<string, string>;
  readonly namespace?: string;
}

export function metadata(name: string, meta: Meta = {}) {
  return { name, namespace: meta.namespace ?? ns, ...(meta.labels ? { labels: meta.labels } : {}) };
}

export function pool(name: string, spec: Partial<IPAddressPoolSpec>, meta?: Meta): IPAddressPool {
  return {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: metadata(name, meta),
    spec: { addresses: [], ...spec },
  };
}

export function peer(name: string, spec: Partial<BGPPeerSpec>, meta?: Meta): BGPPeer {
  return {
    apiVersion: 'metallb.io/v1beta2',
    kind: 'BGPPeer',
    metadata: metadata(name, meta),
    spec: { myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.254', ...spec },
  };
}

export function bgpAd(name: string, spec: BGPAdvertisementSpec = {}, meta?: Meta): BGPAdvertisement {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'BGPAdvertisement', metadata: metadata(name, meta), spec };
}

export function l2Ad(name: string, spec: L2AdvertisementSpec = {}, meta?: Meta): L2Advertisement {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: metadata(name, meta), spec };
}

export function bfd(name: string, spec: BFDProfileSpec, meta?: Meta): BFDProfile {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'BFDProfile', metadata: metadata(name, meta), spec };
}

export function community(name: string, spec: CommunitySpec, meta?: Meta): Community {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'Community', metadata: metadata(name, meta), spec };
}
