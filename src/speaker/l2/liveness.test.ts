import { describe, expect, it } from '@jest/globals';
import { formatMicroTime } from '../../runtime/micro-time.js';
import { ApiError } from '../../runtime/raw-client.js';
import { FakeCache } from '../../../test/support/fake-cache.js';
import { FakeClock, flushMicrotasks } from '../../../test/support/fake-clock.js';
import {
  INTERFACES_ANNOTATION,
  LEAVING_ANNOTATION,
  LIVENESS_LABEL,
  LIVENESS_NODE_LABEL,
  SpeakerLiveness,
  type LivenessLease,
} from './liveness.js';

const ns = 'metallb-system';

/** When the FakeClock starts: Leases in these tests were renewed then, unless a test says otherwise. */
const clockStart = Date.UTC(2026, 10, 25, 8, 0, 0);

function lease(
  node: string,
  version: number,
  annotations: Record<string, string> = {},
  renewedAt = clockStart + version,
): LivenessLease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: `metallb-speaker-${node}`,
      namespace: ns,
      resourceVersion: String(version),
      labels: { [LIVENESS_LABEL]: 'true', [LIVENESS_NODE_LABEL]: node },
      annotations: { [INTERFACES_ANNOTATION]: 'eth0', ...annotations },
    },
    spec: { holderIdentity: node, renewTime: formatMicroTime(renewedAt) },
  };
}

function setup({ failWrites = false } = {}) {
  const clock = new FakeClock(clockStart);
  const cache = new FakeCache<LivenessLease>();
  const writes: { method: string; body: unknown }[] = [];
  let exists = false;
  let failing = failWrites;
  let links = ['eth0', 'eth1'];
  let changes = 0;
  const client = {
    patch: async (_path: string, body: unknown) => {
      if (failing) throw new ApiError(503, 'ServiceUnavailable', 'down', undefined);
      if (!exists) throw new ApiError(404, 'NotFound', 'no lease', undefined);
      writes.push({ method: 'PATCH', body });
      return body;
    },
    create: async (_path: string, body: unknown) => {
      if (failing) throw new ApiError(503, 'ServiceUnavailable', 'down', undefined);
      exists = true;
      writes.push({ method: 'POST', body });
      return body;
    },
  };
  const liveness = new SpeakerLiveness({
    client,
    cache,
    namespace: ns,
    node: 'node-a',
    nodeUid: () => 'uid-a',
    onChange: () => {
      changes += 1;
    },
    upInterfaces: () => links,
    clock,
  });
  return {
    clock,
    cache,
    writes,
    liveness,
    changes: () => changes,
    setFailing: (value: boolean) => {
      failing = value;
    },
    setLinks: (value: string[]) => {
      links = value;
    },
  };
}

const names = (liveness: SpeakerLiveness) => liveness.live().map((entry) => entry.node);

