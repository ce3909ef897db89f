/**
 * Records events.k8s.io/v1 Events, aggregating repeats on the client side so a flapping object can't flood
 * the API: the first occurrence creates an Event; repeats with the same regarding object, reason, action,
 * type and related object only bump a local series count, written as a patch at most once per
 * `seriesPatchIntervalMs`; a series idle for `seriesIdleMs` (6 min, as client-go) ends, and the next
 * occurrence starts a new Event. The note is not part of that identity: the first note of a series stays.
 *
 * Recording never blocks or throws: writes go out in order in the background and failures are logged.
 */
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
  readonly clock?: Clock;
  readonly logger?: Logger;
}

interface Series {
  readonly event: EventV1;
  count: number;
  lastObservedAt: number;
  writtenCount: number;
  lastWriteAt: number;
  created: boolean;
  timer: Timer | undefined;
}

export class EventRecorder {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly series = new Map<string, Series>();
  private writes: Promise<void> = Promise.resolve();
  private sweepTimer: Timer | undefined;
  private sequence = 0;
  private stopped = false;

  constructor(private readonly options: EventRecorderOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({ recorder: options.reportingController });
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
    const key = JSON.stringify([
      identityOf(regardingRef),
      relatedRef ? identityOf(relatedRef) : null,
      reason,
      action,
      type,
    ]);
    const existing = this.series.get(key);
    if (existing && now - existing.lastObservedAt < this.seriesIdleMs) {
      existing.count++;
      existing.lastObservedAt = now;
      this.scheduleSeriesWrite(existing);
      return;
    }
    if (existing) this.finish(key, existing);
    const fresh: Series = {
      event: this.buildEvent(regardingRef, relatedRef, type, reason, action, note, now),
      count: 1,
      lastObservedAt: now,
      writtenCount: 0,
      lastWriteAt: now,
      created: false,
      timer: undefined,
    };
    this.series.set(key, fresh);
    this.enqueue(() => this.write(fresh));
    this.armSweep();
  }

  /** Sends pending series updates now and waits for every write so far. */
  async flush(): Promise<void> {
    for (const series of this.series.values()) {
      if (series.timer) {
        series.timer.cancel();
        series.timer = undefined;
        this.enqueue(() => this.write(series));
      }
    }
    await this.writes;
  }

  /** Flushes, then records nothing more. */
  async stop(): Promise<void> {
    await this.flush();
    this.stopped = true;
    this.sweepTimer?.cancel();
    this.sweepTimer = undefined;
  }

  private get seriesIdleMs(): number {
    return this.options.seriesIdleMs ?? 6 * 60_000;
  }

  private get seriesPatchIntervalMs(): number {
    return this.options.seriesPatchIntervalMs ?? 60_000;
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
    if (series.timer) return;
    const due = series.lastWriteAt + this.seriesPatchIntervalMs;
    series.timer = this.clock.setTimer(due - this.clock.now(), () => {
      series.timer = undefined;
      this.enqueue(() => this.write(series));
    });
  }

  /** Ends a series, writing its last count if that never went out. */
  private finish(key: string, series: Series): void {
    this.series.delete(key);
    if (series.timer) {
      series.timer.cancel();
      series.timer = undefined;
      this.enqueue(() => this.write(series));
    }
  }

  private armSweep(): void {
    if (this.sweepTimer || this.series.size === 0) return;
    this.sweepTimer = this.clock.setTimer(this.seriesIdleMs, () => {
      this.sweepTimer = undefined;
      const now = this.clock.now();
      for (const [key, series] of this.series) {
        if (now - series.lastObservedAt >= this.seriesIdleMs) this.finish(key, series);
      }
      this.armSweep();
    });
  }

  private enqueue(write: () => Promise<void>): void {
    this.writes = this.writes.then(write).catch((error: unknown) => {
      this.log.error({ err: error }, 'event write crashed');
    });
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
