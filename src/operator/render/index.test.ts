import { describe, expect, it } from '@jest/globals';
import type { V1ClusterRole, V1DaemonSet, V1Deployment } from '@kubernetes/client-node';
import { formatProblem } from '../../api/problem.js';
import type { MetalLB } from '../../api/types.generated.js';
import { readManifests } from '../../manifests/documents.js';
import { defaultOperatorEnv } from '../env.js';
import { ownedClusterObjectsSelector, renderMetalLB } from './index.js';
import { container, findObject, metalLB, renderObjects, testUid } from '../../../test/support/operator.js';

const clusterScopedKinds = new Set([
  'ClusterRole',
  'ClusterRoleBinding',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);

function problemLines(cr: MetalLB, env = defaultOperatorEnv): string[] {
  const result = renderMetalLB(cr, env);
  return result.ok ? [] : result.problems.map(formatProblem);
}

function sample(): MetalLB {
  const { documents, unreadable } = readManifests(['config/samples/metallb.yaml']);
  expect(unreadable).toEqual([]);
  const found = documents.find(({ object }) => object.kind === 'MetalLB');
  if (!found) throw new Error('config/samples/metallb.yaml holds no MetalLB');
  return found.object as unknown as MetalLB;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const field of Object.values(value)) deepFreeze(field);
    Object.freeze(value);
  }
  return value;
}

function hasEmptyValue(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value !== 'object') return false;
  return Object.values(value).some(hasEmptyValue);
}

