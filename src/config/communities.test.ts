import { describe, expect, it } from '@jest/globals';
import { parseCommunity } from './communities.js';
import {
  configOf,
  findingsOf,
  problemsOf,
  transientOf,
  warningFindingsOf,
} from '../../test/support/config.js';
import { bgpAd, community, pool } from '../../test/support/metallb-objects.js';

describe('community values', () => {
  it.each([
    ['64512:100', { kind: 'standard', text: '64512:100', asn: 64512, value: 100 }],
    ['0:0', { kind: 'standard', text: '0:0', asn: 0, value: 0 }],
    ['65535:65282', { kind: 'standard', text: '65535:65282', asn: 65535, value: 65282 }],
    [
      'large:4294967295:1:2',
      {
        kind: 'large',
        text: 'large:4294967295:1:2',
        globalAdministrator: 4294967295,
        localData1: 1,
        localData2: 2,
      },
    ],
  ])('parses %s', (text, community) => {
    expect(parseCommunity(text)).toEqual({ ok: true, community });
  });

  it.each([
    ['65536:1', 'value'],
    ['1:-1', 'value'],
    ['large:1:2:4294967296', 'value'],
    ['huge:1:2:3', 'value'],
    ['12345', 'format'],
    ['1:2:3', 'format'],
    ['no-export', 'format'],
  ])('refuses %s (%s error)', (text, error) => {
    expect(parseCommunity(text)).toMatchObject({ ok: false, error });
  });
});

describe('Community aliases', () => {
  const where = 'Community/metallb-system/names';

  it('rejects an alias whose value is not a community', () => {
    expect(
      problemsOf({ communities: [community('names', { communities: [{ name: 'bad', value: '70000:1' }] })] }),
    ).toEqual([
      `${where}: spec.communities[0].value: "70000" in "70000:1" is not a number 0-65535; a standard community is two numbers 0-65535 (64512:100)`,
    ]);
  });

  it('rejects a large community without the large: marker', () => {
    expect(
      findingsOf({
        communities: [community('names', { communities: [{ name: 'bad', value: 'big:1:2:3' }] })],
      }),
    ).toEqual(['community.invalid Community/metallb-system/names spec.communities[0].value']);
  });

  it('rejects an alias defined twice in one Community', () => {
    const names = community('names', {
      communities: [
        { name: 'edge', value: '64512:1' },
        { name: 'edge', value: '64512:2' },
      ],
    });
    expect(findingsOf({ communities: [names] })).toEqual([
      'community.duplicateAlias Community/metallb-system/names spec.communities[1].name',
    ]);
  });

  it('rejects an alias defined again in another Community', () => {
    const first = community('first', { communities: [{ name: 'edge', value: '64512:1' }] });
    const second = community('names', { communities: [{ name: 'edge', value: '64512:1' }] });
    expect(findingsOf({ communities: [first, second] })).toEqual([
      'community.duplicateAlias Community/metallb-system/names spec.communities[0].name',
    ]);
  });

  it('rejects an alias without a name or a value', () => {
    expect(
      findingsOf({
        communities: [community('names', { communities: [{ value: '64512:1' }, { name: 'x' }] })],
      }),
    ).toEqual([
      'field.required Community/metallb-system/names spec.communities[0].name',
      'field.required Community/metallb-system/names spec.communities[1].value',
    ]);
  });

  it('warns about an alias name with a colon, which no advertisement can use', () => {
    const input = { communities: [community('names', { communities: [{ name: 'a:b', value: '64512:1' }] })] };
    expect(problemsOf(input)).toEqual([]);
    expect(warningFindingsOf(input)).toEqual([
      'community.aliasNameHasColon Community/metallb-system/names spec.communities[0].name',
    ]);
  });

  it('resolves aliases in advertisements, standard and large', () => {
    const config = configOf({
      pools: [pool('a', { addresses: ['192.0.2.0/24'] })],
      communities: [
        community('names', {
          communities: [
            { name: 'no-advertise', value: '65535:65282' },
            { name: 'east', value: 'large:64512:1:100' },
          ],
        }),
      ],
      bgpAdvertisements: [bgpAd('ad', { communities: ['no-advertise', '64512:7', 'east'] })],
    });
    expect(config.bgpAdvertisements.get('ad')?.communities.map((c) => c.text)).toEqual([
      '65535:65282',
      '64512:7',
      'large:64512:1:100',
    ]);
    expect([...config.communityAliases.keys()]).toEqual(['east', 'no-advertise']);
  });
});

describe('communities in BGPAdvertisements', () => {
  const pools = [pool('a', { addresses: ['192.0.2.0/24'] })];

  it('reports an alias that no Community defines as transient', () => {
    const input = { pools, bgpAdvertisements: [bgpAd('ad', { communities: ['no-export'] })] };
    expect(findingsOf(input)).toEqual([
      'community.unknownAlias BGPAdvertisement/metallb-system/ad spec.communities[0]',
    ]);
    expect(transientOf(input)).toEqual([true]);
  });

  it('rejects a malformed community value at once, not as a missing alias', () => {
    const input = { pools, bgpAdvertisements: [bgpAd('ad', { communities: ['64512:70000'] })] };
    expect(findingsOf(input)).toEqual([
      'community.invalid BGPAdvertisement/metallb-system/ad spec.communities[0]',
    ]);
    expect(transientOf(input)).toEqual([false]);
  });

  it('rejects a community listed twice', () => {
    expect(
      findingsOf({ pools, bgpAdvertisements: [bgpAd('ad', { communities: ['64512:1', '64512:1'] })] }),
    ).toEqual(['list.duplicate BGPAdvertisement/metallb-system/ad spec.communities[1]']);
  });

  it('rejects more than 63 communities and accepts 63', () => {
    const values = (count: number) => Array.from({ length: count }, (_, i) => `64512:${i}`);
    expect(findingsOf({ pools, bgpAdvertisements: [bgpAd('ad', { communities: values(64) })] })).toEqual([
      'ad.tooManyCommunities BGPAdvertisement/metallb-system/ad spec.communities',
    ]);
    expect(problemsOf({ pools, bgpAdvertisements: [bgpAd('ad', { communities: values(63) })] })).toEqual([]);
  });
});
