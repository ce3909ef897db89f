import { describe, expect, it } from '@jest/globals';
import type { V1Condition } from '@kubernetes/client-node';
import { allocation, allocatorPool, allocatorService, requesting } from '../../test/support/allocator.js';
import {
  ADDRESS_ASSIGNED_CONDITION,
  REFUSAL_REASONS,
  addressConditionFor,
  conditionsWith,
  nextAddressCondition,
  type AddressConditionState,
} from './address-condition.js';
import {
  Allocator,
  convergeService,
  type AllocatorPool,
  type AllocatorService,
  type Convergence,
} from './allocator/index.js';

/** metav1.Condition's reason pattern, as the API server validates it. */
const reasonPattern = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

function converge(
  pools: readonly AllocatorPool[],
  holders: readonly AllocatorService[],
  service: AllocatorService,
): Convergence {
  const allocator = new Allocator(pools);
  for (const holder of holders) allocator.allocate(holder);
  return convergeService(allocator, service, []);
}

function stateOf(convergence: Convergence): AddressConditionState {
  const wish = addressConditionFor(convergence, true);
  if (typeof wish === 'string') throw new Error(`expected a condition state, got ${wish}`);
  return wish;
}

const sharing = (key: string, port: number, ip: string): Partial<AllocatorService> => ({
  annotations: { 'metallb.io/allow-shared-ip': key, 'metallb.io/loadBalancerIPs': ip },
  ports: [{ protocol: 'TCP', port }],
});

describe('the reason codes of the AddressAssigned condition', () => {
  it('gives every allocator refusal its own reason, valid as a Kubernetes condition reason', () => {
    const reasons = Object.values(REFUSAL_REASONS);
    expect(new Set(reasons).size).toBe(reasons.length);
    for (const reason of [...reasons, 'Assigned']) expect(reason).toMatch(reasonPattern);
    expect(reasons).not.toContain('Assigned');
  });

  it.each<[string, string, () => Convergence, string]>([
    [
      'an exhausted pool',
      'PoolExhausted',
      () =>
        converge(
          [allocatorPool('tiny', ['192.0.2.1/32'])],
          [allocatorService('first')],
          allocatorService('web'),
        ),
      'every pool it may use ("tiny") is full (IPAddressPool "tiny": IPv4 1 of 1 in use)',
    ],
    [
      'a requested address another service holds',
      'RequestedAddressInUse',
      () =>
        converge(
          [allocatorPool('main', ['192.0.2.0/29'])],
          [allocatorService('first', requesting('192.0.2.3'))],
          allocatorService('web', requesting('192.0.2.3')),
        ),
      'held by Service default/first, which does not allow sharing',
    ],
    [
      'a shared address whose port is taken',
      'SharingConflict',
      () =>
        converge(
          [allocatorPool('main', ['192.0.2.0/29'])],
          [allocatorService('first', sharing('k', 80, '192.0.2.3'))],
          allocatorService('web', sharing('k', 80, '192.0.2.3')),
        ),
      'port TCP/80 is already used on 192.0.2.3',
    ],
    [
      'pools that admit other namespaces only',
      'NoPoolForNamespace',
      () =>
        converge(
          [allocatorPool('team', ['192.0.2.0/29'], { allocation: allocation({ namespaces: ['team-a'] }) })],
          [],
          allocatorService('web', { namespace: 'shop' }),
        ),
      'namespace shop is not one of them',
    ],
    [
      'pools that select other services',
      'NoMatchingPool',
      () =>
        converge(
          [
            allocatorPool('edge', ['192.0.2.0/29'], {
              allocation: allocation({ serviceSelectors: [{ matchLabels: { tier: 'edge' } }] }),
            }),
          ],
          [],
          allocatorService('web'),
        ),
      'admits only services labelled tier=edge',
    ],
    [
      'no pool at all',
      'NoIPAddressPool',
      () => converge([], [], allocatorService('web')),
      'no IPAddressPool exists; create one',
    ],
    [
      'a named pool that does not exist',
      'PoolNotFound',
      () =>
        converge(
          [allocatorPool('main', ['192.0.2.0/29'])],
          [],
          allocatorService('web', { annotations: { 'metallb.io/address-pool': 'gold' } }),
        ),
      'asks for IPAddressPool "gold" (metallb.io/address-pool), which does not exist; use one of "main"',
    ],
    [
      'a requested address outside every pool',
      'AddressNotInAnyPool',
      () =>
        converge(
          [allocatorPool('main', ['192.0.2.0/29'])],
          [],
          allocatorService('web', requesting('203.0.113.9')),
        ),
      'requests 203.0.113.9, but no IPAddressPool contains it',
    ],
    [
      'a malformed request',
      'InvalidRequest',
      () =>
        converge([allocatorPool('main', ['192.0.2.0/29'])], [], allocatorService('web', requesting('nope'))),
      'which is not an IP address',
    ],
    [
      'pools without the service family',
      'NoPoolOfFamily',
      () =>
        converge([allocatorPool('v4', ['192.0.2.0/29'])], [], allocatorService('web', { ipFamilies: [6] })),
      'needs an IPv6 address',
    ],
  ])('says False with its own reason and the allocator sentence for %s', (_case, reason, run, sentence) => {
    const convergence = run();
    expect(convergence.kind).toBe('failed');
    const state = stateOf(convergence);
    expect(state).toMatchObject({ status: 'False', reason });
    expect(state.message).toContain(sentence);
    if (convergence.kind === 'failed') expect(state.message).toBe(convergence.refusal.reason);
  });

  it('says True with the addresses and pool once assigned, and the same when they are kept', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    const assigned = convergeService(allocator, allocatorService('web'), []);
    expect(stateOf(assigned)).toEqual({
      status: 'True',
      reason: 'Assigned',
      message: 'Assigned 192.0.2.0 from IPAddressPool "main"',
    });
    const kept = convergeService(allocator, allocatorService('web'), ['192.0.2.0']);
    expect(kept.kind).toBe('kept');
    expect(stateOf(kept)).toEqual(stateOf(assigned));
  });

  it('removes the condition from a service we no longer serve as a LoadBalancer, and leaves other classes alone', () => {
    const allocator = new Allocator([allocatorPool('main', ['192.0.2.0/29'])]);
    const clusterIP = convergeService(allocator, allocatorService('web', { type: 'ClusterIP' }), []);
    expect(addressConditionFor(clusterIP, true)).toBe('remove');
    const foreign = convergeService(allocator, allocatorService('web', { loadBalancerClass: 'other' }), []);
    expect(addressConditionFor(foreign, false)).toBe('leave');
  });

  it('keeps a very long sentence within the API limit on condition messages', () => {
    const pools = Array.from({ length: 400 }, (_, index) =>
      allocatorPool(`pool-with-a-rather-long-name-${index}`, [`10.${index >> 8}.${index & 255}.0/32`]),
    );
    const allocator = new Allocator(pools);
    for (let index = 0; index < pools.length; index++)
      allocator.allocate(allocatorService(`holder-${index}`));
    const state = stateOf(convergeService(allocator, allocatorService('web'), []));
    expect(state.reason).toBe('PoolExhausted');
    expect(state.message.length).toBeLessThanOrEqual(32_768);
    expect(state.message.endsWith('…')).toBe(true);
  });
});

