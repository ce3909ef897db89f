import { describe, expect, it } from '@jest/globals';
import type { BGPSessionState } from '../api/types.generated.js';
import type { KubeObject } from '../runtime/kube-object.js';
import { FakeCache } from '../../test/support/fake-cache.js';
import { FakeClock } from '../../test/support/fake-clock.js';
import { readFrrSample } from '../../test/support/frr.js';
import type { ConfiguredSession, FrrSnapshot } from './bgp/frr-metrics.js';
import { emptySnapshot } from './bgp/frr-metrics.js';
import { parseBfdPeers, parseBgpNeighbors } from './bgp/frr-state.js';
import {
  NO_BFD,
  SessionStateWriter,
  desiredSessionStates,
  formatSeconds,
  labelValue,
  sessionStateChanges,
  sessionStateName,
  sessionStatus,
} from './session-state.js';

const router: ConfiguredSession = {
  peer: 'router',
  vrf: 'default',
  neighbor: '192.0.2.254',
  port: 179,
  bfd: true,
};
const md5: ConfiguredSession = {
  peer: 'router-md5',
  vrf: 'default',
  neighbor: '192.0.2.253',
  port: 179,
  bfd: false,
};

/** The captured FRR state: 192.0.2.254 established with BFD up, 192.0.2.253 in Connect. */
function sample(): FrrSnapshot {
  return {
    bgpReachable: true,
    neighbors: parseBgpNeighbors(readFrrSample('bgp-neighbors.json')),
    bfdPeers: parseBfdPeers(readFrrSample('bfd-peers.json')),
    bfdCounters: [],
  };
}

/** The sample with 192.0.2.254 changed: an FRR record merged over the captured one. */
function withRouter(change: Record<string, unknown>, bfdStatus = 'up'): FrrSnapshot {
  const json = readFrrSample('bgp-neighbors.json') as Record<string, Record<string, Record<string, unknown>>>;
  const vrf = json.default as Record<string, Record<string, unknown>>;
  const neighbors = { ...json, default: { ...vrf, '192.0.2.254': { ...vrf['192.0.2.254'], ...change } } };
  return {
    bgpReachable: true,
    neighbors: parseBgpNeighbors(neighbors),
    bfdPeers: parseBfdPeers([{ peer: '192.0.2.254', vrf: 'default', status: bfdStatus }]),
    bfdCounters: [],
  };
}

