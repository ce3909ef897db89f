import { describe, expect, it } from '@jest/globals';
import {
  ApiEventSink,
  EventRecorder,
  eventsDroppedMetric,
  type EventRecorderOptions,
  truncateUtf8,
  type EventSeries,
  type EventSink,
  type EventV1,
} from './events.js';
import { Registry } from 'prom-client';
import { ApiError } from './raw-client.js';
import { FakeClock, flushMicrotasks } from '../../test/support/fake-clock.js';

class RecordingSink implements EventSink {
  readonly created: EventV1[] = [];
  readonly patched: { name: string; series: EventSeries }[] = [];
  failCreates = false;
  missing = new Set<string>();

  async create(event: EventV1): Promise<unknown> {
    if (this.failCreates) throw new Error('connection refused');
    this.created.push(event);
    this.missing.delete(event.metadata.name);
    return event;
  }

  async updateSeries(_namespace: string, name: string, series: EventSeries): Promise<unknown> {
    if (this.missing.has(name)) throw new ApiError(404, 'NotFound', 'event not found', undefined);
    this.patched.push({ name, series });
    return {};
  }
}

/** The count the server last heard for an Event: from its latest patch, else from its creation. */
function writtenCount(sink: Pick<RecordingSink, 'patched'>, event: EventV1 | undefined): number {
  const name = event?.metadata.name;
  const patch = sink.patched.filter((p) => p.name === name).at(-1);
  return patch?.series.count ?? event?.series?.count ?? 1;
}

const service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop', uid: 'uid-1', resourceVersion: '42' },
};

function setup(): { recorder: EventRecorder; sink: RecordingSink; clock: FakeClock } {
  const clock = new FakeClock();
  const sink = new RecordingSink();
  const recorder = new EventRecorder({
    sink,
    clock,
    reportingController: 'metallb.io/controller',
    reportingInstance: 'controller-7d9f',
  });
  return { recorder, sink, clock };
}

