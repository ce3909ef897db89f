import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
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
