import { describe, expect, it } from '@jest/globals';
import type { Problem } from '../api/problem.js';
import { ProblemLog } from './report.js';
import { parseSelector, selectorListsCanOverlap, selectorMatches, type Selector } from './selectors.js';

function parse(value: unknown): { selector: Selector | undefined; problems: string[] } {
  const log = new ProblemLog();
  const selector = parseSelector(
    value,
    'spec.nodeSelectors[0]',
    log.reporter({ kind: 'BGPPeer', name: 'r1' }),
  );
  return { selector, problems: log.problems.map((p: Problem) => `${p.field}: ${p.message}`) };
}

function selector(value: unknown): Selector {
  const { selector: parsed, problems } = parse(value);
  expect(problems).toEqual([]);
  return parsed as Selector;
}

describe('label selectors', () => {
  it('matches matchLabels and every operator as Kubernetes does', () => {
    const s = selector({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['a', 'b'] },
        { key: 'legacy', operator: 'DoesNotExist' },
        { key: 'zone', operator: 'NotIn', values: ['z'] },
        { key: 'rack', operator: 'Exists' },
      ],
    });
    expect(selectorMatches(s, { app: 'web', tier: 'b', rack: '1' })).toBe(true);
    expect(selectorMatches(s, { app: 'web', tier: 'b', rack: '1', zone: 'z' })).toBe(false);
    expect(selectorMatches(s, { app: 'web', tier: 'c', rack: '1' })).toBe(false);
    expect(selectorMatches(s, { app: 'web', tier: 'a' })).toBe(false);
    expect(selectorMatches(selector({}), {})).toBe(true);
  });

  it('does not mistake inherited properties for labels', () => {
    expect(
      selectorMatches(selector({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }), {}),
    ).toBe(false);
  });

  it('rejects an unknown operator', () => {
    expect(parse({ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] }).problems).toEqual([
      'spec.nodeSelectors[0].matchExpressions[0].operator: "Equals" is not an operator; use one of In, NotIn, Exists or DoesNotExist (case matters)',
    ]);
  });

  it('rejects In without values and Exists with values', () => {
    expect(parse({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }).problems).toEqual([
      'spec.nodeSelectors[0].matchExpressions[0].values: operator In needs at least one value',
    ]);
    expect(parse({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }).problems).toEqual([
      'spec.nodeSelectors[0].matchExpressions[0].values: operator Exists takes no values; remove them, or use In or NotIn',
    ]);
  });

  it('rejects a value listed twice in one requirement', () => {
    expect(
      parse({ matchExpressions: [{ key: 'a', operator: 'In', values: ['x', 'y', 'x'] }] }).problems,
    ).toEqual([
      'spec.nodeSelectors[0].matchExpressions[0].values[2]: "x" is already listed at values[0]; list each value once',
    ]);
  });

  it('rejects a requirement repeated with its values in another order', () => {
    const value = {
      matchExpressions: [
        { key: 'a', operator: 'In', values: ['x', 'y'] },
        { key: 'a', operator: 'In', values: ['y', 'x'] },
      ],
    };
    expect(parse(value).problems).toEqual([
      'spec.nodeSelectors[0].matchExpressions[1]: repeats matchExpressions[0]; list each requirement once',
    ]);
  });

  it('rejects invalid label keys and values', () => {
    expect(parse({ matchLabels: { 'bad key': 'x' } }).problems).toEqual([
      `spec.nodeSelectors[0].matchLabels["bad key"]: label key "bad key" is invalid: the name part must be 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
    ]);
    expect(parse({ matchLabels: { 'Example.com/x': 'x' } }).problems).toEqual([
      'spec.nodeSelectors[0].matchLabels["Example.com/x"]: label key "Example.com/x" has an invalid prefix: it must be a lower-case DNS subdomain such as example.com',
    ]);
    expect(parse({ matchExpressions: [{ key: 'a', operator: 'In', values: ['-x'] }] }).problems).toEqual([
      `spec.nodeSelectors[0].matchExpressions[0].values[0]: label value "-x" is invalid: it must be empty or 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
    ]);
  });

  it('accepts prefixed keys and empty values', () => {
    expect(parse({ matchLabels: { 'node-role.kubernetes.io/worker': '' } }).problems).toEqual([]);
  });

  it('tells selectors that can meet from selectors that cannot', () => {
    const zone = (value: string) => selector({ matchLabels: { zone: value } });
    expect(selectorListsCanOverlap([zone('a')], [zone('b')])).toBe(false);
    expect(selectorListsCanOverlap([zone('a')], [zone('a')])).toBe(true);
    expect(selectorListsCanOverlap([zone('a')], [selector({ matchLabels: { rack: '1' } })])).toBe(true);
    expect(selectorListsCanOverlap([zone('a')], [])).toBe(true);
    expect(
      selectorListsCanOverlap(
        [zone('a')],
        [selector({ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] })],
      ),
    ).toBe(false);
    expect(
      selectorListsCanOverlap(
        [zone('a')],
        [selector({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] })],
      ),
    ).toBe(false);
    expect(selectorListsCanOverlap([zone('a'), zone('b')], [zone('b')])).toBe(true);
  });
});
