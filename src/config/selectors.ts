/**
 * Kubernetes label selectors (metav1.LabelSelector), the one engine of the project: parsing with the hygiene
 * rules upstream applies to every selector list (valid keys, values and operators; no duplicate values,
 * requirements or selectors), matching against labels, kubectl's notation for messages, and deciding whether
 * two selector lists can ever pick the same object. Matching takes structural types, so parsed selectors,
 * the generated MetalLB types and @kubernetes/client-node's V1LabelSelector all fit.
 */
import { joinPath } from '../api/problem.js';
import { asRecord, quote, readList, readRecord, readString, type Fields } from './read.js';
import type { Reporter } from './report.js';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface Requirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  /** Sorted and distinct; empty for Exists and DoesNotExist. */
  readonly values: readonly string[];
}

/**
 * A parsed label selector: an object matches when it meets every requirement. matchLabels become In
 * requirements, so the shape is also a valid metav1.LabelSelector for any matcher that takes one.
 */
export interface Selector {
  readonly matchExpressions: readonly Requirement[];
}

/** The labels of an object (metadata.labels), or any other string→string map such as spec.selector. */
export type Labels = Readonly<Record<string, string>>;

/** A requirement as any caller has it; an operator outside the four known ones matches nothing. */
export interface LabelSelectorRequirementLike {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[] | undefined;
}

/** A selector as any caller has it: matchLabels and matchExpressions, ANDed together. */
export interface LabelSelectorLike {
  readonly matchLabels?: Labels | undefined;
  readonly matchExpressions?: readonly LabelSelectorRequirementLike[] | undefined;
}

/** The selector that matches everything. */
export const everything: Selector = { matchExpressions: [] };

const operators: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const nameSegment = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid label key, or undefined when it is. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !dnsSubdomain.test(prefix))) {
    return `label key ${quote(key)} has an invalid prefix: it must be a lower-case DNS subdomain such as example.com`;
  }
  if (name.length === 0 || name.length > 63 || !nameSegment.test(name)) {
    return `label key ${quote(key)} is invalid: the name part must be 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is. */
export function labelValueError(value: string): string | undefined {
  if (value === '' || (value.length <= 63 && nameSegment.test(value))) return undefined;
  return `label value ${quote(value)} is invalid: it must be empty or 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
}

/** A path step for a map key: .key when it reads as an identifier, ["key"] otherwise. */
export function keyPath(base: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? joinPath(base, key) : `${base}[${JSON.stringify(key)}]`;
}

function requirementKey(requirement: Requirement): string {
  return JSON.stringify([requirement.key, requirement.operator, requirement.values]);
}

/** A canonical text for a selector, equal for selectors that say the same thing. */
export function selectorKey(selector: Selector): string {
  return JSON.stringify(selector.matchExpressions.map(requirementKey).sort());
}

export function selectorListKey(selectors: readonly Selector[]): string {
  return JSON.stringify(selectors.map(selectorKey).sort());
}

/**
 * Parses one LabelSelector at `field`. Returns undefined when it is not usable (its problems reported), so a
 * broken selector never silently turns into one that matches everything.
 */
export function parseSelector(value: unknown, field: string, report: Reporter): Selector | undefined {
  const record = asRecord(value);
  if (!record) return undefined; // not an object: the schema check reports it
  let usable = true;
  const requirements: Requirement[] = [];
  const matchLabels = readRecord(record, 'matchLabels');
  for (const [key, labelValue] of Object.entries(matchLabels ?? {})) {
    const path = keyPath(joinPath(field, 'matchLabels'), key);
    if (typeof labelValue !== 'string') {
      usable = false;
      continue;
    }
    const error = labelKeyError(key) ?? labelValueError(labelValue);
    if (error) {
      report.problem('selector.invalidLabel', path, error);
      usable = false;
      continue;
    }
    requirements.push({ key, operator: 'In', values: [labelValue] });
  }
  const seenExpressions = new Map<string, number>();
  readList(record, 'matchExpressions').forEach((item, index) => {
    const path = `${joinPath(field, 'matchExpressions')}[${index}]`;
    const requirement = parseRequirement(asRecord(item), path, report);
    if (!requirement) {
      usable = false;
      return;
    }
    const key = requirementKey(requirement);
    const first = seenExpressions.get(key);
    if (first !== undefined) {
      report.problem(
        'selector.duplicate',
        path,
        `repeats matchExpressions[${first}]; list each requirement once`,
      );
      usable = false;
      return;
    }
    seenExpressions.set(key, index);
    requirements.push(requirement);
  });
  return usable ? { matchExpressions: requirements } : undefined;
}

