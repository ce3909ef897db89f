import { describe, expect, it } from '@jest/globals';
import type { V1Deployment } from '@kubernetes/client-node';
import { defaultOperatorEnv } from '../env.js';
import {
  container,
  controllerPod,
  envValue,
  findObject,
  metalLB,
  renderObjects,
} from '../../../test/support/operator.js';

const env = defaultOperatorEnv;

function controllerDeployment(spec: Parameters<typeof metalLB>[0] = {}): V1Deployment {
  return findObject<V1Deployment>(renderObjects(metalLB(spec)), 'Deployment', 'controller');
}

describe('the controller Deployment', () => {
  it('runs one replica of the controller image under the controller ServiceAccount', () => {
    const deployment = controllerDeployment();
    expect(deployment.spec?.replicas).toBe(1);
    const pod = deployment.spec?.template.spec;
    expect(pod?.serviceAccountName).toBe('controller');
    expect(pod?.containers.map((c) => c.name)).toEqual(['controller']);
    expect(pod?.containers[0]?.image).toBe(env.controllerImage);
  });

  it('takes its image and ports from the operator environment', () => {
    const custom = {
      ...env,
      controllerImage: 'registry.example/metallb:1.0',
      metricsPort: 29150,
      livenessPort: 7472,
    };
    const controller = container(controllerPod(metalLB(), custom), 'controller');
    expect(controller.image).toBe('registry.example/metallb:1.0');
    expect(controller.args).toContain('--port=29150');
    expect(controller.args).toContain('--health-probe-port=7472');
    expect(controller.ports).toEqual([{ name: 'metricshttps', containerPort: 29150, protocol: 'TCP' }]);
    expect(controller.livenessProbe?.httpGet?.port).toBe(7472);
  });

  it('runs the controller subcommand with metrics, health, namespace and info log level by default', () => {
    expect(container(controllerPod(metalLB()), 'controller').args).toEqual([
      'controller',
      '--namespace=metallb-system',
      '--port=9120',
      '--health-probe-port=17472',
      '--metrics-cert-dir=/etc/metrics',
      '--log-level=info',
    ]);
  });

  it('passes logLevel as --log-level', () => {
    expect(container(controllerPod(metalLB({ logLevel: 'debug' })), 'controller').args).toContain(
      '--log-level=debug',
    );
  });

  it('passes loadBalancerClass as --lb-class, and no --lb-class without one', () => {
    const args = container(
      controllerPod(metalLB({ loadBalancerClass: 'example.com/metallb' })),
      'controller',
    ).args;
    expect(args).toContain('--lb-class=example.com/metallb');
    const defaultArgs = container(controllerPod(metalLB()), 'controller').args ?? [];
    expect(defaultArgs.some((arg) => arg.startsWith('--lb-class'))).toBe(false);
  });

  it('probes /healthz and /readyz on the liveness port', () => {
    const controller = container(controllerPod(metalLB()), 'controller');
    expect(controller.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 17472 });
    expect(controller.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 17472 });
  });

  it('tells the controller its pod name, namespace and BGP backend', () => {
    const controller = container(controllerPod(metalLB()), 'controller');
    expect(envValue(controller, 'METALLB_POD_NAME')).toBe('metadata.name');
    expect(envValue(controller, 'METALLB_NAMESPACE')).toBe('metadata.namespace');
    expect(envValue(controller, 'METALLB_BGP_TYPE')).toBe('frr');
  });

  it('runs as nobody, non-root, with a read-only root filesystem and no capabilities', () => {
    const pod = controllerPod(metalLB());
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65534 });
    expect(container(pod, 'controller').securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('merges kubernetes.io/os into the controller nodeSelector', () => {
    expect(controllerPod(metalLB()).nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(
      controllerPod(metalLB({ controllerNodeSelector: { 'example.com/infra': 'true' } })).nodeSelector,
    ).toEqual({ 'example.com/infra': 'true', 'kubernetes.io/os': 'linux' });
  });

  it('keeps kubernetes.io/os: linux when controllerNodeSelector asks for another OS', () => {
    expect(
      controllerPod(metalLB({ controllerNodeSelector: { 'kubernetes.io/os': 'windows' } })).nodeSelector,
    ).toEqual({ 'kubernetes.io/os': 'linux' });
  });

  it('gives the controller exactly controllerTolerations, and none by default', () => {
    const toleration = { key: 'example.com/infra', operator: 'Exists', effect: 'NoSchedule' };
    expect(controllerPod(metalLB({ controllerTolerations: [toleration] })).tolerations).toEqual([toleration]);
    expect(controllerPod(metalLB()).tolerations).toBeUndefined();
  });

  it('ignores the speaker knobs', () => {
    const pod = controllerPod(
      metalLB({
        nodeSelector: { 'example.com/edge': 'true' },
        speakerTolerations: [{ key: 'example.com/edge', operator: 'Exists' }],
        speakerConfig: {
          priorityClassName: 'speaker-priority',
          runtimeClassName: 'speaker-runtime',
          annotations: { 'example.com/who': 'speaker' },
          resources: { limits: { cpu: '1' } },
          affinity: { nodeAffinity: {} },
        },
      }),
    );
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).toBeUndefined();
    expect(pod.priorityClassName).toBeUndefined();
    expect(pod.runtimeClassName).toBeUndefined();
    expect(pod.affinity).toBeUndefined();
    expect(container(pod, 'controller').resources).toBeUndefined();
    expect(
      controllerDeployment({ speakerConfig: { annotations: { a: 'b' } } }).spec?.template.metadata
        ?.annotations,
    ).toBeUndefined();
  });

  it('sets controllerConfig priorityClassName and runtimeClassName on the pod', () => {
    const pod = controllerPod(
      metalLB({
        controllerConfig: { priorityClassName: 'system-cluster-critical', runtimeClassName: 'kata' },
      }),
    );
    expect(pod.priorityClassName).toBe('system-cluster-critical');
    expect(pod.runtimeClassName).toBe('kata');
  });

  it('uses controllerConfig affinity as the pod affinity', () => {
    const affinity = {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 10,
            podAffinityTerm: {
              labelSelector: { matchLabels: { component: 'speaker' } },
              topologyKey: 'kubernetes.io/hostname',
            },
          },
        ],
      },
    };
    expect(controllerPod(metalLB({ controllerConfig: { affinity } })).affinity).toEqual(affinity);
  });

  it('puts controllerConfig annotations on the pod template, not on the Deployment', () => {
    const deployment = controllerDeployment({
      controllerConfig: { annotations: { 'example.com/team': 'net' } },
    });
    expect(deployment.spec?.template.metadata?.annotations).toEqual({ 'example.com/team': 'net' });
    expect(deployment.metadata?.annotations).toBeUndefined();
  });

  it('sets controllerConfig resources on the controller container, with quantities as strings', () => {
    const controller = container(
      controllerPod(
        metalLB({
          controllerConfig: { resources: { limits: { cpu: 1, memory: '128Mi' }, requests: { cpu: '50m' } } },
        }),
      ),
      'controller',
    );
    expect(controller.resources).toEqual({ limits: { cpu: '1', memory: '128Mi' }, requests: { cpu: '50m' } });
  });

  it('selects its pods by labels that no knob changes', () => {
    const plain = controllerDeployment();
    const tuned = controllerDeployment({
      logLevel: 'debug',
      controllerNodeSelector: { a: 'b' },
      controllerConfig: { annotations: { c: 'd' }, priorityClassName: 'p' },
    });
    expect(plain.spec?.selector).toEqual({ matchLabels: { app: 'metallb', component: 'controller' } });
    expect(tuned.spec?.selector).toEqual(plain.spec?.selector);
    expect(plain.spec?.template.metadata?.labels).toMatchObject({ app: 'metallb', component: 'controller' });
  });
});
