/** What the local control plane needs from the API once it is up: our CRDs and the simulated Nodes. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RawClient } from '../../src/runtime/raw-client.js';
import {
  CoreV1Api,
  KubeConfig,
  type V1CustomResourceDefinition,
  type V1Taint,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { sleep } from './processes.js';

export interface SimulatedNode {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly taints?: readonly V1Taint[];
}

export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

function statusCode(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? (error as { code: number }).code
    : undefined;
}

/**
 * Applies every CRD in `dir` (server-side apply, so re-running updates them) and waits until the API server
 * serves them. Raw JSON, because client-node's CRD model drops `default` and `x-kubernetes-validations`.
 */
export async function installCrds(kubeconfigPath: string, dir: string): Promise<number> {
  const client = new RawClient(loadKubeConfig(kubeconfigPath));
  const names: string[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const crd = doc.toJS() as V1CustomResourceDefinition | null;
      if (crd?.kind !== 'CustomResourceDefinition' || !crd.metadata?.name) continue;
      await client.apply(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
        crd,
        'metallb-test-cluster',
      );
      names.push(crd.metadata.name);
    }
  }
  const deadline = Date.now() + 30_000;
  for (const name of names) {
    for (;;) {
      const current = await client.get<V1CustomResourceDefinition>(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      );
      if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after 30 s`);
      await sleep(100);
    }
  }
  return names.length;
}

/** Creates Nodes that kwok takes over (by its annotation) and keeps Ready. */
export async function createNodes(kubeconfigPath: string, nodes: readonly SimulatedNode[]): Promise<void> {
  const api = loadKubeConfig(kubeconfigPath).makeApiClient(CoreV1Api);
  for (const node of nodes) {
    try {
      await api.createNode({
        body: {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name: node.name,
            annotations: { 'kwok.x-k8s.io/node': 'fake' },
            labels: {
              'kubernetes.io/hostname': node.name,
              'kubernetes.io/os': 'linux',
              'kubernetes.io/arch': 'amd64',
              type: 'kwok',
              ...node.labels,
            },
          },
          spec: { taints: node.taints ? [...node.taints] : undefined },
        },
      });
    } catch (error) {
      if (statusCode(error) !== 409) throw error;
    }
  }
}

export async function waitForNodesReady(
  kubeconfigPath: string,
  names: readonly string[],
  timeoutMs: number,
): Promise<void> {
  const api = loadKubeConfig(kubeconfigPath).makeApiClient(CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await api.listNode();
    const ready = new Set(
      list.items
        .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((n) => n.metadata?.name),
    );
    const missing = names.filter((name) => !ready.has(name));
    if (missing.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`nodes not Ready after ${timeoutMs} ms: ${missing.join(', ')}`);
    await sleep(250);
  }
}
