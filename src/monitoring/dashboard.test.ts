import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  dashboardQueriesAnsweredBy,
  dashboardQueriesNoSuiteAnswers,
  suiteScraping,
} from '../../test/support/dashboard-coverage.js';
import { servedMetricNames } from '../../test/support/metrics.js';
import { metricNamesIn, promtool } from '../../test/support/promql.js';
import { dashboardQueries, grafanaDashboard } from './dashboard.js';

const root = join(import.meta.dirname, '..', '..');

interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly targets?: readonly { readonly expr: string; readonly refId: string }[];
}

describe('the Grafana dashboard', () => {
  it('has every panel query parsed by promtool (as recording rules)', () => {
    const queries = dashboardQueries();
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: queries.map((query, index) => ({ record: `dashboard:query_${index}`, expr: query.expr })),
        },
      ],
    };
    const dir = mkdtempSync(join(tmpdir(), 'metallb-dashboard-'));
    try {
      const file = join(dir, 'dashboard-queries.yaml');
      writeFileSync(file, stringify(rules));
      const run = promtool(['check', 'rules', file]);
      expect(run.output).toContain(`SUCCESS: ${queries.length} rules found`);
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a query promtool cannot parse (the check above can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'metallb-dashboard-'));
    try {
      const file = join(dir, 'bad.yaml');
      writeFileSync(
        file,
        stringify({ groups: [{ name: 'bad', rules: [{ record: 'x:y', expr: 'sum by (pool' }] }] }),
      );
      expect(promtool(['check', 'rules', file]).status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('queries only metrics the components serve', () => {
    const served = servedMetricNames();
    for (const query of dashboardQueries()) {
      const names = metricNamesIn(query.expr);
      expect(names.length).toBeGreaterThan(0);
      expect({ ...query, unknown: names.filter((name) => !served.has(name)) }).toEqual({
        ...query,
        unknown: [],
      });
    }
  });

  it('covers sessions, BFD, prefixes, pool usage, allocation failures and reconcile latency', () => {
    const all = dashboardQueries()
      .map((query) => query.expr)
      .join('\n');
    for (const metric of [
      'metallb_bgp_session_up',
      'metallb_bfd_session_up',
      'metallb_bgp_announced_prefixes_total',
      'metallb_allocator_addresses_in_use_total',
      'metallb_allocator_services_pending',
      'controller_runtime_reconcile_time_seconds_bucket',
    ]) {
      expect(all).toContain(metric);
    }
  });

  it('has every panel query run by an e2e against a real Prometheus: the controller suite and the BGP suite together cover them all', () => {
    expect(dashboardQueriesNoSuiteAnswers()).toEqual([]);
    const controller = dashboardQueriesAnsweredBy('controller').map((q) => q.expr);
    const speaker = dashboardQueriesAnsweredBy('speaker').map((q) => q.expr);
    // Each suite has the queries only its component answers: pools and leader vs. sessions and BFD.
    expect(controller).toContain('sum by (reason) (metallb_allocator_services_pending)');
    expect(controller).not.toContain('metallb_bgp_session_up');
    expect(speaker).toContain('metallb_bgp_session_up');
    expect(speaker).toContain('metallb_bfd_session_up');
    expect(speaker).not.toContain('sum by (reason) (metallb_allocator_services_pending)');
    for (const suite of Object.values(suiteScraping)) expect(existsSync(join(root, suite))).toBe(true);
  });

  it('notices a panel that no suite can answer (the coverage check above can fail)', () => {
    const mixed = {
      panel: 'announced per pool address',
      expr: 'count(metallb_speaker_announced) / sum(metallb_allocator_addresses_total)',
    };
    const unknown = { panel: 'nothing serves this', expr: 'metallb_not_a_metric' };
    expect(
      dashboardQueriesNoSuiteAnswers([mixed, unknown, { panel: 'ok', expr: 'workqueue_depth' }]),
    ).toEqual([mixed, unknown]);
  });

  it('is what config/grafana/metallb.json holds, with unique panel ids and refIds', () => {
    const shipped = JSON.parse(readFileSync(join(root, 'config', 'grafana', 'metallb.json'), 'utf8')) as {
      panels: Panel[];
    };
    expect(shipped).toEqual(grafanaDashboard());
    const ids = shipped.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of shipped.panels.filter((p) => p.type !== 'row')) {
      const refIds = (panel.targets ?? []).map((target) => target.refId);
      expect(refIds.length).toBeGreaterThan(0);
      expect(new Set(refIds).size).toBe(refIds.length);
    }
  });
});
