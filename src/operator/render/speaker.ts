/**
 * The speaker DaemonSet: on every selected node, the speaker (ARP/NDP answers, BGP intent) beside an FRR
 * instance that speaks BGP and BFD, a reloader that applies the speaker's frr.conf, and an exporter of FRR's
 * session metrics.
 */
import type { V1DaemonSet, V1Toleration, V1VolumeMount } from '@kubernetes/client-node';
import type { MetalLB } from '../../api/types.generated.js';
import type { OperatorEnv } from '../env.js';
import {
  frrConfigFile,
  frrFilesDigest,
  frrGroup,
  frrPaths,
  frrReloaderConfigMapName,
  frrReloaderPidFile,
  frrReloaderScript,
  frrStartupConfigMapName,
  frrUser,
} from './frr.js';
import {
  componentLabels,
  namespacedMetadata,
  selectorLabels,
  speakerDaemonSetName,
  type OwnerIdentity,
} from './labels.js';
import { metricsPortName } from './monitoring.js';
import { nodeOptionsEnv } from './node-options.js';
import {
  httpProbe,
  mainContainerResources,
  metricsCertsMount,
  metricsCertsVolumeOf,
  nodeSelector,
  operandArgs,
  podAnnotations,
  podSchedulingSettings,
  tolerations,
} from './pod.js';

/** Annotation on the pod template that restarts speakers when the files FRR starts from change. */
export const frrFilesDigestAnnotation = 'metallb.io/frr-files-digest';