function parseRequirement(
  record: Fields | undefined,
  path: string,
  report: Reporter,
): Requirement | undefined {
  if (!record) return undefined;
  const key = readString(record, 'key');
  const operator = readString(record, 'operator');
  if (key === undefined || operator === undefined) {
    // Missing or mistyped: the schema check reports it; say so here only when the schema cannot.
    if (key === undefined && !Object.hasOwn(record, 'key'))
      report.problem('field.required', joinPath(path, 'key'), 'required: the label key to test');
    if (operator === undefined && !Object.hasOwn(record, 'operator'))
      report.problem(
        'field.required',
        joinPath(path, 'operator'),
        'required: one of In, NotIn, Exists or DoesNotExist',
      );
    return undefined;
  }
  const keyError = labelKeyError(key);
  if (keyError) {
    report.problem('selector.invalidLabel', joinPath(path, 'key'), keyError);
    return undefined;
  }
  if (!(operators as readonly string[]).includes(operator)) {
    report.problem(
      'selector.invalidOperator',
      joinPath(path, 'operator'),
      `${quote(operator)} is not an operator; use one of In, NotIn, Exists or DoesNotExist (case matters)`,
    );
    return undefined;
  }
  const rawValues = readList(record, 'values');
  const valuesPath = joinPath(path, 'values');
  const needsValues = operator === 'In' || operator === 'NotIn';
  if (needsValues && rawValues.length === 0) {
    report.problem('selector.valuesRequired', valuesPath, `operator ${operator} needs at least one value`);
    return undefined;
  }
  if (!needsValues && rawValues.length > 0) {
    report.problem(
      'selector.valuesNotAllowed',
      valuesPath,
      `operator ${operator} takes no values; remove them, or use In or NotIn`,
    );
    return undefined;
  }
  let usable = true;
  const seen = new Map<string, number>();
  rawValues.forEach((value, index) => {
    if (typeof value !== 'string') {
      usable = false;
      return;
    }
    const error = labelValueError(value);
    if (error) {
      report.problem('selector.invalidLabel', `${valuesPath}[${index}]`, error);
      usable = false;
      return;
    }
    const first = seen.get(value);
    if (first !== undefined) {
      report.problem(
        'list.duplicate',
        `${valuesPath}[${index}]`,
        `${quote(value)} is already listed at values[${first}]; list each value once`,
      );
      usable = false;
      return;
    }
    seen.set(value, index);
  });
  if (!usable) return undefined;
  return { key, operator: operator as SelectorOperator, values: [...seen.keys()].sort() };
}

/**
 * Parses the selector list at `field` (e.g. spec.nodeSelectors) and rejects a selector that repeats an
 * earlier one. Unusable selectors are dropped from the result; `complete` says whether any were.
 */
export function parseSelectorList(
  list: readonly unknown[],
  field: string,
  report: Reporter,
): { selectors: Selector[]; complete: boolean } {
  const selectors: Selector[] = [];
  const seen = new Map<string, number>();
  let complete = true;
  list.forEach((item, index) => {
    const path = `${field}[${index}]`;
    const selector = parseSelector(item, path, report);
    if (!selector) {
      complete = false;
      return;
    }
    const key = selectorKey(selector);
    const first = seen.get(key);
    if (first !== undefined) {
      const listName = field.slice(field.lastIndexOf('.') + 1);
      report.problem(
        'selector.duplicate',
        path,
        `selects the same as ${listName}[${first}]; list each selector once`,
      );
      complete = false;
      return;
    }
    seen.set(key, index);
    selectors.push(selector);
  });
  return { selectors, complete };
}

function requirementHolds(requirement: LabelSelectorRequirementLike, labels: Labels): boolean {
  const present = Object.hasOwn(labels, requirement.key);
  const value = present ? labels[requirement.key] : undefined;
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      // As in Kubernetes: an object without the key is "not in" any set.
      return value === undefined || !values.includes(value);
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
export function selectorMatches(selector: LabelSelectorLike, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!Object.hasOwn(labels, key) || labels[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((requirement) => requirementHolds(requirement, labels));
}

/** For fields where an empty list means "everything" (nodeSelectors, serviceSelectors, ...). */
export function selectsAll(selectors: readonly LabelSelectorLike[], labels: Labels): boolean {
  return selectors.length === 0 || selectsAny(selectors, labels);
}

/**
 * For fields where an empty list means "nothing" (ipAddressPoolSelectors when names are also given,
 * serviceAllocation selectors once the allocation is restricted): any selector of the list matches.
 */
export function selectsAny(selectors: readonly LabelSelectorLike[], labels: Labels): boolean {
  return selectors.some((selector) => selectorMatches(selector, labels));
}

/** kubectl's notation (`app=web,tier in (a,b),!legacy`), for messages; `<everything>` when empty. */
export function formatSelector(selector: LabelSelectorLike): string {
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

/** Whether one set of labels can satisfy both selectors: false only when they provably contradict. */
export function selectorsCompatible(a: Selector, b: Selector): boolean {
  interface KeyConstraint {
    mustExist: boolean;
    mustNotExist: boolean;
    allowed?: Set<string>;
    excluded: Set<string>;
  }
  const byKey = new Map<string, KeyConstraint>();
  for (const requirement of [...a.matchExpressions, ...b.matchExpressions]) {
    let constraint = byKey.get(requirement.key);
    if (!constraint) {
      constraint = { mustExist: false, mustNotExist: false, excluded: new Set() };
      byKey.set(requirement.key, constraint);
    }
    switch (requirement.operator) {
      case 'In': {
        constraint.mustExist = true;
        const previous = constraint.allowed;
        constraint.allowed = new Set(requirement.values.filter((v) => !previous || previous.has(v)));
        break;
      }
      case 'NotIn':
        for (const value of requirement.values) constraint.excluded.add(value);
        break;
      case 'Exists':
        constraint.mustExist = true;
        break;
      case 'DoesNotExist':
        constraint.mustNotExist = true;
        break;
    }
  }
  for (const constraint of byKey.values()) {
    if (constraint.mustExist && constraint.mustNotExist) return false;
    const allowed = constraint.allowed;
    if (allowed && ![...allowed].some((value) => !constraint.excluded.has(value))) return false;
  }
  return true;
}

/**
 * Whether two selector lists (empty meaning everything) can select a common object. Used when the objects
 * themselves are not known, e.g. validating files offline without Node objects.
 */
export function selectorListsCanOverlap(a: readonly Selector[], b: readonly Selector[]): boolean {
  const left = a.length > 0 ? a : [everything];
  const right = b.length > 0 ? b : [everything];
  return left.some((x) => right.some((y) => selectorsCompatible(x, y)));
}
