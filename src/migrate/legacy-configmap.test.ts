import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse } from 'yaml';
import { formatProblem } from '../api/problem.js';
import { buildConfig } from '../config/index.js';
import {
  configInputOf,
  migrateLegacyConfig,
  migrateLegacyConfigMap,
  type MigratedObject,
  type Migration,
} from './legacy-configmap.js';

function configMap(config: unknown, metadata: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'config', namespace: 'metallb-system', ...metadata },
    data: { config },
  };
}

const lines = (...text: string[]): string => text.join('\n') + '\n';

function migrate(...config: string[]): Migration {
  return migrateLegacyConfigMap(configMap(lines(...config)));
}

function fixture(name: string): unknown {
  return parse(readFileSync(`test/fixtures/legacy/${name}`, 'utf8'));
}

function find<K extends MigratedObject['kind']>(
  migration: Migration,
  kind: K,
  name: string,
): Extract<MigratedObject, { kind: K }> | undefined {
  return migration.objects.find(
    (object): object is Extract<MigratedObject, { kind: K }> =>
      object.kind === kind && object.metadata.name === name,
  );
}

const names = (migration: Migration): string[] =>
  migration.objects.map((object) => `${object.kind}/${object.metadata.name}`);
const fields = (problems: Migration['problems']): string[] => problems.map((problem) => problem.field);

function validate(migration: Migration): string[] {
  const result = buildConfig(configInputOf(migration));
  return result.ok ? [] : result.problems.map(formatProblem);
}

describe('migrating a layer2 ConfigMap', () => {
  const migration = migrateLegacyConfigMap(fixture('layer2.yaml'));

  it('turns each pool into an IPAddressPool of the same name, with an L2Advertisement for just that pool', () => {
    expect(migration.problems).toEqual([]);
    expect(migration.warnings).toEqual([]);
    expect(names(migration)).toEqual([
      'IPAddressPool/default',
      'IPAddressPool/reserved',
      'L2Advertisement/default-l2',
      'L2Advertisement/reserved-l2',
    ]);
    expect(find(migration, 'IPAddressPool', 'default')).toEqual({
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'default', namespace: 'metallb-system' },
      spec: { addresses: ['192.0.2.240-192.0.2.250', '198.51.100.0/24'] },
    });
    expect(find(migration, 'L2Advertisement', 'reserved-l2')?.spec).toEqual({ ipAddressPools: ['reserved'] });
  });

  it('carries auto-assign and avoid-buggy-ips over as autoAssign and avoidBuggyIPs', () => {
    expect(find(migration, 'IPAddressPool', 'reserved')?.spec).toEqual({
      addresses: ['203.0.113.0/28'],
      autoAssign: false,
      avoidBuggyIPs: true,
    });
  });

  it('produces a configuration the validator accepts', () => {
    expect(validate(migration)).toEqual([]);
  });
});

