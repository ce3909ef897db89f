/**
 * Records events.k8s.io/v1 Events, aggregating repeats on the client side so a flapping object can't flood
 * the API (client-go's event correlator, for the events.k8s.io API):
 * - the first occurrence creates an Event; repeats with the same regarding object, reason, action, type and
 *   related object only bump a local series count, written as a patch at most once per
 *   `seriesPatchIntervalMs`; a series idle for `seriesIdleMs` (6 min, as client-go) ends, and the next
 *   occurrence starts a new Event. The note is not part of that identity: the first note of a series stays.
 * - each regarding object has a token bucket for new Events (client-go's spam filter: a burst of 25, then
 *   one per 5 min); repeats folded into a series are free, they cost no API call of their own.
 * - memory is bounded: at most `maxQueued` writes wait (client-go's broadcaster queue, 1,000), at most
 *   `maxTracked` series and buckets are remembered (least recently seen forgotten first, as client-go's
 *   LRU of 4,096). What doesn't fit is dropped and counted in `metallb_events_dropped_total{reason}`.
 * - `stop()` flushes what is queued within a deadline; what is still unwritten then is counted as dropped.
 *
 * Recording never blocks or throws: writes go out in the background, a few at a time, and failures are
 * logged and counted.
 */
import { Counter, type Registry } from 'prom-client';
import { systemClock, type Clock, type Timer } from './clock.js';
import type { KubeObject } from './kube-object.js';
import { silentLogger, type Logger } from './logging.js';
import { formatMicroTime } from './micro-time.js';
import { apiStatus, type RawClient } from './raw-client.js';

export type EventType = 'Normal' | 'Warning';

export interface ObjectReference {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
}

export interface EventSeries {
  readonly count: number;
  readonly lastObservedTime: string;
}

export interface EventV1 {
  readonly apiVersion: 'events.k8s.io/v1';
  readonly kind: 'Event';
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly eventTime: string;
  readonly reportingController: string;
  readonly reportingInstance: string;
  readonly action: string;
  readonly reason: string;
  readonly note?: string;
  readonly type: EventType;
  readonly regarding: ObjectReference;
  readonly related?: ObjectReference;
  readonly series?: EventSeries;
}

export interface EventSink {
  create(event: EventV1): Promise<unknown>;
  updateSeries(namespace: string, name: string, series: EventSeries): Promise<unknown>;
}

export class ApiEventSink implements EventSink {
  constructor(private readonly client: Pick<RawClient, 'create' | 'patch'>) {}

  create(event: EventV1): Promise<unknown> {
    return this.client.create(this.collection(event.metadata.namespace), event);
  }

  updateSeries(namespace: string, name: string, series: EventSeries): Promise<unknown> {
    const path = `${this.collection(namespace)}/${encodeURIComponent(name)}`;
    return this.client.patch(path, { series }, 'application/merge-patch+json');
  }

  private collection(namespace: string): string {
    return `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events`;
  }
}

/** The reference an Event carries for an object. resourceVersion is left out: it would split every series. */
export function referenceTo(object: KubeObject): ObjectReference {
  const metadata = object.metadata ?? {};
  return {
    ...(object.apiVersion ? { apiVersion: object.apiVersion } : {}),
    ...(object.kind ? { kind: object.kind } : {}),
    ...(metadata.namespace ? { namespace: metadata.namespace } : {}),
    name: metadata.name ?? '',
    ...(metadata.uid ? { uid: metadata.uid } : {}),
  };
}

const noteLimitBytes = 1024;
const fieldLimit = 128;

/** Cuts text to at most `limit` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, limit: number): string {
  if (Buffer.byteLength(text) <= limit) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > limit) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}

export interface EventRecorderOptions {
  readonly sink: EventSink;
  /** The binary's controller name, e.g. "metallb.io/controller". */
  readonly reportingController: string;
  /** This replica, e.g. the pod or node name. */
  readonly reportingInstance: string;
  /** Write a growing series at most this often; default 1 min. */
  readonly seriesPatchIntervalMs?: number;
  /** A series with no repeat for this long ends; default 6 min. */
  readonly seriesIdleMs?: number;
  /** Writes waiting to go out; one more is dropped. Default 1,000 (client-go's queue length). */
  readonly maxQueued?: number;
  /** Series (and per-object buckets) remembered; the least recently seen are forgotten. Default 4,096. */
  readonly maxTracked?: number;
  /** New Events one object may cause at once; default 25 (client-go's spam filter). */
  readonly perObjectBurst?: number;
  /** Then one new Event per object this often; default 5 min. */
  readonly perObjectRefillMs?: number;
  /** Writes in flight at once; default 4. */
  readonly concurrentWrites?: number;
  /** How long stop() waits for queued writes; default 5 s. */
  readonly stopDeadlineMs?: number;
  /** Where `metallb_events_dropped_total` is registered; none when absent. */
  readonly registry?: Registry;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** Why an Event (or a series update) never reached the API. */
