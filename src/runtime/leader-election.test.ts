import { describe, expect, it } from '@jest/globals';
import {
  ApiLeaseStore,
  LeaderElector,
  nextLeaseSpec,
  type ElectionEnd,
  type Lease,
  type LeaderElectionOptions,
  type LeaseSpec,
  type LeaseStore,
} from './leader-election.js';
import { formatMicroTime, parseMicroTime } from './micro-time.js';
import { ApiError } from './raw-client.js';
import { FakeClock, flushMicrotasks } from '../../test/support/fake-clock.js';

const microTimePattern = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/** One Lease in memory with the API server's optimistic concurrency. */
class FakeLeaseStore implements LeaseStore {
  readonly namespace = 'metallb-system';
  readonly name = 'metallb-controller';
  lease: Lease | undefined;
  failWrites = false;
  writes = 0;
  private resourceVersion = 1;

  async get(): Promise<Lease | undefined> {
    return this.lease && structuredClone(this.lease);
  }

  async create(lease: Lease): Promise<Lease> {
    this.checkWritable();
    if (this.lease) throw new ApiError(409, 'AlreadyExists', 'lease exists', undefined);
    return this.store(lease);
  }

  async update(lease: Lease): Promise<Lease> {
    this.checkWritable();
    if (lease.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) {
      throw new ApiError(409, 'Conflict', 'the object has been modified', undefined);
    }
    return this.store(lease);
  }

  /** Another candidate writes the Lease directly. */
  setSpec(spec: LeaseSpec): void {
    this.store({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace },
      spec,
    });
  }

  private checkWritable(): void {
    if (this.failWrites) throw new Error('connection refused');
    this.writes++;
  }

  private store(lease: Lease): Lease {
    this.lease = {
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(++this.resourceVersion) },
    };
    return structuredClone(this.lease);
  }
}

interface Candidate {
  readonly elector: LeaderElector;
  readonly events: string[];
  readonly result: Promise<ElectionEnd>;
}

function candidate(
  store: LeaseStore,
  clock: FakeClock,
  identity: string,
  options: Partial<LeaderElectionOptions> = {},
): Candidate {
  const events: string[] = [];
  const elector = new LeaderElector({
    store,
    identity,
    clock,
    random: () => 0,
    onStartedLeading: () => void events.push('started'),
    onStoppedLeading: () => void events.push('stopped'),
    ...options,
  });
  return { elector, events, result: elector.run() };
}

describe('LeaderElector', () => {
  it('creates a missing Lease and leads, with MicroTime stamps of exactly six fractional digits', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = candidate(store, clock, 'speaker-a');
    await flushMicrotasks();
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events).toEqual(['started']);
    const spec = store.lease?.spec;
    expect(spec).toMatchObject({
      holderIdentity: 'speaker-a',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
    });
    expect(spec?.renewTime).toMatch(microTimePattern);
    expect(spec?.acquireTime).toBe(spec?.renewTime);
    await a.elector.stop();
  });

  it('renews every retry period and keeps acquireTime and leaseTransitions while it holds the Lease', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = candidate(store, clock, 'a');
    await flushMicrotasks();
    const first = store.lease?.spec as LeaseSpec;
    await clock.advanceAsync(2_000);
    const renewed = store.lease?.spec as LeaseSpec;
    expect(parseMicroTime(renewed.renewTime as string) - parseMicroTime(first.renewTime as string)).toBe(
      2_000,
    );
    expect(renewed.acquireTime).toBe(first.acquireTime);
    expect(renewed.leaseTransitions).toBe(0);
    await a.elector.stop();
  });

  it("judges another holder's expiry by when it saw the record change, not by the remote renewTime", async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    // A holder whose clock is years behind: its renewTime looks ancient, yet we just saw it.
    store.setSpec({
      holderIdentity: 'b',
      leaseDurationSeconds: 15,
      acquireTime: '2000-01-01T00:00:00.000000Z',
      renewTime: '2000-01-01T00:00:00.000000Z',
      leaseTransitions: 4,
    });
    const a = candidate(store, clock, 'a');
    await flushMicrotasks();
    expect(a.elector.isLeader()).toBe(false);
    expect(a.elector.leader()).toBe('b');
    await clock.advanceAsync(14_000);
    expect(a.elector.isLeader()).toBe(false);
    await clock.advanceAsync(4_000);
    expect(a.elector.isLeader()).toBe(true);
    // Retries every 2 s: the first attempt past 15 s after the sighting (t=0) is at 16 s.
    expect(store.lease?.spec).toMatchObject({
      holderIdentity: 'a',
      leaseTransitions: 5,
      acquireTime: '2026-11-25T08:00:16.000000Z',
    });
    await a.elector.stop();
  });

  it('stays a standby while the holder keeps renewing', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const b = candidate(store, clock, 'b');
    await flushMicrotasks();
    const a = candidate(store, clock, 'a');
    for (let i = 0; i < 30; i++) await clock.advanceAsync(1_000);
    expect(b.elector.isLeader()).toBe(true);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events).toEqual([]);
    await a.elector.stop();
    await b.elector.stop();
  });

  it('lets exactly one of two racing candidates win', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    store.setSpec({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 2 });
    const a = candidate(store, clock, 'a');
    const b = candidate(store, clock, 'b');
    await flushMicrotasks();
    expect([a.elector.isLeader(), b.elector.isLeader()].filter(Boolean)).toHaveLength(1);
    expect(store.lease?.spec?.leaseTransitions).toBe(3);
    await a.elector.stop();
    await b.elector.stop();
  });

  it('stops leading when it cannot renew within the renew deadline', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = candidate(store, clock, 'a');
    await flushMicrotasks();
    store.failWrites = true;
    await clock.advanceAsync(8_000);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advanceAsync(2_000);
    expect(await a.result).toBe('lost');
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events).toEqual(['started', 'stopped']);
  });

  it('stops leading as soon as it sees another holder in the Lease', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const a = candidate(store, clock, 'a');
    await flushMicrotasks();
    store.setSpec({
      ...store.lease?.spec,
      holderIdentity: 'usurper',
      renewTime: formatMicroTime(clock.now()),
    });
    await clock.advanceAsync(2_000);
    expect(await a.result).toBe('lost');
    expect(store.lease?.spec?.holderIdentity).toBe('usurper');
  });

  it('on stop ends the guarded work, then releases the Lease so a standby takes over at once', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const order: string[] = [];
    const a = candidate(store, clock, 'a', {
      onStoppedLeading: () =>
        void order.push(`stopped work, holder still ${store.lease?.spec?.holderIdentity}`),
    });
    await flushMicrotasks();
    const b = candidate(store, clock, 'b');
    await clock.advanceAsync(3_000);
    await a.elector.stop();
    expect(await a.result).toBe('stopped');
    expect(order).toEqual(['stopped work, holder still a']);
    expect(store.lease?.spec).toMatchObject({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      leaseTransitions: 0,
    });
    await clock.advanceAsync(5_000); // one jittered retry period, far below the 15 s lease
    expect(b.elector.isLeader()).toBe(true);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.elector.stop();
  });

  it('refuses timings that could let two leaders overlap', () => {
    const store = new FakeLeaseStore();
    const base = { store, identity: 'a', onStartedLeading: () => {}, onStoppedLeading: () => {} };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(
      /greater than the renew deadline/,
    );
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(/1.2/);
  });
});

