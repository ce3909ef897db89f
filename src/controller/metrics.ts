/**
 * The controller's Prometheus metrics, named and labelled as upstream MetalLB's so dashboards and alerts
 * carry over. Allocator gauges are read from the allocator at scrape time: nothing to keep in sync, and a
 * deleted pool's series disappear with it.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { poolGaugesOf, type PoolGauges, type PoolStats, type RefusalCode } from './allocator/index.js';

type PoolGaugeField = keyof PoolGauges;

const poolGauges: readonly {
  readonly name: string;
  readonly help: string;
  readonly field: PoolGaugeField;
}[] = [
  {
    name: 'metallb_allocator_addresses_total',
    help: 'Number of usable IP addresses, per pool',
    field: 'addressesTotal',
  },
  {
    name: 'metallb_allocator_ipv4_addresses_total',
    help: 'Number of usable IPv4 addresses, per pool',
    field: 'ipv4AddressesTotal',
  },
  {
    name: 'metallb_allocator_ipv6_addresses_total',
    help: 'Number of usable IPv6 addresses, per pool',
    field: 'ipv6AddressesTotal',
  },
  {
    name: 'metallb_allocator_addresses_in_use_total',
    help: 'Number of IP addresses in use, per pool',
    field: 'addressesInUseTotal',
  },
  {
    name: 'metallb_allocator_ipv4_addresses_in_use_total',
    help: 'Number of IPv4 addresses in use, per pool',
    field: 'ipv4AddressesInUseTotal',
  },
  {
    name: 'metallb_allocator_ipv6_addresses_in_use_total',
    help: 'Number of IPv6 addresses in use, per pool',
    field: 'ipv6AddressesInUseTotal',
  },
];

/**
 * Every refusal code, so the pending gauge has a series per reason (0 included) while this replica leads: a
 * dashboard shows 0 rather than "no data", and the compiler flags a new code that is missing here.
 */
const refusalCodes: Readonly<Record<RefusalCode, true>> = {
  'invalid-request': true,
  'no-ip-family': true,
  'family-mismatch': true,
  'not-in-any-pool': true,
  'split-across-pools': true,
  'avoided-address': true,
  'pool-not-allowed': true,
  'unknown-pool': true,
  'pool-mismatch': true,
  'request-mismatch': true,
  'address-in-use': true,
  'sharing-conflict': true,
  'no-pool': true,
  'no-pool-for-namespace': true,
  'no-eligible-pool': true,
  'no-pool-of-family': true,
  'no-dual-stack-pool': true,
  exhausted: true,
};

export const PENDING_SERVICES_METRIC = 'metallb_allocator_services_pending';

/** Pending services per refusal code, or undefined on a replica that does not allocate (a standby). */
export type PendingSource = () => ReadonlyMap<RefusalCode, number> | undefined;

export class ControllerMetrics {
  private readonly configLoaded: Gauge;
  private readonly configStale: Gauge;
  private readonly updates: Counter;
  private readonly updateErrors: Counter;
  private poolStats: () => readonly PoolStats[] = () => [];
  private pending: PendingSource = () => undefined;

  constructor(registry: Registry) {
    for (const { name, help, field } of poolGauges) {
      const source = (): readonly PoolStats[] => this.poolStats();
      new Gauge({
        name,
        help,
        labelNames: ['pool'],
        registers: [registry],
        collect() {
          this.reset();
          for (const stats of source()) this.set({ pool: stats.pool }, poolGaugesOf(stats)[field]);
        },
      });
    }
    const pendingSource = (): ReturnType<PendingSource> => this.pending();
    new Gauge({
      name: PENDING_SERVICES_METRIC,
      help: 'Number of LoadBalancer Services waiting for an address, per reason the allocator refused them',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        const pending = pendingSource();
        if (!pending) return;
        for (const reason of Object.keys(refusalCodes) as RefusalCode[]) {
          this.set({ reason }, pending.get(reason) ?? 0);
        }
      },
    });
    this.configLoaded = new Gauge({
      name: 'metallb_k8s_client_config_loaded_bool',
      help: '1 if the MetalLB configuration was successfully loaded at least once',
      registers: [registry],
    });
    this.configStale = new Gauge({
      name: 'metallb_k8s_client_config_stale_bool',
      help: '1 if running on a stale configuration, because the latest configuration failed to load',
      registers: [registry],
    });
    this.updates = new Counter({
      name: 'metallb_k8s_client_updates_total',
      help: 'Number of Kubernetes object updates that have been processed',
      registers: [registry],
    });
    this.updateErrors = new Counter({
      name: 'metallb_k8s_client_update_errors_total',
      help: 'Number of Kubernetes object updates that failed for some reason',
      registers: [registry],
    });
    this.configLoaded.set(0);
    this.configStale.set(0);
  }

  /** Where the allocator gauges read from; the leader's allocator, nothing on a standby. */
  readPoolStatsFrom(source: () => readonly PoolStats[]): void {
    this.poolStats = source;
  }

  /** Where the pending gauge reads from; the leader's service reconciler, nothing on a standby. */
  readPendingFrom(source: PendingSource): void {
    this.pending = source;
  }

  setConfigState(loaded: boolean, stale: boolean): void {
    this.configLoaded.set(loaded ? 1 : 0);
    this.configStale.set(stale ? 1 : 0);
  }

  countUpdate(failed: boolean): void {
    this.updates.inc();
    if (failed) this.updateErrors.inc();
  }
}
