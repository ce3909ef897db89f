import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiError, RawClient, apiStatus, withQuery, type WatchEvent } from './raw-client.js';
import { waitFor } from '../../test/cluster/wait-for.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: string;
}

type Responder = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server;
let client: RawClient;
let seen: Seen[];
let respond: Responder;
let connections: number;

beforeEach(async () => {
  seen = [];
  connections = 0;
  respond = (_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        body,
      });
      respond(req, res, body);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kc = new KubeConfig();
  const { port } = server.address() as AddressInfo;
  kc.loadFromClusterAndUser(
    { name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true },
    { name: 'u' },
  );
  client = new RawClient(kc);
});

afterEach(async () => {
  client.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('RawClient', () => {
  it('applies with the apply-patch content type, field manager and force', async () => {
    await client.apply('/api/v1/namespaces/a/services/s', { kind: 'Service' }, 'metallb-controller');
    await client.apply('/api/v1/namespaces/a/services/s', { kind: 'Service' }, 'metallb-controller', false);
    expect(seen.map((s) => [s.method, s.url, s.contentType])).toEqual([
      [
        'PATCH',
        '/api/v1/namespaces/a/services/s?fieldManager=metallb-controller&force=true',
        'application/apply-patch+yaml',
      ],
      [
        'PATCH',
        '/api/v1/namespaces/a/services/s?fieldManager=metallb-controller',
        'application/apply-patch+yaml',
      ],
    ]);
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ kind: 'Service' });
    expect(client.requestCounts.get('PATCH')).toBe(2);
  });

  it('sends merge and JSON patches, creates, replaces and deletes with options', async () => {
    await client.patch('/p', { a: 1 }, 'application/merge-patch+json');
    await client.patch('/p', [{ op: 'remove', path: '/a' }], 'application/json-patch+json');
    await client.create('/c', { kind: 'Lease' });
    await client.replace('/c/x', { kind: 'Lease' });
    await client.delete('/c/x', { propagationPolicy: 'Background', uid: 'u1' });
    await client.delete('/c/y');
    expect(seen.map((s) => `${s.method} ${s.url} ${s.contentType ?? '-'}`)).toEqual([
      'PATCH /p application/merge-patch+json',
      'PATCH /p application/json-patch+json',
      'POST /c application/json',
      'PUT /c/x application/json',
      'DELETE /c/x application/json',
      'DELETE /c/y -',
    ]);
    expect(JSON.parse(seen[4]?.body ?? '')).toEqual({
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      propagationPolicy: 'Background',
      preconditions: { uid: 'u1' },
    });
  });

  it('turns an error status into an ApiError with status, reason and message', async () => {
    respond = (_req, res) =>
      res
        .writeHead(409, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ kind: 'Status', reason: 'Conflict', message: 'the object has been modified' }));
    const error = await client.get('/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, reason: 'Conflict' });
    expect((error as Error).message).toBe('GET /x: 409 the object has been modified');
    expect(apiStatus(error)).toBe(409);
    expect(apiStatus(new Error('socket hang up'))).toBeUndefined();
  });

  it('lists every page and gives items the apiVersion and kind watch events have', async () => {
    respond = (req, res) => {
      const url = new URL(req.url ?? '', 'http://x');
      const second = url.searchParams.get('continue') === 'page2';
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'ServiceList',
          metadata: second ? { resourceVersion: '12' } : { resourceVersion: '11', continue: 'page2' },
          items: [{ metadata: { name: second ? 'b' : 'a' } }],
        }),
      );
    };
    const result = await client.list('/api/v1/services', { limit: 1, labelSelector: 'app=x' });
    expect(result).toEqual({
      resourceVersion: '12',
      items: [
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'b' } },
      ],
    });
    expect(seen.map((s) => s.url)).toEqual([
      '/api/v1/services?limit=1&labelSelector=app%3Dx',
      '/api/v1/services?limit=1&continue=page2&labelSelector=app%3Dx',
    ]);
  });

  it('parses watch events split across chunks and several per chunk', async () => {
    respond = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const a = JSON.stringify({
        type: 'ADDED',
        object: { metadata: { name: 'a', annotations: { n: 'é€' } } },
      });
      const b = JSON.stringify({ type: 'MODIFIED', object: { metadata: { name: 'b' } } });
      const c = JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } });
      const bytes = Buffer.from(`${a}\n${b}\n${c}\n`);
      const cut = bytes.indexOf(Buffer.from('€')) + 1; // in the middle of a multi-byte character
      res.write(bytes.subarray(0, cut));
      setTimeout(() => res.end(bytes.subarray(cut)), 20);
    };
    const events: WatchEvent<{ metadata: { name?: string } }>[] = [];
    for await (const event of client.watch<{ metadata: { name?: string } }>('/w?watch=1')) events.push(event);
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'BOOKMARK']);
    expect(events[0]?.object).toEqual({ metadata: { name: 'a', annotations: { n: 'é€' } } });
    expect(client.requestCounts.get('WATCH')).toBe(1);
  });

  it('reports a refused watch as an ApiError and a malformed line as an error', async () => {
    respond = (_req, res) =>
      res
        .writeHead(410, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ reason: 'Expired', message: 'too old' }));
    await expect(client.watch('/w?watch=1').next()).rejects.toMatchObject({ status: 410, reason: 'Expired' });
    respond = (_req, res) => res.writeHead(200).end('not json\n');
    await expect(client.watch('/w?watch=1').next()).rejects.toThrow('malformed watch event: not json');
  });

  it('ends a watch with an error when its signal aborts, and closes the connection', async () => {
    let closed = false;
    respond = (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } })}\n`);
      req.socket.on('close', () => (closed = true));
    };
    const abort = new AbortController();
    const received: string[] = [];
    const reading = (async () => {
      for await (const event of client.watch('/w?watch=1', { signal: abort.signal }))
        received.push(event.type);
    })();
    await waitFor('the first event', () => received.length === 1);
    abort.abort();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
    await waitFor('the server to see the connection close', () => closed);
  });

  it('reuses one keep-alive connection for consecutive requests', async () => {
    for (let i = 0; i < 5; i++) await client.get('/x');
    expect(connections).toBe(1);
  });

  it('builds query strings onto paths that may already have one', () => {
    expect(withQuery('/a', { x: 1, y: undefined, z: 'a b' })).toBe('/a?x=1&z=a+b');
    expect(withQuery('/a?w=1', { x: true })).toBe('/a?w=1&x=true');
    expect(withQuery('/a', {})).toBe('/a');
  });
});
