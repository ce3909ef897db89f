import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { StaticCredentials, credentialsFromFiles, inClusterCredentials } from './credentials.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credentials-test-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(name: string, document: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, stringify({ apiVersion: 'v1', kind: 'Config', ...document }));
  return path;
}

function single(cluster: Record<string, unknown>, user: Record<string, unknown>): Record<string, unknown> {
  return {
    'current-context': 'here',
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443', ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'here', context: { cluster: 'c', user: 'u' } }],
  };
}

async function applied(credentials: ReturnType<typeof credentialsFromFiles>): Promise<RequestOptions> {
  const options: RequestOptions = { headers: { Accept: 'application/json' } };
  await credentials.applyToHTTPSOptions(options);
  return options;
}

const base64 = (text: string): string => Buffer.from(text).toString('base64');

describe('credentials from kubeconfig files', () => {
  it('uses inline client certificates and a CA, and says which cluster and context it chose', async () => {
    const credentials = credentialsFromFiles([
      kubeconfig(
        'config',
        single(
          { 'certificate-authority-data': base64('CA'), 'tls-server-name': 'kubernetes' },
          { 'client-certificate-data': base64('CERT'), 'client-key-data': base64('KEY') },
        ),
      ),
    ]);
    expect(credentials).toBeInstanceOf(StaticCredentials);
    expect(credentials.getCurrentContext()).toBe('here');
    expect(credentials.getCurrentCluster()).toEqual({
      name: 'c',
      server: 'https://127.0.0.1:6443',
      skipTLSVerify: false,
    });
    const options = await applied(credentials);
    expect([options.ca, options.cert, options.key].map(String)).toEqual(['CA', 'CERT', 'KEY']);
    expect(options.servername).toBe('kubernetes');
    expect(options.rejectUnauthorized).toBeUndefined();
    expect(options.headers).toEqual({ Accept: 'application/json' });
  });

  it('reads certificate files relative to the kubeconfig that names them', async () => {
    mkdirSync(join(dir, 'pki'));
    writeFileSync(join(dir, 'pki/ca.crt'), 'CA-FILE');
    writeFileSync(join(dir, 'pki/client.crt'), 'CERT-FILE');
    writeFileSync(join(dir, 'pki/client.key'), 'KEY-FILE');
    const options = await applied(
      credentialsFromFiles([
        kubeconfig(
          'config',
          single(
            { 'certificate-authority': 'pki/ca.crt' },
            { 'client-certificate': 'pki/client.crt', 'client-key': join(dir, 'pki/client.key') },
          ),
        ),
      ]),
    );
    expect([options.ca, options.cert, options.key].map(String)).toEqual(['CA-FILE', 'CERT-FILE', 'KEY-FILE']);
  });

  it('sends a bearer token, inline or from a file it reads again when it changes', async () => {
    expect(
      (await applied(credentialsFromFiles([kubeconfig('a', single({}, { token: 'abc' }))]))).headers,
    ).toEqual({
      Accept: 'application/json',
      Authorization: 'Bearer abc',
    });
    const tokenPath = join(dir, 'token');
    writeFileSync(tokenPath, 'first\n');
    const fromFile = credentialsFromFiles([kubeconfig('b', single({}, { tokenFile: 'token' }))]);
    expect((await applied(fromFile)).headers).toMatchObject({ Authorization: 'Bearer first' });
    writeFileSync(tokenPath, 'second\n');
    utimesSync(tokenPath, new Date(), new Date(Date.now() + 5_000));
    // Re-read at most once a minute: the same token until then.
    expect((await applied(fromFile)).headers).toMatchObject({ Authorization: 'Bearer first' });
  });

  it('sends basic auth and turns off verification only when the cluster says so', async () => {
    const options = await applied(
      credentialsFromFiles([
        kubeconfig(
          'config',
          single({ 'insecure-skip-tls-verify': true }, { username: 'admin', password: 'pw' }),
        ),
      ]),
    );
    expect(options.headers).toMatchObject({ Authorization: `Basic ${base64('admin:pw')}` });
    expect(options.rejectUnauthorized).toBe(false);
  });

  it('impersonates the user, groups, uid and extras the user entry names (kubectl --as)', async () => {
    const options = await applied(
      credentialsFromFiles([
        kubeconfig(
          'config',
          single(
            {},
            {
              token: 'admin',
              as: 'system:serviceaccount:metallb-system:speaker',
              'as-groups': ['system:serviceaccounts', 'system:authenticated'],
              'as-uid': '1234',
              'as-user-extra': { scopes: ['a', 'b'] },
            },
          ),
        ),
      ]),
    );
    expect(options.headers).toEqual({
      Accept: 'application/json',
      Authorization: 'Bearer admin',
      'Impersonate-User': 'system:serviceaccount:metallb-system:speaker',
      'Impersonate-Group': ['system:serviceaccounts', 'system:authenticated'],
      'Impersonate-Uid': '1234',
      'Impersonate-Extra-scopes': ['a', 'b'],
    });
  });

  it('merges files as kubectl does: the first to name an entry or a current context wins', () => {
    const first = kubeconfig('first', {
      'current-context': 'one',
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
      contexts: [{ name: 'one', context: { cluster: 'c', user: 'u' } }],
    });
    const second = kubeconfig('second', {
      'current-context': 'two',
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:2' } }],
      users: [{ name: 'u', user: { token: 't' } }],
    });
    const credentials = credentialsFromFiles([first, second]);
    expect(credentials.getCurrentContext()).toBe('one');
    expect(credentials.getCurrentCluster()?.server).toBe('https://127.0.0.1:1');
  });

  it('leaves exec plugins and proxies to client-node, with the cluster known at once', () => {
    const exec = credentialsFromFiles([
      kubeconfig(
        'exec',
        single({}, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'x' } }),
      ),
    ]);
    expect(exec).not.toBeInstanceOf(StaticCredentials);
    expect(exec.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    const proxied = credentialsFromFiles([
      kubeconfig('proxy', single({ 'proxy-url': 'http://127.0.0.1:3128' }, { token: 't' })),
    ]);
    expect(proxied.getCurrentCluster()?.proxyUrl).toBe('http://127.0.0.1:3128');
    expect(proxied).not.toBeInstanceOf(StaticCredentials);
  });

  it('refuses a current context that leads to no cluster with a server', () => {
    expect(() =>
      credentialsFromFiles([kubeconfig('config', { ...single({}, {}), 'current-context': 'missing' })]),
    ).toThrow(/no usable current context: current-context "missing"/);
  });
});

describe('in-cluster credentials', () => {
  it("uses the service account's token and CA against the API server's Service address", async () => {
    const directory = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(directory, { recursive: true });
    writeFileSync(join(directory, 'token'), 'sa-token');
    writeFileSync(join(directory, 'ca.crt'), 'SA-CA');
    const credentials = inClusterCredentials('10.96.0.1', '443', dir);
    expect(credentials.getCurrentCluster()?.server).toBe('https://10.96.0.1:443');
    const options = await applied(credentials);
    expect(String(options.ca)).toBe('SA-CA');
    expect(options.headers).toMatchObject({ Authorization: 'Bearer sa-token' });
  });
});
