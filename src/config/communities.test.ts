import { describe, expect, it } from '@jest/globals';
import { parseCommunity } from './communities.js';
import { bgpAd, community, configOf, pool, problemsOf, transientOf, warningsOf } from './test-fixtures.js';

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
      problemsOf({
        communities: [community('names', { communities: [{ name: 'bad', value: 'big:1:2:3' }] })],
      }),
    ).toEqual([
      `${where}: spec.communities[0].value: "big:1:2:3" has four parts but does not start with large:; a large community is large: and three numbers 0-4294967295 (large:64512:1:2)`,
    ]);
  });

  it('rejects an alias defined twice in one Community', () => {
    const names = community('names', {
      communities: [
        { name: 'edge', value: '64512:1' },
        { name: 'edge', value: '64512:2' },
      ],
    });
    expect(problemsOf({ communities: [names] })).toEqual([
      `${where}: spec.communities[1].name: alias "edge" is already defined at spec.communities[0]; define each alias once`,
    ]);
  });

  it('rejects an alias defined again in another Community', () => {
    const first = community('first', { communities: [{ name: 'edge', value: '64512:1' }] });
    const second = community('names', { communities: [{ name: 'edge', value: '64512:1' }] });
    expect(problemsOf({ communities: [first, second] })).toEqual([
      `${where}: spec.communities[0].name: alias "edge" is already defined at spec.communities[0] of Community "first"; define each alias once`,
    ]);
  });

  it('rejects an alias without a name or a value', () => {
    expect(
      problemsOf({
        communities: [community('names', { communities: [{ value: '64512:1' }, { name: 'x' }] })],
      }),
    ).toEqual([
      `${where}: spec.communities[0].name: missing; an alias needs the name advertisements will refer to it by`,
      `${where}: spec.communities[1].value: missing; give the community the alias stands for: a standard community is two numbers 0-65535 (64512:100), a large community is large: and three numbers 0-4294967295 (large:64512:1:2)`,
    ]);
  });

  it('warns about an alias name with a colon, which no advertisement can use', () => {
    const input = { communities: [community('names', { communities: [{ name: 'a:b', value: '64512:1' }] })] };
    expect(problemsOf(input)).toEqual([]);
    expect(warningsOf(input)).toEqual([
      `${where}: spec.communities[0].name: "a:b" contains ':', so advertisements will read it as a community value, never as this alias; choose a name without ':'`,
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
  const where = 'BGPAdvertisement/metallb-system/ad';
  const pools = [pool('a', { addresses: ['192.0.2.0/24'] })];

  it('reports an alias that no Community defines as transient', () => {
    const input = { pools, bgpAdvertisements: [bgpAd('ad', { communities: ['no-export'] })] };
    expect(problemsOf(input)).toEqual([
      `${where}: spec.communities[0]: "no-export" is neither a community value nor an alias defined by a Community object; define the alias in a Community, or write the value itself (64512:100 or large:64512:1:2)`,
    ]);
    expect(transientOf(input)).toEqual([true]);
  });

  it('rejects a malformed community value at once, not as a missing alias', () => {
    const input = { pools, bgpAdvertisements: [bgpAd('ad', { communities: ['64512:70000'] })] };
    expect(problemsOf(input)).toEqual([
      `${where}: spec.communities[0]: "70000" in "64512:70000" is not a number 0-65535; a standard community is two numbers 0-65535 (64512:100)`,
    ]);
    expect(transientOf(input)).toEqual([false]);
  });

  it('rejects a community listed twice', () => {
    expect(
      problemsOf({ pools, bgpAdvertisements: [bgpAd('ad', { communities: ['64512:1', '64512:1'] })] }),
    ).toEqual([
      `${where}: spec.communities[1]: "64512:1" is already listed at communities[0]; list each community once`,
    ]);
  });

  it('rejects more than 63 communities and accepts 63', () => {
    const values = (count: number) => Array.from({ length: count }, (_, i) => `64512:${i}`);
    expect(problemsOf({ pools, bgpAdvertisements: [bgpAd('ad', { communities: values(64) })] })).toEqual([
      `${where}: spec.communities: 64 communities listed; FRR attaches at most 63 to a route, so split them across advertisements or drop some`,
    ]);
    expect(problemsOf({ pools, bgpAdvertisements: [bgpAd('ad', { communities: values(63) })] })).toEqual([]);
  });
});