describe('BGPSessionState objects', () => {
  it('names an object after node, peer and VRF, the same way every time, within the DNS limit', () => {
    const name = sessionStateName('worker-0', 'router', 'default');
    expect(name).toMatch(/^worker-0-router-[0-9a-f]{10}$/);
    expect(sessionStateName('worker-0', 'router', 'default')).toBe(name);
    expect(sessionStateName('worker-0', 'router', 'red')).not.toBe(name);
    // "a-b" + "c" and "a" + "b-c" read the same; the hash keeps them apart.
    expect(sessionStateName('a-b', 'c', 'default')).not.toBe(sessionStateName('a', 'b-c', 'default'));
    const long = sessionStateName(`${'n'.repeat(200)}.example`, 'p'.repeat(200), 'default');
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long).toMatch(/^n+\.example-p+-[0-9a-f]{10}$/);
  });

  it('keeps label values within 63 characters and distinct', () => {
    expect(labelValue('router')).toBe('router');
    const a = labelValue(`${'x'.repeat(70)}.a`);
    const b = labelValue(`${'x'.repeat(70)}.b`);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^x+-[0-9a-f]{10}$/);
  });

  it('reports an established session with its uptime start, prefixes, negotiated timers and BFD state', () => {
    expect(sessionStatus('worker-0', router, sample())).toEqual({
      node: 'worker-0',
      peer: 'router',
      peerAddress: '192.0.2.254',
      bgpStatus: 'Established',
      bfdStatus: 'up',
      establishedSince: '2026-11-25T08:44:36Z',
      prefixesSent: 2,
      prefixesReceived: 0,
      holdTime: '180s',
      keepaliveTime: '60s',
      lastError: 'No AFI/SAFI activated for peer',
    });
  });

  it('reports a session that is not up with its state and FRR reason, N/A for BFD without a profile', () => {
    expect(sessionStatus('worker-0', md5, sample())).toEqual({
      node: 'worker-0',
      peer: 'router-md5',
      peerAddress: '192.0.2.253',
      bgpStatus: 'Connect',
      bfdStatus: NO_BFD,
      prefixesSent: 0,
      prefixesReceived: 0,
      lastError: 'Waiting for peer OPEN',
    });
  });

  it('reports a cut session: BGP still up until the hold time, BFD down at once', () => {
    const cut = withRouter({}, 'down');
    expect(sessionStatus('worker-0', router, cut)).toMatchObject({
      bgpStatus: 'Established',
      bfdStatus: 'down',
    });
    const dropped = withRouter({ bgpState: 'Active', lastResetDueTo: 'BFD down received' }, 'down');
    const status = sessionStatus('worker-0', router, dropped);
    expect(status).toMatchObject({ bgpStatus: 'Active', bfdStatus: 'down', lastError: 'BFD down received' });
    expect(status.establishedSince).toBeUndefined();
    expect(status.holdTime).toBeUndefined();
  });

  it('reports Unknown for a session FRR does not know or while bgpd does not answer', () => {
    const absent = { ...router, neighbor: '192.0.2.99' };
    expect(sessionStatus('worker-0', absent, sample())).toMatchObject({
      bgpStatus: 'Unknown',
      bfdStatus: 'unknown',
    });
    expect(sessionStatus('worker-0', router, emptySnapshot)).toMatchObject({
      bgpStatus: 'Unknown',
      lastError: 'bgpd does not answer',
    });
  });

  it('keeps the reported establishment time through FRR rounding, and moves it when the session re-established', () => {
    const first = sessionStatus('worker-0', router, sample());
    const wobble = sessionStatus(
      'worker-0',
      router,
      withRouter({ bgpTimerUpEstablishedEpoch: 1795596277 }),
      first,
    );
    expect(wobble.establishedSince).toBe(first.establishedSince);
    const again = sessionStatus(
      'worker-0',
      router,
      withRouter({ bgpTimerUpEstablishedEpoch: 1795596400 }),
      first,
    );
    expect(again.establishedSince).toBe('2026-11-25T08:46:40Z');
  });

  it('formats timers as BGPPeer durations', () => {
    expect(formatSeconds(90_000)).toBe('90s');
    expect(formatSeconds(1_500)).toBe('1.5s');
  });

  it('wants one object per configured session, labelled with node, peer and VRF and owned by the node', () => {
    const desired = desiredSessionStates({
      node: 'worker-0',
      namespace: 'metallb-system',
      owner: { name: 'worker-0', uid: 'uid-0' },
      sessions: [router, { ...md5, vrf: 'red' }],
      snapshot: sample(),
      existing: [],
    });
    const objects = [...desired.values()];
    expect(objects.map((o) => o.metadata.name)).toEqual([
      sessionStateName('worker-0', 'router', 'default'),
      sessionStateName('worker-0', 'router-md5', 'red'),
    ]);
    expect(objects[0]?.metadata).toEqual({
      name: sessionStateName('worker-0', 'router', 'default'),
      namespace: 'metallb-system',
      labels: { 'metallb.io/node': 'worker-0', 'metallb.io/peer': 'router' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'worker-0', uid: 'uid-0' }],
    });
    expect(objects[1]?.metadata.labels).toEqual({
      'metallb.io/node': 'worker-0',
      'metallb.io/peer': 'router-md5',
      'metallb.io/vrf': 'red',
    });
    expect(objects[1]?.status?.vrf).toBe('red');
    expect(objects[1]?.status?.bgpStatus).toBe('Unknown');
  });

  it('changes nothing while the state is the same, and deletes objects of sessions no longer configured', () => {
    const input = {
      node: 'worker-0',
      namespace: 'metallb-system',
      sessions: [router],
      snapshot: sample(),
      existing: [],
    };
    const current = [...desiredSessionStates(input).values()].map((o) => ({
      ...o,
      metadata: { ...o.metadata, uid: 'u1', resourceVersion: '7' },
    }));
    const stale: BGPSessionState = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'BGPSessionState',
      metadata: { name: 'worker-0-gone-0123456789', namespace: 'metallb-system', uid: 'u2' },
    };
    // Later polls: messages and uptime tick, the state does not.
    const later = withRouter({ bgpTimerUpMsec: 99_000, bgpTimerLastRead: 1000 });
    const desired = desiredSessionStates({ ...input, snapshot: later, existing: current });
    expect(sessionStateChanges(desired, [...current, stale])).toEqual({
      applyMetadata: [],
      applyStatus: [],
      remove: [stale],
    });
    const down = desiredSessionStates({ ...input, snapshot: withRouter({}, 'down'), existing: current });
    expect(sessionStateChanges(down, current).applyStatus).toHaveLength(1);
    expect(sessionStateChanges(down, current).applyMetadata).toEqual([]);
  });
});

