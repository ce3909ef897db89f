import { afterEach, describe, expect, it } from '@jest/globals';
import { Counter, Registry } from 'prom-client';
import { HealthServer, parseBindAddress } from './http-server.js';

let server: HealthServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function started(
  configure: (s: HealthServer) => void = () => {},
  registry?: Registry,
): Promise<string> {
  server = new HealthServer({
    bindAddress: '127.0.0.1:0',
    checkTimeoutMs: 200,
    ...(registry ? { registry } : {}),
  });
  configure(server);
  await server.start();
  return `http://127.0.0.1:${server.port}`;
}

async function get(url: string): Promise<{ status: number; text: string; type: string | null }> {
  const response = await fetch(url);
  return { status: response.status, text: await response.text(), type: response.headers.get('content-type') };
}

describe('HealthServer', () => {
  it('is alive and ready when no checks are registered', async () => {
    const base = await started();
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200, text: 'ok\n' });
    expect(await get(`${base}/livez`)).toMatchObject({ status: 200 });
    expect(await get(`${base}/readyz`)).toMatchObject({ status: 200, text: 'ok\n' });
  });

  it('answers 503 naming the failing readiness checks, and lists all of them when verbose', async () => {
    let synced = false;
    const base = await started((s) =>
      s
        .addReadinessCheck('informers-synced', () => synced)
        .addReadinessCheck('leader-election', async () => true)
        .addReadinessCheck('broken', () => {
          throw new Error('bug');
        }),
    );
    const notReady = await get(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.text).toBe('[-]informers-synced failed\n[-]broken failed\nreadyz check failed\n');
    synced = true;
    const verbose = await get(`${base}/readyz?verbose`);
    expect(verbose.text).toBe(
      '[+]informers-synced ok\n[+]leader-election ok\n[-]broken failed\nreadyz check failed\n',
    );
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200 });
  });

  it('fails a check that does not answer in time', async () => {
    const base = await started((s) => s.addLivenessCheck('stuck', () => new Promise<boolean>(() => {})));
    expect(await get(`${base}/healthz`)).toMatchObject({
      status: 503,
      text: '[-]stuck failed\nhealthz check failed\n',
    });
  });

  it('serves the metrics registry in the Prometheus text format', async () => {
    const registry = new Registry();
    new Counter({ name: 'metallb_test_total', help: 'a test counter', registers: [registry] }).inc(3);
    const base = await started(() => {}, registry);
    const metrics = await get(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.type).toContain('text/plain');
    expect(metrics.text).toContain('metallb_test_total 3');
    expect((await get(`${base}/nope`)).status).toBe(404);
  });

  it('stops listening on close, even with a keep-alive client connected', async () => {
    const base = await started();
    await get(`${base}/healthz`);
    await server?.close();
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});

describe('parseBindAddress', () => {
  it.each([
    [':7472', { host: undefined, port: 7472 }],
    ['0.0.0.0:9120', { host: '0.0.0.0', port: 9120 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['[::1]:7472', { host: '::1', port: 7472 }],
  ])('reads %s', (text, expected) => {
    expect(parseBindAddress(text)).toEqual(expected);
  });

  it.each(['7472', 'host', ':99999', '::1:7472'])('refuses %s with the expected format', (text) => {
    expect(() => parseBindAddress(text)).toThrow(/expected HOST:PORT/);
  });
});
