import { describe, expect, it } from '@jest/globals';
import { checkObjectSchema } from './check-object.js';
import { problemCodes } from './problem-codes.js';

describe('problem codes', () => {
  it('are short dotted identifiers, each with its meaning', () => {
    for (const [code, meaning] of Object.entries(problemCodes)) {
      expect(code).toMatch(/^[a-z]+\.[a-z][A-Za-z0-9]*$/);
      expect(meaning.length).toBeGreaterThan(5);
    }
  });

  it('name the schema rule that fired, with the field path', () => {
    const peer = {
      apiVersion: 'metallb.io/v1beta2',
      kind: 'BGPPeer',
      metadata: { name: 'r1', namespace: 'metallb-system' },
      spec: { myASN: 64512, peerASN: '64513', peerAddress: '192.0.2.1', dynamicASN: 'sometimes', typo: 1 },
    };
    expect(checkObjectSchema(peer).map(({ code, field }) => `${code} ${field}`)).toEqual(
      expect.arrayContaining([
        'schema.type spec.peerASN',
        'schema.enum spec.dynamicASN',
        'schema.unknownField spec.typo',
      ]),
    );
  });

  it('tell an unserved version from an unknown kind', () => {
    const codes = (apiVersion: string, kind: string) =>
      checkObjectSchema({ apiVersion, kind, metadata: { name: 'x' } }).map(
        ({ code, field }) => `${code} ${field}`,
      );
    expect(codes('metallb.io/v9', 'IPAddressPool')).toEqual(['schema.unservedVersion apiVersion']);
    expect(codes('metallb.io/v1beta1', 'Gateway')).toEqual(['schema.unknownKind kind']);
  });
});