interface Call {
  readonly at: number;
  readonly what: string;
}

/** An applier that records calls and feeds the cache as the API server and informer would. */
function recordingApplier(clock: FakeClock, cache: FakeCache<BGPSessionState>, calls: Call[]) {
  let uid = 0;
  return {
    apply: async <T extends KubeObject>(object: T): Promise<T> => {
      calls.push({ at: clock.now(), what: `apply ${object.metadata?.name}` });
      const have = cache.get(`${object.metadata?.namespace}/${object.metadata?.name}`);
      cache.set({
        ...(object as unknown as BGPSessionState),
        metadata: { ...object.metadata, uid: have?.metadata?.uid ?? `uid-${++uid}` },
        ...(have?.status ? { status: have.status } : {}),
      } as BGPSessionState);
      return object;
    },
    applyStatus: async <T extends KubeObject & { readonly status?: unknown }>(object: T): Promise<T> => {
      calls.push({ at: clock.now(), what: `status ${object.metadata?.name}` });
      const have = cache.get(`${object.metadata?.namespace}/${object.metadata?.name}`);
      if (have) cache.set({ ...have, status: object.status } as BGPSessionState);
      return object;
    },
    deleteIfExists: async (target: { name: string; namespace?: string }, options?: { uid?: string }) => {
      calls.push({ at: clock.now(), what: `delete ${target.name} ${options?.uid}` });
      cache.delete(`${target.namespace}/${target.name}`);
      return true;
    },
  };
}

