import { describe, expect, it } from '@jest/globals';
import OptOutReporter from './opt-out-reporter.mjs';
import { optOutMarker, verdict, type Probes } from './prerequisites.js';

const present: Probes = { root: () => undefined, frr: () => undefined };
const noRoot: Probes = { ...present, root: () => 'needs root' };
const nothing: Probes = { root: () => 'needs root', frr: () => 'needs FRR' };

describe('tests that need root or FRR', () => {
  it('run when the machine has what they need', () => {
    expect(verdict(['root', 'frr'], {}, present)).toEqual({ action: 'run' });
    expect(verdict(['frr'], {}, noRoot)).toEqual({ action: 'run' });
  });

  it('fail with every missing reason and the way out when the machine lacks something', () => {
    const result = verdict(['root', 'frr', 'root'], {}, nothing);
    expect(result.action).toBe('fail');
    expect(result.action === 'fail' && result.reason).toMatch(
      /^needs root; needs FRR \(or set METALLB_TEST_SKIP_PRIVILEGED=1 .*\)$/,
    );
  });

  it('are skipped only when the contributor opts out with METALLB_TEST_SKIP_PRIVILEGED=1', () => {
    expect(verdict(['root'], { METALLB_TEST_SKIP_PRIVILEGED: '1' }, noRoot)).toEqual({
      action: 'skip',
      reason: 'needs root',
    });
    // Any other value is not an opt-out: a typo must not hide failures.
    expect(verdict(['root'], { METALLB_TEST_SKIP_PRIVILEGED: 'true' }, noRoot).action).toBe('fail');
  });

  it('skipped by the opt-out are listed after the summary, other skipped tests are not', () => {
    const writes: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((text: string) => writes.push(text) > 0) as typeof process.stderr.write;
    try {
      new OptOutReporter().onRunComplete(new Set(), {
        testResults: [
          {
            testFilePath: '/repo/src/speaker/frr-local.test.ts',
            testResults: [
              { status: 'pending', ancestorTitles: [`FRR ${optOutMarker} needs root`], title: 'applies' },
              { status: 'pending', ancestorTitles: ['other'], title: 'it.skip for another reason' },
              { status: 'passed', ancestorTitles: [], title: `odd ${optOutMarker}` },
            ],
          },
        ],
      });
    } finally {
      process.stderr.write = write;
    }
    expect(writes.join('')).toBe(
      '\nMETALLB_TEST_SKIP_PRIVILEGED=1: 1 test(s) that need root or FRR were NOT run:\n' +
        '  /repo/src/speaker/frr-local.test.ts: FRR — needs root › applies\n',
    );
  });
});
