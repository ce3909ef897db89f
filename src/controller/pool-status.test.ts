import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { Allocator } from './allocator/index.js';
import { allocatorPool, allocatorService } from '../../test/support/allocator.js';
import { ControllerMetrics } from './metrics.js';
import { poolStatusUpdate } from './pool-status.js';

describe('IPAddressPool.status', () => {
  const allocator = new Allocator([
    allocatorPool('dual', ['192.0.2.0/30', '2001:db8::/64'], { avoidBuggyIPs: true }),
  ]);
  allocator.allocate(allocatorService('web'));
  const stats = allocator.poolStats('dual');
  if (!stats) throw new Error('no stats');

  it('counts assigned and available addresses per family, a /64 saturating at the largest exact number', () => {
    expect(poolStatusUpdate(undefined, stats)).toEqual({
      assignedIPv4: 1,
      assignedIPv6: 0,
      availableIPv4: 2,
      availableIPv6: Number.MAX_SAFE_INTEGER,
    });
  });

  it('is written only when it differs from what the pool shows', () => {
    const shown = poolStatusUpdate(undefined, stats);
    expect(poolStatusUpdate(shown, stats)).toBeUndefined();
    expect(poolStatusUpdate({ ...shown, assignedIPv4: 0 }, stats)).toEqual(shown);
  });
});

describe('the allocator metrics', () => {
  it('show per-pool totals and use at scrape time, and drop a pool that is gone', async () => {
    const registry = new Registry();
    const metrics = new ControllerMetrics(registry);
    const allocator = new Allocator([
      allocatorPool('a', ['192.0.2.0/29']),
      allocatorPool('b', ['198.51.100.0/30']),
    ]);
    allocator.allocate(allocatorService('web'));
    metrics.readPoolStatsFrom(() => allocator.stats());
    metrics.setConfigState(true, false);
    let text = await registry.metrics();
    expect(text).toContain('metallb_allocator_addresses_total{pool="a"} 8');
    expect(text).toContain('metallb_allocator_addresses_in_use_total{pool="a"} 1');
    expect(text).toContain('metallb_allocator_addresses_in_use_total{pool="b"} 0');
    expect(text).toContain('metallb_k8s_client_config_loaded_bool 1');
    expect(text).toContain('metallb_k8s_client_config_stale_bool 0');

    allocator.setPools([allocatorPool('a', ['192.0.2.0/29'])]);
    metrics.setConfigState(true, true);
    text = await registry.metrics();
    expect(text).not.toContain('pool="b"');
    expect(text).toContain('metallb_k8s_client_config_stale_bool 1');
  });
});
