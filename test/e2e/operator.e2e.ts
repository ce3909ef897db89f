/**
 * `metallb operator` as a real process against the local control plane: the scheduler places the controller
 * and speaker pods by the knobs of the MetalLB resource, kwok runs them, the garbage collector and the
 * operator's finalizer clean up, and the API server's audit log shows every write the operator sends.
 *
 * Each test starts its own operator (afterEach stops it, after deleting every MetalLB resource while the
 * operator can still release its finalizer). The last test runs a control plane of its own, because it
 * restarts the API server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { firstDifference } from '../../src/operator/drift.js';
import { apiStatus, RawClient } from '../../src/runtime/raw-client.js';
import { collectionPath, objectPath, resourceTypeOf } from '../../src/runtime/resources.js';
import { applyBody } from '../../src/runtime/ssa.js';
import type { KubeObject } from '../../src/runtime/kube-object.js';
import { LocalCluster } from '../cluster/local-cluster.js';
import { ensureNamespace, kubectl, kubeConfig, waitFor } from '../cluster/lab/cluster.js';
import { cliEntry, startProduct, type ProductProcess } from '../cluster/lab/product.js';
import { webhookCertSecretName } from '../../src/manifests/install/names.js';

const run = promisify(execFile);

const namespace = 'metallb-system';
const priorityClass = 'metallb-high-priority';
const runtimeClass = 'myclass';
const workers = ['worker-0', 'worker-1', 'worker-2'];
const fieldManager = 'e2e-operator-test';

const metallbType = resourceTypeOf('metallb.io/v1beta1', 'MetalLB');
const namespacedKinds = [
  ['v1', 'ServiceAccount'],
  ['v1', 'ConfigMap'],
  ['rbac.authorization.k8s.io/v1', 'Role'],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
  ['apps/v1', 'Deployment'],
  ['apps/v1', 'DaemonSet'],
] as const;
const clusterKinds = [
  ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
  ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
  ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicy'],
  ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicyBinding'],
] as const;

interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration?: number;
  readonly lastTransitionTime: string;
}

interface MetalLBObject {
  readonly metadata: {
    readonly name: string;
    readonly uid: string;
    readonly generation: number;
    readonly finalizers?: string[];
  };
  readonly spec?: Record<string, unknown>;
  readonly status?: { readonly conditions?: Condition[] };
}

interface PodSpecView {
  readonly metadata: { readonly name: string; readonly annotations?: Record<string, string> };
  readonly spec: {
    readonly nodeSelector?: Record<string, string>;
    readonly tolerations?: Record<string, unknown>[];
    readonly priorityClassName?: string;
    readonly priority?: number;
    readonly runtimeClassName?: string;
    readonly affinity?: Record<string, unknown>;
    readonly containers: { name: string; args?: string[]; resources?: { limits?: Record<string, string> } }[];
  };
}

/** The examples of the OpenShift documentation for the MetalLB resource, combined into one. */
const documentedSpec = {
  logLevel: 'debug',
  nodeSelector: { 'node-role.kubernetes.io/worker': '' },
  speakerTolerations: [{ key: 'Example', operator: 'Exists', effect: 'NoExecute' }],
  controllerConfig: {
    priorityClassName: priorityClass,
    runtimeClassName: runtimeClass,
    annotations: { controller: 'demo' },
    resources: { limits: { cpu: '200m' } },
    affinity: {
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { labelSelector: { matchLabels: { app: 'metallb' } }, topologyKey: 'kubernetes.io/hostname' },
        ],
      },
    },
  },
  speakerConfig: {
    priorityClassName: priorityClass,
    runtimeClassName: runtimeClass,
    annotations: { speaker: 'demo' },
    resources: { limits: { cpu: '300m' } },
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 50,
            preference: { matchExpressions: [{ key: 'example.com/edge', operator: 'In', values: ['true'] }] },
          },
        ],
      },
    },
  },
};

/** One control plane as the tests see it: a client, and the operator currently running against it. */
class Harness {
  operator: ProductProcess | undefined;

  constructor(
    readonly client: RawClient,
    private readonly kubeconfigPath?: string,
  ) {}

  startOperator(extraArgs: readonly string[] = []): ProductProcess {
    this.operator = startProduct(
      'operator',
      [
        '--health-probe-bind-address=127.0.0.1:0',
        '--metrics-bind-address=0',
        '--log-level=debug',
        ...(this.kubeconfigPath ? [`--kubeconfig=${this.kubeconfigPath}`] : []),
        ...extraArgs,
      ],
      { kubeconfig: this.kubeconfigPath === undefined, env: { OPERATOR_NAMESPACE: namespace } },
    );
    return this.operator;
  }

