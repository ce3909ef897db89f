import { describe, expect, it } from '@jest/globals';
import { singletonDecision } from './singleton.js';

const base = { namespace: 'metallb-system', operatorNamespace: 'metallb-system', theOneExists: false };

describe('the one MetalLB resource', () => {
  it('is the one named metallb in the operator namespace', () => {
    expect(singletonDecision({ ...base, name: 'metallb', theOneExists: true })).toEqual({ kind: 'manage' });
  });

  it('rejects another name, saying which name is right', () => {
    const decision = singletonDecision({ ...base, name: 'my-lb' });
    expect(decision).toMatchObject({ kind: 'reject', finding: { reason: 'IncorrectMetalLBResourceName' } });
    if (decision.kind === 'reject') {
      expect(decision.finding.message).toMatch(/must be named "metallb", not "my-lb"/);
      expect(decision.finding.message).toMatch(/metallb-system\/metallb/);
    }
  });

  it('rejects a second resource next to metallb, pointing at the one in use', () => {
    const decision = singletonDecision({ ...base, name: 'second', theOneExists: true });
    expect(decision).toMatchObject({ kind: 'reject', finding: { reason: 'DuplicateMetalLBResource' } });
    if (decision.kind === 'reject') {
      expect(decision.finding.message).toMatch(/metallb-system\/metallb is it/);
      expect(decision.finding.message).toMatch(/"second", deploys nothing/);
    }
  });

  it('rejects a resource outside the operator namespace, even when named metallb', () => {
    const decision = singletonDecision({ ...base, name: 'metallb', namespace: 'default' });
    expect(decision).toMatchObject({ kind: 'reject', finding: { reason: 'WrongNamespace' } });
  });
});
