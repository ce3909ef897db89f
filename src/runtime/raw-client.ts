/**
 * Plain JSON requests to the API server with a kubeconfig's credentials. client-node's typed serializer
 * silently drops fields its models spell differently (a CRD schema's `default` and
 * `x-kubernetes-validations`, for instance) and anything it has no model for; server-side apply of our own
 * rendered objects and of CRDs must send exactly what we built, so it goes through here. Lists and watches
 * come through here too, so the informer cache holds exactly what the API server sent.
 */
import { Agent as HttpsAgent, request, type RequestOptions } from 'node:https';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import type { Credentials } from './credentials.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The HTTP status of an ApiError, undefined for anything else (network errors, aborts, bugs). */
export function apiStatus(error: unknown): number | undefined {
  return error instanceof ApiError ? error.status : undefined;
}

export interface RawResponse<T> {
  readonly status: number;
  readonly body: T;
}

export type ContentType =
  | 'application/json'
  | 'application/apply-patch+yaml'
  | 'application/merge-patch+json'
  | 'application/json-patch+json'
  | 'application/strategic-merge-patch+json';

export interface CallOptions {
  readonly signal?: AbortSignal;
  /** Socket idle timeout; default 30 s for ordinary requests, none for watches. */
  readonly timeoutMs?: number;
}

export interface ListOptions extends CallOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Page size; the API server returns a continue token when there is more. Default 500. */
  readonly limit?: number;
}

export interface ListResult<T> {
  readonly items: T[];
  /** The collection's resourceVersion: where a watch continues from. */
  readonly resourceVersion: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T = unknown> {
  readonly type: WatchEventType;
  /** The object; for ERROR a metav1.Status, for BOOKMARK an object carrying only a resourceVersion. */
  readonly object: T;
}

export interface DeleteOptions extends CallOptions {
  readonly propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  /** Refuse (409) unless the live object still has this uid: don't delete a recreated namesake. */
  readonly uid?: string;
}

type QueryValue = string | number | boolean | undefined;

/** Appends query parameters to a path that may already have some; undefined values are left out. */
export function withQuery(path: string, params: Readonly<Record<string, QueryValue>>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) query.set(name, String(value));
  }
  const text = query.toString();
  if (!text) return path;
  return `${path}${path.includes('?') ? '&' : '?'}${text}`;
}

interface ListBody<T> {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items?: T[];
}

const defaultTimeoutMs = 30_000;
const idleSocketTimeoutMs = 15_000;

export class RawClient {
  /**
   * Requests sent, by HTTP method: lets tests assert that an idle reconcile writes nothing. Watches count
   * under 'WATCH' rather than 'GET', so reconnects don't blur the count of reads.
   */
  readonly requestCounts = new Map<string, number>();
  private agent: { readonly fingerprint: string; readonly agent: HttpAgent } | undefined;

  constructor(private readonly kubeConfig: Credentials) {}

  get server(): string {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    return cluster.server;
  }

  async get<T>(path: string, options?: CallOptions): Promise<T> {
    return (await this.send<T>('GET', path, undefined, 'application/json', options)).body;
  }

  /** Server-side apply of `object` at `path` under `fieldManager`, taking over conflicting fields. */
  async apply<T>(
    path: string,
    object: unknown,
    fieldManager: string,
    force = true,
    options?: CallOptions,
  ): Promise<T> {
    const target = withQuery(path, { fieldManager, force: force ? true : undefined });
    return (await this.send<T>('PATCH', target, object, 'application/apply-patch+yaml', options)).body;
  }

  async create<T>(collectionPath: string, object: unknown, options?: CallOptions): Promise<T> {
    return (await this.send<T>('POST', collectionPath, object, 'application/json', options)).body;
  }

  /** PUT: an update guarded by the object's metadata.resourceVersion (409 Conflict if it moved on). */
  async replace<T>(path: string, object: unknown, options?: CallOptions): Promise<T> {
    return (await this.send<T>('PUT', path, object, 'application/json', options)).body;
  }

  async patch<T>(
    path: string,
    patch: unknown,
    contentType: Exclude<ContentType, 'application/json'>,
    options?: CallOptions,
  ): Promise<T> {
    return (await this.send<T>('PATCH', path, patch, contentType, options)).body;
  }