describe('EventRecorder', () => {
  it('writes an events.k8s.io/v1 Event about the object', async () => {
    const { recorder, sink } = setup();
    recorder.normal(service, 'IPAllocated', 'Allocate', 'Assigned IP ["192.0.2.10"]');
    await recorder.flush();
    expect(sink.created).toHaveLength(1);
    const event = sink.created[0] as EventV1;
    expect(event).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: 'shop' },
      reportingController: 'metallb.io/controller',
      reportingInstance: 'controller-7d9f',
      reason: 'IPAllocated',
      action: 'Allocate',
      type: 'Normal',
      note: 'Assigned IP ["192.0.2.10"]',
      regarding: { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'web', uid: 'uid-1' },
    });
    expect(event.metadata.name).toMatch(/^web\.[0-9a-f]+$/);
    expect(event.eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(event.series).toBeUndefined();
  });

  it('files events about cluster-scoped objects in the default namespace', async () => {
    const { recorder, sink } = setup();
    recorder.warning(
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } },
      'NoSpeaker',
      'Announce',
      '',
    );
    await recorder.flush();
    expect(sink.created[0]?.metadata.namespace).toBe('default');
    expect(sink.created[0]?.note).toBeUndefined();
  });

  it('folds a flapping object into one Event whose series count is written at most once a minute', async () => {
    const { recorder, sink, clock } = setup();
    for (let i = 0; i < 50; i++) {
      recorder.warning(service, 'AllocationFailed', 'Allocate', `pool exhausted (attempt ${i})`);
      await clock.advanceAsync(1_000);
    }
    await recorder.flush();
    expect(sink.created).toHaveLength(1);
    expect(sink.created[0]?.note).toBe('pool exhausted (attempt 0)');
    // 49 repeats over 50 s: the one-minute throttle holds them all back until the flush.
    expect(sink.patched).toHaveLength(1);
    expect(writtenCount(sink, sink.created[0])).toBe(50);
    expect(sink.patched[0]?.series.lastObservedTime).toMatch(/\.\d{6}Z$/);
  });

  it('keeps events with a different reason, action or type apart', async () => {
    const { recorder, sink } = setup();
    recorder.warning(service, 'AllocationFailed', 'Allocate', 'x');
    recorder.normal(service, 'AllocationFailed', 'Allocate', 'x');
    recorder.warning(service, 'IPAllocated', 'Allocate', 'x');
    recorder.warning(service, 'AllocationFailed', 'Release', 'x');
    await recorder.flush();
    expect(sink.created).toHaveLength(4);
    expect(new Set(sink.created.map((e) => e.metadata.name)).size).toBe(4);
  });

  it('starts a new Event after a series has been idle for six minutes', async () => {
    const { recorder, sink, clock } = setup();
    recorder.warning(service, 'AllocationFailed', 'Allocate', 'first');
    recorder.warning(service, 'AllocationFailed', 'Allocate', 'again');
    await clock.advanceAsync(6 * 60_000);
    recorder.warning(service, 'AllocationFailed', 'Allocate', 'much later');
    await recorder.flush();
    expect(sink.created.map((e) => e.note)).toEqual(['first', 'much later']);
    expect(writtenCount(sink, sink.created[0])).toBe(2);
    expect(writtenCount(sink, sink.created[1])).toBe(1);
  });

  it('recreates an Event that expired on the server, carrying the series', async () => {
    const { recorder, sink, clock } = setup();
    recorder.warning(service, 'AllocationFailed', 'Allocate', 'x');
    await recorder.flush();
    sink.missing.add(sink.created[0]?.metadata.name as string);
    recorder.warning(service, 'AllocationFailed', 'Allocate', 'x');
    await clock.advanceAsync(60_000);
    await recorder.flush();
    expect(sink.created).toHaveLength(2);
    expect(sink.created[1]?.series?.count).toBe(2);
  });

  it('never throws at the caller when the API refuses the write', async () => {
    const { recorder, sink } = setup();
    sink.failCreates = true;
    expect(() => recorder.warning(service, 'AllocationFailed', 'Allocate', 'x')).not.toThrow();
    await recorder.flush();
    sink.failCreates = false;
    recorder.warning(service, 'AllocationFailed', 'Allocate', 'x');
    await flushMicrotasks();
    await recorder.flush();
    expect(sink.created).toHaveLength(1);
  });

  it('writes the pending count on stop and records nothing after', async () => {
    const { recorder, sink } = setup();
    recorder.warning(service, 'AllocationFailed', 'Allocate', 'x');
    recorder.warning(service, 'AllocationFailed', 'Allocate', 'x');
    recorder.warning(service, 'AllocationFailed', 'Allocate', 'x');
    await recorder.flush();
    recorder.warning(service, 'AllocationFailed', 'Allocate', 'x');
    await recorder.stop();
    expect(sink.created).toHaveLength(1);
    expect(writtenCount(sink, sink.created[0])).toBe(4);
    recorder.warning(service, 'Other', 'Allocate', 'x');
    await recorder.flush();
    expect(sink.created).toHaveLength(1);
  });

  it('limits the note to 1 kB without splitting a character', async () => {
    const { recorder, sink } = setup();
    recorder.warning(service, 'AllocationFailed', 'Allocate', 'é'.repeat(600));
    await recorder.flush();
    const note = sink.created[0]?.note as string;
    expect(Buffer.byteLength(note)).toBe(1024);
    expect(note).toBe('é'.repeat(512));
    expect(truncateUtf8('a€', 3)).toBe('a');
  });
});

/** A sink whose writes hang until the test releases them, counting how many run at once. */
class GatedSink implements EventSink {
  readonly created: EventV1[] = [];
  readonly patched: { name: string; series: EventSeries }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private waiting: (() => void)[] = [];

  private async gate(): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight--;
  }

  async create(event: EventV1): Promise<unknown> {
    await this.gate();
    this.created.push(event);
    return event;
  }

  async updateSeries(_namespace: string, name: string, series: EventSeries): Promise<unknown> {
    await this.gate();
    this.patched.push({ name, series });
    return {};
  }

  /** Lets every write waiting now finish. */
  async release(): Promise<void> {
    const waiting = this.waiting;
    this.waiting = [];
    for (const go of waiting) go();
    await flushMicrotasks();
  }

  /** Releases writes until none is left. */
  async drain(): Promise<void> {
    while (this.waiting.length > 0) await this.release();
  }
}

function objectNamed(name: string) {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop', uid: `uid-${name}` } };
}

async function droppedBy(registry: Registry): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric(eventsDroppedMetric);
  const values = (await metric?.get())?.values ?? [];
  return Object.fromEntries(values.map((v) => [String(v.labels.reason), v.value]));
}

function gatedSetup(options: Partial<EventRecorderOptions> = {}) {
  const clock = new FakeClock();
  const sink = new GatedSink();
  const registry = new Registry();
  const recorder = new EventRecorder({
    sink,
    clock,
    registry,
    reportingController: 'metallb.io/controller',
    reportingInstance: 'controller-7d9f',
    ...options,
  });
  return { recorder, sink, clock, registry };
}

