/**
 * A tiny stand-in for the API server's list and watch of one collection, on 127.0.0.1, for informer tests.
 * It keeps objects with a resourceVersion counter and an event history, serves paged lists (items without
 * apiVersion/kind, like built-in kinds) and watches from a resourceVersion, and can be told to misbehave:
 * compact its history (410 on the next watch), fail requests, end streams, or accept a watch and go silent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface FakeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
}

interface HistoryEntry {
  readonly resourceVersion: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: FakeObject;
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  /** Statuses to answer the next list requests with, one per request, before serving normally. */
  readonly listFailures: number[] = [];
  /** Statuses to answer the next watch requests with, one per request. */
  readonly watchFailures: number[] = [];
  /** How an expired resourceVersion is reported: an ERROR event in a 200 stream (the usual way) or HTTP 410. */
  expiredAs: 'event' | 'status' = 'event';
  /** Accept watches but never send anything on them. */
  silentWatches = false;
  /** Leave new watch requests unanswered until releaseHeldWatches(), to change things while a client is away. */
  holdWatches = false;

  private readonly server: Server;
  private readonly objects = new Map<string, FakeObject>();
  private history: HistoryEntry[] = [];
  private resourceVersion = 100;
  private oldestWatchable = 100;
  private uidCounter = 0;
  private readonly streams = new Set<ServerResponse>();
  private held: { readonly query: URLSearchParams; readonly res: ServerResponse }[] = [];

  constructor(
    readonly collectionPath = '/api/v1/namespaces/test/configmaps',
    private readonly listKind = { apiVersion: 'v1', kind: 'ConfigMapList' },
  ) {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromClusterAndUser({ name: 'fake', server: this.url, skipTLSVerify: true }, { name: 'tester' });
    return kc;
  }

  async close(): Promise<void> {
    for (const stream of this.streams) stream.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  watchRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.query.get('watch') === '1');
  }

  listRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'GET' && r.query.get('watch') !== '1');
  }

  openWatches(): number {
    return this.streams.size;
  }

  currentResourceVersion(): string {
    return String(this.resourceVersion);
  }

  upsert(object: FakeObject): FakeObject {
    const key = this.key(object);
    const existing = this.objects.get(key);
    const stored: FakeObject = {
      ...object,
      metadata: {
        ...object.metadata,
        uid: object.metadata.uid ?? existing?.metadata.uid ?? `uid-${++this.uidCounter}`,
        resourceVersion: String(++this.resourceVersion),
      },
    };
    this.objects.set(key, stored);
    this.record(existing ? 'MODIFIED' : 'ADDED', stored);
    return stored;
  }

  remove(name: string, namespace = 'test'): void {
    const key = `${namespace}/${name}`;
    const existing = this.objects.get(key);
    if (!existing) return;
    this.objects.delete(key);
    const final = {
      ...existing,
      metadata: { ...existing.metadata, resourceVersion: String(++this.resourceVersion) },
    };
    this.record('DELETED', final);
  }

  /** Other collections moved on: a bookmark carries the new resourceVersion to open watches. */
  bookmark(): string {
    const resourceVersion = String(++this.resourceVersion);
    this.writeToStreams({
      type: 'BOOKMARK',
      object: { ...this.itemKind(), metadata: { resourceVersion } },
    });
    return resourceVersion;
  }

  /** Forgets the history, as etcd compaction does: watches from an older resourceVersion get 410. */
  compact(): void {
    this.history = [];
    this.oldestWatchable = this.resourceVersion;
  }

  heldWatches(): number {
    return this.held.length;
  }

  releaseHeldWatches(): void {
    this.holdWatches = false;
    for (const { query, res } of this.held.splice(0)) this.serveWatch(query, res);
  }

  /** Ends every open watch cleanly, as the server does when a watch's timeout elapses. */
  endWatches(): void {
    for (const stream of this.streams) stream.end();
    this.streams.clear();
  }

  private key(object: FakeObject): string {
    return `${object.metadata.namespace ?? 'test'}/${object.metadata.name}`;
  }

  private itemKind(): { apiVersion: string; kind: string } {
    return { apiVersion: this.listKind.apiVersion, kind: this.listKind.kind.replace(/List$/, '') };
  }

  private record(type: HistoryEntry['type'], object: FakeObject): void {
    this.history.push({ resourceVersion: this.resourceVersion, type, object });
    this.writeToStreams({ type, object: { ...this.itemKind(), ...object } });
  }

  private writeToStreams(event: unknown): void {
    if (this.silentWatches) return;
    for (const stream of this.streams) writeEventInPieces(stream, event);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams });
    if (url.pathname !== this.collectionPath || req.method !== 'GET') {
      sendStatus(res, 404, 'NotFound', `no such path ${url.pathname}`);
      return;
    }
    if (url.searchParams.get('watch') === '1' && this.holdWatches)
      this.held.push({ query: url.searchParams, res });
    else if (url.searchParams.get('watch') === '1') this.serveWatch(url.searchParams, res);
    else this.serveList(url.searchParams, res);
  }

  private serveList(query: URLSearchParams, res: ServerResponse): void {
    const failure = this.listFailures.shift();
    if (failure !== undefined) {
      sendStatus(res, failure, 'InternalError', 'list failure injected by the test');
      return;
    }
    const all = [...this.objects.values()].sort((a, b) => this.key(a).localeCompare(this.key(b)));
    const limit = Number(query.get('limit') ?? all.length) || all.length;
    const start = Number(query.get('continue') ?? 0);
    const page = all.slice(start, start + limit);
    const next = start + limit < all.length ? String(start + limit) : undefined;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        ...this.listKind,
        metadata: { resourceVersion: String(this.resourceVersion), ...(next ? { continue: next } : {}) },
        items: page,
      }),
    );
  }

  private serveWatch(query: URLSearchParams, res: ServerResponse): void {
    const failure = this.watchFailures.shift();
    if (failure !== undefined) {
      sendStatus(res, failure, 'InternalError', 'watch failure injected by the test');
      return;
    }
    const from = Number(query.get('resourceVersion') ?? 0);
    if (from < this.oldestWatchable) {
      const message = `too old resource version: ${from} (${this.oldestWatchable})`;
      if (this.expiredAs === 'status') {
        sendStatus(res, 410, 'Expired', message);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message } })}\n`,
      );
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    if (!this.silentWatches) {
      for (const entry of this.history.filter((e) => e.resourceVersion > from)) {
        writeEventInPieces(res, { type: entry.type, object: { ...this.itemKind(), ...entry.object } });
      }
    }
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
  }
}

/** Writes an event line in two chunks, so the client has to join partial lines. */
function writeEventInPieces(res: ServerResponse, event: unknown): void {
  const line = `${JSON.stringify(event)}\n`;
  const middle = Math.floor(line.length / 2);
  res.write(line.slice(0, middle));
  res.write(line.slice(middle));
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, code, message }));
}