  async delete<T>(path: string, options: DeleteOptions = {}): Promise<T> {
    const body =
      options.propagationPolicy || options.uid
        ? {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}),
            ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
          }
        : undefined;
    return (await this.send<T>('DELETE', path, body, 'application/json', options)).body;
  }

  /**
   * Every item of a collection, following continue tokens page by page. Items get the collection's
   * apiVersion and kind filled in, because list items of built-in kinds come without them while watch
   * events carry them: the cache should hold one shape.
   */
  async list<T>(collectionPath: string, options: ListOptions = {}): Promise<ListResult<T>> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.get<ListBody<T>>(
        withQuery(collectionPath, {
          limit: options.limit ?? 500,
          continue: continueToken,
          labelSelector: options.labelSelector || undefined,
          fieldSelector: options.fieldSelector || undefined,
        }),
        options,
      );
      const itemKind = page.kind?.endsWith('List') ? page.kind.slice(0, -'List'.length) : undefined;
      for (const item of page.items ?? []) {
        items.push(
          itemKind && page.apiVersion ? { apiVersion: page.apiVersion, kind: itemKind, ...item } : item,
        );
      }
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    return { items, resourceVersion };
  }

  /**
   * Streams a watch: `path` is the collection path with its query (watch=1, resourceVersion, …). Yields
   * events as their lines complete; returns when the server ends the stream; throws ApiError for a non-2xx
   * answer (e.g. 410 Gone), and whatever the socket throws on abort or failure.
   */
  async *watch<T>(path: string, options: CallOptions = {}): AsyncGenerator<WatchEvent<T>, void, undefined> {
    this.count('WATCH');
    const response = await this.open('GET', path, undefined, 'application/json', {
      timeoutMs: 0,
      ...options,
    });
    // Abort must end the read loop below with an error even when it hits after the headers arrived.
    const onAbort = (): void => {
      response.destroy(Object.assign(new Error(`GET ${path}: watch aborted`), { name: 'AbortError' }));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (options.signal?.aborted) onAbort();
      const decoder = new StringDecoder('utf8');
      let pending = '';
      for await (const chunk of response as AsyncIterable<Buffer>) {
        pending += decoder.write(chunk);
        let newline = pending.indexOf('\n');
        while (newline >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line) yield parseWatchLine<T>(line);
          newline = pending.indexOf('\n');
        }
      }
      const rest = (pending + decoder.end()).trim();
      if (rest) yield parseWatchLine<T>(rest);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      response.destroy();
    }
  }

  async send<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType: ContentType = 'application/json',
    options: CallOptions = {},
  ): Promise<RawResponse<T>> {
    this.count(method);
    const response = await this.open(method, path, body, contentType, options);
    const text = await readText(response);
    return { status: response.statusCode ?? 0, body: (text ? parseJson(text) : undefined) as T };
  }

  /** Closes idle keep-alive connections; in-flight requests finish. */
  close(): void {
    this.agent?.agent.destroy();
    this.agent = undefined;
  }

  private count(method: string): void {
    this.requestCounts.set(method, (this.requestCounts.get(method) ?? 0) + 1);
  }

  /** Sends the request; resolves with the response once its status is 2xx, otherwise rejects with ApiError. */
  private async open(
    method: string,
    path: string,
    body: unknown,
    contentType: ContentType,
    options: CallOptions,
  ): Promise<IncomingMessage> {
    const url = new URL(path, this.server);
    const requestOptions: RequestOptions = { method, headers: { Accept: 'application/json' } };
    await this.kubeConfig.applyToHTTPSOptions(requestOptions);
    this.reuseAgent(requestOptions, url);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) {
      requestOptions.headers = {
        ...requestOptions.headers,
        'Content-Type': contentType,
        'Content-Length': Buffer.byteLength(payload),
      };
    }
    if (options.signal) requestOptions.signal = options.signal;
    const send = url.protocol === 'http:' ? httpRequest : request;
    const description = `${method} ${url.pathname}`;
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, requestOptions, resolve);
      const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
      if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new Error(`${description}: timed out`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) return response;
    const text = await readText(response);
    const parsed = text ? parseJson(text) : undefined;
    const statusBody = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
      message?: string;
      reason?: string;
    };
    throw new ApiError(
      status,
      statusBody.reason ?? 'Unknown',
      `${description}: ${status} ${statusBody.message ?? text}`,
      parsed,
    );
  }

  /**
   * client-node builds a fresh Agent for every request, which means a new TCP and TLS handshake each time.
   * Keep one keep-alive agent per set of TLS credentials instead (a rotated client certificate yields a new
   * fingerprint and so a new agent). Proxied clusters keep client-node's proxy agent.
   */
  private reuseAgent(options: RequestOptions, url: URL): void {
    if (this.kubeConfig.getCurrentCluster()?.proxyUrl) return;
    const tls = {
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      pfx: options.pfx,
      passphrase: options.passphrase,
      rejectUnauthorized: options.rejectUnauthorized,
      servername: options.servername,
    };
    const fingerprint = JSON.stringify([url.protocol, Object.values(tls).map(fingerprintPart)]);
    if (this.agent?.fingerprint !== fingerprint) {
      this.agent?.agent.destroy();
      // Idle sockets close after 15 s, well before the API server's own idle timeout, so a request never
      // goes out on a socket the server is closing at that moment.
      const keepAlive = { keepAlive: true, timeout: idleSocketTimeoutMs };
      const agent =
        url.protocol === 'http:'
          ? new HttpAgent(keepAlive)
          : new HttpsAgent({ ...keepAlive, ...withoutUndefined(tls) });
      this.agent = { fingerprint, agent };
    }
    options.agent = this.agent.agent;
  }
}

function fingerprintPart(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(fingerprintPart);
  return value ?? null;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // not JSON; keep the text for the error message
  }
}

function parseWatchLine<T>(line: string): WatchEvent<T> {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    throw new Error(`malformed watch event: ${line.slice(0, 200)}`);
  }
  if (typeof event !== 'object' || event === null || typeof (event as { type?: unknown }).type !== 'string') {
    throw new Error(`malformed watch event: ${line.slice(0, 200)}`);
  }
  return event as WatchEvent<T>;
}

function readText(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
    response.on('aborted', () => reject(new Error('response aborted')));
  });
}
