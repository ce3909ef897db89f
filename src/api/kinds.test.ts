import { describe, expect, it } from '@jest/globals';
import {
  apiKinds,
  configInputKeys,
  configInputOf,
  configKinds,
  isConfigKind,
  sortIntoConfigLists,
  storageApiVersion,
} from './kinds.js';
import { apiSchemas } from './schemas.generated.js';

describe('the registry of kinds generated from api/', () => {
  it('lists buildConfig inputs in the order buildConfig reads them, which orders its problems', () => {
    expect(configInputKeys).toEqual([
      'pools',
      'l2Advertisements',
      'bgpAdvertisements',
      'peers',
      'bfdProfiles',
      'communities',
    ]);
  });

  it('places each configuration kind in its input list and leaves other kinds out', () => {
    expect(configInputOf('IPAddressPool')).toBe('pools');
    expect(configInputOf('BGPPeer')).toBe('peers');
    expect(configInputOf('MetalLB')).toBeUndefined();
    expect(configInputOf('ServiceBGPStatus')).toBeUndefined();
    expect(configInputOf('Secret')).toBeUndefined();
    expect(configInputOf('toString')).toBeUndefined();
    expect(isConfigKind('Community')).toBe(true);
    expect(isConfigKind('MetalLB')).toBe(false);
  });

  it('names the storage version first among the served ones', () => {
    expect(storageApiVersion('BGPPeer')).toBe('metallb.io/v1beta2');
    expect(apiKinds.BGPPeer.apiVersions).toEqual(['metallb.io/v1beta2', 'metallb.io/v1beta1']);
    expect(apiKinds.IPAddressPool.apiVersions).toEqual(['metallb.io/v1beta1']);
  });

  it('agrees with the schema table on every kind, plural and served version', () => {
    const fromSchemas = apiSchemas.map((entry) => `${entry.apiVersion} ${entry.kind} ${entry.plural}`).sort();
    const fromRegistry = Object.values(apiKinds)
      .flatMap((entry) =>
        entry.apiVersions.map((apiVersion) => `${apiVersion} ${entry.kind} ${entry.plural}`),
      )
      .sort();
    expect(fromRegistry).toEqual(fromSchemas);
  });

  it('sorts objects into the input list of their kind, keeping their order', () => {
    const meta = (name: string) => ({ name, namespace: 'metallb-system' });
    const lists = sortIntoConfigLists([
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: meta('a'),
        spec: { addresses: [] },
      },
      { apiVersion: 'metallb.io/v1beta1', kind: 'BFDProfile', metadata: meta('fast'), spec: {} },
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: meta('b'),
        spec: { addresses: [] },
      },
    ]);
    expect(lists.pools.map((pool) => pool.metadata.name)).toEqual(['a', 'b']);
    expect(lists.bfdProfiles.map((profile) => profile.metadata.name)).toEqual(['fast']);
    expect(lists.peers).toEqual([]);
    expect(Object.keys(lists)).toEqual(configInputKeys);
    expect(configKinds).toHaveLength(configInputKeys.length);
  });
});
