/** Whether a node may attract load-balancer traffic at all, whatever the advertisements say. */
import type { V1Node } from '@kubernetes/client-node';
import type { NodeExclusion, PlanNode } from './types.js';

/** Kubernetes' well-known label for nodes that must not receive traffic from external load balancers. */
export const EXCLUDE_FROM_LOAD_BALANCERS_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export function planNodeFromObject(node: V1Node): PlanNode {
  const given = node.status?.conditions;
  const conditions = Array.isArray(given) ? given : [];
  return {
    name: node.metadata?.name ?? '',
    labels: { ...(node.metadata?.labels ?? {}) },
    networkUnavailable: conditions.some(
      (condition) => condition.type === 'NetworkUnavailable' && condition.status === 'True',
    ),
  };
}

export interface ExclusionOptions {
  /** Upstream's --ignore-exclude-lb: single-node and control-plane-only clusters carry the label by default. */
  readonly ignoreExcludeLabel?: boolean;
}

export function nodeExclusion(node: PlanNode, options: ExclusionOptions = {}): NodeExclusion | undefined {
  if (node.networkUnavailable) {
    return {
      code: 'nodeNetworkUnavailable',
      reason: `node ${node.name} has the condition NetworkUnavailable=True, so it announces nothing until its network is ready`,
    };
  }
  if (!options.ignoreExcludeLabel && Object.hasOwn(node.labels, EXCLUDE_FROM_LOAD_BALANCERS_LABEL)) {
    return {
      code: 'nodeLabeledExcludeBalancers',
      reason: `node ${node.name} has the label ${EXCLUDE_FROM_LOAD_BALANCERS_LABEL}, so it announces nothing; remove the label (or run the speaker with the exclude label ignored) to announce from it`,
    };
  }
  return undefined;
}
