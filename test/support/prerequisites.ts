/**
 * Tests that need something of the machine (root, FRR) declare it, and `make test` FAILS them with the
 * reason when it is missing: a test that passes without checking anything would hide a broken machine.
 * Contributors without root opt out explicitly with METALLB_TEST_SKIP_PRIVILEGED=1; the tests are then
 * skipped under a title that says why, and test/support/opt-out-reporter.mjs lists them in the summary.
 *
 *   const privileged = requiring('root', 'frr');
 *   privileged.beforeAll(startLab);          // registered only when the tests can run
 *   privileged.describe('the BGP lab', () => { ... });
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from '@jest/globals';
import { machineProbes, type Prerequisite, type Probes } from './machine-probes.js';

export { machineProbes, type Prerequisite, type Probes };

/** The variable that turns failing privileged tests into listed skips. */
export const optOutVariable = 'METALLB_TEST_SKIP_PRIVILEGED';

/** Marks the title of every test skipped by the opt-out; the reporter finds them by it. */
export const optOutMarker = `[skipped: ${optOutVariable}=1]`;

export type Verdict =
  | { readonly action: 'run' }
  | { readonly action: 'skip'; readonly reason: string }
  | { readonly action: 'fail'; readonly reason: string };

/** Whether tests needing `needs` run, fail with the reason, or are skipped because the contributor opted out. */
export function verdict(
  needs: readonly Prerequisite[],
  env: NodeJS.ProcessEnv = process.env,
  probes: Probes = machineProbes,
): Verdict {
  const reasons = [...new Set(needs)].map((need) => probes[need]()).filter((r): r is string => !!r);
  if (reasons.length === 0) return { action: 'run' };
  const reason = reasons.join('; ');
  if (env[optOutVariable] === '1') return { action: 'skip', reason };
  return {
    action: 'fail',
    reason: `${reason} (or set ${optOutVariable}=1 to skip the tests that need it, listed in the summary)`,
  };
}

type TestFn = () => unknown;
type HookFn = () => unknown;

export interface Privileged {
  readonly verdict: Verdict;
  describe(name: string, body: () => void): void;
  it(name: string, fn: TestFn, timeoutMs?: number): void;
  beforeAll(fn: HookFn, timeoutMs?: number): void;
  afterAll(fn: HookFn, timeoutMs?: number): void;
  beforeEach(fn: HookFn, timeoutMs?: number): void;
  afterEach(fn: HookFn, timeoutMs?: number): void;
}

/** Jest's describe/it/hooks for tests that need `needs`: run, fail with the reason, or skip when opted out. */
export function requiring(...needs: Prerequisite[]): Privileged {
  const decided = verdict(needs);
  const failing = (reason: string) => () => {
    throw new Error(reason);
  };
  const hook =
    (register: typeof beforeAll) =>
    (fn: HookFn, timeoutMs?: number): void => {
      // Setup that needs the machine would only fail with a less clear message than the tests' own.
      if (decided.action === 'run') register(async () => void (await fn()), timeoutMs);
    };
  return {
    verdict: decided,
    describe(name, body) {
      if (decided.action === 'run') describe(name, body);
      else if (decided.action === 'skip') describe.skip(`${name} ${optOutMarker} ${decided.reason}`, body);
      // Its own tests would fail on the missing setup: one test that says what is missing instead.
      else describe(name, () => it(`can run here`, failing(decided.reason)));
    },
    it(name, fn, timeoutMs) {
      if (decided.action === 'run') it(name, async () => void (await fn()), timeoutMs);
      else if (decided.action === 'skip') it.skip(`${name} ${optOutMarker} ${decided.reason}`, () => {});
      else it(name, failing(decided.reason));
    },
    beforeAll: hook(beforeAll),
    afterAll: hook(afterAll),
    beforeEach: hook(beforeEach),
    afterEach: hook(afterEach),
  };
}
