import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { IntervalSet } from './interval-set.js';

describe('interval set of used addresses', () => {
  it('merges neighbours into one interval and splits on removal', () => {
    const set = new IntervalSet();
    for (const value of [1n, 3n, 2n, 5n]) set.add(value);
    expect(set.intervals()).toEqual([
      [1n, 3n],
      [5n, 5n],
    ]);
    set.add(4n);
    expect(set.intervals()).toEqual([[1n, 5n]]);
    set.delete(3n);
    expect(set.intervals()).toEqual([
      [1n, 2n],
      [4n, 5n],
    ]);
    expect(set.size).toBe(4);
  });

  it('reports duplicates and absent values without changing the set', () => {
    const set = new IntervalSet();
    expect(set.add(7n)).toBe(true);
    expect(set.add(7n)).toBe(false);
    expect(set.delete(8n)).toBe(false);
    expect(set.size).toBe(1);
  });

  it('finds the first absent value by jumping over an interval', () => {
    const set = new IntervalSet();
    for (let value = 10n; value < 5010n; value += 1n) set.add(value);
    expect(set.intervalCount).toBe(1);
    expect(set.firstAbsentFrom(10n)).toBe(5010n);
    expect(set.firstAbsentFrom(9n)).toBe(9n);
    expect(set.firstAbsentFrom(6000n)).toBe(6000n);
  });

  it('counts members within bounds', () => {
    const set = new IntervalSet();
    for (const value of [1n, 2n, 3n, 10n, 11n, 20n]) set.add(value);
    expect(set.countIn(2n, 10n)).toBe(3);
    expect(set.countIn(0n, 100n)).toBe(6);
    expect(set.countIn(4n, 9n)).toBe(0);
  });

  it('behaves like a plain set under any sequence of adds and deletes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 })), { maxLength: 200 }),
        (operations) => {
          const set = new IntervalSet();
          const model = new Set<number>();
          for (const [adding, raw] of operations) {
            const value = BigInt(raw);
            if (adding) expect(set.add(value)).toBe(!model.has(raw));
            else expect(set.delete(value)).toBe(model.has(raw));
            if (adding) model.add(raw);
            else model.delete(raw);
          }
          expect(set.size).toBe(model.size);
          for (let probe = 0; probe <= 42; probe += 1) {
            expect(set.has(BigInt(probe))).toBe(model.has(probe));
            let absent = probe;
            while (model.has(absent)) absent += 1;
            expect(set.firstAbsentFrom(BigInt(probe))).toBe(BigInt(absent));
          }
          const intervals = set.intervals();
          for (let index = 1; index < intervals.length; index += 1) {
            // Disjoint and never adjacent: adjacent intervals would make the jump stop early.
            expect((intervals[index - 1] as readonly [bigint, bigint])[1] + 1n).toBeLessThan(
              (intervals[index] as readonly [bigint, bigint])[0],
            );
          }
        },
      ),
    );
  });
});
