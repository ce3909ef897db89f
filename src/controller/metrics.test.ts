import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { ControllerMetrics } from './metrics.js';

async function pendingSeries(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('metallb_allocator_services_pending')?.get();
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.reason), v.value]));
}

describe('the pending-services gauge', () => {
  it('serves nothing on a replica that does not allocate (a standby)', async () => {
    const registry = new Registry();
    const metrics = new ControllerMetrics(registry);
    metrics.readPendingFrom(() => undefined);
    expect(await pendingSeries(registry)).toEqual({});
  });

  it('serves every refusal reason on the leader, 0 for reasons no Service waits for', async () => {
    const registry = new Registry();
    const metrics = new ControllerMetrics(registry);
    metrics.readPendingFrom(() => new Map([['exhausted', 3]]));
    const series = await pendingSeries(registry);
    expect(series.exhausted).toBe(3);
    expect(series['sharing-conflict']).toBe(0);
    expect(series['no-eligible-pool']).toBe(0);
    expect(Object.keys(series)).toHaveLength(18);
  });
});