describe('the BGPSessionState writer', () => {
  function setup(initial: BGPSessionState[] = []) {
    const clock = new FakeClock();
    const cache = new FakeCache<BGPSessionState>(initial);
    const calls: Call[] = [];
    let snapshot = sample();
    let sessions: ConfiguredSession[] | undefined = [router, md5];
    let readCount = 0;
    const writer = new SessionStateWriter({
      applier: recordingApplier(clock, cache, calls),
      cache,
      node: 'worker-0',
      namespace: 'metallb-system',
      sessions: () => sessions,
      read: async () => {
        readCount += 1;
        return snapshot;
      },
      owner: () => ({ name: 'worker-0', uid: 'node-uid' }),
      clock,
      intervalMs: 1000,
      minWriteIntervalMs: 3000,
    });
    return {
      clock,
      cache,
      calls,
      writer,
      setSnapshot: (next: FrrSnapshot) => (snapshot = next),
      setSessions: (next: ConfiguredSession[] | undefined) => (sessions = next),
      reads: () => readCount,
    };
  }
  const routerName = sessionStateName('worker-0', 'router', 'default');
  const md5Name = sessionStateName('worker-0', 'router-md5', 'default');

  it('creates one object per session, then writes nothing while FRR reports the same state', async () => {
    const { writer, calls, clock, cache } = setup();
    writer.start();
    await clock.advanceAsync(0);
    expect(calls.map((c) => c.what)).toEqual([
      `apply ${routerName}`,
      `status ${routerName}`,
      `apply ${md5Name}`,
      `status ${md5Name}`,
    ]);
    expect(cache.get(`metallb-system/${routerName}`)?.status?.bgpStatus).toBe('Established');
    await clock.advanceAsync(30_000);
    expect(calls).toHaveLength(4);
    await writer.stop();
  });

  it('writes a change at most once per object per 3 s, and the last state once the interval passed', async () => {
    const { writer, calls, clock, cache, setSnapshot } = setup();
    writer.start();
    await clock.advanceAsync(0);
    calls.splice(0);
    const start = clock.now();
    // BFD flaps every second for 8 s, then stays down.
    for (const status of ['down', 'up', 'down', 'up', 'down', 'up', 'down', 'up', 'down']) {
      setSnapshot(withRouter({}, status));
      await clock.advanceAsync(1000);
    }
    await clock.advanceAsync(5000);
    const writes = calls.filter((c) => c.what === `status ${routerName}`).map((c) => c.at - start);
    // Nine changes in 9 s, but no two writes within 3 s of each other (the creation was at 0).
    expect(writes.length).toBeGreaterThanOrEqual(2);
    expect(writes.length).toBeLessThanOrEqual(3);
    expect(writes[0]).toBeGreaterThanOrEqual(3000);
    for (let i = 1; i < writes.length; i++) {
      expect((writes[i] as number) - (writes[i - 1] as number)).toBeGreaterThanOrEqual(3000);
    }
    // The state it settled in is what the object says.
    expect(cache.get(`metallb-system/${routerName}`)?.status?.bfdStatus).toBe('down');
    // The other session never changed: never written again.
    expect(calls.some((c) => c.what.includes(md5Name))).toBe(false);
    await writer.stop();
  });

  it('writes nothing before the sessions are planned, then deletes objects of sessions that went away', async () => {
    const leftover: BGPSessionState = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'BGPSessionState',
      metadata: {
        name: 'worker-0-old-0123456789',
        namespace: 'metallb-system',
        uid: 'u-old',
        labels: { 'metallb.io/node': 'worker-0' },
      },
    };
    const otherNode: BGPSessionState = {
      ...leftover,
      metadata: { ...leftover.metadata, name: 'worker-1-x', labels: { 'metallb.io/node': 'worker-1' } },
    };
    const { writer, calls, cache, clock, setSessions, reads } = setup([leftover, otherNode]);
    setSessions(undefined);
    await writer.sync();
    expect(calls).toEqual([]);

    setSessions([router]);
    await writer.sync();
    expect(calls.map((c) => c.what)).toEqual([
      `apply ${routerName}`,
      `status ${routerName}`,
      'delete worker-0-old-0123456789 u-old',
    ]);
    expect(cache.get('metallb-system/worker-1-x')).toBeDefined();

    calls.splice(0);
    setSessions([]);
    await writer.sync(); // within 3 s of the write: held back
    expect(calls).toEqual([]);
    clock.advance(3000);
    await writer.sync();
    expect(calls.map((c) => c.what)).toEqual([`delete ${routerName} uid-1`]);
    expect(reads()).toBe(1); // only the pass with a session read FRR
  });

  it('does not write until its cache has listed the objects', async () => {
    const clock = new FakeClock();
    const cache = new FakeCache<BGPSessionState>([], false);
    const calls: Call[] = [];
    const writer = new SessionStateWriter({
      applier: recordingApplier(clock, cache, calls),
      cache,
      node: 'worker-0',
      namespace: 'metallb-system',
      sessions: () => [router],
      read: async () => sample(),
      clock,
    });
    await writer.sync();
    expect(calls).toEqual([]);
    cache.markSynced();
    await writer.sync();
    expect(calls.map((c) => c.what)).toEqual([`apply ${routerName}`, `status ${routerName}`]);
  });

  it('leaves objects alone when bgpd does not answer and it may not see FRR', async () => {
    const clock = new FakeClock();
    const cache = new FakeCache<BGPSessionState>();
    const calls: Call[] = [];
    const writer = new SessionStateWriter({
      applier: recordingApplier(clock, cache, calls),
      cache,
      node: 'worker-0',
      namespace: 'metallb-system',
      sessions: () => [router],
      read: async () => emptySnapshot,
      unknownWhenUnreachable: false,
      clock,
    });
    await writer.sync();
    expect(calls).toEqual([]);
  });

  it('fails the pass when a write fails, and writes the other objects all the same', async () => {
    const clock = new FakeClock();
    const cache = new FakeCache<BGPSessionState>();
    const calls: string[] = [];
    const writer = new SessionStateWriter({
      applier: {
        apply: async <T extends KubeObject>(object: T) => {
          calls.push(`apply ${object.metadata?.name}`);
          if (object.metadata?.name === routerName) throw new Error('forbidden');
          return object;
        },
        applyStatus: async <T extends KubeObject>(object: T) => {
          calls.push(`status ${object.metadata?.name}`);
          return object;
        },
        deleteIfExists: async () => true,
      },
      cache,
      node: 'worker-0',
      namespace: 'metallb-system',
      sessions: () => [router, md5],
      read: async () => sample(),
      clock,
    });
    await expect(writer.sync()).rejects.toThrow('1 BGPSessionState write(s) failed');
    expect(calls).toEqual([`apply ${routerName}`, `apply ${md5Name}`, `status ${md5Name}`]);
  });
});
