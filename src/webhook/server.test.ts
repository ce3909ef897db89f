import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { request as httpsRequest, Agent } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { createCertificateAuthority, createServingCertificate } from './certificates.js';
import { WebhookServer, type AdmissionRequest, type WebhookLimits } from './server.js';

// Real TLS on a shared, busy machine: handshakes alone can take seconds.
jest.setTimeout(30_000);

const ca = createCertificateAuthority('metallb-webhook-test-ca');
const serving = createServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
const poolPath = '/validate-metallb-io-v1beta1-ipaddresspool';

let server: WebhookServer | undefined;
const sockets: TLSSocket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.close();
  server = undefined;
});

async function start(limits: Partial<WebhookLimits> = {}): Promise<WebhookServer> {
  server = await WebhookServer.start({
    certPem: serving.certPem,
    keyPem: serving.keyPem,
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }),
    handler: (request: AdmissionRequest) =>
      request.name === 'throws'
        ? Promise.reject(new Error('boom'))
        : { allowed: request.name !== 'bad', message: 'bad is bad' },
    limits,
  });
  return server;
}

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

function post(path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: server?.port,
        path,
        method: 'POST',
        ca: ca.certPem,
        agent: new Agent({ keepAlive: false }),
        headers: { 'Content-Type': 'application/json', ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function admissionReview(overrides: Record<string, unknown> = {}, request: Record<string, unknown> = {}) {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    ...overrides,
    request: {
      uid: 'uid-1',
      kind: { group: 'metallb.io', version: 'v1beta1', kind: 'IPAddressPool' },
      operation: 'CREATE',
      name: 'good',
      namespace: 'metallb-system',
      object: { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'good' } },
      ...request,
    },
  });
}

/** A TLS connection to the server, to misbehave on by hand. */
function openTls(): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server?.port, ca: ca.certPem }, () => resolve(socket));
    socket.on('error', reject);
    sockets.push(socket);
  });
}

function closed(socket: TLSSocket): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    if (socket.destroyed) resolve(0);
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Date.now() - started));
  });
}

