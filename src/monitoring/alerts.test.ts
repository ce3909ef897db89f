import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { servedMetricNames } from '../../test/support/metrics.js';
import { metricNamesIn, promtool } from '../../test/support/promql.js';
import { sourceRepository } from '../manifests/install/version.js';
import { RULE_FILE, RUNBOOKS_PATH, RUNBOOK_BASE_URL, alerts, prometheusRule, ruleGroups } from './alerts.js';

const root = join(import.meta.dirname, '..', '..');
const rulesFile = join(root, 'config', 'prometheus', RULE_FILE);
const testsDir = join(root, 'test', 'prometheus');
const runbooksDir = join(root, RUNBOOKS_PATH);

interface AlertTest {
  readonly alertname: string;
  readonly exp_alerts?: readonly unknown[];
}

/** Every alert_rule_test of a promtool test file. */
function alertTests(file: string): AlertTest[] {
  const parsed = parse(readFileSync(file, 'utf8')) as { tests?: { alert_rule_test?: AlertTest[] }[] };
  return (parsed.tests ?? []).flatMap((test) => test.alert_rule_test ?? []);
}

describe('the shipped alerts', () => {
  it('pass promtool check rules, in both profiles', () => {
    const checked = promtool(['check', 'rules', rulesFile]);
    expect(checked.output).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(checked.status).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'metallb-rules-'));
    try {
      const testProfile = join(dir, 'test-profile.yaml');
      writeFileSync(testProfile, stringify(ruleGroups('test')));
      const run = promtool(['check', 'rules', testProfile]);
      expect(run.output).toContain(`SUCCESS: ${alerts.length} rules found`);
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pass their promtool unit tests (test/prometheus/*.test.yaml)', () => {
    const files = readdirSync(testsDir).filter((name) => name.endsWith('.test.yaml'));
    const run = promtool(['test', 'rules', ...files], testsDir);
    expect(run.output).not.toContain('FAILED');
    expect(run.status).toBe(0);
  });

  it.each(alerts.map((alert) => [alert.alert]))(
    '%s has a promtool test that sees it firing and not firing, and a runbook',
    (name) => {
      const file = join(testsDir, `${name}.test.yaml`);
      expect(existsSync(file)).toBe(true);
      const cases = alertTests(file).filter((test) => test.alertname === name);
      expect(cases.some((test) => (test.exp_alerts ?? []).length > 0)).toBe(true);
      expect(cases.some((test) => (test.exp_alerts ?? []).length === 0)).toBe(true);
      const runbook = readFileSync(join(runbooksDir, `${name}.md`), 'utf8');
      for (const section of ['## Meaning', '## Impact', '## Diagnosis', '## Mitigation']) {
        expect(runbook).toContain(section);
      }
    },
  );

  it('link each alert to its runbook and carry a severity, a summary and a description', () => {
    for (const rule of ruleGroups('production').groups.flatMap((group) => group.rules)) {
      expect(rule.annotations.runbook_url).toBe(`${RUNBOOK_BASE_URL}${rule.alert}.md`);
      // The link is the repository's file: the published source plus the path of a runbook that exists here.
      const prefix = `${sourceRepository}/blob/main/`;
      expect(rule.annotations.runbook_url.startsWith(prefix)).toBe(true);
      expect(existsSync(join(root, rule.annotations.runbook_url.slice(prefix.length)))).toBe(true);
      expect(['critical', 'warning']).toContain(rule.labels.severity);
      expect(rule.annotations.summary).not.toBe('');
      expect(rule.annotations.description).not.toContain('{for}');
    }
    expect(readdirSync(runbooksDir).sort()).toEqual(alerts.map((alert) => `${alert.alert}.md`).sort());
  });

  it('use only metrics the components serve', () => {
    const served = servedMetricNames();
    for (const alert of alerts) {
      const names = metricNamesIn(alert.expr);
      expect(names.length).toBeGreaterThan(0);
      expect({ alert: alert.alert, unknown: names.filter((name) => !served.has(name)) }).toEqual({
        alert: alert.alert,
        unknown: [],
      });
    }
  });

  it('fire within seconds in the test profile and wait minutes in production', () => {
    const seconds = (duration: string): number => {
      const match = /^(\d+)([smh])$/.exec(duration);
      if (!match) throw new Error(`unexpected duration ${duration}`);
      return Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'];
    };
    for (const alert of alerts) {
      expect(seconds(alert.for.test)).toBeLessThanOrEqual(10);
      expect(seconds(alert.for.production)).toBeGreaterThanOrEqual(60);
    }
  });

  it('ship as a PrometheusRule holding the production rule groups', () => {
    const rule = prometheusRule({ namespace: 'metallb-system' });
    expect(rule).toMatchObject({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { namespace: 'metallb-system' },
    });
    expect(rule.spec).toEqual(ruleGroups('production'));
  });

  it('ship without a namespace for the OLM bundle, which installs into the operator namespace', () => {
    const rule = prometheusRule({}) as { metadata: Record<string, unknown> };
    expect(rule.metadata).not.toHaveProperty('namespace');
    expect(rule.metadata.name).toBe('metallb-alerts');
  });
});

describe('finding the metrics a PromQL expression selects', () => {
  it('skips functions, keywords, label matchers, groupings and ranges', () => {
    expect(
      metricNamesIn(
        'sum by (pool) (rate(a_total{job="x", pool=~"b.*"}[5m])) / on (pool) group_left b_total > 0.9 ' +
          'and absent(c{name="and"}) or histogram_quantile(0.99, sum by (le) (rate(d_bucket[1m])))',
      ).sort(),
    ).toEqual(['a_total', 'b_total', 'c', 'd_bucket']);
  });
});
