import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ChurnSafeMap } from './churn-safe-map.js';

describe('map for keys deleted and re-inserted over and over', () => {
  it('behaves like a Map under any sequence of sets and deletes, sweeps included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 300 })), { maxLength: 2000 }),
        (operations) => {
          const map = new ChurnSafeMap<number, string>();
          const model = new Map<number, string>();
          operations.forEach(([setting, key], step) => {
            if (setting) {
              map.set(key, `v${step}`);
              model.set(key, `v${step}`);
            } else {
              expect(map.delete(key)).toBe(model.delete(key));
            }
          });
          expect(map.size).toBe(model.size);
          expect(new Map(map)).toEqual(model);
          expect([...map.keys()].sort()).toEqual([...model.keys()].sort());
          for (let key = 0; key <= 300; key += 1) {
            expect(map.has(key)).toBe(model.has(key));
            expect(map.get(key)).toBe(model.get(key));
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('forgets everything on clear', () => {
    const map = new ChurnSafeMap<string, number>();
    map.set('a', 1).set('b', 2);
    map.delete('a');
    map.clear();
    expect(map.size).toBe(0);
    expect(map.get('b')).toBeUndefined();
  });
});
