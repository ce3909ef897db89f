import { describe, expect, it } from '@jest/globals';
import {
  ApiEventSink,
  EventRecorder,
  truncateUtf8,
  type EventSeries,
  type EventSink,
  type EventV1,
} from './events.js';
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
function writtenCount(sink: RecordingSink, event: EventV1 | undefined): number {
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
