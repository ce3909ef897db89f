import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { formatProblem } from '../api/problem.js';
import { buildConfig, type ConfigInput } from './index.js';
import { stringify } from 'yaml';
import { apiKindEntries } from '../api/kinds.js';
import { migrateLegacyConfig, migrateLegacyConfigMap } from '../migrate/legacy-configmap.js';
import { decideAdmission, type ClusterView } from '../webhook/admission-policy.js';
import type { AdmissionRequest } from '../webhook/server.js';
import { validateMetalLB } from './metallb.js';
import { checkStandalone } from './objects.js';
import { pool } from '../../test/support/metallb-objects.js';

/** Values of every JavaScript shape, including ones JSON cannot produce (a caller may hand us anything). */
const hostile = fc.anything({
  withNullPrototype: true,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withSparseArray: true,
  withTypedArray: true,
  withObjectString: true,
  key: fc.oneof(
    fc.string(),
    fc.constantFrom('__proto__', 'constructor', 'toString', 'spec', 'metadata', 'name'),
  ),
});

const plausibleStrings = fc.constantFrom(
  '192.0.2.0/24',
  '192.0.2.0/33',
  '198.51.100.1-198.51.100.9',
  '198.51.100.9-198.51.100.1',
  '2001:db8::/64',
  '2001:db8::1-2001:db8::ff',
  '203.0.113.7/32',
  '::/0',
  '0.0.0.0/0',
  '90s',
  '0',
  '-1s',
  '500ms',
  '64512:100',
  'large:64512:1:2',
  'no-advertise',
  'internal',
  'external',
  'In',
  'Exists',
  'eth0',
  '',
  'x'.repeat(300),
);

const scalar = fc.oneof(
  plausibleStrings,
  fc.string(),
  fc.integer(),
  fc.constantFrom(0, -1, 64512, 4294967295, 2 ** 53, Number.NaN, Infinity),
  fc.boolean(),
  fc.constant(null),
);

const selector = fc.oneof(
  fc.record(
    {
      matchLabels: fc.dictionary(
        fc.oneof(fc.string(), fc.constantFrom('zone', 'constructor', '__proto__')),
        scalar,
      ),
      matchExpressions: fc.array(
        fc.record(
          {
            key: fc.oneof(fc.string(), fc.constant('zone')),
            operator: scalar,
            values: fc.array(scalar, { maxLength: 4 }),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
    },
    { requiredKeys: [] },
  ),
  hostile,
);

const fieldValue = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 3, arbitrary: fc.array(scalar, { maxLength: 6 }) },
  { weight: 2, arbitrary: fc.array(selector, { maxLength: 3 }) },
  {
    weight: 1,
    arbitrary: fc.array(fc.record({ name: scalar, value: scalar, weight: scalar, preference: selector }), {
      maxLength: 3,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      { name: scalar, namespace: scalar, priority: scalar, namespaces: fc.array(scalar) },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: hostile },
);

const fieldNames = fc.constantFrom(
  'addresses',
  'autoAssign',
  'avoidBuggyIPs',
  'serviceAllocation',
  'myASN',
  'peerASN',
  'dynamicASN',
  'localASN',
  'peerAddress',
  'interface',
  'sourceAddress',
  'peerPort',
  'holdTime',
  'keepaliveTime',
  'connectTime',
  'routerID',
  'nodeSelectors',
  'password',
  'passwordSecret',
  'bfdProfile',
  'ebgpMultiHop',
  'vrf',
  'disableMP',
  'receiveInterval',
  'detectMultiplier',
  'echoMode',
  'minimumTtl',
  'communities',
  'aggregationLength',
  'aggregationLengthV6',
  'localPref',
  'ipAddressPools',
  'ipAddressPoolSelectors',
  'peers',
  'serviceSelectors',
  'interfaces',
  'preferredNodeSelectors',
);

const spec = fc.oneof(
  { weight: 5, arbitrary: fc.dictionary(fieldNames, fieldValue, { maxKeys: 8 }) },
  { weight: 1, arbitrary: hostile },
);

const document = (kind: string, apiVersion: string) =>
  fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record(
        {
          apiVersion: fc.oneof(fc.constant(apiVersion), fc.constant('metallb.io/v1beta2'), scalar),
          kind: fc.oneof(fc.constant(kind), fc.constant('BGPPeer'), scalar),
          metadata: fc.oneof(
            fc.record(
              {
                name: fc.oneof(fc.constantFrom('a', 'b', 'c', 'r1'), scalar),
                namespace: fc.oneof(fc.constant('metallb-system'), scalar),
                labels: fc.oneof(fc.dictionary(fc.string(), scalar), hostile),
              },
              { requiredKeys: [] },
            ),
            hostile,
          ),
          spec,
        },
        { requiredKeys: [] },
      ),
    },
    { weight: 1, arbitrary: hostile },
  );

const list = (kind: string, apiVersion = 'metallb.io/v1beta1') =>
  fc.oneof(
    { weight: 10, arbitrary: fc.array(document(kind, apiVersion), { maxLength: 6 }) },
    { weight: 1, arbitrary: fc.array(document(kind, apiVersion), { minLength: 50, maxLength: 200 }) },
    { weight: 1, arbitrary: hostile },
  );

const input = fc.record(
  {
    pools: list('IPAddressPool'),
    l2Advertisements: list('L2Advertisement'),
    bgpAdvertisements: list('BGPAdvertisement'),
    peers: list('BGPPeer', 'metallb.io/v1beta2'),
    bfdProfiles: list('BFDProfile'),
    communities: list('Community'),
    secrets: list('Secret', 'v1'),
    nodes: list('Node', 'v1'),
    namespaces: list('Namespace', 'v1'),
    metallbNamespace: fc.oneof(fc.constant('metallb-system'), scalar),
  },
  { requiredKeys: [] },
);

describe('buildConfig on any input', () => {
  it('never throws, and returns either a Config or problems that say where and what', () => {
    fc.assert(
      fc.property(input, (value) => {
        const result = buildConfig(value as unknown as ConfigInput);
        if (result.ok) {
          expect(result.config.pools).toBeInstanceOf(Map);
          expect(result.config.peers).toBeInstanceOf(Map);
        } else {
          expect(result.problems.length).toBeGreaterThan(0);
          for (const problem of result.problems) {
            expect(typeof problem.object.kind).toBe('string');
            expect(typeof problem.field).toBe('string');
            expect(problem.message.length).toBeGreaterThan(0);
            expect(formatProblem(problem).length).toBeGreaterThan(0);
          }
        }
        for (const warning of result.warnings) expect(warning.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 400 },
    );
  });

  it('survives a non-object input', () => {
    for (const junk of [null, undefined, 7, 'x', [], { pools: 'many' }]) {
      expect(() => buildConfig(junk as unknown as ConfigInput)).not.toThrow();
    }
  });

  it('accepts any set of pools whose addresses are disjoint by construction', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 40 }),
        (blocks) => {
          const pools = blocks.map((block, index) =>
            pool(`p${index}`, {
              addresses:
                index % 2 === 0
                  ? [`2001:db8:${block.toString(16)}::/64`]
                  : [`2001:db8:${block.toString(16)}::1-2001:db8:${block.toString(16)}::ff`],
            }),
          );
          const result = buildConfig({ metallbNamespace: 'metallb-system', pools });
          expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
        },
      ),
      { numRuns: 100 },
    );
  });
});

