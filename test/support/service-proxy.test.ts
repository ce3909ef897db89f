/**
 * The egress proxy that lets the API server reach Service-fronted webhooks run as local processes: a CONNECT
 * to a routed destination reaches the loopback target, anything else is refused.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProxy } from '../cluster/service-proxy.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function echoServer(): Promise<number> {
  const server: Server = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

async function startProxy(): Promise<ServiceProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'service-proxy-'));
  const proxy = await ServiceProxy.start(join(dir, 'proxy.sock'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => proxy.stop());
  return proxy;
}

/** Sends CONNECT for `destination` then `payload`; resolves with everything read until the proxy closes or 1 s. */
function tunnel(socketPath: string, destination: string, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath, () => {
      socket.write(`CONNECT ${destination} HTTP/1.1\r\nHost: ${destination}\r\n\r\n`);
    });
    let received = '';
    let sent = false;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      if (!sent && received.includes('\r\n\r\n') && received.startsWith('HTTP/1.1 200')) {
        sent = true;
        socket.write(payload);
      }
      if (sent && received.endsWith(payload)) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    setTimeout(() => socket.destroy(), 1000).unref();
  });
}

describe('ServiceProxy', () => {
  it('tunnels a routed destination to its loopback target', async () => {
    const port = await echoServer();
    const proxy = await startProxy();
    proxy.route('10.96.0.10:443', { host: '127.0.0.1', port });
    const received = await tunnel(proxy.socketPath, '10.96.0.10:443', 'hello through the tunnel');
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received.endsWith('hello through the tunnel')).toBe(true);
  });

  it('refuses a destination nobody routed', async () => {
    const port = await echoServer();
    const proxy = await startProxy();
    proxy.route('10.96.0.10:443', { host: '127.0.0.1', port });
    const received = await tunnel(proxy.socketPath, '10.96.0.11:443', 'nothing');
    expect(received).toMatch(/^HTTP\/1\.1 502 /);
    expect(received).not.toContain('nothing');
  });

  it('writes an egress selector configuration that sends cluster traffic to its socket', async () => {
    const proxy = await startProxy();
    const file = join(mkdtempSync(join(tmpdir(), 'egress-')), 'egress.yaml');
    cleanups.push(() => rmSync(join(file, '..'), { recursive: true, force: true }));
    proxy.writeEgressSelectorConfig(file);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('kind: EgressSelectorConfiguration');
    expect(text).toContain('name: cluster');
    expect(text).toContain('proxyProtocol: HTTPConnect');
    expect(text).toContain(`udsName: ${proxy.socketPath}`);
  });
});
