import { describe, expect, it } from '@jest/globals';
import { Backoff, reflectorBackoff } from './backoff.js';

describe('Backoff', () => {
  it("doubles from 800 ms to a 30 s cap without jitter, like client-go's reflector", () => {
    const backoff = new Backoff(reflectorBackoff, () => 0);
    expect(Array.from({ length: 8 }, () => backoff.next())).toEqual([
      800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000,
    ]);
  });

  it('spreads delays upwards with jitter but never past the cap', () => {
    const backoff = new Backoff(reflectorBackoff, () => 0.5);
    expect(backoff.next()).toBe(1200);
    for (let i = 0; i < 10; i++) expect(backoff.next()).toBeLessThanOrEqual(30_000);
  });

  it('starts over after a reset', () => {
    const backoff = new Backoff(reflectorBackoff, () => 0);
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.next()).toBe(800);
  });
});