const everyKind = apiKindEntries.map((entry) => entry.kind);

const metallbSpec = fc.dictionary(
  fc.constantFrom(
    'speakerTolerations',
    'controllerTolerations',
    'nodeSelector',
    'speakerNodeSelector',
    'controllerNodeSelector',
    'logLevel',
    'bgpBackend',
    'speakerConfig',
    'controllerConfig',
    'loadBalancerClass',
    'frrk8sConfig',
  ),
  fc.oneof(
    fieldValue,
    fc.array(
      fc.record(
        { key: scalar, operator: scalar, value: scalar, effect: scalar, tolerationSeconds: scalar },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    ),
  ),
  { maxKeys: 6 },
);

describe('every validator on any input', () => {
  it('checkStandalone never throws for an object of any kind, and names its problems', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...everyKind),
        fc.oneof(document('X', 'metallb.io/v1beta1'), hostile),
        scalar,
        (kind, object, namespace) => {
          const claimed = asPlainObject(object);
          if (claimed) claimed.kind = kind;
          const problems = checkStandalone(
            (claimed ?? {}) as Record<string, unknown>,
            typeof namespace === 'string' ? namespace : 'metallb-system',
            { kind },
          );
          for (const problem of problems) expect(formatProblem(problem).length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('validateMetalLB never throws', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record(
            {
              apiVersion: fc.oneof(fc.constant('metallb.io/v1beta1'), scalar),
              kind: fc.constant('MetalLB'),
              metadata: fc.oneof(fc.record({ name: scalar, namespace: scalar }), hostile),
              spec: fc.oneof(metallbSpec, hostile),
            },
            { requiredKeys: [] },
          ),
          hostile,
        ),
        (object) => {
          const problems = validateMetalLB(object as Record<string, unknown>);
          for (const problem of problems) expect(problem.message.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the admission policy never throws, for any kind, operation and cluster', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...everyKind),
        fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT'),
        fc.oneof(document('X', 'metallb.io/v1beta1'), hostile),
        input,
        (kind, operation, object, view) => {
          const asView = Object.fromEntries(
            ['pools', 'l2Advertisements', 'bgpAdvertisements', 'peers', 'bfdProfiles', 'communities']
              .concat(['secrets', 'nodes', 'namespaces'])
              .map((key) => [
                key,
                Array.isArray(view[key as keyof typeof view]) ? view[key as keyof typeof view] : [],
              ]),
          ) as unknown as ClusterView;
          const verdict = decideAdmission(
            {
              uid: 'u',
              kind: { group: 'metallb.io', version: 'v1beta1', kind },
              operation: operation as AdmissionRequest['operation'],
              namespace: 'metallb-system',
              object: asPlainObject(object) ?? null,
            },
            asView,
            'metallb-system',
          );
          expect(typeof verdict.allowed).toBe('boolean');
          if (!verdict.allowed) expect(verdict.message?.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});

/** Legacy (v0.12) ConfigMap configuration: the keys it had, with values of any shape. */
const legacyValue = fc.oneof(scalar, fc.array(scalar, { maxLength: 4 }), hostile);
const legacySelector = fc.record(
  {
    'match-labels': fc.oneof(fc.dictionary(fc.string(), scalar), legacyValue),
    'match-expressions': fc.oneof(
      fc.array(fc.record({ key: scalar, operator: scalar, values: legacyValue }, { requiredKeys: [] })),
      legacyValue,
    ),
  },
  { requiredKeys: [] },
);
const legacyConfig = fc.record(
  {
    peers: fc.oneof(
      fc.array(
        fc.record(
          {
            'peer-address': fc.oneof(fc.constantFrom('203.0.113.1', '2001:db8::1'), scalar),
            'peer-asn': scalar,
            'my-asn': scalar,
            'peer-port': scalar,
            'hold-time': scalar,
            'keepalive-time': scalar,
            'router-id': scalar,
            'source-address': scalar,
            password: scalar,
            'bfd-profile': scalar,
            'ebgp-multihop': scalar,
            'node-selectors': fc.oneof(fc.array(legacySelector, { maxLength: 3 }), legacyValue),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 4 },
      ),
      legacyValue,
    ),
    'address-pools': fc.oneof(
      fc.array(
        fc.record(
          {
            name: fc.oneof(fc.constantFrom('a', 'b'), scalar),
            protocol: fc.oneof(fc.constantFrom('layer2', 'bgp'), scalar),
            addresses: fc.oneof(fc.array(scalar, { maxLength: 4 }), legacyValue),
            'auto-assign': scalar,
            'avoid-buggy-ips': scalar,
            'bgp-advertisements': fc.oneof(
              fc.array(
                fc.record(
                  {
                    'aggregation-length': scalar,
                    'aggregation-length-v6': scalar,
                    localpref: scalar,
                    communities: legacyValue,
                  },
                  { requiredKeys: [] },
                ),
                { maxLength: 3 },
              ),
              legacyValue,
            ),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 4 },
      ),
      legacyValue,
    ),
    'bgp-communities': fc.oneof(fc.dictionary(fc.string(), scalar), legacyValue),
    'bfd-profiles': fc.oneof(fc.array(fc.dictionary(fc.string(), scalar), { maxLength: 3 }), legacyValue),
  },
  { requiredKeys: [] },
);

/** Text a hand-edited config key may hold: the generated configuration as YAML, damaged, or any text. */
const legacyText = fc.oneof(
  {
    weight: 4,
    arbitrary: legacyConfig.map((config) => {
      try {
        return stringify(
          JSON.parse(JSON.stringify(config, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))),
        );
      } catch {
        return '';
      }
    }),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        legacyConfig,
        fc.nat(),
        fc.constantFrom('\t', '&a ', '*a', '<<: *a', ': :', '- -', '"', '{', '[', '%YAML 1.1', '!!binary'),
      )
      .map(([config, at, junk]) => {
        let text = '';
        try {
          text = stringify(
            JSON.parse(JSON.stringify(config, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))),
          );
        } catch {
          // an unserialisable value: the junk alone then
        }
        const cut = text.length === 0 ? 0 : at % text.length;
        return text.slice(0, cut) + junk + text.slice(cut);
      }),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'a: &a [*a]',
      'x: !!js/function "f"',
      '- '.repeat(200),
      '[[[[[[[[[[',
      'peers: ~',
    ),
  },
);

describe('the legacy ConfigMap reader on any input', () => {
  it('migrateLegacyConfig never throws on any text, and what it reports has a message', () => {
    fc.assert(
      fc.property(legacyText, (text) => {
        const migration = migrateLegacyConfig(text);
        for (const finding of [...migration.problems, ...migration.warnings])
          expect(finding.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 400 },
    );
  });

  it('migrateLegacyConfigMap never throws on any object in place of a ConfigMap', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record(
            {
              apiVersion: fc.oneof(fc.constant('v1'), scalar),
              kind: fc.oneof(fc.constant('ConfigMap'), scalar),
              metadata: fc.oneof(
                fc.record({ name: scalar, namespace: scalar }, { requiredKeys: [] }),
                hostile,
              ),
              data: fc.oneof(
                fc.record({ config: fc.oneof(legacyText, hostile) }, { requiredKeys: [] }),
                hostile,
              ),
            },
            { requiredKeys: [] },
          ),
          hostile,
        ),
        (configMap) => {
          expect(() => migrateLegacyConfigMap(configMap)).not.toThrow();
        },
      ),
      { numRuns: 300 },
    );
  });
});

function asPlainObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? { ...(value as Record<string, unknown>) }
    : undefined;
}