  /** waitFor, with the end of the operator's log in the failure: that is where the why is. */
  async eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    try {
      return await waitFor(what, check, timeoutMs);
    } catch (error) {
      const log = this.operator?.log() ?? '(no operator)';
      const tail = log.trimEnd().split('\n').slice(-40).join('\n');
      throw new Error(
        `${(error as Error).message}\n--- operator log ${this.operator?.logFile ?? ''} ---\n${tail}`,
      );
    }
  }

  metallbPath(name: string): string {
    return objectPath(metallbType, namespace, name);
  }

  async applyMetalLB(name: string, spec: Record<string, unknown>): Promise<MetalLBObject> {
    const body = { apiVersion: 'metallb.io/v1beta1', kind: 'MetalLB', metadata: { name, namespace }, spec };
    return this.client.apply<MetalLBObject>(this.metallbPath(name), body, fieldManager);
  }

  async metalLB(name: string): Promise<MetalLBObject | undefined> {
    try {
      return await this.client.get<MetalLBObject>(this.metallbPath(name));
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw error;
    }
  }

  /** Waits until every listed condition has the status (and reason) given, for the current generation. */
  async waitForConditions(
    name: string,
    expected: Readonly<Record<string, string>>,
    timeoutMs = 60_000,
  ): Promise<MetalLBObject> {
    return this.eventually(
      `MetalLB ${name} to have conditions ${JSON.stringify(expected)}`,
      async () => {
        const cr = await this.metalLB(name);
        const conditions = cr?.status?.conditions ?? [];
        const matches = Object.entries(expected).every(([type, wanted]) => {
          const condition = conditions.find((c) => c.type === type);
          return condition && `${condition.status}/${condition.reason}`.startsWith(wanted);
        });
        const current = conditions.every((c) => c.observedGeneration === cr?.metadata.generation);
        return cr && matches && current && conditions.length === 4 ? cr : undefined;
      },
      timeoutMs,
    );
  }

  async pods(component: 'controller' | 'speaker'): Promise<(PodSpecView & V1Pod)[]> {
    const list = await this.client.list<PodSpecView & V1Pod>(
      collectionPath(resourceTypeOf('v1', 'Pod'), namespace),
      {
        labelSelector: `app=metallb,component=${component}`,
      },
    );
    return list.items;
  }

  /** The running pods of a component once exactly `count` exist, all Running and none terminating. */
  async runningPods(component: 'controller' | 'speaker', count: number): Promise<(PodSpecView & V1Pod)[]> {
    return this.eventually(`${count} running ${component} pods`, async () => {
      const pods = await this.pods(component);
      const settled = pods.filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
      return settled.length === count && pods.length === count ? settled : undefined;
    });
  }

  async get<T>(apiVersion: string, kind: string, name: string, inNamespace?: string): Promise<T | undefined> {
    try {
      return await this.client.get<T>(objectPath(resourceTypeOf(apiVersion, kind), inNamespace, name));
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw error;
    }
  }

  /** Every object the operator deployed that is still there: "Kind/name". */
  async deployedObjects(): Promise<string[]> {
    const found: string[] = [];
    for (const [apiVersion, kind] of namespacedKinds) {
      const list = await this.client.list<KubeObject>(
        collectionPath(resourceTypeOf(apiVersion, kind), namespace),
        {
          labelSelector: 'app.kubernetes.io/managed-by=metallb-operator',
        },
      );
      found.push(...list.items.map((o) => `${kind}/${o.metadata?.name ?? ''}`));
    }
    for (const [apiVersion, kind] of clusterKinds) {
      const list = await this.client.list<KubeObject>(collectionPath(resourceTypeOf(apiVersion, kind)), {
        labelSelector: 'metallb.io/owner',
      });
      found.push(...list.items.map((o) => `${kind}/${o.metadata?.name ?? ''}`));
    }
    const pods = await this.client.list<KubeObject>(collectionPath(resourceTypeOf('v1', 'Pod'), namespace), {
      labelSelector: 'app=metallb',
    });
    found.push(...pods.items.map((o) => `Pod/${o.metadata?.name ?? ''}`));
    return found.sort();
  }

  /**
   * Deletes every MetalLB resource and waits until the operator has released them; if it cannot (it died),
   * strips the finalizers and removes what it deployed, so the next test starts from nothing.
   */
  async removeEveryMetalLB(): Promise<void> {
    const list = await this.client.list<MetalLBObject>(collectionPath(metallbType, namespace));
    for (const cr of list.items) {
      await this.client.delete(this.metallbPath(cr.metadata.name)).catch(() => undefined);
    }
    const gone = async (): Promise<true | undefined> =>
      (await this.client.list(collectionPath(metallbType, namespace))).items.length === 0 ? true : undefined;
    if (this.operator?.process.running) {
      try {
        await waitFor('every MetalLB resource to be released', gone, 60_000);
        return;
      } catch {
        // fall through to the manual clean-up
      }
    }
    for (const cr of (await this.client.list<MetalLBObject>(collectionPath(metallbType, namespace))).items) {
      await this.client
        .patch(
          this.metallbPath(cr.metadata.name),
          { metadata: { finalizers: null } },
          'application/merge-patch+json',
        )
        .catch(() => undefined);
    }
    for (const [apiVersion, kind] of [...namespacedKinds, ...clusterKinds]) {
      const type = resourceTypeOf(apiVersion, kind);
      const scoped = type.namespaced ? namespace : undefined;
      const list = await this.client.list<KubeObject>(collectionPath(type, scoped), {
        labelSelector: type.namespaced ? 'app.kubernetes.io/managed-by=metallb-operator' : 'metallb.io/owner',
      });
      for (const object of list.items) {
        await this.client
          .delete(objectPath(type, scoped, object.metadata?.name ?? ''))
          .catch(() => undefined);
      }
    }
  }

  async stopOperator(): Promise<void> {
    await this.operator?.stop();
  }
}

/** A kubernetes.io/basic-auth Secret, as a BGP password Secret is. */
async function ensureBasicAuthSecretIn(inNamespace: string, name: string): Promise<void> {
  const applied = await kubectl(
    ['apply', '-f', '-'],
    stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: inNamespace },
      type: 'kubernetes.io/basic-auth',
      stringData: { password: 'e2e-operator-pw' },
    }),
  );
  expect(applied.stderr).toBe('');
}

function condition(cr: MetalLBObject, type: string): Condition | undefined {
  return cr.status?.conditions?.find((c) => c.type === type);
}

function podOn(pod: V1Pod): string {
  return pod.spec?.nodeName ?? '';
}

function container(pod: PodSpecView, name: string): PodSpecView['spec']['containers'][number] {
  const found = pod.spec.containers.find((c) => c.name === name);
  if (!found) throw new Error(`pod ${pod.metadata.name} has no container ${name}`);
  return found;
}

