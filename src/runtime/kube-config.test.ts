import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { loadKubeConfig } from './kube-config.js';

function kubeconfigYaml(server: string, context = 'test'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ${context}`,
    'clusters:',
    `- name: c-${server.length}`,
    '  cluster:',
    `    server: ${server}`,
    'contexts:',
    '- name: test',
    '  context:',
    `    cluster: c-${server.length}`,
    '    user: u',
    'users:',
    '- name: u',
    '  user:',
    '    token: not-a-real-token',
    '',
  ].join('\n');
}

let dir: string;
const saved = { ...process.env };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kube-config-test-'));
  delete process.env.KUBECONFIG;
  delete process.env.KUBERNETES_SERVICE_HOST;
  delete process.env.KUBERNETES_SERVICE_PORT;
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  process.env = { ...saved };
});

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('loadKubeConfig', () => {
  it('prefers the --kubeconfig flag over $KUBECONFIG', () => {
    const flag = file('flag.yaml', kubeconfigYaml('https://192.0.2.1:6443'));
    process.env.KUBECONFIG = file('env.yaml', kubeconfigYaml('https://192.0.2.2:6443'));
    const loaded = loadKubeConfig({ kubeconfig: flag });
    expect(loaded.kubeConfig.getCurrentCluster()?.server).toBe('https://192.0.2.1:6443');
    expect(loaded.source).toBe(`--kubeconfig ${flag}`);
  });

  it('falls back to $KUBECONFIG, skipping list entries that do not exist', () => {
    const env = file('env.yaml', kubeconfigYaml('https://192.0.2.2:6443'));
    process.env.KUBECONFIG = [join(dir, 'missing.yaml'), env].join(delimiter);
    expect(loadKubeConfig().kubeConfig.getCurrentCluster()?.server).toBe('https://192.0.2.2:6443');
  });

  it('falls back to the in-cluster service account', () => {
    const saDir = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(saDir, { recursive: true });
    writeFileSync(join(saDir, 'token'), 'token');
    writeFileSync(join(saDir, 'namespace'), 'metallb-system');
    process.env.KUBERNETES_SERVICE_HOST = '2001:db8::1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
    const loaded = loadKubeConfig({ inClusterPathPrefix: dir });
    expect(loaded.source).toBe('in-cluster service account');
    expect(loaded.kubeConfig.getCurrentCluster()?.server).toBe('https://[2001:db8::1]:443');
  });

  it('says what it tried when nothing is available', () => {
    expect(() => loadKubeConfig({ inClusterPathPrefix: dir })).toThrow(
      /no Kubernetes credentials found: pass --kubeconfig, set \$KUBECONFIG, or run in a pod/,
    );
  });

  it('names a missing --kubeconfig file', () => {
    expect(() => loadKubeConfig({ kubeconfig: join(dir, 'nope.yaml') })).toThrow(
      /nope\.yaml \(from --kubeconfig\) does not exist/,
    );
  });

  it('refuses a kubeconfig whose current context leads nowhere', () => {
    const broken = file('broken.yaml', kubeconfigYaml('https://192.0.2.1:6443', 'elsewhere'));
    expect(() => loadKubeConfig({ kubeconfig: broken })).toThrow(
      /no usable current context: current-context "elsewhere"/,
    );
  });
});
