import { describe, expect, it } from '@jest/globals';
import * as flag from './flags.js';

describe('typed flags', () => {
  it('applies the default it shows in --help when a flag is absent', () => {
    const flags = {
      port: flag.port({ description: 'p', default: 9120 }),
      interval: flag.duration({ description: 'd', default: '5s', minimumMs: 100 }),
      elect: flag.booleanText({ description: 'b', default: true }),
      mode: flag.oneOf({ description: 'm', words: ['local', 'reloader'], default: 'reloader' }),
      level: flag.logLevel(),
      ns: flag.namespace('n'),
    };
    expect(flags.port.defaultText).toBe('9120');
    expect(flags.elect.defaultText).toBe('true');
    expect(flags.level.defaultText).toBe('info');
    expect(flag.readFlags(flags, {})).toEqual({
      ok: true,
      values: {
        port: 9120,
        interval: 5000,
        elect: true,
        mode: 'reloader',
        level: 'info',
        ns: 'metallb-system',
      },
    });
  });

  it('reads ports, durations, booleans and log levels into typed values', () => {
    const flags = {
      port: flag.port({ description: 'p', default: 1 }),
      interval: flag.duration({ description: 'd', default: '5s', minimumMs: 100 }),
      elect: flag.booleanText({ description: 'b', default: true }),
      level: flag.logLevel(),
    };
    expect(flag.readFlags(flags, { port: '0', interval: '1.5s', elect: 'false', level: 'all' })).toEqual({
      ok: true,
      values: { port: 0, interval: 1500, elect: false, level: 'trace' },
    });
  });

  it('refuses unusable values, naming the flag, the value and what would be right, all at once', () => {
    const flags = {
      port: flag.port({ description: 'p', default: 1 }),
      'leader-elect': flag.booleanText({ description: 'b', default: true }),
      'log-level': flag.logLevel(),
      'frr-mode': flag.oneOf({ description: 'm', words: ['local', 'reloader'], default: 'reloader' }),
      'lb-class': flag.nonEmptyText({ description: 'c', whenEmpty: 'leave the flag out' }),
    };
    expect(
      flag.readFlags(flags, {
        port: '70000',
        'leader-elect': 'yes',
        'log-level': 'loud',
        'frr-mode': 'sidecar',
        'lb-class': '',
      }),
    ).toEqual({
      ok: false,
      errors: [
        '--port "70000" is not a port: give a number from 0 to 65535 (0 picks a free port)',
        '--leader-elect "yes" must be true or false',
        '--log-level: invalid log level "loud": use one of all, debug, info, warn, error, none',
        '--frr-mode "sidecar" must be local or reloader',
        '--lb-class is empty; leave the flag out',
      ],
    });
  });

  it("accepts Go's spellings of a boolean, as upstream's flags do", () => {
    const elect = flag.booleanText({ description: 'b', default: false });
    for (const word of ['1', 't', 'TRUE', 'True', 'true'])
      expect(elect.read(word, 'x')).toEqual({ value: true });
    for (const word of ['0', 'f', 'FALSE', 'False', 'false'])
      expect(elect.read(word, 'x')).toEqual({ value: false });
  });

  it('reads durations of at least the minimum', () => {
    expect(flag.parseDuration('500ms', 100)).toBe(500);
    expect(flag.parseDuration('5s', 100)).toBe(5000);
    expect(flag.parseDuration('1.5s', 100)).toBe(1500);
    expect(flag.parseDuration('1m', 100)).toBe(60_000);
    expect(flag.parseDuration('10ms', 100)).toBeUndefined();
    expect(flag.parseDuration('5', 100)).toBeUndefined();
    expect(flag.duration({ description: 'd', default: '5s', minimumMs: 100 }).read('10ms', 'every')).toEqual({
      error: '--every "10ms" is not a duration of at least 100ms: write e.g. 500ms, 5s or 1m',
    });
  });

  it('checks bind addresses, and lets a word turn a server off', () => {
    const metrics = flag.bindAddress({ description: 'm', default: ':8080', off: '0' });
    expect(metrics.read(undefined, 'metrics-bind-address')).toEqual({ value: ':8080' });
    expect(metrics.read('0', 'metrics-bind-address')).toEqual({ value: undefined });
    expect(metrics.read('[::1]:0', 'metrics-bind-address')).toEqual({ value: '[::1]:0' });
    expect(metrics.read('nowhere', 'metrics-bind-address')).toMatchObject({
      error: expect.stringMatching(/^--metrics-bind-address: invalid bind address "nowhere"/),
    });
    expect(flag.joinHostPort('0.0.0.0', 9120)).toBe('0.0.0.0:9120');
    expect(flag.joinHostPort('::1', 0)).toBe('[::1]:0');
  });

  it('treats an empty value as not given, as a pod spec writes an unset variable', () => {
    const flags = { ns: flag.namespace('n'), file: flag.text({ description: 'f' }) };
    expect(flag.readFlags(flags, { ns: '', file: '' })).toEqual({
      ok: true,
      values: { ns: 'metallb-system', file: undefined },
    });
  });
});