describe('EventRecorder under a burst', () => {
  it('keeps at most maxQueued writes waiting; the rest wait for a later slot, lost only when forgotten', async () => {
    const { recorder, sink, clock, registry } = gatedSetup({
      maxQueued: 10,
      concurrentWrites: 2,
      maxTracked: 20,
    });
    for (let i = 0; i < 40; i++) recorder.normal(objectNamed(`svc-${i}`), 'IPAllocated', 'Allocate', 'x');
    expect(recorder.stats()).toMatchObject({ queued: 10, writing: 2, tracked: 20 });
    // svc-12..19 were deferred, then forgotten to make room for svc-20..39: those 8 are lost.
    expect(await droppedBy(registry)).toMatchObject({ queue_full: 8, rate_limited: 0 });
    await sink.drain();
    await clock.advanceAsync(60_000);
    await sink.drain();
    await clock.advanceAsync(60_000);
    await sink.drain();
    const names = sink.created.map((e) => e.regarding.name);
    expect(names).toHaveLength(32);
    expect(new Set(names)).toEqual(
      new Set([
        ...Array.from({ length: 12 }, (_, i) => `svc-${i}`),
        ...Array.from({ length: 20 }, (_, i) => `svc-${i + 20}`),
      ]),
    );
    expect(await droppedBy(registry)).toMatchObject({ queue_full: 8 });
  });

  it('holds memory flat: 5,000 objects against a stuck API leave bounded queues and series', async () => {
    const { recorder, sink } = gatedSetup({ maxQueued: 100, maxTracked: 200 });
    for (let i = 0; i < 5_000; i++) recorder.normal(objectNamed(`svc-${i}`), 'IPAllocated', 'Allocate', 'x');
    const stats = recorder.stats();
    expect(stats.queued).toBeLessThanOrEqual(100);
    expect(stats.tracked).toBeLessThanOrEqual(200);
    expect(stats.dropped.queue_full).toBeGreaterThan(4_500);
    await sink.drain();
  });

  it('writes at most concurrentWrites at once, and never one series twice at once', async () => {
    const { recorder, sink, clock } = gatedSetup({ concurrentWrites: 3, seriesPatchIntervalMs: 10 });
    for (let i = 0; i < 9; i++) recorder.normal(objectNamed(`svc-${i}`), 'IPAllocated', 'Allocate', 'x');
    expect(sink.inFlight).toBe(3);
    // svc-0 repeats while its create is in flight: its patch waits for the create.
    recorder.normal(objectNamed('svc-0'), 'IPAllocated', 'Allocate', 'x');
    await clock.advanceAsync(20);
    expect(sink.inFlight).toBe(3);
    await sink.drain();
    await recorder.flush();
    expect(sink.maxInFlight).toBe(3);
    expect(sink.created).toHaveLength(9);
    expect(sink.patched).toEqual([
      { name: sink.created[0]?.metadata.name, series: expect.objectContaining({ count: 2 }) },
    ]);
  });

  it('limits new Events per object with a token bucket (burst 25, then one per 5 min)', async () => {
    const { recorder, sink, clock, registry } = gatedSetup();
    const flushAll = async () => {
      const flushed = recorder.flush();
      await sink.drain();
      await flushed;
    };
    for (let i = 0; i < 30; i++) recorder.warning(service, `Reason${i}`, 'Allocate', 'x');
    await flushAll();
    expect(sink.created).toHaveLength(25);
    expect(await droppedBy(registry)).toMatchObject({ rate_limited: 5 });
    // Another object has its own bucket.
    recorder.warning(objectNamed('other'), 'Reason0', 'Allocate', 'x');
    await flushAll();
    expect(sink.created).toHaveLength(26);
    await clock.advanceAsync(5 * 60_000);
    recorder.warning(service, 'Later1', 'Allocate', 'x');
    recorder.warning(service, 'Later2', 'Allocate', 'x');
    await flushAll();
    expect(sink.created.map((e) => e.reason).slice(26)).toEqual(['Later1']);
    expect(await droppedBy(registry)).toMatchObject({ rate_limited: 6 });
  });

  it("folds repeats into the series without spending the object's tokens", async () => {
    const { recorder, sink, registry } = gatedSetup({ perObjectBurst: 1 });
    for (let i = 0; i < 100; i++) recorder.warning(service, 'AllocationFailed', 'Allocate', 'x');
    const flushed = recorder.flush();
    await sink.drain();
    await flushed;
    expect(sink.created).toHaveLength(1);
    expect(writtenCount(sink, sink.created[0])).toBe(100);
    expect(await droppedBy(registry)).toMatchObject({ rate_limited: 0, queue_full: 0 });
  });

  it('forgets the least recently seen series beyond maxTracked, writing its last count first', async () => {
    const { recorder, sink } = gatedSetup({ maxTracked: 2 });
    recorder.warning(objectNamed('a'), 'Failed', 'Allocate', 'x');
    recorder.warning(objectNamed('b'), 'Failed', 'Allocate', 'x');
    await sink.drain();
    recorder.warning(objectNamed('a'), 'Failed', 'Allocate', 'x');
    recorder.warning(objectNamed('b'), 'Failed', 'Allocate', 'x');
    recorder.warning(objectNamed('a'), 'Failed', 'Allocate', 'x');
    // c pushes out b, the least recently seen; b's second occurrence is written on the way out.
    recorder.warning(objectNamed('c'), 'Failed', 'Allocate', 'x');
    expect(recorder.stats().tracked).toBe(2);
    await sink.drain();
    expect(sink.patched).toEqual([
      { name: sink.created[1]?.metadata.name, series: expect.objectContaining({ count: 2 }) },
    ]);
    // A later b starts a new Event: its old series is gone.
    recorder.warning(objectNamed('b'), 'Failed', 'Allocate', 'x');
    const flushed = recorder.flush();
    await sink.drain();
    await flushed;
    expect(sink.created.map((e) => e.regarding.name)).toEqual(['a', 'b', 'c', 'b']);
  });

  it('flushes what is queued on stop, and gives up at the deadline counting the rest (shutdown)', async () => {
    const { recorder, sink, clock, registry } = gatedSetup({ concurrentWrites: 1 });
    for (let i = 0; i < 5; i++) recorder.normal(objectNamed(`svc-${i}`), 'IPAllocated', 'Allocate', 'x');
    let stopped = false;
    const stopping = recorder.stop(2_000).then(() => {
      stopped = true;
    });
    await sink.release();
    await sink.release();
    expect(sink.created).toHaveLength(2);
    expect(stopped).toBe(false);
    await clock.advanceAsync(2_000);
    await stopping;
    expect(await droppedBy(registry)).toMatchObject({ shutdown: 3 });
    recorder.normal(objectNamed('late'), 'IPAllocated', 'Allocate', 'x');
    await sink.drain();
    expect(sink.created.map((e) => e.regarding.name)).not.toContain('late');
  });

  it('counts a write the API refused (write_failed)', async () => {
    const { recorder, sink } = setup();
    const registry = new Registry();
    const counted = new EventRecorder({
      sink,
      registry,
      clock: new FakeClock(),
      reportingController: 'c',
      reportingInstance: 'i',
    });
    sink.failCreates = true;
    counted.warning(service, 'AllocationFailed', 'Allocate', 'x');
    await counted.flush();
    await recorder.stop();
    expect(await droppedBy(registry)).toMatchObject({ write_failed: 1 });
  });
});