describe('Lease records', () => {
  it('counts a transition when the holder changes and keeps acquireTime on renewal', () => {
    const t0 = Date.UTC(2026, 10, 25, 8, 0, 0);
    const created = nextLeaseSpec(undefined, 'a', t0, 15);
    expect(created).toEqual({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: '2026-11-25T08:00:00.000000Z',
      renewTime: '2026-11-25T08:00:00.000000Z',
      leaseTransitions: 0,
    });
    const renewed = nextLeaseSpec(created, 'a', t0 + 2000, 15);
    expect(renewed.acquireTime).toBe(created.acquireTime);
    expect(renewed.leaseTransitions).toBe(0);
    const taken = nextLeaseSpec(renewed, 'b', t0 + 30_000, 15);
    expect(taken).toMatchObject({
      holderIdentity: 'b',
      leaseTransitions: 1,
      acquireTime: '2026-11-25T08:00:30.000000Z',
    });
  });

  it('prints MicroTime with six digits, microseconds included', () => {
    expect(formatMicroTime(Date.UTC(2026, 10, 25, 8, 0, 0) + 123.456)).toBe('2026-11-25T08:00:00.123456Z');
    expect(formatMicroTime(Date.UTC(2026, 10, 25, 8, 0, 0))).toBe('2026-11-25T08:00:00.000000Z');
    expect(parseMicroTime('2026-11-25T08:00:00.123456Z')).toBeCloseTo(
      Date.UTC(2026, 10, 25, 8, 0, 0) + 123.456,
      6,
    );
  });
});

describe('ApiLeaseStore', () => {
  it('reads, creates and updates the Lease at its coordination.k8s.io path; a missing Lease is undefined', async () => {
    const calls: string[] = [];
    const client = {
      async get<T>(path: string): Promise<T> {
        calls.push(`GET ${path}`);
        throw new ApiError(404, 'NotFound', 'not found', undefined);
      },
      async create<T>(path: string, body: unknown): Promise<T> {
        calls.push(`POST ${path}`);
        return body as T;
      },
      async replace<T>(path: string, body: unknown): Promise<T> {
        calls.push(`PUT ${path}`);
        return body as T;
      },
    };
    const store = new ApiLeaseStore(client, 'metallb-system', 'metallb-controller');
    const signal = new AbortController().signal;
    expect(await store.get(signal)).toBeUndefined();
    const lease: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'metallb-controller', namespace: 'metallb-system' },
    };
    await store.create(lease, signal);
    await store.update(lease, signal);
    expect(calls).toEqual([
      'GET /apis/coordination.k8s.io/v1/namespaces/metallb-system/leases/metallb-controller',
      'POST /apis/coordination.k8s.io/v1/namespaces/metallb-system/leases',
      'PUT /apis/coordination.k8s.io/v1/namespaces/metallb-system/leases/metallb-controller',
    ]);
  });
});
