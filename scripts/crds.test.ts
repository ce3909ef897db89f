import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { parse } from 'yaml';

interface CrdVersion {
  name: string;
  storage: boolean;
  served: boolean;
  subresources?: { status?: object };
  schema: { openAPIV3Schema: { properties: Record<string, unknown> } };
}
interface Crd {
  metadata: { name: string };
  spec: { group: string; names: { kind: string }; versions: CrdVersion[] };
}

const crds: Crd[] = readdirSync('crds').map((file) => parse(readFileSync(`crds/${file}`, 'utf8')) as Crd);
const byKind = new Map(crds.map((crd) => [crd.spec.names.kind, crd]));

describe('generated CRDs', () => {
  it('hold one CRD per kind of the API', () => {
    expect([...byKind.keys()].sort()).toEqual(
      [
        'BFDProfile',
        'BGPAdvertisement',
        'BGPPeer',
        'BGPSessionState',
        'Community',
        'IPAddressPool',
        'L2Advertisement',
        'MetalLB',
        'ServiceBGPStatus',
        'ServiceL2Status',
      ].sort(),
    );
    for (const crd of crds) expect(crd.spec.group).toBe('metallb.io');
  });

  it('serve BGPPeer as v1beta1 and v1beta2, storing v1beta2', () => {
    const versions = byKind.get('BGPPeer')?.spec.versions ?? [];
    expect(versions.map((v) => [v.name, v.served, v.storage])).toEqual([
      ['v1beta1', true, false],
      ['v1beta2', true, true],
    ]);
  });

  it('give every kind with a status the status subresource', () => {
    for (const crd of crds) {
      for (const version of crd.spec.versions) {
        const hasStatus = 'status' in version.schema.openAPIV3Schema.properties;
        expect([crd.metadata.name, version.name, Boolean(version.subresources?.status)]).toEqual([
          crd.metadata.name,
          version.name,
          hasStatus,
        ]);
      }
    }
    expect(byKind.get('IPAddressPool')?.spec.versions[0]?.subresources?.status).toBeDefined();
    expect(byKind.get('MetalLB')?.spec.versions[0]?.subresources?.status).toBeDefined();
  });

  it('contain no unresolved $ref, which a CRD cannot carry', () => {
    for (const file of readdirSync('crds')) expect(readFileSync(`crds/${file}`, 'utf8')).not.toMatch(/\$ref/);
  });
});