describe('migrating a BGP ConfigMap', () => {
  const migration = migrateLegacyConfigMap(fixture('bgp.yaml'));

  it('orders objects so that whatever is referred to comes first', () => {
    expect(migration.problems).toEqual([]);
    expect(names(migration)).toEqual([
      'BFDProfile/fast',
      'Community/migrated-communities',
      'IPAddressPool/public',
      'IPAddressPool/public-v6',
      'BGPPeer/peer-198-51-100-1',
      'BGPPeer/peer-2001-db8--1',
      'BGPAdvertisement/public-bgp-1',
      'BGPAdvertisement/public-bgp-2',
      'BGPAdvertisement/public-v6-bgp',
    ]);
  });

  it('maps every peer setting onto a v1beta2 BGPPeer named after the address', () => {
    expect(find(migration, 'BGPPeer', 'peer-198-51-100-1')).toEqual({
      apiVersion: 'metallb.io/v1beta2',
      kind: 'BGPPeer',
      metadata: { name: 'peer-198-51-100-1', namespace: 'metallb-system' },
      spec: {
        myASN: 64500,
        peerASN: 64501,
        peerAddress: '198.51.100.1',
        peerPort: 1179,
        sourceAddress: '198.51.100.2',
        holdTime: '90s',
        keepaliveTime: '30s',
        routerID: '198.51.100.100',
        password: 'not-a-real-secret',
        bfdProfile: 'fast',
        nodeSelectors: [
          {
            matchLabels: { rack: 'frontend' },
            matchExpressions: [
              { key: 'kubernetes.io/hostname', operator: 'In', values: ['node-1', 'node-2'] },
            ],
          },
        ],
      },
    });
    expect(find(migration, 'BGPPeer', 'peer-2001-db8--1')?.spec).toEqual({
      myASN: 64500,
      peerASN: 64502,
      peerAddress: '2001:db8::1',
      routerID: '198.51.100.100',
      ebgpMultiHop: true,
    });
  });

  it('keeps an inline password but warns, without repeating it, that a Secret is the place for it', () => {
    expect(migration.warnings).toHaveLength(1);
    const [warning] = migration.warnings;
    expect(warning?.field).toBe('data.config.peers[0].password');
    expect(warning?.message).toContain('passwordSecret');
    expect(warning?.message).toContain('BGPPeer metallb-system/peer-198-51-100-1');
    expect(warning?.message).not.toContain('not-a-real-secret');
  });

  it('turns bgp-communities into one Community whose aliases the advertisements name', () => {
    expect(find(migration, 'Community', 'migrated-communities')?.spec).toEqual({
      communities: [{ name: 'no-advertise', value: '65535:65282' }],
    });
    expect(find(migration, 'BGPAdvertisement', 'public-bgp-1')?.spec).toEqual({
      ipAddressPools: ['public'],
      aggregationLength: 32,
      localPref: 100,
      communities: ['no-advertise'],
    });
    expect(find(migration, 'BGPAdvertisement', 'public-bgp-2')?.spec).toEqual({
      ipAddressPools: ['public'],
      aggregationLength: 24,
      communities: ['64512:1'],
    });
  });

  it('gives a pool without bgp-advertisements the one default advertisement', () => {
    expect(find(migration, 'BGPAdvertisement', 'public-v6-bgp')?.spec).toEqual({
      ipAddressPools: ['public-v6'],
    });
  });

  it('turns each bfd-profile into a BFDProfile', () => {
    expect(find(migration, 'BFDProfile', 'fast')?.spec).toEqual({
      receiveInterval: 300,
      transmitInterval: 300,
      detectMultiplier: 3,
      echoInterval: 50,
      echoMode: false,
      passiveMode: false,
      minimumTtl: 254,
    });
  });

  it('produces a configuration the validator accepts', () => {
    expect(validate(migration)).toEqual([]);
  });
});