describe('ApiEventSink', () => {
  it('creates Events and merge-patches their series under events.k8s.io/v1', async () => {
    const calls: unknown[] = [];
    const client = {
      async create<T>(path: string, body: unknown): Promise<T> {
        calls.push(['POST', path, (body as EventV1).reason]);
        return body as T;
      },
      async patch<T>(path: string, body: unknown, contentType: string): Promise<T> {
        calls.push(['PATCH', path, body, contentType]);
        return body as T;
      },
    };
    const sink = new ApiEventSink(client);
    const clock = new FakeClock();
    const recorder = new EventRecorder({ sink, clock, reportingController: 'c', reportingInstance: 'i' });
    recorder.warning(service, 'AllocationFailed', 'Allocate', 'x');
    await recorder.flush();
    recorder.warning(service, 'AllocationFailed', 'Allocate', 'x');
    await recorder.flush();
    expect(calls[0]).toEqual(['POST', '/apis/events.k8s.io/v1/namespaces/shop/events', 'AllocationFailed']);
    expect(calls[1]).toEqual([
      'PATCH',
      expect.stringMatching(/^\/apis\/events\.k8s\.io\/v1\/namespaces\/shop\/events\/web\.[0-9a-f]+$/),
      { series: { count: 2, lastObservedTime: expect.stringMatching(/\.\d{6}Z$/) } },
      'application/merge-patch+json',
    ]);
  });
});
