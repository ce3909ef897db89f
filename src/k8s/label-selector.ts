/**
 * Kubernetes label selectors (metav1.LabelSelector): matchLabels and matchExpressions, ANDed together.
 * Structural types so both the generated MetalLB types and @kubernetes/client-node's V1LabelSelector fit.
 */

export type Labels = Readonly<Record<string, string>>;

export interface LabelSelectorRequirementLike {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[] | undefined;
}

export interface LabelSelectorLike {
  readonly matchLabels?: Labels | undefined;
  readonly matchExpressions?: readonly LabelSelectorRequirementLike[] | undefined;
}

export const LABEL_SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

function hasLabel(labels: Labels, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(labels, key);
}

function requirementMatches(requirement: LabelSelectorRequirementLike, labels: Labels): boolean {
  const present = hasLabel(labels, requirement.key);
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return present && values.includes(labels[requirement.key] as string);
    case 'NotIn':
      // As in Kubernetes: an object without the key is "not in" any set.
      return !present || !values.includes(labels[requirement.key] as string);
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    default:
      // An operator the API server would have refused: matching nothing is the safe reading.
      return false;
  }
}

/** Whether the labels satisfy the selector. An empty selector matches every object. */
export function matchesLabelSelector(selector: LabelSelectorLike, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!hasLabel(labels, key) || labels[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((requirement) => requirementMatches(requirement, labels));
}

/** Whether any selector of the list matches (selector lists in the MetalLB API are ORed). */
export function matchesAnyLabelSelector(selectors: readonly LabelSelectorLike[], labels: Labels): boolean {
  return selectors.some((selector) => matchesLabelSelector(selector, labels));
}

/** kubectl's notation (`app=web,tier in (a,b),!legacy`), for messages; `<everything>` when empty. */
export function formatLabelSelector(selector: LabelSelectorLike): string {
  const parts: string[] = Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`);
  for (const requirement of selector.matchExpressions ?? []) {
    const values = [...(requirement.values ?? [])].sort().join(',');
    switch (requirement.operator) {
      case 'In':
        parts.push(`${requirement.key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${requirement.key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(requirement.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${requirement.key}`);
        break;
      default:
        parts.push(`${requirement.key} ${requirement.operator} (${values})`);
    }
  }
  return parts.length === 0 ? '<everything>' : parts.join(',');
}

/** A label set in a canonical form (`a=1,b=2`, keys sorted), so equal sets compare equal as strings. */
export function formatLabels(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key] as string}`)
    .join(',');
}
