/** Builders shared by the render tests. */
import type {
  KubernetesObject,
  V1Container,
  V1DaemonSet,
  V1Deployment,
  V1PodSpec,
} from '@kubernetes/client-node';
import type { MetalLB, MetalLBSpec } from '../../src/api/types.generated.js';
import { defaultOperatorEnv, type OperatorEnv } from '../../src/operator/env.js';
import { renderMetalLB } from '../../src/operator/render/index.js';

export const testUid = 'a5e1c0de-0000-4000-8000-000000000001';

/** A MetalLB CR as the API server would hand it to the operator; `{ uid: undefined }` mimics one read from a file. */
export function metalLB(
  spec: MetalLBSpec = {},
  identity: { uid?: string | undefined } = { uid: testUid },
): MetalLB {
  return {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'MetalLB',
    metadata: {
      name: 'metallb',
      namespace: 'metallb-system',
      ...(identity.uid ? { uid: identity.uid } : {}),
    },
    spec,
  };
}

export function renderObjects(cr: MetalLB, env: OperatorEnv = defaultOperatorEnv): KubernetesObject[] {
  const result = renderMetalLB(cr, env);
  if (!result.ok) throw new Error(`expected objects, got problems: ${JSON.stringify(result.problems)}`);
  return result.objects;
}

export function findObject<T extends KubernetesObject>(
  objects: KubernetesObject[],
  kind: string,
  name: string,
): T {
  const found = objects.find((object) => object.kind === kind && object.metadata?.name === name);
  if (!found)
    throw new Error(
      `no ${kind}/${name} among ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`,
    );
  return found as T;
}

export function controllerPod(cr: MetalLB, env?: OperatorEnv): V1PodSpec {
  const deployment = findObject<V1Deployment>(renderObjects(cr, env), 'Deployment', 'controller');
  const pod = deployment.spec?.template.spec;
  if (!pod) throw new Error('controller Deployment has no pod spec');
  return pod;
}

export function speakerPod(cr: MetalLB, env?: OperatorEnv): V1PodSpec {
  const daemonSet = findObject<V1DaemonSet>(renderObjects(cr, env), 'DaemonSet', 'speaker');
  const pod = daemonSet.spec?.template.spec;
  if (!pod) throw new Error('speaker DaemonSet has no pod spec');
  return pod;
}

export function container(pod: V1PodSpec, name: string): V1Container {
  const found = [...pod.containers, ...(pod.initContainers ?? [])].find(
    (candidate) => candidate.name === name,
  );
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

export function envValue(container: V1Container, name: string): string | undefined {
  const variable = container.env?.find((candidate) => candidate.name === name);
  return variable?.value ?? variable?.valueFrom?.fieldRef?.fieldPath;
}
