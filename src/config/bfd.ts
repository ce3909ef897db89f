/** BFDProfile: the ranges FRR accepts for each timer, checked again here so the rule holds without the CRD. */
import { readBoolean, readInteger } from './read.js';
import type { SourceObject } from './objects.js';
import type { BfdProfile } from './types.js';

interface Limit {
  readonly field: 'receiveInterval' | 'transmitInterval' | 'detectMultiplier' | 'echoInterval' | 'minimumTtl';
  readonly min: number;
  readonly max: number;
  readonly unit: string;
}

const limits: readonly Limit[] = [
  { field: 'receiveInterval', min: 10, max: 60000, unit: ' ms' },
  { field: 'transmitInterval', min: 10, max: 60000, unit: ' ms' },
  { field: 'detectMultiplier', min: 2, max: 255, unit: '' },
  { field: 'echoInterval', min: 10, max: 60000, unit: ' ms' },
  { field: 'minimumTtl', min: 1, max: 254, unit: '' },
];

export function parseBfdProfile(source: SourceObject): BfdProfile | undefined {
  const values: Partial<Record<Limit['field'], number>> = {};
  let valid = true;
  for (const { field, min, max, unit } of limits) {
    const value = readInteger(source.spec, field);
    if (value === undefined) continue;
    if (value < min || value > max) {
      source.report.problem(
        'bfd.range',
        `spec.${field}`,
        `must be between ${min} and ${max}${unit}, got ${value}`,
      );
      valid = false;
      continue;
    }
    values[field] = value;
  }
  if (!valid) return undefined;
  return {
    name: source.name,
    ...values,
    echoMode: readBoolean(source.spec, 'echoMode') ?? false,
    passiveMode: readBoolean(source.spec, 'passiveMode') ?? false,
  };
}
