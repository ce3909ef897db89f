/**
 * The local control plane is the real thing: the API server enforces our CRDs, the scheduler and kwok run
 * DaemonSet pods on the right simulated nodes, and the garbage collector follows owner references.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import {
  appsApi,
  coreApi,
  createNamespace,
  ensureNamespace,
  kubectl,
  rawClient,
  waitFor,
} from '../cluster/lab/cluster.js';
import { isAlive, readState } from '../cluster/supervisor.js';

const run = promisify(execFile);

describe('the local control plane', () => {
  it('rejects a CR that breaks the CRD schema and names the field', async () => {
    await ensureNamespace('metallb-system');
    const result = await kubectl(
      ['apply', '-f', '-'],
      'apiVersion: metallb.io/v1beta1\nkind: BFDProfile\nmetadata: {name: too-fast, namespace: metallb-system}\nspec: {receiveInterval: 5}\n',
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/spec\.receiveInterval/);
    expect(result.stderr).toMatch(/greater than or equal to 10/);
  });

  it('enforces the CEL rules of our CRDs', async () => {
    await ensureNamespace('metallb-system');
    const result = await kubectl(
      ['apply', '-f', '-'],
      [
        'apiVersion: metallb.io/v1beta1',
        'kind: BGPAdvertisement',
        'metadata: {name: aggregated-and-selective, namespace: metallb-system}',
        'spec: {aggregationLength: 24, serviceSelectors: [{matchLabels: {app: web}}]}',
      ].join('\n'),
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/serviceSelectors cannot be combined with aggregation/);
  });

  it('accepts every sample and applies the schema defaults', async () => {
    await ensureNamespace('metallb-system');
    const result = await kubectl(['apply', '-f', 'config/samples']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const pool = await rawClient().get<{ spec: { autoAssign?: boolean } }>(
      '/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools/edge',
    );
    expect(pool.spec.autoAssign).toBe(true);
    const peer = await rawClient().get<{ spec: { peerPort?: number } }>(
      '/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers/tor-router',
    );
    expect(peer.spec.peerPort).toBe(179);
  });

  it('shows our field descriptions in kubectl explain', async () => {
    const result = await kubectl(['explain', 'ipaddresspools.spec.addresses']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/inclusive range of\s+two addresses/);
  });

  it('runs DaemonSet pods on exactly the nodes its nodeSelector picks, and on a tainted node only with a toleration', async () => {
    const namespace = await createNamespace('daemonset');
    const podsOf = async (app: string): Promise<V1Pod[]> =>
      (await coreApi().listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
    const daemonSet = (name: string, nodeSelector: Record<string, string>, tolerate: boolean) => ({
      metadata: { name, namespace },
      spec: {
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            nodeSelector,
            tolerations: tolerate
              ? [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }]
              : [],
            containers: [{ name: 'main', image: 'example.invalid/none:1' }],
          },
        },
      },
    });
    await appsApi().createNamespacedDaemonSet({
      namespace,
      body: daemonSet('workers', { 'node-role.kubernetes.io/worker': '' }, false),
    });
    await appsApi().createNamespacedDaemonSet({
      namespace,
      body: daemonSet('everywhere', { 'kubernetes.io/os': 'linux' }, true),
    });
    await appsApi().createNamespacedDaemonSet({
      namespace,
      body: daemonSet('untolerated', { 'kubernetes.io/os': 'linux' }, false),
    });

    const runningNodes = async (app: string, expected: number) =>
      waitFor(`${expected} running ${app} pods`, async () => {
        const pods = await podsOf(app);
        const running = pods.filter((p) => p.status?.phase === 'Running');
        return running.length === expected && pods.length === expected
          ? running.map((p) => p.spec?.nodeName).sort()
          : undefined;
      });
    expect(await runningNodes('workers', 3)).toEqual(['worker-0', 'worker-1', 'worker-2']);
    expect(await runningNodes('everywhere', 4)).toEqual([
      'control-plane-0',
      'worker-0',
      'worker-1',
      'worker-2',
    ]);
    expect(await runningNodes('untolerated', 3)).toEqual(['worker-0', 'worker-1', 'worker-2']);
  });

  it('garbage-collects a Deployment when its owner is deleted', async () => {
    const namespace = await createNamespace('gc');
    const owner = await coreApi().createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'owner' } },
    });
    await appsApi().createNamespacedDeployment({
      namespace,
      body: {
        metadata: {
          name: 'owned',
          ownerReferences: [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              name: 'owner',
              uid: owner.metadata?.uid as string,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: {
          selector: { matchLabels: { app: 'owned' } },
          template: {
            metadata: { labels: { app: 'owned' } },
            spec: { containers: [{ name: 'main', image: 'example.invalid/none:1' }] },
          },
        },
      },
    });
    await waitFor('the owned Deployment to have ready pods', async () => {
      const deployment = await appsApi().readNamespacedDeployment({ name: 'owned', namespace });
      return deployment.status?.readyReplicas === 1 ? true : undefined;
    });
    await coreApi().deleteNamespacedConfigMap({ name: 'owner', namespace });
    await waitFor('the owned Deployment to be collected', async () => {
      const list = await appsApi().listNamespacedDeployment({ namespace });
      return list.items.length === 0 ? true : undefined;
    });
  });

  it('starts in the background and stops leaving no process and no temp folder behind', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'metallb-up-down-'));
    const cli = ['--import', 'tsx', 'test/cluster/cli.ts'];
    try {
      await run(process.execPath, [...cli, 'up', `--state-dir=${stateDir}`], { timeout: 120_000 });
      const state = readState(stateDir);
      expect(state).toBeDefined();
      const pids = [state?.supervisorPid as number, ...(state?.pids ?? [])];
      expect(pids.length).toBe(6);
      expect(pids.every(isAlive)).toBe(true);
      expect(existsSync(state?.workDir as string)).toBe(true);

      const again = await run(process.execPath, [...cli, 'up', `--state-dir=${stateDir}`]);
      expect(again.stdout).toMatch(/already running/);

      await run(process.execPath, [...cli, 'down', `--state-dir=${stateDir}`], { timeout: 120_000 });
      expect(pids.filter(isAlive)).toEqual([]);
      expect(existsSync(state?.workDir as string)).toBe(false);
      expect(readState(stateDir)).toBeUndefined();
    } finally {
      await run(process.execPath, [...cli, 'down', `--state-dir=${stateDir}`]).catch(() => undefined);
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