describe('speaker liveness', () => {
  it('creates its labelled Lease with its up interfaces, owned by its Node, and renews it every 350 ms', async () => {
    const { clock, writes, liveness } = setup();
    liveness.start();
    await flushMicrotasks();
    expect(writes[0]?.method).toBe('POST');
    expect(writes[0]?.body).toMatchObject({
      metadata: {
        name: 'metallb-speaker-node-a',
        namespace: ns,
        labels: { [LIVENESS_LABEL]: 'true', [LIVENESS_NODE_LABEL]: 'node-a' },
        annotations: { [INTERFACES_ANNOTATION]: 'eth0,eth1', [LEAVING_ANNOTATION]: 'false' },
        ownerReferences: [{ kind: 'Node', name: 'node-a', uid: 'uid-a' }],
      },
      spec: { holderIdentity: 'node-a' },
    });
    expect(liveness.live()).toEqual([{ node: 'node-a', interfaces: ['eth0', 'eth1'] }]);
    await clock.advanceAsync(1000);
    expect(writes.filter((write) => write.method === 'PATCH')).toHaveLength(2);
    await liveness.stop();
  });

  it('counts another speaker dead 1.2 s after it last saw its Lease change, by its own clock', async () => {
    const { clock, cache, liveness, changes } = setup();
    liveness.start();
    await flushMicrotasks();
    cache.set(lease('node-b', 1));
    expect(names(liveness)).toEqual(['node-a', 'node-b']);
    const before = changes();
    await clock.advanceAsync(1000);
    cache.set(lease('node-b', 2));
    await clock.advanceAsync(1000);
    expect(names(liveness)).toEqual(['node-a', 'node-b']);
    // The same version again (a relist) is no sign of life.
    cache.set(lease('node-b', 2));
    await clock.advanceAsync(250);
    expect(names(liveness)).toEqual(['node-a']);
    expect(changes()).toBe(before + 1);
    await liveness.stop();
  });

  it('drops a leaving or deleted speaker at once', async () => {
    const { cache, liveness } = setup();
    liveness.start();
    await flushMicrotasks();
    cache.set(lease('node-b', 1));
    cache.set(lease('node-c', 1));
    cache.set(lease('node-b', 2, { [LEAVING_ANNOTATION]: 'true' }));
    cache.delete(`${ns}/metallb-speaker-node-c`);
    expect(names(liveness)).toEqual(['node-a']);
    await liveness.stop();
  });

  it('reports the interfaces another speaker has up', async () => {
    const { cache, liveness } = setup();
    liveness.start();
    await flushMicrotasks();
    cache.set(lease('node-b', 1, { [INTERFACES_ANNOTATION]: 'eth1,eth0' }));
    expect(liveness.live()).toContainEqual({ node: 'node-b', interfaces: ['eth0', 'eth1'] });
    await liveness.stop();
  });

  it('counts itself dead when its own heartbeat has not been written for the dead time', async () => {
    const { clock, liveness, setFailing, changes } = setup();
    liveness.start();
    await flushMicrotasks();
    expect(liveness.selfLive()).toBe(true);
    setFailing(true);
    await clock.advanceAsync(1100);
    expect(liveness.selfLive()).toBe(true);
    const before = changes();
    await clock.advanceAsync(200);
    expect(liveness.selfLive()).toBe(false);
    expect(changes()).toBe(before + 1);
    setFailing(false);
    await clock.advanceAsync(400);
    expect(liveness.selfLive()).toBe(true);
    await liveness.stop();
  });

  it('is not live before its first heartbeat is written', async () => {
    const { liveness } = setup({ failWrites: true });
    liveness.start();
    await flushMicrotasks();
    expect(liveness.live()).toEqual([]);
    await liveness.stop();
  });

  it('writes a changed link state at once', async () => {
    const { clock, writes, liveness, setLinks } = setup();
    liveness.start();
    await flushMicrotasks();
    const count = writes.length;
    setLinks(['eth0']);
    await clock.advanceAsync(200);
    expect(writes.length).toBe(count + 1);
    expect(writes.at(-1)?.body).toMatchObject({
      metadata: { annotations: { [INTERFACES_ANNOTATION]: 'eth0' } },
    });
    expect(liveness.live()).toEqual([{ node: 'node-a', interfaces: ['eth0'] }]);
    await liveness.stop();
  });

  it('marks its Lease as leaving, and leaves it in place on stop', async () => {
    const { writes, liveness } = setup();
    liveness.start();
    await flushMicrotasks();
    await liveness.leave();
    expect(writes.at(-1)?.body).toMatchObject({
      metadata: { annotations: { [LEAVING_ANNOTATION]: 'true' } },
    });
    expect(liveness.selfLive()).toBe(false);
    expect(liveness.resting()).toEqual([{ node: 'node-a', interfaces: ['eth0', 'eth1'] }]);
    const count = writes.length;
    await liveness.stop();
    expect(writes.length).toBe(count);
  });

  it('keeps a dead or leaving speaker resting for ten minutes after its last renewal, by its renewTime', async () => {
    const { clock, cache, liveness, changes } = setup();
    liveness.start();
    await flushMicrotasks();
    cache.set(lease('node-b', 1));
    cache.set(lease('node-c', 1, { [LEAVING_ANNOTATION]: 'true' }));
    expect(liveness.resting()).toEqual([{ node: 'node-c', interfaces: ['eth0'] }]);
    const before = changes();
    await clock.advanceAsync(1300);
    expect(names(liveness)).toEqual(['node-a']);
    expect(liveness.resting().map((entry) => entry.node)).toEqual(['node-b', 'node-c']);
    expect(changes()).toBeGreaterThan(before);
    const quiet = changes();
    await clock.advanceAsync(10 * 60_000);
    expect(liveness.resting()).toEqual([]);
    expect(changes()).toBeGreaterThan(quiet);
    await liveness.stop();
  });

  it('does not count a Lease that went quiet long before it started as resting', async () => {
    const { clock, cache, liveness } = setup();
    cache.set(lease('node-b', 1, {}, clock.now() - 11 * 60_000));
    liveness.start();
    await flushMicrotasks();
    await clock.advanceAsync(1300);
    expect(liveness.resting()).toEqual([]);
    await liveness.stop();
  });
});