describe('migrating details', () => {
  it('names a single advertisement <pool>-bgp and keeps aggregation-length-v6', () => {
    const migration = migrate(
      'address-pools:',
      '- name: v6',
      '  protocol: bgp',
      '  addresses: [2001:db8:5::/64]',
      '  bgp-advertisements:',
      '  - aggregation-length-v6: 120',
    );
    expect(migration.problems).toEqual([]);
    expect(find(migration, 'BGPAdvertisement', 'v6-bgp')?.spec).toEqual({
      ipAddressPools: ['v6'],
      aggregationLengthV6: 120,
    });
  });

  it('converts node-selectors to label selectors, operators in any case and label values as written', () => {
    const migration = migrate(
      'peers:',
      '- peer-address: 198.51.100.1',
      '  peer-asn: 64501',
      '  my-asn: 64500',
      '  node-selectors:',
      '  - match-labels: {rack: 1, zone: yes}',
      '  - match-expressions:',
      '    - {key: rack, operator: notin, values: [a, b]}',
      '    - {key: gpu, operator: doesNotExist}',
      '  - {}',
    );
    expect(migration.problems).toEqual([]);
    expect(find(migration, 'BGPPeer', 'peer-198-51-100-1')?.spec?.nodeSelectors).toEqual([
      { matchLabels: { rack: '1', zone: 'yes' } },
      {
        matchExpressions: [
          { key: 'rack', operator: 'NotIn', values: ['a', 'b'] },
          { key: 'gpu', operator: 'DoesNotExist' },
        ],
      },
      {},
    ]);
  });

  it('reads values the way the legacy decoder did (YAML 1.1 booleans, strings as written)', () => {
    const migration = migrate(
      'peers:',
      '- peer-address: 198.51.100.1',
      '  peer-asn: 64501',
      '  my-asn: 64500',
      '  password: 0123',
      'address-pools:',
      '- name: default',
      '  protocol: layer2',
      '  addresses: [192.0.2.0/24]',
      '  auto-assign: no',
      '  avoid-buggy-ips: on',
    );
    expect(migration.problems).toEqual([]);
    expect(find(migration, 'BGPPeer', 'peer-198-51-100-1')?.spec?.password).toBe('0123');
    expect(find(migration, 'IPAddressPool', 'default')?.spec).toMatchObject({
      autoAssign: false,
      avoidBuggyIPs: true,
    });
  });

  it('follows YAML anchors and merge keys', () => {
    const migration = migrate(
      'peers:',
      '- &router {peer-asn: 64501, my-asn: 64500, peer-address: 198.51.100.1, hold-time: 30s}',
      '- <<: *router',
      '  peer-address: 198.51.100.2',
    );
    expect(migration.problems).toEqual([]);
    expect(find(migration, 'BGPPeer', 'peer-198-51-100-2')?.spec).toEqual({
      myASN: 64500,
      peerASN: 64501,
      peerAddress: '198.51.100.2',
      holdTime: '30s',
    });
  });

  it('names peers of the same address apart, deterministically', () => {
    const config = [
      'peers:',
      '- {peer-address: 198.51.100.1, peer-asn: 64501, my-asn: 64500}',
      '- {peer-address: 198.51.100.1, peer-asn: 64501, my-asn: 64500, peer-port: 1179}',
    ];
    expect(names(migrate(...config))).toEqual(['BGPPeer/peer-198-51-100-1', 'BGPPeer/peer-198-51-100-1-2']);
    expect(names(migrate(...config))).toEqual(names(migrate(...config)));
  });

  it('takes a hold-time without a unit as seconds, with a warning', () => {
    const migration = migrate(
      'peers:',
      '- {peer-address: 198.51.100.1, peer-asn: 64501, my-asn: 64500, hold-time: 120}',
    );
    expect(find(migration, 'BGPPeer', 'peer-198-51-100-1')?.spec?.holdTime).toBe('120s');
    expect(fields(migration.warnings)).toEqual(['data.config.peers[0].hold-time']);
  });

  it('places objects in --namespace, else the ConfigMap namespace, else metallb-system', () => {
    const config = lines('address-pools:', '- {name: a, protocol: layer2, addresses: [192.0.2.0/24]}');
    const namespaces = (migration: Migration) => migration.objects.map((object) => object.metadata.namespace);
    expect(namespaces(migrateLegacyConfigMap(configMap(config), { namespace: 'lb' }))).toEqual(['lb', 'lb']);
    expect(namespaces(migrateLegacyConfigMap(configMap(config, { namespace: 'old' })))).toEqual([
      'old',
      'old',
    ]);
    expect(namespaces(migrateLegacyConfigMap(configMap(config, { namespace: undefined })))).toEqual([
      'metallb-system',
      'metallb-system',
    ]);
  });

  it('migrates the text of a config key on its own, with paths relative to it', () => {
    const migration = migrateLegacyConfig(
      lines('address-pools:', '- {name: a, protocol: arp, addresses: [192.0.2.0/24]}'),
      { source: { kind: 'legacy config', name: 'config.yaml' } },
    );
    expect(migration.problems.map(formatProblem)).toEqual([
      'legacy config/config.yaml: address-pools[0].protocol: "arp" is not a protocol; use layer2 or bgp (layer2 replaced arp and ndp)',
    ]);
  });

  it('warns that an empty configuration has nothing to migrate', () => {
    const migration = migrateLegacyConfigMap(configMap(''));
    expect(migration.objects).toEqual([]);
    expect(migration.problems).toEqual([]);
    expect(migration.warnings.map(formatProblem)).toEqual([
      'ConfigMap/metallb-system/config: data.config: holds no address pools, peers or BFD profiles; there is nothing to migrate',
    ]);
  });
});

describe('what the migration does not carry over', () => {
  it('warns about every unknown key, with its path and the key probably meant', () => {
    const migration = migrateLegacyConfigMap(fixture('unknown-keys.yaml'));
    expect(migration.problems).toEqual([]);
    expect(migration.warnings.map(formatProblem)).toEqual([
      'ConfigMap/metallb-system/config: data.extra: MetalLB read only data.config; this key was not migrated',
      'ConfigMap/metallb-system/config: data.config.log-level: unknown key "log-level" is not part of the legacy configuration format and was not migrated',
      'ConfigMap/metallb-system/config: data.config.address-pools[0].cidr: unknown key "cidr" is not part of the legacy configuration format and was not migrated; did you mean "addresses"?',
      'ConfigMap/metallb-system/config: data.config.address-pools[0].bgp-advertisements[0].local-pref: unknown key "local-pref" is not part of the legacy configuration format and was not migrated; did you mean "localpref"?',
      'ConfigMap/metallb-system/config: data.config.peers[0].peer_port: unknown key "peer_port" is not part of the legacy configuration format and was not migrated; did you mean "peer-port"?',
    ]);
    expect(find(migration, 'BGPPeer', 'peer-198-51-100-1')?.spec?.peerPort).toBeUndefined();
  });

  it('refuses BGP advertisements on a layer2 pool, as the legacy controller did', () => {
    const migration = migrate(
      'address-pools:',
      '- name: a',
      '  protocol: layer2',
      '  addresses: [192.0.2.0/24]',
      '  bgp-advertisements: [{localpref: 100}]',
    );
    expect(fields(migration.problems)).toEqual(['data.config.address-pools[0].bgp-advertisements']);
  });
});

