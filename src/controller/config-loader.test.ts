import { describe, expect, it } from '@jest/globals';
import type { IPAddressPool } from '../api/types.generated.js';
import { PoolConfigTracker, loadAllocationPools } from './config-loader.js';

function poolObject(
  name: string,
  spec: IPAddressPool['spec'],
  labels?: Record<string, string>,
): IPAddressPool {
  return {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name, namespace: 'metallb-system', ...(labels ? { labels } : {}) },
    spec,
  };
}

describe('loading the pools the allocator uses', () => {
  it('turns validated pools into allocator pools, keeping selectors for allocation time', () => {
    const load = loadAllocationPools(
      [
        poolObject('seed', { addresses: ['192.0.2.0/24', '198.51.100.1-198.51.100.3'] }),
        poolObject('team', {
          addresses: ['203.0.113.0/28'],
          autoAssign: false,
          avoidBuggyIPs: true,
          serviceAllocation: {
            priority: 5,
            namespaces: ['team-a'],
            namespaceSelectors: [{ matchLabels: { team: 'b' } }],
          },
        }),
      ],
      'metallb-system',
    );
    if (!load.ok) throw new Error(JSON.stringify(load.problems));
    const [seed, team] = load.pools;
    expect(seed).toMatchObject({
      name: 'seed',
      autoAssign: true,
      avoidBuggyIPs: false,
      allocation: undefined,
    });
    expect(seed?.ranges).toHaveLength(2);
    expect(team).toMatchObject({ name: 'team', autoAssign: false, avoidBuggyIPs: true });
    expect(team?.allocation?.priority).toBe(5);
    expect([...(team?.allocation?.namespaces ?? [])]).toEqual(['team-a']);
    expect(team?.allocation?.namespaceSelectors).toHaveLength(1);
  });

  it('refuses overlapping pools with the object and field to fix', () => {
    const load = loadAllocationPools(
      [poolObject('a', { addresses: ['192.0.2.0/24'] }), poolObject('b', { addresses: ['192.0.2.128/25'] })],
      'metallb-system',
    );
    expect(load.ok).toBe(false);
    if (load.ok) return;
    expect(load.problems[0]).toMatchObject({
      object: { kind: 'IPAddressPool', name: 'b' },
      field: 'spec.addresses[0]',
    });
  });

  it('refuses a pool outside the MetalLB namespace', () => {
    const stray = poolObject('stray', { addresses: ['192.0.2.0/24'] });
    const load = loadAllocationPools(
      [{ ...stray, metadata: { ...stray.metadata, namespace: 'default' } }],
      'metallb-system',
    );
    expect(load.ok).toBe(false);
  });
});

describe('tracking the pool set in force', () => {
  const good = loadAllocationPools([poolObject('a', { addresses: ['192.0.2.0/24'] })], 'metallb-system');
  const relabelled = loadAllocationPools(
    [poolObject('a', { addresses: ['192.0.2.0/24'] }, { tier: 'gold' })],
    'metallb-system',
  );
  const grown = loadAllocationPools(
    [poolObject('a', { addresses: ['192.0.2.0/24', '198.51.100.0/24'] })],
    'metallb-system',
  );
  const invalid = loadAllocationPools([poolObject('a', { addresses: ['192.0.2.300/24'] })], 'metallb-system');

  it('loads once, ignores changes that do not affect allocation, and reports real changes', () => {
    const tracker = new PoolConfigTracker();
    expect(tracker.loaded).toBe(false);
    expect(tracker.update(good).kind).toBe('loaded');
    expect(tracker.update(relabelled).kind).toBe('unchanged');
    expect(tracker.update(grown).kind).toBe('changed');
    expect(tracker).toMatchObject({ loaded: true, stale: false });
  });

  it('keeps the last good pools and reports staleness while the pools are invalid', () => {
    const tracker = new PoolConfigTracker();
    tracker.update(good);
    expect(tracker.update(invalid).kind).toBe('invalid');
    expect(tracker).toMatchObject({ loaded: true, stale: true });
    // Back to what was in force: nothing to re-converge, and no longer stale.
    expect(tracker.update(good).kind).toBe('unchanged');
    expect(tracker).toMatchObject({ loaded: true, stale: false });
  });

  it('never loads from invalid pools', () => {
    const tracker = new PoolConfigTracker();
    expect(tracker.update(invalid).kind).toBe('invalid');
    expect(tracker).toMatchObject({ loaded: false, stale: true });
    expect(tracker.update(good).kind).toBe('loaded');
  });
});