describe('the MetalLB operator', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = new Harness(new RawClient(kubeConfig()));
    await ensureNamespace(namespace);
    // Another suite may have left a MetalLB behind (the samples hold one); these tests start from none.
    await harness.removeEveryMetalLB();
    const classes = await kubectl(
      ['apply', '-f', '-'],
      stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'scheduling.k8s.io/v1',
            kind: 'PriorityClass',
            metadata: { name: priorityClass },
            value: 1000000,
          },
          // A RuntimeClass needs a handler; kwok never runs the pods, so any name will do.
          {
            apiVersion: 'node.k8s.io/v1',
            kind: 'RuntimeClass',
            metadata: { name: runtimeClass },
            handler: 'myconfiguration',
          },
        ],
      }),
    );
    expect(classes.stderr).toBe('');
  });

  afterEach(async () => {
    try {
      await harness.removeEveryMetalLB();
    } finally {
      await harness.stopOperator();
    }
  });

  afterAll(async () => {
    await kubectl(['delete', 'priorityclass', priorityClass, '--ignore-not-found']);
    await kubectl(['delete', 'runtimeclass', runtimeClass, '--ignore-not-found']);
    harness.client.close();
  });

  it('deploys the OpenShift documentation example: speakers on the workers only, every knob in place, Available once the pods run', async () => {
    harness.startOperator();
    await harness.applyMetalLB('metallb', documentedSpec);

    const speakers = await harness.runningPods('speaker', 3);
    expect(speakers.map(podOn).sort()).toEqual(workers);
    const [controller] = await harness.runningPods('controller', 1);
    if (!controller) throw new Error('no controller pod');
    // Its required pod affinity puts it beside a speaker, and without a toleration it stays off the control plane.
    expect(workers).toContain(podOn(controller));

    expect(controller.spec.priorityClassName).toBe(priorityClass);
    expect(controller.spec.priority).toBe(1000000);
    expect(controller.spec.runtimeClassName).toBe(runtimeClass);
    expect(controller.metadata.annotations?.controller).toBe('demo');
    expect(container(controller, 'controller').resources?.limits?.cpu).toBe('200m');
    expect(controller.spec.affinity).toEqual(documentedSpec.controllerConfig.affinity);
    expect(container(controller, 'controller').args).toContain('--log-level=debug');
    for (const speaker of speakers) {
      expect(speaker.spec.priorityClassName).toBe(priorityClass);
      expect(speaker.spec.priority).toBe(1000000);
      expect(speaker.spec.runtimeClassName).toBe(runtimeClass);
      expect(speaker.metadata.annotations?.speaker).toBe('demo');
      expect(container(speaker, 'speaker').resources?.limits?.cpu).toBe('300m');
      // The DaemonSet controller adds a required node affinity of its own: one pod per node.
      expect(speaker.spec.affinity).toMatchObject(documentedSpec.speakerConfig.affinity);
      expect(speaker.spec.nodeSelector).toEqual({
        'node-role.kubernetes.io/worker': '',
        'kubernetes.io/os': 'linux',
      });
      expect(speaker.spec.tolerations).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }),
          expect.objectContaining({ key: 'Example', operator: 'Exists', effect: 'NoExecute' }),
        ]),
      );
      expect(container(speaker, 'speaker').args).toContain('--log-level=debug');
    }

    const cr = await harness.waitForConditions('metallb', {
      Available: 'True/AllPodsReady',
      Progressing: 'False/RolloutComplete',
      Degraded: 'False',
      Upgradeable: 'True',
    });
    expect(condition(cr, 'Available')?.message).toBe(
      'controller: 1 of 1 pods ready, 1 updated; speaker: 3 of 3 pods ready, 3 updated',
    );
    expect(cr.metadata.finalizers).toEqual(['metallb.io/cleanup']);

    const table = await kubectl(['get', 'metallb', '-n', namespace]);
    expect(table.stdout).toMatch(/NAME\s+AVAILABLE\s+PROGRESSING\s+DEGRADED\s+AGE/);
    expect(table.stdout).toMatch(/metallb\s+True\s+False\s+False\s+/);
  });

  it('runs a workload on a tainted node only with a matching toleration', async () => {
    const taint = 'example.com/dedicated=lb:NoSchedule';
    expect((await kubectl(['taint', 'nodes', 'worker-2', taint, '--overwrite'])).code).toBe(0);
    try {
      harness.startOperator();
      const controlPlane = { 'node-role.kubernetes.io/control-plane': '' };
      await harness.applyMetalLB('metallb', { controllerNodeSelector: controlPlane });
      // Speakers tolerate the control plane's taint by default, not the one on worker-2.
      expect((await harness.runningPods('speaker', 3)).map(podOn).sort()).toEqual([
        'control-plane-0',
        'worker-0',
        'worker-1',
      ]);
      // The controller is sent to the control plane, whose taint it does not tolerate: it cannot start.
      await harness.eventually('the controller pod to be unschedulable', async () => {
        const pods = await harness.pods('controller');
        const scheduled = pods.find((p) =>
          p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable'),
        );
        return pods.length === 1 && scheduled ? true : undefined;
      });
      const pending = await harness.waitForConditions('metallb', {
        Available: 'False/PodsNotReady',
        Progressing: 'True/RollingOut',
      });
      expect(condition(pending, 'Available')?.message).toMatch(/controller: 0 of 1 pods ready/);

      await harness.applyMetalLB('metallb', {
        controllerNodeSelector: controlPlane,
        controllerTolerations: [
          { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
        ],
        speakerTolerations: [
          { key: 'example.com/dedicated', operator: 'Equal', value: 'lb', effect: 'NoSchedule' },
        ],
      });
      expect((await harness.runningPods('controller', 1)).map(podOn)).toEqual(['control-plane-0']);
      expect((await harness.runningPods('speaker', 4)).map(podOn).sort()).toEqual([
        'control-plane-0',
        ...workers,
      ]);
      await harness.waitForConditions('metallb', { Available: 'True', Degraded: 'False' });
    } finally {
      await kubectl(['taint', 'nodes', 'worker-2', 'example.com/dedicated-']);
    }
  });

  it('applies exactly what `metallb render` prints for the same resource', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metallb-render-'));
    try {
      const file = join(dir, 'metallb.yaml');
      writeFileSync(
        file,
        stringify({
          apiVersion: 'metallb.io/v1beta1',
          kind: 'MetalLB',
          metadata: { name: 'metallb', namespace },
          spec: documentedSpec,
        }),
      );
      const rendered = await run(process.execPath, [
        cliEntry(),
        'render',
        '-f',
        file,
        '--namespace',
        namespace,
      ]);
      const documents = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as KubeObject);
      expect(documents).toHaveLength(16);

      harness.startOperator();
      await harness.applyMetalLB('metallb', documentedSpec);
      const cr = await harness.waitForConditions('metallb', { Available: 'True' });

      for (const document of documents) {
        const { apiVersion = '', kind = '' } = document;
        const live = await harness.get<KubeObject>(
          apiVersion,
          kind,
          document.metadata?.name ?? '',
          document.metadata?.namespace,
        );
        expect(live).toBeDefined();
        // The file-read CR has no uid, so the printed ownerReferences lack one; everything printed is live.
        expect({
          object: `${kind}/${document.metadata?.name}`,
          difference: firstDifference(applyBody(document), live),
        }).toEqual({
          object: `${kind}/${document.metadata?.name}`,
          difference: undefined,
        });
        if (live?.metadata?.namespace) expect(live.metadata.ownerReferences?.[0]?.uid).toBe(cr.metadata.uid);
      }
      const deployed = (await harness.deployedObjects()).filter((o) => !o.startsWith('Pod/'));
      expect(deployed).toEqual(documents.map((d) => `${d.kind}/${d.metadata?.name}`).sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rolls a changed field of the MetalLB resource out to the pods', async () => {
    const operator = harness.startOperator();
    const spec = {
      nodeSelector: { 'node-role.kubernetes.io/worker': '' },
      speakerConfig: { annotations: { 'example.com/revision': '1' } },
    };
    await harness.applyMetalLB('metallb', spec);
    await harness.waitForConditions('metallb', { Available: 'True' });
    const before = new Set((await harness.runningPods('speaker', 3)).map((p) => p.metadata.name));

    const logOffset = operator.log().length;
    const changed = await harness.applyMetalLB('metallb', {
      ...spec,
      logLevel: 'warn',
      speakerConfig: { annotations: { 'example.com/revision': '2' } },
    });
    const after = await harness.eventually(
      'every speaker pod to be replaced by one with the new spec',
      async () => {
        const pods = await harness.pods('speaker');
        const fresh = pods.filter(
          (p) =>
            !before.has(p.metadata.name) &&
            p.status?.phase === 'Running' &&
            p.metadata.annotations?.['example.com/revision'] === '2' &&
            container(p, 'speaker').args?.includes('--log-level=warn'),
        );
        return fresh.length === 3 && pods.length === 3 ? fresh : undefined;
      },
    );
    expect(after.map(podOn).sort()).toEqual(workers);
    const controller = await harness.runningPods('controller', 1);
    expect(container(controller[0] as PodSpecView, 'controller').args).toContain('--log-level=warn');
    const cr = await harness.waitForConditions('metallb', {
      Available: 'True/AllPodsReady',
      Progressing: 'False',
    });
    expect(cr.metadata.generation).toBe(changed.metadata.generation);
    // While it rolled out, the operator said so.
    expect(operator.log().slice(logOffset)).toContain('"Progressing":"True/RollingOut"');
  });

  it('reverts hand edits of the DaemonSet and the Deployment', async () => {
    harness.startOperator();
    await harness.applyMetalLB('metallb', {
      nodeSelector: { 'node-role.kubernetes.io/worker': '' },
      speakerTolerations: [{ key: 'Example', operator: 'Exists', effect: 'NoExecute' }],
    });
    await harness.waitForConditions('metallb', { Available: 'True' });
    type DaemonSetView = {
      spec: { template: { spec: { nodeSelector: Record<string, string>; tolerations: unknown[] } } };
    };
    const original = (await harness.get<DaemonSetView>('apps/v1', 'DaemonSet', 'speaker', namespace))?.spec
      .template.spec;
    expect(original?.tolerations).toHaveLength(3);

    const edit = await kubectl([
      'patch',
      'daemonset',
      'speaker',
      '-n',
      namespace,
      '--type=json',
      '-p',
      JSON.stringify([
        { op: 'remove', path: '/spec/template/spec/tolerations/2' },
        {
          op: 'replace',
          path: '/spec/template/spec/nodeSelector/node-role.kubernetes.io~1worker',
          value: 'edited',
        },
      ]),
    ]);
    expect(edit.stderr).toBe('');
    expect((await kubectl(['scale', 'deployment', 'controller', '-n', namespace, '--replicas=3'])).code).toBe(
      0,
    );

    await harness.eventually('the DaemonSet and the Deployment to be put back', async () => {
      const daemonSet = await harness.get<DaemonSetView>('apps/v1', 'DaemonSet', 'speaker', namespace);
      const deployment = await harness.get<{ spec: { replicas: number } }>(
        'apps/v1',
        'Deployment',
        'controller',
        namespace,
      );
      const podSpec = daemonSet?.spec.template.spec;
      return podSpec &&
        JSON.stringify(podSpec.nodeSelector) === JSON.stringify(original?.nodeSelector) &&
        JSON.stringify(podSpec.tolerations) === JSON.stringify(original?.tolerations) &&
        deployment?.spec.replicas === 1
        ? true
        : undefined;
    });
    expect((await harness.runningPods('speaker', 3)).map(podOn).sort()).toEqual(workers);
    await harness.waitForConditions('metallb', { Available: 'True', Degraded: 'False' });
  });

  it('sends no write request on a reconcile where nothing changed', async () => {
    const operator = harness.startOperator();
    await harness.applyMetalLB('metallb', documentedSpec);
    await harness.waitForConditions('metallb', { Available: 'True', Progressing: 'False' });
    // Let the last rollout events settle, so every pass from here on is an idle one.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const auditLog = join(process.env.METALLB_E2E_WORK_DIR ?? '', 'audit.log');
    const auditOffset = statSync(auditLog).size;
    const logOffset = operator.log().length;
    // Changes to owned objects that are not drift (an extra annotation) wake the operator up. Not on the
    // Deployment: its annotations are part of its generation, so Kubernetes itself would write its status.
    for (const target of ['serviceaccount/speaker', 'configmap/frr-startup', 'daemonset/speaker']) {
      expect(
        (await kubectl(['annotate', target, '-n', namespace, 'example.com/touched=yes', '--overwrite'])).code,
      ).toBe(0);
    }
    await harness.eventually('the operator to reconcile after the touches', async () => {
      const passes = operator
        .log()
        .slice(logOffset)
        .split('\n')
        .filter((line) => line.includes('"msg":"reconciled"'));
      // Touches that land while a pass runs fold into one more pass.
      return passes.length >= 2 ? passes : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const writes = auditEntriesSince(auditLog, auditOffset).filter(
      (entry) =>
        !['get', 'list', 'watch'].includes(entry.verb) &&
        !entry.userAgent?.startsWith('kubectl') &&
        entry.objectRef?.resource !== 'leases' &&
        (entry.objectRef?.namespace === namespace ||
          ['clusterroles', 'clusterrolebindings'].includes(entry.objectRef?.resource ?? '')),
    );
    expect(writes.map((e) => `${e.verb} ${e.requestURI} (${e.userAgent ?? 'no user agent'})`)).toEqual([]);
  });

  it('reports a MetalLB with another name, and a second one, as Degraded with a reason, deploying nothing for them', async () => {
    harness.startOperator();
    await harness.applyMetalLB('metallb-wrong', { logLevel: 'debug' });
    const wrong = await harness.waitForConditions('metallb-wrong', {
      Degraded: 'True/IncorrectMetalLBResourceName',
      Available: 'False',
    });
    expect(condition(wrong, 'Degraded')?.message).toMatch(/must be named "metallb", not "metallb-wrong"/);
    expect(await harness.deployedObjects()).toEqual([]);
    expect(wrong.metadata.finalizers).toBeUndefined();
    await harness.eventually('a Warning event about the name', async () => {
      const events = await harness.client.list<{
        type: string;
        reason: string;
        note?: string;
        regarding: { name: string };
      }>(`/apis/events.k8s.io/v1/namespaces/${namespace}/events`);
      return events.items.find(
        (e) =>
          e.regarding.name === 'metallb-wrong' &&
          e.type === 'Warning' &&
          e.reason === 'IncorrectMetalLBResourceName',
      );
    });

    await harness.applyMetalLB('metallb', {});
    await harness.waitForConditions('metallb', { Available: 'True' });
    const second = await harness.waitForConditions('metallb-wrong', {
      Degraded: 'True/DuplicateMetalLBResource',
    });
    expect(condition(second, 'Degraded')?.message).toMatch(/metallb-system\/metallb is it/);
    const table = await kubectl(['get', 'metallb', '-n', namespace, '-o', 'wide']);
    expect(table.stdout).toMatch(/metallb-wrong\s+False\s+False\s+True\s+DuplicateMetalLBResource/);

    await harness.client.delete(harness.metallbPath('metallb-wrong'));
    await harness.eventually('the wrong one to be gone', async () =>
      (await harness.metalLB('metallb-wrong')) ? undefined : true,
    );
    await harness.waitForConditions('metallb', { Available: 'True', Degraded: 'False' });
  });

  it('reports a MetalLB in another namespace as Degraded (WrongNamespace) with a Warning event, deploying nothing for it', async () => {
    harness.startOperator();
    const elsewhere = 'metallb-e2e-elsewhere';
    await ensureNamespace(elsewhere);
    const path = objectPath(metallbType, elsewhere, 'metallb');
    try {
      await harness.client.apply(
        path,
        {
          apiVersion: 'metallb.io/v1beta1',
          kind: 'MetalLB',
          metadata: { name: 'metallb', namespace: elsewhere },
          spec: {},
        },
        fieldManager,
      );
      const reported = await harness.eventually(
        'the MetalLB elsewhere to be Degraded/WrongNamespace',
        async () => {
          const cr = await harness.client.get<MetalLBObject>(path);
          const degraded = condition(cr, 'Degraded');
          return degraded?.status === 'True' && degraded.reason === 'WrongNamespace' ? cr : undefined;
        },
      );
      expect(condition(reported, 'Degraded')?.message).toMatch(
        new RegExp(`read only from the operator's namespace ${namespace}.*in ${elsewhere}`),
      );
      expect(condition(reported, 'Available')?.status).toBe('False');
      // Nothing deployed for it, and no finalizer: deleting it is never held up.
      expect(reported.metadata.finalizers).toBeUndefined();
      expect(await harness.deployedObjects()).toEqual([]);
      await harness.eventually('a Warning event WrongNamespace on it', async () => {
        const events = await harness.client.list<{
          type: string;
          reason: string;
          regarding: { name: string; namespace?: string };
        }>(`/apis/events.k8s.io/v1/namespaces/${elsewhere}/events`);
        return events.items.find(
          (e) => e.type === 'Warning' && e.reason === 'WrongNamespace' && e.regarding.name === 'metallb',
        );
      });
    } finally {
      await harness.client.delete(path).catch(() => undefined);
      await kubectl(['delete', 'namespace', elsewhere, '--ignore-not-found', '--wait=false']);
    }
  });

  it('renders a controller pod that the API server admits under the restricted Pod Security Standard', async () => {
    harness.startOperator();
    await harness.applyMetalLB('metallb', {});
    const deployment = await waitFor('the controller Deployment', () =>
      harness.get<KubeObject & { spec?: { template?: { spec?: Record<string, unknown> } } }>(
        'apps/v1',
        'Deployment',
        'controller',
        namespace,
      ),
    );
    // A namespace of its own: labelling metallb-system restricted would also refuse the speaker pods, which
    // need the host network and raw sockets, while the other tests run.
    const restricted = 'metallb-e2e-restricted';
    await ensureNamespace(restricted);
    try {
      const label = await kubectl([
        'label',
        'namespace',
        restricted,
        'pod-security.kubernetes.io/enforce=restricted',
        '--overwrite',
      ]);
      expect(label.code).toBe(0);
      // The controller's ServiceAccount exists only in metallb-system; admission needs one in this namespace.
      const {
        serviceAccountName: _serviceAccountName,
        // The API server fills in the deprecated alias too.
        serviceAccount: _serviceAccount,
        ...podSpec
      } = deployment.spec?.template?.spec ?? {};
      const pod = (name: string, spec: Record<string, unknown>) =>
        stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: restricted }, spec });
      const dryRun = (manifest: string) =>
        kubectl(['create', '--dry-run=server', '-o', 'name', '-f', '-'], manifest);
      await waitFor('the default ServiceAccount of the restricted namespace', async () =>
        (await kubectl(['get', 'serviceaccount', 'default', '-n', restricted])).code === 0 ? true : undefined,
      );
      const accepted = await dryRun(pod('controller-from-template', podSpec));
      expect({ code: accepted.code, stderr: accepted.stderr }).toEqual({ code: 0, stderr: '' });
      // The same admission refuses a privileged pod: the label is enforced, so the acceptance means something.
      const refused = await dryRun(
        pod('privileged', {
          containers: [{ name: 'root', image: 'example.invalid/any', securityContext: { privileged: true } }],
        }),
      );
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/violates PodSecurity "restricted:latest": .*privileged/);
    } finally {
      await kubectl(['delete', 'namespace', restricted, '--ignore-not-found', '--wait=false']);
    }
  });

  it("lets a speaker write only its own node's Lease and the controller only its leader-election Lease", async () => {
    harness.startOperator();
    await harness.applyMetalLB('metallb', {});
    const speaker = `system:serviceaccount:${namespace}:speaker`;
    const controller = `system:serviceaccount:${namespace}:controller`;
    await waitFor('the policy binding', () =>
      harness.get(
        'admissionregistration.k8s.io/v1',
        'ValidatingAdmissionPolicyBinding',
        `metallb-lease-owners.${namespace}`,
      ),
    );
    const canI = async (user: string, verb: string, lease: string) =>
      (
        await kubectl(['auth', 'can-i', verb, `leases/${lease}`, '-n', namespace, `--as=${user}`])
      ).stdout.trim();
    await waitFor('the controller Role', async () =>
      (await canI(controller, 'update', 'metallb-controller')) === 'yes' ? true : undefined,
    );
    expect(await canI(controller, 'update', 'metallb-speaker-worker-0')).toBe('no');
    expect(await canI(controller, 'delete', 'metallb-controller')).toBe('no');
    expect(await canI(speaker, 'update', 'metallb-controller')).toBe('no');
    expect(await canI(speaker, 'get', 'metallb-controller')).toBe('no');

    const lease = (name: string) =>
      stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace } });
    const createAs = (name: string, user: string, node?: string) =>
      kubectl(
        [
          'create',
          '--dry-run=server',
          '-o',
          'name',
          '-f',
          '-',
          `--as=${user}`,
          ...(node ? [`--as-user-extra=authentication.kubernetes.io/node-name=${node}`] : []),
        ],
        lease(name),
      );
    // The policy is compiled and enforced by the API server itself: a typo in its CEL would show here.
    await waitFor("the admission policy to refuse another node's Lease", async () => {
      const other = await createAs('metallb-speaker-worker-1', speaker, 'worker-0');
      return other.code !== 0 && /only its own node's Lease/.test(other.stderr) ? true : undefined;
    });
    expect((await createAs('metallb-speaker-worker-0', speaker, 'worker-0')).code).toBe(0);
    expect((await createAs('metallb-speaker-worker-0', speaker)).stderr).toMatch(/only its own node's Lease/);
    expect((await createAs('metallb-controller', speaker, 'worker-0')).stderr).toMatch(
      /only its own node's Lease/,
    );
    expect((await createAs('metallb-controller', controller)).code).toBe(0);
    expect((await createAs('metallb-speaker-worker-0', controller)).stderr).toMatch(
      /only its leader-election Lease/,
    );
  });

  it("lets the speaker read only the Secrets BGPPeers name as passwordSecret, never the webhook's CA key", async () => {
    harness.startOperator();
    await harness.applyMetalLB('metallb', {});
    const speaker = `system:serviceaccount:${namespace}:speaker`;
    const passwordSecret = 'e2e-operator-bgp-password';
    const peerPath = objectPath(
      resourceTypeOf('metallb.io/v1beta2', 'BGPPeer'),
      namespace,
      'e2e-password-peer',
    );
    const canI = async (verb: string, secret: string) =>
      (
        await kubectl(['auth', 'can-i', verb, `secrets/${secret}`, '-n', namespace, `--as=${speaker}`])
      ).stdout.trim();
    // What the speaker's informer sends: a list and a watch by field selector, authorized per name.
    const listAsSpeaker = (secret?: string) =>
      kubectl([
        'get',
        'secrets',
        '-n',
        namespace,
        `--as=${speaker}`,
        '-o',
        'name',
        ...(secret ? [`--field-selector=metadata.name=${secret}`] : []),
      ]);
    await ensureBasicAuthSecretIn(namespace, passwordSecret);
    try {
      await harness.eventually('the speaker Role', () =>
        harness.get('rbac.authorization.k8s.io/v1', 'Role', 'speaker', namespace),
      );
      for (const verb of ['get', 'list', 'watch']) expect(await canI(verb, webhookCertSecretName)).toBe('no');
      // No BGPPeer names a Secret: no Secret rule at all (an empty resourceNames would grant every one).
      expect(await canI('watch', passwordSecret)).toBe('no');

      await harness.client.apply(
        peerPath,
        {
          apiVersion: 'metallb.io/v1beta2',
          kind: 'BGPPeer',
          metadata: { name: 'e2e-password-peer', namespace },
          spec: {
            myASN: 64512,
            peerASN: 64513,
            peerAddress: '192.0.2.1',
            passwordSecret: { name: passwordSecret },
          },
        },
        fieldManager,
      );
      await harness.eventually('the speaker Role to name the password Secret', async () =>
        (await canI('watch', passwordSecret)) === 'yes' ? true : undefined,
      );
      expect(await canI('list', passwordSecret)).toBe('yes');
      expect(await canI('get', passwordSecret)).toBe('no');
      for (const verb of ['get', 'list', 'watch']) expect(await canI(verb, webhookCertSecretName)).toBe('no');
      const byName = await listAsSpeaker(passwordSecret);
      expect({ code: byName.code, stdout: byName.stdout.trim() }).toEqual({
        code: 0,
        stdout: `secret/${passwordSecret}`,
      });
      const everything = await listAsSpeaker();
      expect(everything.code).not.toBe(0);
      expect(everything.stderr).toMatch(/forbidden/i);
      const caKey = await listAsSpeaker(webhookCertSecretName);
      expect(caKey.stderr).toMatch(/forbidden/i);

      // The peer stops naming it: the grant goes with it.
      await harness.client.delete(peerPath);
      await harness.eventually('the speaker Role to drop the password Secret', async () =>
        (await canI('watch', passwordSecret)) === 'no' ? true : undefined,
      );
      const role = await harness.get<{ rules: { resources?: string[] }[] }>(
        'rbac.authorization.k8s.io/v1',
        'Role',
        'speaker',
        namespace,
      );
      expect(role?.rules.filter((rule) => rule.resources?.includes('secrets'))).toEqual([]);
    } finally {
      await harness.client.delete(peerPath).catch(() => undefined);
      await kubectl(['delete', 'secret', passwordSecret, '-n', namespace, '--ignore-not-found']);
    }
  });

  it('removes every object it created, cluster-scoped ones included, when the MetalLB resource is deleted', async () => {
    harness.startOperator();
    await harness.applyMetalLB('metallb', documentedSpec);
    await harness.waitForConditions('metallb', { Available: 'True' });
    const deployed = await harness.deployedObjects();
    expect(deployed).toEqual(
      expect.arrayContaining([
        'ClusterRole/metallb-system:controller',
        'ClusterRoleBinding/metallb-system:speaker',
        'DaemonSet/speaker',
        'Deployment/controller',
      ]),
    );
    expect(deployed.filter((o) => o.startsWith('Pod/'))).toHaveLength(4);
    // What the operands write at run time, as they would (no speaker or controller runs here): status
    // objects, which Nodes own and so garbage collection never removes, and their Leases.
    const written = [
      ['metallb.io/v1beta1', 'ServiceBGPStatus', 'e2e-web-bgp', {}],
      ['metallb.io/v1beta1', 'ServiceL2Status', 'e2e-web-l2', {}],
      ['metallb.io/v1beta1', 'BGPSessionState', 'worker-0-e2e-router', {}],
      [
        'coordination.k8s.io/v1',
        'Lease',
        'metallb-speaker-worker-0',
        { 'metallb.io/speaker-liveness': 'true', 'metallb.io/node': 'worker-0' },
      ],
      ['coordination.k8s.io/v1', 'Lease', 'metallb-controller', {}],
    ] as const;
    for (const [apiVersion, kind, name, labels] of written) {
      await harness.client.apply(
        objectPath(resourceTypeOf(apiVersion, kind), namespace, name),
        { apiVersion, kind, metadata: { name, namespace, labels } },
        fieldManager,
      );
    }

    const deletion = await kubectl([
      'delete',
      // Not just "metallb": that is also the category of every metallb.io kind.
      'metallbs.metallb.io',
      'metallb',
      '-n',
      namespace,
      '--wait=true',
      '--timeout=60s',
    ]);
    expect(deletion.stderr).toBe('');
    // The finalizer holds the resource until everything is gone, pods included.
    expect(await harness.deployedObjects()).toEqual([]);
    expect(await harness.metalLB('metallb')).toBeUndefined();
    const remaining: string[] = [];
    for (const [apiVersion, kind, name] of written) {
      if (await harness.get(apiVersion, kind, name, namespace)) remaining.push(`${kind}/${name}`);
    }
    expect(remaining).toEqual([]);
  });
});

