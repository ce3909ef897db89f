/** Running buildConfig in tests: the problems, warnings or Config of an input in metallb-system. */
import { expect } from '@jest/globals';
import { describeObject, formatProblem, type Problem } from '../../src/api/problem.js';
import { buildConfig, type Config, type ConfigInput } from '../../src/config/index.js';
import { ns } from './metallb-objects.js';

export type Input = Omit<ConfigInput, 'metallbNamespace'>;

/** Problems as the CLI prints them: Kind/namespace/name: field: message. For the wording tests. */
export function problemsOf(input: Input): string[] {
  const result = buildConfig({ metallbNamespace: ns, ...input });
  return result.ok ? [] : result.problems.map(formatProblem);
}

export function warningsOf(input: Input): string[] {
  return buildConfig({ metallbNamespace: ns, ...input }).warnings.map(formatProblem);
}

/** A problem as the rule tests pin it: code, object and field path (the wording is pinned separately). */
export function findingOf(problem: Problem): string {
  return `${problem.code} ${describeObject(problem.object)} ${problem.field}`.trimEnd();
}

/** The problems of an input as findings: code, object, field path. */
export function findingsOf(input: Input): string[] {
  const result = buildConfig({ metallbNamespace: ns, ...input });
  return result.ok ? [] : result.problems.map(findingOf);
}

export function warningFindingsOf(input: Input): string[] {
  return buildConfig({ metallbNamespace: ns, ...input }).warnings.map(findingOf);
}

export function transientOf(input: Input): boolean[] {
  const result = buildConfig({ metallbNamespace: ns, ...input });
  return result.ok ? [] : result.problems.map((problem) => problem.transient === true);
}

/** The config of an input that must be valid; fails the test with the problems otherwise. */
export function configOf(input: Input): Config {
  const result = buildConfig({ metallbNamespace: ns, ...input });
  if (!result.ok) expect(result.problems.map(formatProblem)).toEqual([]);
  if (!result.ok) throw new Error('unreachable');
  return result.config;
}
