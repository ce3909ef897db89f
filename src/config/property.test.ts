import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { formatProblem } from '../api/problem.js';
import { buildConfig, type ConfigInput } from './index.js';
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