export type EventDropReason = 'queue_full' | 'rate_limited' | 'write_failed' | 'shutdown';

export const eventsDroppedMetric = 'metallb_events_dropped_total';

function droppedCounter(registry: Registry): Counter<'reason'> {
  const existing = registry.getSingleMetric(eventsDroppedMetric) as Counter<'reason'> | undefined;
  if (existing) return existing;
  const counter = new Counter({
    name: eventsDroppedMetric,
    help: 'Events (or updates of their series count) not written to the API, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of ['queue_full', 'rate_limited', 'write_failed', 'shutdown'] as const)
    counter.inc({ reason }, 0);
  return counter;
}

interface Series {
  readonly key: string;
  readonly event: EventV1;
  count: number;
  lastObservedAt: number;
  writtenCount: number;
  lastWriteAt: number;
  created: boolean;
  timer: Timer | undefined;
  queued: boolean;
  writing: boolean;
  /** Became due again while a write was in flight. */
  again: boolean;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export interface EventRecorderStats {
  readonly queued: number;
  readonly writing: number;
  readonly tracked: number;
  readonly dropped: Readonly<Record<EventDropReason, number>>;
}

export class EventRecorder {
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Insertion order is recency order: a repeat moves its series to the end. */
  private readonly series = new Map<string, Series>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly queue = new Set<Series>();
  private writing = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly dropped: Record<EventDropReason, number> = {
    queue_full: 0,
    rate_limited: 0,
    write_failed: 0,
    shutdown: 0,
  };
  private readonly droppedMetric: Counter<'reason'> | undefined;
  private sweepTimer: Timer | undefined;
  private sequence = 0;
  private stopped = false;

  constructor(private readonly options: EventRecorderOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({ recorder: options.reportingController });
    this.droppedMetric = options.registry && droppedCounter(options.registry);
  }

  normal(regarding: KubeObject | ObjectReference, reason: string, action: string, note: string): void {
    this.event(regarding, 'Normal', reason, action, note);
  }

  warning(regarding: KubeObject | ObjectReference, reason: string, action: string, note: string): void {
    this.event(regarding, 'Warning', reason, action, note);
  }

  /**
   * Records an occurrence. `reason` is a short CamelCase cause (PoolExhausted), `action` what was done or
   * tried (Allocate); details belong in `note` and never in reason or action, or repeats won't aggregate.
   */
  event(
    regarding: KubeObject | ObjectReference,
    type: EventType,
    reason: string,
    action: string,
    note: string,
    related?: KubeObject | ObjectReference,
  ): void {
    if (this.stopped) return;
    const regardingRef = toReference(regarding);
    const relatedRef = related && toReference(related);
    const now = this.clock.now();
    const objectKey = JSON.stringify(identityOf(regardingRef));
    const key = JSON.stringify([objectKey, relatedRef ? identityOf(relatedRef) : null, reason, action, type]);
    const existing = this.series.get(key);
    if (existing && now - existing.lastObservedAt < this.seriesIdleMs) {
      existing.count++;
      existing.lastObservedAt = now;
      this.series.delete(key);
      this.series.set(key, existing);
      this.scheduleSeriesWrite(existing);
      return;
    }
    if (existing) this.finish(existing);
    if (!this.takeToken(objectKey, now)) {
      this.drop('rate_limited', regardingRef, reason);
      return;
    }
    const fresh: Series = {
      key,
      event: this.buildEvent(regardingRef, relatedRef, type, reason, action, note, now),
      count: 1,
      lastObservedAt: now,
      writtenCount: 0,
      lastWriteAt: now,
      created: false,
      timer: undefined,
      queued: false,
      writing: false,
      again: false,
    };
    this.series.set(key, fresh);
    // A full queue defers the write to the series' next slot; it is lost only if the series is forgotten first.
    if (!this.schedule(fresh)) this.scheduleSeriesWrite(fresh);
    this.forgetBeyondLimit();
    this.armSweep();
  }

  /** What waits, what is being written, and what was dropped so far. */
  stats(): EventRecorderStats {
    return {
      queued: this.queue.size,
      writing: this.writing,
      tracked: this.series.size,
      dropped: { ...this.dropped },
    };
  }

  /** Sends pending series updates now (as many at a time as the queue holds) and waits for every write. */
  async flush(): Promise<void> {
    for (;;) {
      for (const series of this.series.values()) {
        if (!series.timer) continue;
        if (this.queue.size >= this.maxQueued) break;
        series.timer.cancel();
        series.timer = undefined;
        this.schedule(series);
      }
      await this.idle();
      if (![...this.series.values()].some((series) => series.timer)) return;
    }
  }

  /**
   * Records nothing more, and flushes what is queued for at most the deadline (default `stopDeadlineMs`):
   * a stuck API server must not hold the process's shutdown. What is unwritten by then counts as dropped.
   */
  async stop(deadlineMs = this.options.stopDeadlineMs ?? 5_000): Promise<void> {
    this.stopped = true;
    this.sweepTimer?.cancel();
    this.sweepTimer = undefined;
    let deadline: Timer | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      deadline = this.clock.setTimer(deadlineMs, () => resolve(true));
    });
    const done = await Promise.race([this.flush().then(() => false), timedOut]);
    deadline?.cancel();
    // Unwritten at the deadline: what waits in the queue, what is in flight, and series deferred by a full queue.
    let unwritten = this.queue.size + this.writing;
    for (const series of this.series.values()) {
      if (!series.timer) continue;
      series.timer.cancel();
      series.timer = undefined;
      if (!series.queued && !series.writing) unwritten++;
    }
    if (!done) return;
    this.queue.clear();
    this.dropped.shutdown += unwritten;
    this.droppedMetric?.inc({ reason: 'shutdown' }, unwritten);
    this.log.warn({ unwritten, deadlineMs }, 'stopped before every event was written');
  }

  private get maxQueued(): number {
    return this.options.maxQueued ?? 1000;
  }

  private get seriesIdleMs(): number {
    return this.options.seriesIdleMs ?? 6 * 60_000;
  }

  private get seriesPatchIntervalMs(): number {
    return this.options.seriesPatchIntervalMs ?? 60_000;
  }

  private drop(reason: EventDropReason, regarding: ObjectReference, eventReason: string): void {
    this.dropped[reason]++;
    this.droppedMetric?.inc({ reason });
    this.log.debug(
      { object: `${regarding.namespace ?? ''}/${regarding.name}`, reason: eventReason, dropped: reason },
      'event dropped',
    );
  }

  /** The object's token bucket: `perObjectBurst` tokens, one more every `perObjectRefillMs`. */
  private takeToken(objectKey: string, now: number): boolean {
    const burst = this.options.perObjectBurst ?? 25;
    const refillMs = this.options.perObjectRefillMs ?? 5 * 60_000;
    const bucket = this.buckets.get(objectKey) ?? { tokens: burst, updatedAt: now };
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.updatedAt) / refillMs);
    bucket.updatedAt = now;
    this.buckets.delete(objectKey);
    this.buckets.set(objectKey, bucket);
    const maxTracked = this.options.maxTracked ?? 4096;
    for (const oldest of this.buckets.keys()) {
      if (this.buckets.size <= maxTracked) break;
      this.buckets.delete(oldest);
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forgets the least recently seen series beyond `maxTracked`, sending their last count first. */
  private forgetBeyondLimit(): void {
    const maxTracked = this.options.maxTracked ?? 4096;
    for (const oldest of this.series.values()) {
      if (this.series.size <= maxTracked) break;
      this.finish(oldest);
    }
  }

  private buildEvent(
    regarding: ObjectReference,
    related: ObjectReference | undefined,
    type: EventType,
    reason: string,
    action: string,
    note: string,
    now: number,
  ): EventV1 {
    // Like client-go: "<object name>.<time in hex>"; the sequence keeps two events in one instant apart.
    const stamp = (BigInt(Math.round(now * 1000)) * 1000n + BigInt(this.sequence++ % 1000)).toString(16);
    const name = `${regarding.name.slice(0, 253 - stamp.length - 1)}.${stamp}`;
    return {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      // Events about cluster-scoped objects go to "default", as client-go does.
      metadata: { name, namespace: regarding.namespace || 'default' },
      eventTime: formatMicroTime(now),
      reportingController: truncateUtf8(this.options.reportingController, fieldLimit),
      reportingInstance: truncateUtf8(this.options.reportingInstance, fieldLimit),
      action: truncateUtf8(action, fieldLimit),
      reason: truncateUtf8(reason, fieldLimit),
      ...(note ? { note: truncateUtf8(note, noteLimitBytes) } : {}),
      type,
      regarding,
      ...(related ? { related } : {}),
    };
  }

  private scheduleSeriesWrite(series: Series): void {
    if (series.timer || series.queued) return;
    const due = series.lastWriteAt + this.seriesPatchIntervalMs;
    series.timer = this.clock.setTimer(due - this.clock.now(), () => {
      series.timer = undefined;
      if (this.schedule(series)) return;
      // Still full: try again one interval later; the count keeps growing meanwhile.
      series.lastWriteAt = this.clock.now();
      this.scheduleSeriesWrite(series);
    });
  }

  /** Ends a series, writing its last count if that never went out; lost (queue_full) if the queue is full. */
  private finish(series: Series): void {
    this.series.delete(series.key);
    if (series.timer) {
      series.timer.cancel();
      series.timer = undefined;
      if (!this.schedule(series)) this.drop('queue_full', series.event.regarding, series.event.reason);
    }
  }

  private armSweep(): void {
    if (this.sweepTimer || this.series.size === 0) return;
    this.sweepTimer = this.clock.setTimer(this.seriesIdleMs, () => {
      this.sweepTimer = undefined;
      const now = this.clock.now();
      for (const series of this.series.values()) {
        if (now - series.lastObservedAt >= this.seriesIdleMs) this.finish(series);
      }
      this.armSweep();
    });
  }

  /** Queues the series' write unless the queue is full; false when it is. */
  private schedule(series: Series): boolean {
    if (series.queued) return true;
    if (series.writing) {
      series.again = true;
      return true;
    }
    if (this.queue.size >= this.maxQueued) return false;
    series.queued = true;
    this.queue.add(series);
    this.pump();
    return true;
  }

  /** Starts writes while there is room; a series is never written by two writes at once. */
  private pump(): void {
    const limit = this.options.concurrentWrites ?? 4;
    for (const series of this.queue) {
      if (this.writing >= limit) break;
      this.queue.delete(series);
      series.queued = false;
      series.writing = true;
      this.writing++;
      void this.write(series)
        .catch((error: unknown) => this.log.error({ err: error }, 'event write crashed'))
        .finally(() => {
          series.writing = false;
          this.writing--;
          if (series.again) {
            series.again = false;
            if (!this.schedule(series)) this.scheduleSeriesWrite(series);
          }
          this.pump();
          this.wakeIdleWaiters();
        });
    }
  }

  private idle(): Promise<void> {
    if (this.queue.size === 0 && this.writing === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdleWaiters(): void {
    if (this.queue.size > 0 || this.writing > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private async write(series: Series): Promise<void> {
    if (series.created && series.count === series.writtenCount) return;
    const count = series.count;
    const seriesField =
      count > 1 ? { count, lastObservedTime: formatMicroTime(series.lastObservedAt) } : undefined;
    const { namespace, name } = series.event.metadata;
    const object = { object: `${series.event.regarding.namespace ?? ''}/${series.event.regarding.name}` };
    series.lastWriteAt = this.clock.now();
    try {
      if (series.created && seriesField) {
        try {
          await this.options.sink.updateSeries(namespace, name, seriesField);
        } catch (error) {
          // The Event expired on the server (1 h TTL by default): start it again with the series.
          if (apiStatus(error) !== 404) throw error;
          series.created = false;
        }
      }
      if (!series.created) {
        await this.options.sink.create({ ...series.event, ...(seriesField ? { series: seriesField } : {}) });
        series.created = true;
      }
      series.writtenCount = count;
    } catch (error) {
      this.dropped.write_failed++;
      this.droppedMetric?.inc({ reason: 'write_failed' });
      this.log.warn({ ...object, err: error, reason: series.event.reason }, 'could not record event');
    }
  }
}

function toReference(value: KubeObject | ObjectReference): ObjectReference {
  return 'metadata' in value ? referenceTo(value) : (value as ObjectReference);
}

function identityOf(reference: ObjectReference): unknown[] {
  return [reference.apiVersion, reference.kind, reference.namespace, reference.name, reference.uid];
}
