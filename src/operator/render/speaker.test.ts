import { describe, expect, it } from '@jest/globals';
import type { V1ConfigMap, V1DaemonSet, V1PodSpec } from '@kubernetes/client-node';
import { defaultOperatorEnv } from '../env.js';
import { frrFilesDigestAnnotation } from './speaker.js';
import {
  container,
  envValue,
  findObject,
  metalLB,
  renderObjects,
  speakerPod,
} from '../../../test/support/operator.js';

const env = defaultOperatorEnv;
const controlPlaneTolerations = [
  { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
];

function speakerDaemonSet(spec: Parameters<typeof metalLB>[0] = {}): V1DaemonSet {
  return findObject<V1DaemonSet>(renderObjects(metalLB(spec)), 'DaemonSet', 'speaker');
}

function mountsOf(pod: V1PodSpec, volume: string): string[] {
  return [...(pod.initContainers ?? []), ...pod.containers]
    .filter((c) => c.volumeMounts?.some((mount) => mount.name === volume))
    .map((c) => c.name);
}

describe('the speaker DaemonSet', () => {
  it('runs the speaker beside FRR and the reloader, on the host network', () => {
    const pod = speakerPod(metalLB());
    expect(pod.containers.map((c) => c.name)).toEqual(['speaker', 'frr', 'reloader']);
    expect(pod.initContainers?.map((c) => c.name)).toEqual(['cp-frr-files']);
    expect(pod.serviceAccountName).toBe('speaker');
    expect(pod.hostNetwork).toBe(true);
    expect(pod.shareProcessNamespace).toBe(true);
    expect(pod.terminationGracePeriodSeconds).toBeLessThanOrEqual(5);
  });

  it('runs our image for the speaker and the FRR image for everything FRR', () => {
    const custom = {
      ...env,
      speakerImage: 'registry.example/metallb:2',
      frrImage: 'registry.example/frr:10',
    };
    const pod = speakerPod(metalLB(), custom);
    const images = Object.fromEntries(
      [...(pod.initContainers ?? []), ...pod.containers].map((c) => [c.name, c.image]),
    );
    expect(images).toEqual({
      'cp-frr-files': 'registry.example/frr:10',
      speaker: 'registry.example/metallb:2',
      frr: 'registry.example/frr:10',
      reloader: 'registry.example/frr:10',
    });
  });

  it('runs the speaker subcommand with its node name, metrics, health, namespace and info log level', () => {
    expect(container(speakerPod(metalLB()), 'speaker').args).toEqual([
      'speaker',
      '--node-name=$(METALLB_NODE_NAME)',
      '--namespace=metallb-system',
      '--port=9120',
      '--health-probe-port=17472',
      '--metrics-cert-dir=/etc/metrics',
      '--log-level=info',
    ]);
  });

  it('passes logLevel and loadBalancerClass to the speaker', () => {
    const args = container(
      speakerPod(metalLB({ logLevel: 'warn', loadBalancerClass: 'lb.example.com' })),
      'speaker',
    ).args;
    expect(args).toContain('--log-level=warn');
    expect(args).toContain('--lb-class=lb.example.com');
  });

  it('tells the speaker its node, host address, pod, namespace, BGP backend and FRR exchange files', () => {
    const speaker = container(speakerPod(metalLB()), 'speaker');
    expect(envValue(speaker, 'METALLB_NODE_NAME')).toBe('spec.nodeName');
    expect(envValue(speaker, 'METALLB_HOST')).toBe('status.hostIP');
    expect(envValue(speaker, 'METALLB_POD_NAME')).toBe('metadata.name');
    expect(envValue(speaker, 'METALLB_NAMESPACE')).toBe('metadata.namespace');
    expect(envValue(speaker, 'METALLB_BGP_TYPE')).toBe('frr');
    expect(envValue(speaker, 'FRR_CONFIG_FILE')).toBe('/etc/frr_reloader/frr.conf');
    expect(envValue(speaker, 'FRR_RELOADER_PID_FILE')).toBe('/etc/frr_reloader/reloader.pid');
  });

  it('probes the speaker on the liveness port over the node loopback', () => {
    const speaker = container(speakerPod(metalLB()), 'speaker');
    expect(speaker.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 17472, host: '127.0.0.1' });
    expect(speaker.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 17472, host: '127.0.0.1' });
  });

  it('checks FRR through vtysh, and lets the speaker reach FRR for metrics instead of a separate exporter', () => {
    const pod = speakerPod(metalLB());
    expect(container(pod, 'frr').livenessProbe?.exec?.command).toEqual([
      '/usr/bin/vtysh',
      '-c',
      'show daemons',
    ]);
    expect(container(pod, 'frr').startupProbe?.exec?.command).toEqual([
      '/usr/bin/vtysh',
      '-c',
      'show daemons',
    ]);
    expect(container(pod, 'speaker').volumeMounts?.map((m) => m.name)).toContain('frr-sockets');
  });

  it('gives the speaker only NET_RAW, and FRR the capabilities routing needs', () => {
    const pod = speakerPod(metalLB());
    expect(container(pod, 'speaker').securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['NET_RAW'] },
    });
    expect(container(pod, 'frr').securityContext?.capabilities).toEqual({
      drop: ['ALL'],
      add: [
        'NET_ADMIN',
        'NET_RAW',
        'SYS_ADMIN',
        'NET_BIND_SERVICE',
        'SETUID',
        'SETGID',
        'CHOWN',
        'FOWNER',
        'DAC_OVERRIDE',
        'KILL',
      ],
    });
    expect(container(pod, 'reloader').securityContext?.capabilities).toEqual({
      drop: ['ALL'],
      add: ['DAC_OVERRIDE'],
    });
  });

  it('shares FRR sockets, configuration and the reloader exchange directory between the containers that need them', () => {
    const pod = speakerPod(metalLB());
    expect(mountsOf(pod, 'frr-sockets')).toEqual(['speaker', 'frr', 'reloader']);
    expect(mountsOf(pod, 'frr-conf')).toEqual(['cp-frr-files', 'frr', 'reloader']);
    expect(mountsOf(pod, 'reloader')).toEqual(['speaker', 'reloader']);
    expect(mountsOf(pod, 'frr-startup')).toEqual(['cp-frr-files']);
    expect(pod.volumes?.find((v) => v.name === 'frr-startup')?.configMap?.name).toBe('frr-startup');
    expect(pod.volumes?.find((v) => v.name === 'reloader-script')?.configMap?.name).toBe('frr-reloader');
  });

  it('starts FRR with bgpd and bfdd, the integrated vtysh configuration and a placeholder frr.conf', () => {
    const startup = findObject<V1ConfigMap>(renderObjects(metalLB()), 'ConfigMap', 'frr-startup');
    expect(Object.keys(startup.data ?? {}).sort()).toEqual(['daemons', 'frr.conf', 'vtysh.conf']);
    expect(startup.data?.daemons).toMatch(/^bgpd=yes$/m);
    expect(startup.data?.daemons).toMatch(/^bfdd=yes$/m);
    expect(startup.data?.['vtysh.conf']).toContain('service integrated-vtysh-config');
  });

  it('runs the reloader script from the frr-reloader ConfigMap, reloading on SIGHUP and recording the outcome', () => {
    const objects = renderObjects(metalLB());
    const script =
      findObject<V1ConfigMap>(objects, 'ConfigMap', 'frr-reloader').data?.['frr-reloader.sh'] ?? '';
    expect(script).toContain("trap 'requested=1' HUP");
    expect(script).toContain('/etc/frr_reloader/reloader.pid');
    expect(script).toContain('frr-reload.py');
    expect(script).toContain('.status');
    const reloader = container(speakerPod(metalLB()), 'reloader');
    expect(reloader.command).toEqual(['/bin/bash', '/usr/local/lib/metallb/frr-reloader.sh']);
  });

  it('merges kubernetes.io/os into the speaker nodeSelector', () => {
    expect(speakerPod(metalLB()).nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(
      speakerPod(metalLB({ nodeSelector: { 'node-role.kubernetes.io/worker': '' } })).nodeSelector,
    ).toEqual({
      'node-role.kubernetes.io/worker': '',
      'kubernetes.io/os': 'linux',
    });
  });

  it('tolerates the control-plane taints even without speakerTolerations', () => {
    expect(speakerPod(metalLB()).tolerations).toEqual(controlPlaneTolerations);
  });

  it('puts speakerTolerations after the control-plane tolerations', () => {
    const dedicated = { key: 'example.com/dedicated', operator: 'Equal', value: 'lb', effect: 'NoSchedule' };
    const unreachable = {
      key: 'node.kubernetes.io/unreachable',
      operator: 'Exists',
      effect: 'NoExecute',
      tolerationSeconds: 30,
    };
    expect(speakerPod(metalLB({ speakerTolerations: [dedicated, unreachable] })).tolerations).toEqual([
      ...controlPlaneTolerations,
      dedicated,
      unreachable,
    ]);
  });

  it('sets speakerConfig priorityClassName, runtimeClassName and affinity on the pod', () => {
    const affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'example.com/edge', operator: 'Exists' }] }],
        },
      },
    };
    const pod = speakerPod(
      metalLB({
        speakerConfig: { priorityClassName: 'system-node-critical', runtimeClassName: 'runc', affinity },
      }),
    );
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.runtimeClassName).toBe('runc');
    expect(pod.affinity).toEqual(affinity);
    expect(speakerPod(metalLB()).affinity).toBeUndefined();
  });

  it('puts speakerConfig annotations on the pod template beside the FRR files digest, which they cannot override', () => {
    const daemonSet = speakerDaemonSet({
      speakerConfig: { annotations: { 'example.com/team': 'net', [frrFilesDigestAnnotation]: 'mine' } },
    });
    const annotations = daemonSet.spec?.template.metadata?.annotations ?? {};
    expect(annotations['example.com/team']).toBe('net');
    expect(annotations[frrFilesDigestAnnotation]).toMatch(/^[0-9a-f]{16}$/);
    expect(daemonSet.metadata?.annotations).toBeUndefined();
  });

  it('sets CPU limits only on the speaker container', () => {
    const pod = speakerPod(metalLB({ speakerConfig: { resources: { limits: { cpu: '200m' } } } }));
    expect(container(pod, 'speaker').resources).toEqual({ limits: { cpu: '200m' } });
    for (const other of ['frr', 'reloader', 'cp-frr-files']) {
      expect(container(pod, other).resources).toBeUndefined();
    }
  });

  it('ignores the controller knobs', () => {
    const pod = speakerPod(
      metalLB({
        controllerNodeSelector: { 'example.com/infra': 'true' },
        controllerTolerations: [{ key: 'example.com/infra', operator: 'Exists' }],
        controllerConfig: {
          priorityClassName: 'controller-priority',
          runtimeClassName: 'controller-runtime',
          resources: { limits: { cpu: '1' } },
          affinity: { podAffinity: {} },
          annotations: { 'example.com/who': 'controller' },
        },
      }),
    );
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).toEqual(controlPlaneTolerations);
    expect(pod.priorityClassName).toBeUndefined();
    expect(pod.runtimeClassName).toBeUndefined();
    expect(pod.affinity).toBeUndefined();
    expect(container(pod, 'speaker').resources).toBeUndefined();
    const annotations = speakerDaemonSet({ controllerConfig: { annotations: { a: 'b' } } }).spec?.template
      .metadata?.annotations;
    expect(Object.keys(annotations ?? {})).toEqual([frrFilesDigestAnnotation]);
  });

  it('selects its pods by labels that no knob changes', () => {
    const plain = speakerDaemonSet();
    const tuned = speakerDaemonSet({ nodeSelector: { a: 'b' }, speakerConfig: { annotations: { c: 'd' } } });
    expect(plain.spec?.selector).toEqual({ matchLabels: { app: 'metallb', component: 'speaker' } });
    expect(tuned.spec?.selector).toEqual(plain.spec?.selector);
    expect(plain.spec?.template.metadata?.labels).toMatchObject({ app: 'metallb', component: 'speaker' });
  });
});
