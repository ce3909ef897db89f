import { describe, expect, it } from '@jest/globals';
import { formatLabels, formatSelector, selectorMatches, selectsAll, selectsAny } from './selectors.js';

const web = { app: 'web', tier: 'frontend' };

describe('label selector matching', () => {
  it('matches every object with an empty selector', () => {
    expect(selectorMatches({}, {})).toBe(true);
    expect(selectorMatches({ matchLabels: {}, matchExpressions: [] }, web)).toBe(true);
  });

  it('requires every matchLabels pair', () => {
    expect(selectorMatches({ matchLabels: { app: 'web' } }, web)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'web', tier: 'backend' } }, web)).toBe(false);
    expect(selectorMatches({ matchLabels: { team: '' } }, web)).toBe(false);
  });

  it('treats In as membership and NotIn as true for a missing key', () => {
    const inSet = { matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend', 'edge'] }] };
    expect(selectorMatches(inSet, web)).toBe(true);
    expect(selectorMatches(inSet, { tier: 'backend' })).toBe(false);
    expect(selectorMatches(inSet, {})).toBe(false);
    const notIn = { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['backend'] }] };
    expect(selectorMatches(notIn, web)).toBe(true);
    expect(selectorMatches(notIn, { tier: 'backend' })).toBe(false);
    expect(selectorMatches(notIn, {})).toBe(true);
  });

  it('checks presence with Exists and DoesNotExist', () => {
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, web)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, web)).toBe(
      false,
    );
    expect(selectorMatches({ matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' }] }, web)).toBe(
      true,
    );
  });

  it('ANDs matchLabels with matchExpressions', () => {
    const selector = {
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend'] }],
    };
    expect(selectorMatches(selector, web)).toBe(false);
    expect(selectorMatches(selector, { app: 'web', tier: 'backend' })).toBe(true);
  });

  it('matches nothing for an unknown operator', () => {
    expect(
      selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Like', values: ['w'] }] }, web),
    ).toBe(false);
  });

  it('does not mistake inherited object properties for labels', () => {
    expect(selectorMatches({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, {})).toBe(false);
  });

  it('ORs a list of selectors and matches nothing with an empty list', () => {
    expect(selectsAny([{ matchLabels: { app: 'db' } }, { matchLabels: { app: 'web' } }], web)).toBe(true);
    expect(selectsAny([], web)).toBe(false);
  });

  it('reads an empty list as everything where the field says so', () => {
    expect(selectsAll([], web)).toBe(true);
    expect(selectsAll([{ matchLabels: { app: 'db' } }], web)).toBe(false);
  });

  it('formats selectors and label sets the way kubectl prints them', () => {
    expect(
      formatSelector({
        matchLabels: { b: '2', a: '1' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['y', 'x'] },
          { key: 'env', operator: 'NotIn', values: ['dev'] },
          { key: 'team', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('a=1,b=2,tier in (x,y),env notin (dev),team,!legacy');
    expect(formatSelector({})).toBe('<everything>');
    expect(formatLabels({ z: '1', a: '2' })).toBe('a=2,z=1');
  });
});
