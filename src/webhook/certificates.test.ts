import { describe, expect, it } from '@jest/globals';
import { createServer } from 'node:https';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createCertificateAuthority, createServingCertificate, needsRotation } from './certificates.js';

describe('webhook certificates', () => {
  const ca = createCertificateAuthority('metallb-webhook-ca');
  const names = ['metallb-webhook-service.metallb-system.svc', 'localhost'];
  const serving = createServingCertificate(ca, { dnsNames: names, ipAddresses: ['127.0.0.1'] });

  it('serves TLS that a client trusting only the CA accepts', async () => {
    const server = createServer({ cert: serving.certPem, key: serving.keyPem }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, ca: ca.certPem, path: '/' }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      expect(body).toBe('ok');
    } finally {
      server.close();
    }
  });

  it('keeps a fresh certificate that covers every name', () => {
    expect(needsRotation(serving.certPem, [...names, '127.0.0.1'])).toBe(false);
  });

  it('rotates a certificate that lacks a name the webhook is reached by', () => {
    expect(needsRotation(serving.certPem, ['metallb-webhook-service.other.svc'])).toBe(true);
    expect(needsRotation(serving.certPem, ['192.0.2.1'])).toBe(true);
  });

  it('rotates a certificate in the last third of its life, and garbage', () => {
    const later = new Date(Date.now() + 300 * 24 * 60 * 60 * 1000);
    expect(needsRotation(serving.certPem, names, later)).toBe(true);
    expect(needsRotation('not a certificate', names)).toBe(true);
    expect(needsRotation(undefined, names)).toBe(true);
  });
});