describe('when the condition is written', () => {
  const pending: AddressConditionState = { status: 'False', reason: 'PoolExhausted', message: 'full' };
  const t0 = Date.UTC(2026, 10, 25, 8, 0, 0, 123);
  const t1 = t0 + 60_000;

  it('stamps a new condition with the time in whole seconds and the observed generation', () => {
    expect(nextAddressCondition({ current: undefined, wish: pending, generation: 3, now: t0 })).toEqual({
      type: ADDRESS_ASSIGNED_CONDITION,
      status: 'False',
      observedGeneration: 3,
      lastTransitionTime: '2026-11-25T08:00:00Z',
      reason: 'PoolExhausted',
      message: 'full',
    });
  });

  it('writes nothing when the condition already says it for this generation', () => {
    const current = nextAddressCondition({ current: undefined, wish: pending, generation: 3, now: t0 });
    expect(
      nextAddressCondition({ current: current as V1Condition, wish: pending, generation: 3, now: t1 }),
    ).toBeUndefined();
  });

  it('keeps the transition time while the status stays, and moves it when the status changes', () => {
    const current = nextAddressCondition({
      current: undefined,
      wish: pending,
      generation: 3,
      now: t0,
    }) as V1Condition;
    const reworded = nextAddressCondition({
      current,
      wish: { status: 'False', reason: 'NoPoolForNamespace', message: 'other' },
      generation: 4,
      now: t1,
    });
    expect(reworded).toMatchObject({
      reason: 'NoPoolForNamespace',
      observedGeneration: 4,
      lastTransitionTime: '2026-11-25T08:00:00Z',
    });
    const assigned = nextAddressCondition({
      current: reworded as V1Condition,
      wish: { status: 'True', reason: 'Assigned', message: 'Assigned 192.0.2.0 from IPAddressPool "a"' },
      generation: 4,
      now: t1,
    });
    expect(assigned).toMatchObject({ status: 'True', lastTransitionTime: '2026-11-25T08:01:00Z' });
  });

  it('removes only a condition that is there, and never touches what it must leave', () => {
    const current = nextAddressCondition({ current: undefined, wish: pending, generation: 1, now: t0 });
    expect(
      nextAddressCondition({ current: current as V1Condition, wish: 'remove', generation: 1, now: t1 }),
    ).toBe(null);
    expect(
      nextAddressCondition({ current: undefined, wish: 'remove', generation: 1, now: t1 }),
    ).toBeUndefined();
    expect(
      nextAddressCondition({ current: current as V1Condition, wish: 'leave', generation: 1, now: t1 }),
    ).toBeUndefined();
  });

  it('replaces ours in place among other controllers’ conditions, and clears the list when it was the only one', () => {
    const other = (type: string): V1Condition =>
      ({
        type,
        status: 'True',
        reason: 'Fine',
        message: '',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      }) as unknown as V1Condition;
    const ours = { ...other(ADDRESS_ASSIGNED_CONDITION), status: 'False' };
    const replacement = { ...ours, status: 'True' };
    expect(conditionsWith([other('a'), ours, other('b')], replacement)).toEqual([
      other('a'),
      replacement,
      other('b'),
    ]);
    expect(conditionsWith([other('a')], replacement)).toEqual([other('a'), replacement]);
    expect(conditionsWith([other('a'), ours], null)).toEqual([other('a')]);
    expect(conditionsWith([ours], null)).toBeNull();
    expect(conditionsWith(undefined, replacement)).toEqual([replacement]);
  });
});