describe('malformed legacy configuration', () => {
  it('reports each wrong value at its path', () => {
    const migration = migrateLegacyConfigMap(fixture('malformed.yaml'));
    expect(migration.problems.map(formatProblem)).toEqual([
      'ConfigMap/metallb-system/config: data.config.address-pools[0].protocol: "layer3" is not a protocol; use layer2 or bgp',
      'ConfigMap/metallb-system/config: data.config.address-pools[1].name: is required',
      'ConfigMap/metallb-system/config: data.config.address-pools[1].addresses: must be a list of strings, not the string "198.51.100.0/24"',
      'ConfigMap/metallb-system/config: data.config.address-pools[1].auto-assign: must be true or false, not the string "no"',
      'ConfigMap/metallb-system/config: data.config.peers[0].peer-asn: must be a whole number, not the string "64501"',
      'ConfigMap/metallb-system/config: data.config.peers[0].node-selectors[0].match-expressions[0].operator: "Gt" has no label selector equivalent; use In, NotIn, Exists or DoesNotExist',
    ]);
  });

  it('reports YAML syntax errors at data.config with the line', () => {
    const migration = migrateLegacyConfigMap(configMap('address-pools: [unclosed\n'));
    expect(fields(migration.problems)).toEqual(['data.config']);
    expect(migration.problems[0]?.message).toMatch(/^invalid YAML: .*line \d+, column \d+/);
    expect(migration.objects).toEqual([]);
  });

  it('reports a ConfigMap without a string config key, and anything that is not a ConfigMap', () => {
    expect(migrateLegacyConfigMap({ ...configMap(''), data: {} }).problems.map(formatProblem)).toEqual([
      'ConfigMap/metallb-system/config: data.config: is required: it holds the legacy configuration',
    ]);
    expect(fields(migrateLegacyConfigMap(configMap({ peers: [] })).problems)).toEqual(['data.config']);
    expect(fields(migrateLegacyConfigMap({ apiVersion: 'v1', kind: 'Secret' }).problems)).toEqual(['kind']);
    expect(fields(migrateLegacyConfigMap('config').problems)).toEqual(['']);
  });

  it('reports lists and mappings of the wrong shape', () => {
    const migration = migrate('peers: {peer-address: 198.51.100.1}', 'address-pools:', '- just-a-name', '-');
    expect(fields(migration.problems)).toEqual([
      'data.config.address-pools[0]',
      'data.config.address-pools[1]',
      'data.config.peers',
    ]);
  });

  it('reports pool names Kubernetes cannot take, and pool names used twice', () => {
    const migration = migrate(
      'address-pools:',
      '- {name: Public_Pool, protocol: layer2, addresses: [192.0.2.0/25]}',
      '- {name: a, protocol: layer2, addresses: [192.0.2.128/26]}',
      '- {name: a, protocol: layer2, addresses: [192.0.2.192/26]}',
    );
    expect(migration.problems.map((problem) => `${problem.field}: ${problem.message}`)).toEqual([
      'data.config.address-pools[0].name: "Public_Pool" cannot be the name of a Kubernetes object: it must consist of lowercase letters, digits, "-" and ".", and start and end with a letter or digit; rename the address pool (and whatever refers to it) before migrating',
      'data.config.address-pools[2].name: address pool "a" is already defined at data.config.address-pools[1].name',
    ]);
  });

  it('reports missing peer fields, and drops the peer rather than guessing', () => {
    const migration = migrate('peers:', '- {peer-address: 198.51.100.1}');
    expect(fields(migration.problems)).toEqual([
      'data.config.peers[0].my-asn',
      'data.config.peers[0].peer-asn',
    ]);
    expect(migration.objects).toEqual([]);
  });

  it('stops alias expansion that would not end', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let level = 0; level < 6; level += 1) {
      bomb.push(
        `${String.fromCharCode(98 + level)}: &${String.fromCharCode(98 + level)} [${Array(10)
          .fill(`*${String.fromCharCode(97 + level)}`)
          .join(', ')}]`,
      );
    }
    const migration = migrate(...bomb);
    expect(fields(migration.problems)).toEqual(['data.config']);
    expect(migration.problems[0]?.message).toContain('YAML nodes');
  });

  it('never throws, whatever the ConfigMap or its text hold', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.string().map((text) => configMap(text)),
        ),
        (input) => {
          const migration = migrateLegacyConfigMap(input);
          expect(Array.isArray(migration.problems)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
    const legacyish = fc.dictionary(
      fc.constantFrom('peers', 'address-pools', 'bgp-communities', 'bfd-profiles', 'name', 'protocol'),
      fc.jsonValue(),
    );
    fc.assert(
      fc.property(legacyish, (config) => {
        const migration = migrateLegacyConfig(JSON.stringify(config));
        expect(Array.isArray(migration.objects)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
