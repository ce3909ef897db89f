import { describe, expect, it } from '@jest/globals';
import {
  formatLabelSelector,
  formatLabels,
  matchesAnyLabelSelector,
  matchesLabelSelector,
} from './label-selector.js';

const web = { app: 'web', tier: 'frontend' };

describe('label selectors', () => {
  it('matches every object with an empty selector', () => {
    expect(matchesLabelSelector({}, {})).toBe(true);
    expect(matchesLabelSelector({ matchLabels: {}, matchExpressions: [] }, web)).toBe(true);
  });

  it('requires every matchLabels pair', () => {
    expect(matchesLabelSelector({ matchLabels: { app: 'web' } }, web)).toBe(true);
    expect(matchesLabelSelector({ matchLabels: { app: 'web', tier: 'backend' } }, web)).toBe(false);
    expect(matchesLabelSelector({ matchLabels: { team: '' } }, web)).toBe(false);
  });

  it('treats In as membership and NotIn as true for a missing key', () => {
    const inSet = { matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend', 'edge'] }] };
    expect(matchesLabelSelector(inSet, web)).toBe(true);
    expect(matchesLabelSelector(inSet, { tier: 'backend' })).toBe(false);
    expect(matchesLabelSelector(inSet, {})).toBe(false);
    const notIn = { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['backend'] }] };
    expect(matchesLabelSelector(notIn, web)).toBe(true);
    expect(matchesLabelSelector(notIn, { tier: 'backend' })).toBe(false);
    expect(matchesLabelSelector(notIn, {})).toBe(true);
  });

  it('checks presence with Exists and DoesNotExist', () => {
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, web)).toBe(true);
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, web)).toBe(
      false,
    );
    expect(
      matchesLabelSelector({ matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' }] }, web),
    ).toBe(true);
  });

  it('ANDs matchLabels with matchExpressions', () => {
    const selector = {
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend'] }],
    };
    expect(matchesLabelSelector(selector, web)).toBe(false);
    expect(matchesLabelSelector(selector, { app: 'web', tier: 'backend' })).toBe(true);
  });

  it('matches nothing for an unknown operator', () => {
    expect(
      matchesLabelSelector({ matchExpressions: [{ key: 'app', operator: 'Like', values: ['w'] }] }, web),
    ).toBe(false);
  });

  it('does not mistake inherited object properties for labels', () => {
    expect(matchesLabelSelector({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, {})).toBe(
      false,
    );
  });

  it('ORs a list of selectors and matches nothing with an empty list', () => {
    expect(
      matchesAnyLabelSelector([{ matchLabels: { app: 'db' } }, { matchLabels: { app: 'web' } }], web),
    ).toBe(true);
    expect(matchesAnyLabelSelector([], web)).toBe(false);
  });

  it('formats selectors and label sets the way kubectl prints them', () => {
    expect(
      formatLabelSelector({
        matchLabels: { b: '2', a: '1' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['y', 'x'] },
          { key: 'env', operator: 'NotIn', values: ['dev'] },
          { key: 'team', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('a=1,b=2,tier in (x,y),env notin (dev),team,!legacy');
    expect(formatLabelSelector({})).toBe('<everything>');
    expect(formatLabels({ z: '1', a: '2' })).toBe('a=2,z=1');
  });
});