describe('webhook server on hostile input', () => {
  it('answers a good AdmissionReview in the version it came in', async () => {
    await start();
    const reply = await post(poolPath, admissionReview({ apiVersion: 'admission.k8s.io/v1beta1' }));
    expect(reply).toEqual({
      status: 200,
      body: {
        apiVersion: 'admission.k8s.io/v1beta1',
        kind: 'AdmissionReview',
        response: { uid: 'uid-1', allowed: true },
      },
    });
  });

  it('answers 400 to truncated or invalid JSON', async () => {
    await start();
    const truncated = admissionReview().slice(0, 60);
    for (const body of [truncated, '', '{"kind":', 'null', '[]', '"text"', '\u0000\u00ff']) {
      const reply = await post(poolPath, body);
      expect(reply.status).toBe(400);
      expect(typeof reply.body.message).toBe('string');
    }
    expect((await post(poolPath, truncated)).body.message).toMatch(/not JSON/);
  });

  it('denies, with the reason, a review whose uid it can read but whose fields are wrong', async () => {
    await start();
    const cases: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
      [
        {},
        { kind: { group: 'metallb.io', version: 'v1beta2', kind: 'BGPPeer' } },
        /validates IPAddressPool, not BGPPeer/,
      ],
      [{}, { kind: 'IPAddressPool' }, /request\.kind must be/],
      [{}, { operation: 'EXPLODE' }, /operation "EXPLODE"/],
      [{}, { operation: undefined }, /operation is missing/],
      [{}, { object: undefined }, /request\.object is missing/],
      [{}, { object: 'a string' }, /request\.object must be an object/],
      [{}, { namespace: 7 }, /request\.namespace must be a string/],
      [{ kind: 'ConversionReview' }, {}, /kind is "ConversionReview", expected AdmissionReview/],
      [{ apiVersion: 'admission.k8s.io/v2' }, {}, /apiVersion "admission.k8s.io\/v2" is not one of/],
    ];
    for (const [envelope, request, reason] of cases) {
      const reply = await post(poolPath, admissionReview(envelope, request));
      expect(reply.status).toBe(200);
      const response = reply.body.response as { uid: string; allowed: boolean; status: { message: string } };
      expect(response).toMatchObject({ uid: 'uid-1', allowed: false });
      expect(response.status.message).toMatch(reason);
    }
  });

  it('answers 400 when there is no uid to answer a review with', async () => {
    await start();
    for (const body of [
      admissionReview({}, { uid: undefined }),
      admissionReview({}, { uid: 42 }),
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: [] }),
    ]) {
      const reply = await post(poolPath, body);
      expect(reply.status).toBe(400);
    }
  });

  it('fails a malformed ConversionReview with the reason, and converts a good one', async () => {
    await start();
    const review = (request: Record<string, unknown>) =>
      JSON.stringify({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', request });
    const missing = await post('/convert', review({ uid: 'c1', objects: [] }));
    expect(missing.body.response).toEqual({
      uid: 'c1',
      convertedObjects: [],
      result: { status: 'Failure', message: 'request.desiredAPIVersion is missing' },
    });
    const notList = await post(
      '/convert',
      review({ uid: 'c2', desiredAPIVersion: 'metallb.io/v1beta2', objects: {} }),
    );
    expect(notList.body.response).toMatchObject({
      result: { status: 'Failure', message: 'request.objects must be a list' },
    });
    expect(
      (await post('/convert', review({ desiredAPIVersion: 'metallb.io/v1beta2', objects: [] }))).status,
    ).toBe(400);
    const good = await post(
      '/convert',
      review({
        uid: 'c3',
        desiredAPIVersion: 'metallb.io/v1beta2',
        objects: [
          {
            apiVersion: 'metallb.io/v1beta1',
            kind: 'BGPPeer',
            metadata: { name: 'p' },
            spec: { myASN: 64512 },
          },
        ],
      }),
    );
    expect(good.body.response).toMatchObject({
      uid: 'c3',
      result: { status: 'Success' },
      convertedObjects: [{ apiVersion: 'metallb.io/v1beta2', spec: { myASN: 64512 } }],
    });
  });

  it('denies when the policy throws, and keeps serving', async () => {
    await start();
    const reply = await post(poolPath, admissionReview({}, { name: 'throws' }));
    expect(reply.body.response).toMatchObject({
      allowed: false,
      status: { message: /internal error while validating: boom/ },
    });
    expect((await post(poolPath, admissionReview())).body.response).toMatchObject({ allowed: true });
  });

  it('answers 413 to a 10 MB body announced by Content-Length, without reading it', async () => {
    await start();
    const reply = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: server?.port,
          path: poolPath,
          method: 'POST',
          ca: ca.certPem,
          headers: { 'Content-Length': String(10 * 2 ** 20) },
        },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on('error', reject);
      req.write('{"kind":"AdmissionReview",');
    });
    expect(reply).toBe(413);
    expect((await post(poolPath, admissionReview())).status).toBe(200);
  });

  it('stops a streamed 10 MB body at the limit with 413, long before it is all sent', async () => {
    await start({ maxBodyBytes: 2 ** 20 });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const outcome = await new Promise<number | string>((resolve) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: server?.port,
          path: poolPath,
          method: 'POST',
          ca: ca.certPem,
          headers: { 'Transfer-Encoding': 'chunked' },
        },
        (res) => resolve(res.statusCode ?? 0),
      );
      // The server may close while the client still writes: that is a refusal too.
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      const pump = () => {
        while (sent < 10 * 2 ** 20) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    expect([413, 'ECONNRESET', 'EPIPE']).toContain(outcome);
    expect(sent).toBeLessThan(10 * 2 ** 20);
    expect((await post(poolPath, admissionReview())).status).toBe(200);
  });

  it('cuts off a client that sends its headers too slowly, or its body too slowly', async () => {
    await start({ headersTimeoutMs: 500, requestTimeoutMs: 1_000, timeoutCheckIntervalMs: 100 });
    const slowHeaders = await openTls();
    slowHeaders.write(`POST ${poolPath} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    const slowBody = await openTls();
    slowBody.write(`POST ${poolPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{`);
    const drip = setInterval(() => slowBody.writable && slowBody.write(' '), 100);
    try {
      const [headersMs, bodyMs] = await Promise.all([closed(slowHeaders), closed(slowBody)]);
      expect(headersMs).toBeLessThan(3_000);
      expect(bodyMs).toBeLessThan(4_000);
    } finally {
      clearInterval(drip);
    }
    expect((await post(poolPath, admissionReview())).status).toBe(200);
  });

  it('closes a connection that never sends anything', async () => {
    await start({ idleTimeoutMs: 300 });
    const idle = await openTls();
    expect(await closed(idle)).toBeLessThan(3_000);
  });

  it('refuses connections beyond the cap', async () => {
    await start({ maxConnections: 3 });
    const held = await Promise.all([openTls(), openTls(), openTls()]);
    const extra = connect({ host: '127.0.0.1', port: server?.port, ca: ca.certPem });
    sockets.push(extra);
    const refused = await new Promise<boolean>((resolve) => {
      extra.on('secureConnect', () => resolve(false));
      extra.on('error', () => resolve(true));
      extra.on('close', () => resolve(true));
    });
    expect(refused).toBe(true);
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await post(poolPath, admissionReview())).status).toBe(200);
  });

  it('keeps answering good requests while 1,000 connections hang with half-sent requests', async () => {
    // Long timeouts: the point is that the hostile connections are all still open while good requests pass.
    await start({
      handshakeTimeoutMs: 120_000,
      headersTimeoutMs: 120_000,
      requestTimeoutMs: 120_000,
      idleTimeoutMs: 120_000,
    });
    const partial = `POST ${poolPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\n\r\n{"kind":`;
    const held: TLSSocket[] = [];
    // 100 handshakes at a time: this is about what the server does with them, not about the listen backlog.
    while (held.length < 1_000) {
      const batch = await Promise.all(Array.from({ length: 100 }, () => openTls()));
      for (const socket of batch) socket.write(partial);
      held.push(...batch);
    }
    const answers: boolean[] = [];
    for (let i = 0; i < 20; i++) {
      const reply = await post(poolPath, admissionReview({}, { name: i % 2 ? 'good' : 'bad' }));
      answers.push((reply.body.response as { allowed: boolean }).allowed);
    }
    expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => i % 2 === 1));
    expect(held.filter((socket) => !socket.destroyed)).toHaveLength(1_000);
  }, 120_000);
});
