/** The controller Deployment: one replica (leader-elected) that assigns addresses to Services. */
import type { V1Deployment } from '@kubernetes/client-node';
import type { MetalLB } from '../../api/types.generated.js';
import type { OperatorEnv } from '../env.js';
import {
  componentLabels,
  controllerDeploymentName,
  namespacedMetadata,
  selectorLabels,
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

export function controllerDeployment(cr: MetalLB, env: OperatorEnv, owner: OwnerIdentity): V1Deployment {
  const spec = cr.spec ?? {};
  const config = spec.controllerConfig;
  const annotations = podAnnotations(config);
  const userTolerations = tolerations(spec.controllerTolerations);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: namespacedMetadata(controllerDeploymentName, 'controller', owner),
    spec: {
      replicas: 1,
      selector: { matchLabels: selectorLabels('controller') },
      template: {
        metadata: {
          labels: componentLabels('controller'),
          ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
        },
        spec: {
          serviceAccountName: 'controller',
          nodeSelector: nodeSelector(spec.controllerNodeSelector),
          ...(userTolerations.length > 0 ? { tolerations: userTolerations } : {}),
          ...podSchedulingSettings(config),
          volumes: [metricsCertsVolumeOf('controller')],
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65534,
            runAsGroup: 65534,
            fsGroup: 65534,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'controller',
              image: env.controllerImage,
              args: ['controller', ...operandArgs(cr, env)],
              env: [
                { name: 'METALLB_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'METALLB_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'METALLB_BGP_TYPE', value: 'frr' },
                nodeOptionsEnv,
              ],
              ports: [{ name: metricsPortName, containerPort: env.metricsPort, protocol: 'TCP' }],
              livenessProbe: httpProbe('/healthz', env.livenessPort),
              readinessProbe: httpProbe('/readyz', env.livenessPort),
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [metricsCertsMount],
              ...mainContainerResources(config),
            },
          ],
        },
      },
    },
  };
}
