import { describe, expect, it } from '@jest/globals';
import { formatDuration, parseDuration } from './timers.js';

describe('Go durations', () => {
  it.each([
    ['0', 0],
    ['90s', 90e9],
    ['1m30s', 90e9],
    ['1.5h', 5400e9],
    ['500ms', 500e6],
    ['.5s', 500e6],
    ['-3s', -3e9],
    ['1h2m3s4ms5us6ns', 3723004005006],
    ['2µs', 2000],
  ])('parses %s', (text, nanos) => {
    expect(parseDuration(text)).toBe(nanos);
  });

  it.each(['', '5', 's', '.s', '1d', '1s ', '--1s', '9999999999h'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('prints durations for messages', () => {
    expect(formatDuration(1.5e9)).toBe('1.5s');
    expect(formatDuration(90e9)).toBe('1m30s');
    expect(formatDuration(250e6)).toBe('250ms');
    expect(formatDuration(0)).toBe('0s');
  });
});