interface AuditEntry {
  readonly verb: string;
  readonly requestURI: string;
  readonly userAgent?: string;
  readonly objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
}

function auditEntriesSince(file: string, offset: number, end?: number): AuditEntry[] {
  return readFileSync(file)
    .subarray(offset, end)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEntry);
}

/** Resolves as soon as an audit entry matching `match` is appended after `offset`. */
async function firstAuditEntry(
  file: string,
  offset: number,
  match: (entry: AuditEntry) => boolean,
  timeoutMs = 30_000,
): Promise<AuditEntry> {
  const fd = openSync(file, 'r');
  const deadline = Date.now() + timeoutMs;
  let position = offset;
  let pending = '';
  try {
    for (;;) {
      const buffer = Buffer.alloc(1 << 16);
      const read = readSync(fd, buffer, 0, buffer.length, position);
      if (read > 0) {
        position += read;
        pending += buffer.subarray(0, read).toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (!line) continue;
          const entry = JSON.parse(line) as AuditEntry;
          if (match(entry)) return entry;
        }
        continue;
      }
      if (Date.now() > deadline) throw new Error(`no matching audit entry in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } finally {
    closeSync(fd);
  }
}

function apiServerPid(cluster: LocalCluster): number {
  const pid = cluster.pids.find((candidate) => {
    try {
      return readFileSync(`/proc/${candidate}/cmdline`, 'utf8').split('\0')[0]?.endsWith('kube-apiserver');
    } catch {
      return false;
    }
  });
  if (pid === undefined) throw new Error('no kube-apiserver among the cluster processes');
  return pid;
}

describe('the MetalLB operator and an API server restart', () => {
  let cluster: LocalCluster | undefined;
  let harness: Harness | undefined;

  beforeAll(async () => {
    cluster = await LocalCluster.start({ audit: true });
    const config = new KubeConfig();
    config.loadFromFile(cluster.kubeconfigPath);
    harness = new Harness(new RawClient(config), cluster.kubeconfigPath);
    await harness.client.create('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace },
    });
    // kube-controller-manager exits if the API server goes away while it is still building its controllers;
    // a Deployment that gets a ready pod shows it is past that, as the test's restart must find it.
    await harness.client.create('/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'controllers-ready' },
      spec: {
        selector: { matchLabels: { app: 'controllers-ready' } },
        template: {
          metadata: { labels: { app: 'controllers-ready' } },
          spec: { containers: [{ name: 'main', image: 'example.invalid/none:1' }] },
        },
      },
    });
    await waitFor('kube-controller-manager to run its controllers', async () => {
      const probe = await harness?.client.get<{ status?: { readyReplicas?: number } }>(
        '/apis/apps/v1/namespaces/default/deployments/controllers-ready',
      );
      return probe?.status?.readyReplicas === 1 ? true : undefined;
    });
  }, 120_000);

  afterAll(async () => {
    try {
      if (harness?.operator?.process.running) await harness.removeEveryMetalLB();
    } finally {
      await harness?.stopOperator();
      harness?.client.close();
      await cluster?.stop();
    }
  }, 120_000);

  it('survives an API server restart in the middle of a reconcile and converges afterwards', async () => {
    if (!cluster || !harness) throw new Error('no cluster');
    const operator = harness.startOperator();
    await harness.eventually('the operator to lead', async () =>
      operator.log().includes('controller started') ? true : undefined,
    );

    const auditLog = join(cluster.workDir, 'audit.log');
    const offset = statSync(auditLog).size;
    // The reconcile's first write is the finalizer; freeze the API server the moment it lands, while the
    // operator is about to apply fourteen objects, then bring it back.
    const finalizerWritten = firstAuditEntry(
      auditLog,
      offset,
      (e) =>
        e.verb === 'patch' &&
        e.objectRef?.resource === 'metallbs' &&
        !e.objectRef.subresource &&
        !e.requestURI.includes(`fieldManager=${fieldManager}`),
    );
    await harness.applyMetalLB('metallb', { nodeSelector: { 'node-role.kubernetes.io/worker': '' } });
    await finalizerWritten;
    process.kill(apiServerPid(cluster), 'SIGSTOP');
    const frozenAt = statSync(auditLog).size;
    const restartedAt = Date.now();
    await cluster.restartApiServer(2_000);
    const downtimeMs = Date.now() - restartedAt;

    const cr = await harness.waitForConditions('metallb', { Available: 'True', Degraded: 'False' }, 120_000);
    expect((await harness.runningPods('speaker', 3)).map(podOn).sort()).toEqual(workers);
    expect(operator.process.running).toBe(true);
    // It was mid-reconcile: the finalizer was in and the workloads not yet when the API server froze, and a
    // request of that pass failed; the workloads were applied after the restart.
    const applies = (entries: AuditEntry[]): string[] =>
      entries
        .filter((e) => e.verb === 'patch' && !e.requestURI.includes(`fieldManager=${fieldManager}`))
        .map(
          (e) => `${e.objectRef?.resource}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`,
        );
    const beforeFreeze = applies(auditEntriesSince(auditLog, offset, frozenAt));
    expect(beforeFreeze).toContain('metallbs');
    expect(beforeFreeze).not.toContain('daemonsets');
    expect(applies(auditEntriesSince(auditLog, frozenAt))).toContain('daemonsets');
    expect(operator.log()).toMatch(
      /"message":"(read ECONNRESET|socket hang up|connect ECONNREFUSED)[^\n]*reconcile failed; will retry/,
    );
    expect(downtimeMs).toBeGreaterThanOrEqual(2_000);

    // The watches are back too: a spec change after the restart reaches the pods.
    await harness.applyMetalLB('metallb', {
      nodeSelector: { 'node-role.kubernetes.io/worker': '' },
      logLevel: 'debug',
    });
    await harness.eventually('the speakers to run with the new log level', async () => {
      const pods = await harness?.pods('speaker');
      const updated = pods?.filter(
        (p) => p.status?.phase === 'Running' && container(p, 'speaker').args?.includes('--log-level=debug'),
      );
      return updated?.length === 3 && pods?.length === 3 ? true : undefined;
    });
    expect((await harness.metalLB('metallb'))?.metadata.uid).toBe(cr.metadata.uid);
  });
});
