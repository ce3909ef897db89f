/**
 * The alerts shipped with the product, as data: scripts/monitoring.ts renders them into a PrometheusRule
 * (for the Prometheus Operator and OpenShift cluster monitoring) and a plain rule file (promtool, a static
 * Prometheus). Each alert has a runbook in docs/runbooks/<alert>.md.
 *
 * Two profiles differ only in `for:`: production waits long enough to ride out a BGP flap, a leader
 * handover or a rollout; the test profile fires within seconds so an e2e can watch an alert reach firing.
 *
 * Expressions use only metrics the components serve (a unit test registers them all and checks), with
 * upstream MetalLB's names where upstream has the metric.
 */

import { sourceRepository } from '../manifests/install/version.js';

export type Severity = 'critical' | 'warning';
export type AlertProfile = 'production' | 'test';

export interface AlertDefinition {
  /** The alert's name; also the runbook's file name. */
  readonly alert: string;
  readonly expr: string;
  /** `for:` per profile, as a Prometheus duration. */
  readonly for: Readonly<Record<AlertProfile, string>>;
  readonly severity: Severity;
  readonly summary: string;
  /** May use $labels and $value templates; "{for}" becomes the profile's `for:` duration. */
  readonly description: string;
}

/** The runbooks' folder in this repository; a unit test checks every alert has its file there. */
export const RUNBOOKS_PATH = 'docs/runbooks/';

/** Where RUNBOOKS_PATH is published; the runbook_url of each alert is this plus "<alert>.md". */
export const RUNBOOK_BASE_URL = `${sourceRepository}/blob/main/${RUNBOOKS_PATH}`;

/** The Lease the controller replicas elect their leader with (src/cli/controller.ts). */
export const CONTROLLER_LEASE = 'metallb-controller';

/** The plain rule file's name in config/prometheus/. */
export const RULE_FILE = 'rules.yaml';

/** The group name in both rule files. */
export const RULE_GROUP = 'metallb';

const testFor = '5s';

export const alerts: readonly AlertDefinition[] = [
  {
    alert: 'MetalLBBGPSessionDown',
    expr: 'metallb_bgp_session_up == 0',
    for: { production: '2m', test: testFor },
    severity: 'critical',
    summary: 'A speaker has lost its BGP session to a peer.',
    description:
      'The BGP session from {{ $labels.instance }} to peer {{ $labels.peer }} (VRF {{ $labels.vrf }}) has not ' +
      'been established for {for}. The peer no longer receives the Service addresses ' +
      'this node announces, so traffic for them no longer reaches this node.',
  },
  {
    alert: 'MetalLBBFDSessionDown',
    expr: 'metallb_bfd_session_up == 0',
    for: { production: '1m', test: testFor },
    severity: 'critical',
    summary: 'A speaker has lost its BFD session to a peer.',
    description:
      'The BFD session from {{ $labels.instance }} to {{ $labels.peer }} (VRF {{ $labels.vrf }}) has been down ' +
      'for {for}. ' +
      'BFD tears the BGP session to that peer down with it, so the peer withdraws the routes to this node.',
  },
  {
    alert: 'MetalLBServicePendingAddress',
    expr: 'sum by (reason) (metallb_allocator_services_pending) > 0',
    for: { production: '5m', test: testFor },
    severity: 'warning',
    summary: 'LoadBalancer Services are waiting for an address.',
    description:
      '{{ $value }} LoadBalancer Service(s) have had no address for {for}; the ' +
      'allocator refuses them with reason "{{ $labels.reason }}". Their status.loadBalancer stays empty and ' +
      'clients cannot reach them. The Services carry an AllocationFailed event saying why.',
  },
  {
    alert: 'MetalLBAddressPoolHighUsage',
    expr:
      'metallb_allocator_addresses_in_use_total / metallb_allocator_addresses_total > 0.9 ' +
      'and metallb_allocator_addresses_in_use_total < metallb_allocator_addresses_total',
    for: { production: '10m', test: testFor },
    severity: 'warning',
    summary: 'An IPAddressPool is more than 90 % used.',
    description:
      'IPAddressPool {{ $labels.pool }} has {{ $value | humanizePercentage }} of its addresses in use. ' +
      'Once it is full, new Services that can only use this pool stay without an address.',
  },
  {
    alert: 'MetalLBAddressPoolExhausted',
    expr:
      'metallb_allocator_addresses_in_use_total >= metallb_allocator_addresses_total ' +
      'and metallb_allocator_addresses_total > 0',
    for: { production: '5m', test: testFor },
    severity: 'critical',
    summary: 'An IPAddressPool has no free address left.',
    description:
      'Every one of the {{ $value }} addresses of IPAddressPool {{ $labels.pool }} is in use. The next ' +
      'Service that can only be served from this pool gets no address.',
  },
  {
    alert: 'MetalLBFRRConfigNotApplied',
    expr: 'metallb_frr_config_applied_bool == 0 and increase(metallb_frr_reload_errors_total[5m]) > 0',
    for: { production: '5m', test: testFor },
    severity: 'critical',
    summary: 'A speaker cannot apply its configuration to FRR.',
    description:
      'The speaker at {{ $labels.instance }} has failed to apply the frr.conf it rendered for {for}. ' +
      'FRR runs an ' +
      'older configuration (or none): new peers, advertisements and Service addresses are not announced from ' +
      'this node, and removed ones may still be.',
  },
  {
    alert: 'MetalLBControllerNoLeader',
    expr:
      `max(leader_election_master_status{name="${CONTROLLER_LEASE}"}) < 1 ` +
      `or absent(leader_election_master_status{name="${CONTROLLER_LEASE}"})`,
    for: { production: '2m', test: testFor },
    severity: 'critical',
    summary: 'No MetalLB controller replica holds the leader Lease.',
    description:
      `No controller replica has held the Lease "${CONTROLLER_LEASE}" for {for}, or no controller is ` +
      'scraped at all. Nothing assigns or releases addresses: new LoadBalancer ' +
      'Services stay pending and pool status goes stale. Addresses already assigned keep working.',
  },
];

