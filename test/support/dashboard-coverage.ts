/**
 * Which e2e suite runs which Grafana dashboard query against a real Prometheus. A suite scrapes one kind of
 * component (test/e2e/monitoring.e2e.ts a controller, test/e2e/monitoring-bgp.e2e.ts speakers with FRR), so
 * it can answer exactly the queries whose every metric that component serves. Each suite asserts that all
 * of its queries return a series; a unit test (src/monitoring/dashboard.test.ts) asserts that the two
 * together cover every query of every panel, so a panel no e2e can answer fails the build.
 */
import type { Component } from '../../src/operator/render/labels.js';
import { dashboardQueries } from '../../src/monitoring/dashboard.js';
import { servedMetricNamesByComponent } from './metrics.js';
import { metricNamesIn } from './promql.js';

export interface DashboardQuery {
  readonly panel: string;
  readonly expr: string;
}

/** The e2e suite that scrapes each component. */
export const suiteScraping: Readonly<Record<Component, string>> = {
  controller: 'test/e2e/monitoring.e2e.ts',
  speaker: 'test/e2e/monitoring-bgp.e2e.ts',
};

/** The dashboard queries a Prometheus scraping only `component` can answer. */
export function dashboardQueriesAnsweredBy(
  component: Component,
  queries: readonly DashboardQuery[] = dashboardQueries(),
): DashboardQuery[] {
  const served = servedMetricNamesByComponent()[component];
  return queries.filter((query) => metricNamesIn(query.expr).every((name) => served.has(name)));
}

/** Queries neither suite answers (should be none). */
export function dashboardQueriesNoSuiteAnswers(
  queries: readonly DashboardQuery[] = dashboardQueries(),
): DashboardQuery[] {
  const answered = new Set(
    (Object.keys(suiteScraping) as Component[]).flatMap((component) =>
      dashboardQueriesAnsweredBy(component, queries).map((query) => query.expr),
    ),
  );
  return queries.filter((query) => !answered.has(query.expr));
}
