/**
 * Plain JSON requests to the API server with a kubeconfig's credentials. client-node's typed serializer
 * silently drops fields its models spell differently (a CRD schema's `default` and
 * `x-kubernetes-validations`, for instance) and anything it has no model for; server-side apply of our own
 * rendered objects and of CRDs must send exactly what we built, so it goes through here.
 */
import { request, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

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

export class RawClient {
  /** Requests sent, by HTTP method: lets tests assert that an idle reconcile writes nothing. */
  readonly requestCounts = new Map<string, number>();

  constructor(private readonly kubeConfig: KubeConfig) {}

  get server(): string {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    return cluster.server;
  }

  async get<T>(path: string): Promise<T> {
    return (await this.send<T>('GET', path)).body;
  }

  /** Server-side apply of `object` at `path` under `fieldManager`, taking over conflicting fields. */
  async apply<T>(path: string, object: unknown, fieldManager: string, force = true): Promise<T> {
    const query = `?fieldManager=${encodeURIComponent(fieldManager)}${force ? '&force=true' : ''}`;
    return (await this.send<T>('PATCH', `${path}${query}`, object, 'application/apply-patch+yaml')).body;
  }

  async send<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType: ContentType = 'application/json',
  ): Promise<RawResponse<T>> {
    this.requestCounts.set(method, (this.requestCounts.get(method) ?? 0) + 1);
    const url = new URL(path, this.server);
    const options: RequestOptions = { method, headers: { Accept: 'application/json' } };
    await this.kubeConfig.applyToHTTPSOptions(options);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) {
      options.headers = {
        ...options.headers,
        'Content-Type': contentType,
        'Content-Length': Buffer.byteLength(payload),
      };
    }
    const send = url.protocol === 'http:' ? httpRequest : request;
    return new Promise((resolve, reject) => {
      const req = send(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON; keep the text for the error message
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve({ status, body: parsed as T });
            return;
          }
          const statusBody = (parsed ?? {}) as { message?: string; reason?: string };
          reject(
            new ApiError(
              status,
              statusBody.reason ?? 'Unknown',
              `${method} ${url.pathname}: ${status} ${statusBody.message ?? text}`,
              parsed,
            ),
          );
        });
        res.on('error', reject);
      });
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${url.pathname}: timed out`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}
