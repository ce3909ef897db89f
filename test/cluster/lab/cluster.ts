/** What every e2e suite needs from the shared local control plane: clients, kubectl, waiting. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { CoreV1Api, AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import { RawClient } from '../../../src/runtime/raw-client.js';

const run = promisify(execFile);

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(
      `${name} is not set: run e2e suites through \`make e2e\` (jest's global setup starts the cluster)`,
    );
  return value;
}

export const kubeconfigPath = (): string => required('METALLB_E2E_KUBECONFIG');
export const binDir = (): string => required('METALLB_E2E_BIN_DIR');

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

export const coreApi = (): CoreV1Api => kubeConfig().makeApiClient(CoreV1Api);
export const appsApi = (): AppsV1Api => kubeConfig().makeApiClient(AppsV1Api);
export const rawClient = (): RawClient => new RawClient(kubeConfig());

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the kubectl built with the control plane; never throws on a non-zero exit. */
export async function kubectl(args: readonly string[], stdin?: string): Promise<KubectlResult> {
  const child = run(join(binDir(), 'kubectl'), [`--kubeconfig=${kubeconfigPath()}`, ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  if (stdin !== undefined) {
    child.child.stdin?.end(stdin);
  }
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failure.code === 'number' ? failure.code : 1,
      stdout: failure.stdout ?? '',
      stderr: failure.stderr ?? '',
    };
  }
}

export { waitFor } from '../wait-for.js';

let namespaceCounter = 0;

/** A fresh namespace per test, so suites never see each other's objects. */
export async function createNamespace(prefix: string): Promise<string> {
  namespaceCounter += 1;
  const name = `${prefix}-${process.pid}-${namespaceCounter}`;
  await coreApi().createNamespace({ body: { metadata: { name } } });
  return name;
}

export async function ensureNamespace(name: string): Promise<void> {
  try {
    await coreApi().createNamespace({ body: { metadata: { name } } });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
  }
}