describe('rendering a MetalLB resource', () => {
  it('orders ServiceAccounts, RBAC, ConfigMaps, the Deployment, then the DaemonSet', () => {
    expect(renderObjects(metalLB()).map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      'ServiceAccount/controller',
      'ServiceAccount/speaker',
      'ClusterRole/metallb-system:controller',
      'ClusterRole/metallb-system:speaker',
      'ClusterRoleBinding/metallb-system:controller',
      'ClusterRoleBinding/metallb-system:speaker',
      'Role/controller',
      'Role/speaker',
      'RoleBinding/controller',
      'RoleBinding/speaker',
      'ValidatingAdmissionPolicy/metallb-lease-owners.metallb-system',
      'ValidatingAdmissionPolicyBinding/metallb-lease-owners.metallb-system',
      'ConfigMap/frr-startup',
      'ConfigMap/frr-reloader',
      'Deployment/controller',
      'DaemonSet/speaker',
    ]);
  });

  it('gives every object its apiVersion and kind, and no status, null or undefined value', () => {
    for (const object of renderObjects(sample())) {
      expect(object.apiVersion).toMatch(
        /^(v1|apps\/v1|rbac\.authorization\.k8s\.io\/v1|admissionregistration\.k8s\.io\/v1)$/,
      );
      expect(object.kind).toBeTruthy();
      expect(object).not.toHaveProperty('status');
      expect(hasEmptyValue(object)).toBe(false);
    }
  });

  it('strips undefined and null values that reach it from the CR', () => {
    const cr = metalLB({
      speakerTolerations: [{ key: 'example.com/a', operator: 'Exists', value: undefined }],
      controllerConfig: { annotations: { 'example.com/b': null as unknown as string } },
    });
    const objects = renderObjects(cr);
    expect(objects.some(hasEmptyValue)).toBe(false);
    const tolerations = findObject<V1DaemonSet>(objects, 'DaemonSet', 'speaker').spec?.template.spec
      ?.tolerations;
    expect(tolerations?.[2]).toEqual({ key: 'example.com/a', operator: 'Exists' });
  });

  it('puts every namespaced object in the operator namespace under a controller ownerReference to the CR', () => {
    for (const object of renderObjects(metalLB()).filter((o) => !clusterScopedKinds.has(o.kind ?? ''))) {
      expect(object.metadata?.namespace).toBe('metallb-system');
      expect(object.metadata?.ownerReferences).toEqual([
        {
          apiVersion: 'metallb.io/v1beta1',
          kind: 'MetalLB',
          name: 'metallb',
          uid: testUid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
  });

  it('leaves the uid out of ownerReferences when the CR has none (read from a file)', () => {
    const deployment = findObject<V1Deployment>(
      renderObjects(metalLB({}, { uid: undefined })),
      'Deployment',
      'controller',
    );
    expect(deployment.metadata?.ownerReferences?.[0]).not.toHaveProperty('uid');
    expect(deployment.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'MetalLB',
      name: 'metallb',
      controller: true,
    });
  });

  it('labels cluster-scoped objects with their owner instead of an ownerReference', () => {
    const clusterScoped = renderObjects(metalLB()).filter((o) => clusterScopedKinds.has(o.kind ?? ''));
    expect(clusterScoped).toHaveLength(6);
    for (const object of clusterScoped) {
      expect(object.metadata?.namespace).toBeUndefined();
      expect(object.metadata?.ownerReferences).toBeUndefined();
      expect(object.metadata?.labels?.['metallb.io/owner']).toBe('metallb-system.metallb');
    }
    expect(ownedClusterObjectsSelector({ namespace: 'metallb-system', name: 'metallb' })).toBe(
      'metallb.io/owner=metallb-system.metallb',
    );
  });

  it('labels every object with its app, component and manager', () => {
    for (const object of renderObjects(metalLB())) {
      const component = object.metadata?.labels?.['app.kubernetes.io/component'];
      expect(['controller', 'speaker']).toContain(component);
      expect(object.metadata?.labels).toMatchObject({
        'app.kubernetes.io/name': 'metallb',
        'app.kubernetes.io/managed-by': 'metallb-operator',
        app: 'metallb',
        component,
      });
    }
  });

  it('deploys into the operator namespace from the environment', () => {
    const env = { ...defaultOperatorEnv, namespace: 'lb-system' };
    const cr: MetalLB = { ...metalLB(), metadata: { name: 'metallb', namespace: 'lb-system', uid: 'u' } };
    const objects = renderObjects(cr, env);
    for (const object of objects.filter((o) => !clusterScopedKinds.has(o.kind ?? ''))) {
      expect(object.metadata?.namespace).toBe('lb-system');
    }
    const controller = container(
      findObject<V1Deployment>(objects, 'Deployment', 'controller').spec?.template.spec ?? { containers: [] },
      'controller',
    );
    expect(controller.args).toContain('--namespace=lb-system');
  });

  it('takes the operator namespace for a CR without one', () => {
    const cr: MetalLB = { ...metalLB(), metadata: { name: 'metallb' } };
    expect(renderObjects(cr)[0]?.metadata?.namespace).toBe('metallb-system');
  });

  it('renders the same objects twice in a row', () => {
    expect(renderMetalLB(sample(), defaultOperatorEnv)).toEqual(renderMetalLB(sample(), defaultOperatorEnv));
  });

  it('renders the same objects whatever the order of the keys in the CR maps', () => {
    const forwards = metalLB({
      nodeSelector: { a: '1', b: '2' },
      speakerConfig: { annotations: { x: '1', y: '2' } },
    });
    const backwards = metalLB({
      nodeSelector: { b: '2', a: '1' },
      speakerConfig: { annotations: { y: '2', x: '1' } },
    });
    expect(JSON.stringify(renderObjects(forwards))).toBe(JSON.stringify(renderObjects(backwards)));
  });

  it('neither changes the CR nor shares objects between renders', () => {
    const cr = deepFreeze(sample());
    const pristine = JSON.stringify(renderObjects(cr));
    const first = renderObjects(cr);
    const speaker = findObject<V1DaemonSet>(first, 'DaemonSet', 'speaker');
    speaker.spec?.template.spec?.tolerations?.push({ key: 'mutated' });
    findObject<V1ClusterRole>(first, 'ClusterRole', 'metallb-system:controller').rules?.[0]?.verbs.push(
      'delete',
    );
    expect(JSON.stringify(renderObjects(cr))).toBe(pristine);
  });

  it('places every knob of config/samples/metallb.yaml', () => {
    const objects = renderObjects(sample());
    const controllerPod = findObject<V1Deployment>(objects, 'Deployment', 'controller').spec?.template;
    const speakerPod = findObject<V1DaemonSet>(objects, 'DaemonSet', 'speaker').spec?.template;
    expect(controllerPod?.spec?.nodeSelector).toEqual({
      'node-role.kubernetes.io/worker': '',
      'kubernetes.io/os': 'linux',
    });
    expect(controllerPod?.spec?.tolerations).toEqual([
      {
        key: 'node.kubernetes.io/unreachable',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 60,
      },
    ]);
    expect(controllerPod?.spec?.priorityClassName).toBe('system-cluster-critical');
    expect(
      controllerPod?.spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0]
        ?.topologyKey,
    ).toBe('kubernetes.io/hostname');
    expect(controllerPod?.metadata?.annotations).toEqual({ 'example.com/owner': 'network-team' });
    expect(controllerPod?.spec?.containers[0]?.resources).toEqual({
      limits: { cpu: '100m', memory: '128Mi' },
      requests: { cpu: '20m', memory: '64Mi' },
    });
    expect(controllerPod?.spec?.containers[0]?.args).toContain('--log-level=info');

    expect(speakerPod?.spec?.nodeSelector).toEqual({
      'node-role.kubernetes.io/worker': '',
      'kubernetes.io/os': 'linux',
    });
    expect(speakerPod?.spec?.tolerations?.map((t) => t.key)).toEqual([
      'node-role.kubernetes.io/master',
      'node-role.kubernetes.io/control-plane',
      'example.com/dedicated',
    ]);
    expect(speakerPod?.spec?.priorityClassName).toBe('system-node-critical');
    expect(speakerPod?.spec?.runtimeClassName).toBe('metallb-runtime');
    expect(
      speakerPod?.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.weight,
    ).toBe(50);
    expect(speakerPod?.metadata?.annotations?.['example.com/owner']).toBe('network-team');
    expect(speakerPod?.spec?.containers.map((c) => c.resources)).toEqual([
      { limits: { cpu: '200m' } },
      undefined,
      undefined,
      undefined,
    ]);
  });

  it.each(['native', 'frr-k8s', 'frr-k8s-external'] as const)(
    'refuses the %s BGP backend, saying frr is supported',
    (backend) => {
      expect(problemLines(metalLB({ bgpBackend: backend }))).toEqual([
        `MetalLB/metallb-system/metallb: spec.bgpBackend: ${backend} is not supported: this implementation runs FRR beside each speaker; leave bgpBackend unset or set it to frr`,
      ]);
    },
  );

  it('renders the frr BGP backend, set or unset, the same way', () => {
    expect(renderObjects(metalLB({ bgpBackend: 'frr' }))).toEqual(renderObjects(metalLB()));
  });

  it('refuses a CR outside the operator namespace', () => {
    const cr: MetalLB = { ...metalLB(), metadata: { name: 'metallb', namespace: 'default' } };
    expect(problemLines(cr)).toEqual([
      'MetalLB/default/metallb: metadata.namespace: must be metallb-system, got "default": the operator deploys MetalLB in its own namespace and reads the MetalLB resource only from there',
    ]);
  });

  it('refuses a CR not named metallb', () => {
    const cr: MetalLB = { ...metalLB(), metadata: { name: 'lb', namespace: 'metallb-system' } };
    expect(problemLines(cr)).toEqual([
      'MetalLB/metallb-system/lb: metadata.name: must be metallb, got "lb": a cluster has exactly one MetalLB resource, with that name',
    ]);
  });

  it('refuses a namespace too long to fit in the owner label of cluster-scoped objects', () => {
    const namespace = 'n'.repeat(56);
    const cr: MetalLB = { ...metalLB(), metadata: { name: 'metallb', namespace } };
    const [line] = problemLines(cr, { ...defaultOperatorEnv, namespace });
    expect(line).toMatch(/metadata\.namespace: too long: .* use a namespace of at most 55 characters$/);
    const fits = 'n'.repeat(55);
    expect(
      problemLines(
        { ...cr, metadata: { name: 'metallb', namespace: fits } },
        { ...defaultOperatorEnv, namespace: fits },
      ),
    ).toEqual([]);
  });
});
