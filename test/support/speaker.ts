/** The speaker's own view of a node, for the plan tests. */
import type { PlanNode } from '../../src/speaker/plan/types.js';

export function planNode(
  name: string,
  labels: Record<string, string> = {},
  networkUnavailable = false,
): PlanNode {
  return { name, labels, networkUnavailable };
}