/** Speakers must run on control-plane nodes too: Services may be reached through any node. */
export const controlPlaneTolerations: readonly V1Toleration[] = [
  { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
];

/**
 * Long enough for a speaker to withdraw and release its heartbeat Lease, so another node takes over its
 * addresses at once, and short enough not to hold up node drains.
 */
const terminationGracePeriodSeconds = 2;

const volume = {
  frrSockets: 'frr-sockets',
  frrStartup: 'frr-startup',
  frrConf: 'frr-conf',
  reloader: 'reloader',
  reloaderScript: 'reloader-script',
} as const;

const mounts = {
  frrSockets: { name: volume.frrSockets, mountPath: frrPaths.socketDir },
  frrConf: { name: volume.frrConf, mountPath: frrPaths.configDir },
  reloader: { name: volume.reloader, mountPath: frrPaths.reloaderDir },
} satisfies Record<string, V1VolumeMount>;

const frrLivenessCommand = ['/usr/bin/vtysh', '-c', 'show daemons'];

export function speakerDaemonSet(cr: MetalLB, env: OperatorEnv, owner: OwnerIdentity): V1DaemonSet {
  const spec = cr.spec ?? {};
  const config = spec.speakerConfig;
  const loopback = '127.0.0.1';
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: namespacedMetadata(speakerDaemonSetName, 'speaker', owner),
    spec: {
      selector: { matchLabels: selectorLabels('speaker') },
      template: {
        metadata: {
          labels: componentLabels('speaker'),
          annotations: { ...podAnnotations(config), [frrFilesDigestAnnotation]: frrFilesDigest() },
        },
        spec: {
          serviceAccountName: 'speaker',
          hostNetwork: true,
          // The speaker signals the reloader by PID.
          shareProcessNamespace: true,
          terminationGracePeriodSeconds,
          nodeSelector: nodeSelector(spec.nodeSelector),
          tolerations: [
            ...controlPlaneTolerations.map((toleration) => ({ ...toleration })),
            ...tolerations(spec.speakerTolerations),
          ],
          ...podSchedulingSettings(config),
          // The container runtime's default seccomp profile: none of the containers needs a syscall it blocks.
          securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
          volumes: [
            { name: volume.frrSockets, emptyDir: {} },
            { name: volume.frrStartup, configMap: { name: frrStartupConfigMapName } },
            { name: volume.frrConf, emptyDir: {} },
            { name: volume.reloader, emptyDir: {} },
            {
              name: volume.reloaderScript,
              configMap: { name: frrReloaderConfigMapName, defaultMode: 0o555 },
            },
            metricsCertsVolumeOf('speaker'),
          ],
          initContainers: [
            {
              // FRR rewrites its configuration directory, and ConfigMap volumes are read-only.
              name: 'cp-frr-files',
              image: env.frrImage,
              // -L: ConfigMap volume files are symlinks into a hidden timestamped directory.
              command: ['/bin/sh', '-c', `cp -rLf ${frrPaths.startupDir}/* ${frrPaths.configDir}/`],
              // A plain copy as the frr user (the copied files must belong to it): no capability at all.
              securityContext: {
                runAsUser: frrUser,
                runAsGroup: frrGroup,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: volume.frrStartup, mountPath: frrPaths.startupDir }, mounts.frrConf],
            },
          ],
          containers: [
            {
              name: 'speaker',
              image: env.speakerImage,
              args: ['speaker', '--node-name=$(METALLB_NODE_NAME)', ...operandArgs(cr, env)],
              env: [
                { name: 'METALLB_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                { name: 'METALLB_HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
                { name: 'METALLB_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'METALLB_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'METALLB_BGP_TYPE', value: 'frr' },
                { name: 'FRR_CONFIG_FILE', value: frrConfigFile },
                { name: 'FRR_RELOADER_PID_FILE', value: frrReloaderPidFile },
                nodeOptionsEnv,
              ],
              ports: [{ name: metricsPortName, containerPort: env.metricsPort, protocol: 'TCP' }],
              // On the host network the node's loopback is the pod's, whichever address the speaker binds.
              livenessProbe: httpProbe('/healthz', env.livenessPort, loopback),
              readinessProbe: httpProbe('/readyz', env.livenessPort, loopback),
              securityContext: {
                // Added capabilities take effect only for root; the image's default user is not ours to rely on.
                runAsUser: 0,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                // Layer 2 needs only NET_RAW: packet sockets to read ARP requests / Neighbor Solicitations and
                // send answers and gratuitous announcements. Joining solicited-node multicast groups and
                // promiscuous reception are packet-socket memberships (no NET_ADMIN), carrier is read from
                // /sys/class/net, and no address or route is ever configured on the node.
                capabilities: { drop: ['ALL'], add: ['NET_RAW'] },
              },
              // The speaker reads FRR's state for its BGP/BFD metrics and session reports through the vty
              // sockets, so no separate exporter container is needed.
              volumeMounts: [mounts.reloader, mounts.frrSockets, metricsCertsMount],
              ...mainContainerResources(config),
            },
            {
              name: 'frr',
              image: env.frrImage,
              command: ['/sbin/tini', '--', '/usr/lib/frr/docker-start'],
              env: [{ name: 'TINI_SUBREAPER', value: 'true' }],
              securityContext: {
                allowPrivilegeEscalation: false,
                // FRR writes its sockets, PID files and configuration at run time: the root filesystem stays
                // writable. Everything else is dropped; what FRR keeps, and why:
                capabilities: {
                  drop: ['ALL'],
                  add: [
                    'NET_ADMIN', // zebra installs routes and reads interfaces; VRF binding
                    'NET_RAW', // BFD and bgpd's raw sockets
                    'SYS_ADMIN', // network namespace / VRF handling in zebra
                    'NET_BIND_SERVICE', // bgpd listens on port 179
                    'SETUID', // the daemons start as root and switch to the frr user
                    'SETGID', // ... and to its group
                    'CHOWN', // the start script hands /var/run/frr and /etc/frr to the frr user
                    'FOWNER', // ... and sets modes on files the frr user owns
                    'DAC_OVERRIDE', // watchfrr (root) writes in folders owned by the frr user
                    'KILL', // watchfrr (root) restarts daemons running as the frr user
                  ],
                },
              },
              volumeMounts: [mounts.frrSockets, mounts.frrConf],
              // FRR is alive while vtysh can reach its daemons.
              startupProbe: { exec: { command: frrLivenessCommand }, periodSeconds: 5, failureThreshold: 30 },
              livenessProbe: { exec: { command: frrLivenessCommand }, periodSeconds: 10, timeoutSeconds: 5 },
            },
            {
              name: 'reloader',
              image: env.frrImage,
              command: ['/bin/bash', frrReloaderScript],
              securityContext: {
                allowPrivilegeEscalation: false,
                // Runs as root (the speaker, also root, signals it by PID; that needs no KILL between equal
                // users) and reaches FRR's vty sockets and the frr user's configuration folder, which takes
                // DAC_OVERRIDE; frr-reload.py writes temporary files, so the root filesystem stays writable.
                capabilities: { drop: ['ALL'], add: ['DAC_OVERRIDE'] },
              },
              volumeMounts: [
                mounts.frrSockets,
                mounts.frrConf,
                mounts.reloader,
                { name: volume.reloaderScript, mountPath: frrPaths.reloaderScriptDir, readOnly: true },
              ],
            },
          ],
        },
      },
    },
  };
}
