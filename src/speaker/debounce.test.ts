import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../test/support/fake-clock.js';
import { Debouncer } from './debounce.js';

function setup() {
  const clock = new FakeClock();
  const fired: number[] = [];
  const start = clock.now();
  const debouncer = new Debouncer({
    quietMs: 200,
    maxWaitMs: 1000,
    clock,
    fire: () => fired.push(clock.now() - start),
  });
  return { clock, fired, debouncer };
}

describe('Debouncer', () => {
  it('fires once, 200 ms after the last of a burst of changes', () => {
    const { clock, fired, debouncer } = setup();
    debouncer.poke();
    clock.advance(100);
    debouncer.poke();
    clock.advance(100);
    debouncer.poke();
    clock.advance(199);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual([400]);
    expect(debouncer.pending()).toBe(false);
  });

  it('fires within a second even while changes keep coming', () => {
    const { clock, fired, debouncer } = setup();
    for (let i = 0; i < 30; i++) {
      debouncer.poke();
      clock.advance(100);
    }
    expect(fired).toEqual([1000, 2000, 3000]);
  });

  it('fires nothing after stop', () => {
    const { clock, fired, debouncer } = setup();
    debouncer.poke();
    debouncer.stop();
    debouncer.poke();
    clock.advance(5000);
    expect(fired).toEqual([]);
  });
});