/** A rule as Prometheus reads it (in a rule file and in PrometheusRule.spec.groups). */
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: { readonly severity: Severity };
  readonly annotations: {
    readonly summary: string;
    readonly description: string;
    readonly runbook_url: string;
  };
}

export interface RuleGroups {
  readonly groups: readonly { readonly name: string; readonly rules: readonly AlertingRule[] }[];
}

export function runbookUrl(alert: string): string {
  return `${RUNBOOK_BASE_URL}${alert}.md`;
}

export function alertingRule(definition: AlertDefinition, profile: AlertProfile): AlertingRule {
  return {
    alert: definition.alert,
    expr: definition.expr,
    for: definition.for[profile],
    labels: { severity: definition.severity },
    annotations: {
      summary: definition.summary,
      description: definition.description.replaceAll('{for}', definition.for[profile]),
      runbook_url: runbookUrl(definition.alert),
    },
  };
}

/** The rule groups of a plain Prometheus rule file (and of PrometheusRule.spec). */
export function ruleGroups(profile: AlertProfile): RuleGroups {
  return { groups: [{ name: RULE_GROUP, rules: alerts.map((a) => alertingRule(a, profile)) }] };
}

/** The PrometheusRule's name, the same in config/, the OLM bundle and the operator's render. */
export const prometheusRuleName = 'metallb-alerts';

export const prometheusRuleLabels: Readonly<Record<string, string>> = {
  'app.kubernetes.io/name': 'metallb',
  'app.kubernetes.io/component': 'monitoring',
};

export interface PrometheusRuleOptions {
  readonly namespace?: string;
  readonly profile?: AlertProfile;
}

/**
 * The monitoring.coreos.com/v1 PrometheusRule the Prometheus Operator (and OpenShift monitoring) loads.
 * Without a namespace for the OLM bundle, whose objects OLM creates in the operator's namespace.
 */
export function prometheusRule(options: PrometheusRuleOptions): Record<string, unknown> {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: prometheusRuleName,
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      labels: { ...prometheusRuleLabels },
    },
    spec: ruleGroups(options.profile ?? 'production'),
  };
}
