import { describe, expect, it } from '@jest/globals';
import type { BFDProfileSpec } from '../api/types.generated.js';
import { configOf, problemsOf } from '../../test/support/config.js';
import { bfd } from '../../test/support/metallb-objects.js';

describe('BFDProfile', () => {
  it.each<[keyof BFDProfileSpec, number, string]>([
    ['receiveInterval', 9, 'must be between 10 and 60000, got 9'],
    ['transmitInterval', 60001, 'must be between 10 and 60000, got 60001'],
    ['detectMultiplier', 256, 'must be between 2 and 255, got 256'],
    ['echoInterval', 5, 'must be between 10 and 60000, got 5'],
    ['minimumTtl', 0, 'must be between 1 and 254, got 0'],
  ])('rejects %s %d, once', (field, value, message) => {
    expect(problemsOf({ bfdProfiles: [bfd('p', { [field]: value })] })).toEqual([
      `BFDProfile/metallb-system/p: spec.${field}: ${message}`,
    ]);
  });

  it('rejects a second profile with the same name', () => {
    expect(problemsOf({ bfdProfiles: [bfd('p', {}), bfd('p', { echoMode: true })] })).toEqual([
      'BFDProfile/metallb-system/p: metadata.name: another BFDProfile is also named "p"; names are unique per kind, so rename or merge one of them',
    ]);
  });

  it('accepts values at the edges of each range and leaves unset ones to FRR', () => {
    const config = configOf({
      bfdProfiles: [
        bfd('edges', {
          receiveInterval: 10,
          transmitInterval: 60000,
          detectMultiplier: 2,
          echoInterval: 10,
          minimumTtl: 254,
        }),
        bfd('defaults', {}),
      ],
    });
    expect(config.bfdProfiles.get('edges')).toEqual({
      name: 'edges',
      receiveInterval: 10,
      transmitInterval: 60000,
      detectMultiplier: 2,
      echoInterval: 10,
      minimumTtl: 254,
      echoMode: false,
      passiveMode: false,
    });
    expect(config.bfdProfiles.get('defaults')).toEqual({
      name: 'defaults',
      echoMode: false,
      passiveMode: false,
    });
  });
});
