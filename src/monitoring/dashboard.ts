/**
 * The Grafana dashboard, as data: scripts/monitoring.ts writes it to config/grafana/metallb.json. Panels are
 * declared as title + queries; ids and the grid layout are derived, so a panel is added by adding a line.
 * Queries use fixed ranges (no Grafana variables besides the data source) so that promtool can parse them
 * and the e2e can run them against a plain Prometheus as they are.
 */
import { CONTROLLER_LEASE } from './alerts.js';

export interface PanelQuery {
  readonly expr: string;
  /** Grafana legend template, e.g. "{{instance}} {{peer}}". */
  readonly legend: string;
}

export interface PanelDefinition {
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly queries: readonly PanelQuery[];
}

export interface RowDefinition {
  readonly title: string;
  readonly panels: readonly PanelDefinition[];
}

export const DASHBOARD_UID = 'metallb-overview';

export const dashboardRows: readonly RowDefinition[] = [
  {
    title: 'BGP and BFD',
    panels: [
      {
        title: 'BGP sessions per peer',
        description: '1 while the session from a speaker to a peer is Established (metallb_bgp_session_up).',
        unit: 'bool_on_off',
        queries: [{ expr: 'metallb_bgp_session_up', legend: '{{instance}} → {{peer}} ({{vrf}})' }],
      },
      {
        title: 'BFD sessions per peer',
        description: '1 while the BFD session to a peer is up (metallb_bfd_session_up).',
        unit: 'bool_on_off',
        queries: [{ expr: 'metallb_bfd_session_up', legend: '{{instance}} → {{peer}} ({{vrf}})' }],
      },
      {
        title: 'Prefixes advertised per peer',
        description: 'Prefixes each speaker advertises on each session.',
        unit: 'short',
        queries: [
          { expr: 'metallb_bgp_announced_prefixes_total', legend: '{{instance}} → {{peer}} ({{vrf}})' },
        ],
      },
      {
        title: 'BGP updates sent per peer',
        description: 'UPDATE messages per second, per session.',
        unit: 'ops',
        queries: [{ expr: 'rate(metallb_bgp_updates_total[5m])', legend: '{{instance}} → {{peer}}' }],
      },
      {
        title: 'BFD session flaps',
        description: 'BFD down events in the last 5 minutes, per session.',
        unit: 'short',
        queries: [
          { expr: 'increase(metallb_bfd_session_down_events[5m])', legend: '{{instance}} → {{peer}}' },
        ],
      },
      {
        title: 'FRR configuration applied',
        description: '1 while FRR runs the configuration the speaker rendered; failed attempts per second.',
        unit: 'short',
        queries: [
          { expr: 'metallb_frr_config_applied_bool', legend: 'applied {{instance}}' },
          { expr: 'rate(metallb_frr_reload_errors_total[5m])', legend: 'failures/s {{instance}}' },
        ],
      },
    ],
  },
  {
    title: 'Address pools',
    panels: [
      {
        title: 'Pool usage',
        description: 'Share of each IPAddressPool in use; alerts at 90 % and 100 %.',
        unit: 'percentunit',
        queries: [
          {
            expr: 'metallb_allocator_addresses_in_use_total / metallb_allocator_addresses_total',
            legend: '{{pool}}',
          },
        ],
      },
      {
        title: 'Addresses in use and available',
        description: 'Per pool: addresses in use, and usable addresses in total.',
        unit: 'short',
        queries: [
          { expr: 'metallb_allocator_addresses_in_use_total', legend: 'in use {{pool}}' },
          { expr: 'metallb_allocator_addresses_total', legend: 'total {{pool}}' },
        ],
      },
      {
        title: 'Allocation failures: Services pending an address',
        description:
          'LoadBalancer Services the allocator refused, by reason (the AllocationFailed events say which).',
        unit: 'short',
        queries: [{ expr: 'sum by (reason) (metallb_allocator_services_pending)', legend: '{{reason}}' }],
      },
      {
        title: 'Announced addresses',
        description: 'Service addresses announced, per protocol, summed over speakers.',
        unit: 'short',
        queries: [{ expr: 'count by (protocol) (metallb_speaker_announced)', legend: '{{protocol}}' }],
      },
    ],
  },
  {
    title: 'Reconcile',
    panels: [
      {
        title: 'Reconcile latency (p99)',
        description: '99th percentile of reconcile duration per controller, per component.',
        unit: 's',
        queries: [
          {
            expr:
              'histogram_quantile(0.99, sum by (job, controller, le) ' +
              '(rate(controller_runtime_reconcile_time_seconds_bucket[5m])))',
            legend: '{{job}} {{controller}}',
          },
        ],
      },
      {
        title: 'Reconciles by result',
        description: 'Reconciles per second per controller and result (success, error, requeue_after).',
        unit: 'ops',
        queries: [
          {
            expr: 'sum by (job, controller, result) (rate(controller_runtime_reconcile_total[5m]))',
            legend: '{{job}} {{controller}} {{result}}',
          },
        ],
      },
      {
        title: 'Work queue depth',
        description: 'Keys waiting per work queue.',
        unit: 'short',
        queries: [{ expr: 'workqueue_depth', legend: '{{job}} {{name}}' }],
      },
      {
        title: 'Controller leader',
        description: `1 on the controller replica holding the Lease ${CONTROLLER_LEASE}.`,
        unit: 'short',
        queries: [
          { expr: `leader_election_master_status{name="${CONTROLLER_LEASE}"}`, legend: '{{instance}}' },
        ],
      },
    ],
  },
];

/** Every query of the dashboard, with the panel it belongs to. */
export function dashboardQueries(): { readonly panel: string; readonly expr: string }[] {
  return dashboardRows.flatMap((row) =>
    row.panels.flatMap((panel) => panel.queries.map((query) => ({ panel: panel.title, expr: query.expr }))),
  );
}

const datasource = { type: 'prometheus', uid: '${datasource}' };
const panelWidth = 12;
const panelHeight = 8;

/** The dashboard JSON model (Grafana 9 and later). */
export function grafanaDashboard(): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of dashboardRows) {
    panels.push({
      type: 'row',
      id: id++,
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
    });
    y += 1;
    row.panels.forEach((panel, index) => {
      panels.push({
        type: 'timeseries',
        id: id++,
        title: panel.title,
        description: panel.description,
        datasource,
        gridPos: {
          h: panelHeight,
          w: panelWidth,
          x: (index % 2) * panelWidth,
          y: y + Math.floor(index / 2) * panelHeight,
        },
        fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
        options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
        targets: panel.queries.map((query, index) => ({
          datasource,
          expr: query.expr,
          legendFormat: query.legend,
          refId: String.fromCharCode(65 + index),
        })),
      });
    });
    y += Math.ceil(row.panels.length / 2) * panelHeight;
  }
  return {
    uid: DASHBOARD_UID,
    title: 'MetalLB',
    description:
      'BGP and BFD sessions, address pools and allocation, reconcile health (metrics: docs/metrics.md).',
    tags: ['metallb', 'networking'],
    editable: true,
    schemaVersion: 39,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {} },
      ],
    },
    panels,
  };
}
