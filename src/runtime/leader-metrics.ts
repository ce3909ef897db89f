/**
 * Whether this replica holds its Lease, as client-go's leader election reports it
 * (`leader_election_master_status{name}`: 1 while leading, 0 otherwise), so the alert "no replica leads"
 * and dashboards written for client-go components work unchanged. `name` is the Lease's name.
 */
import { Gauge, type Registry } from 'prom-client';

export const LEADER_METRIC = 'leader_election_master_status';

export class LeaderMetrics {
  private readonly status: Gauge<'name'>;

  constructor(
    registry: Registry,
    private readonly leaseName: string,
  ) {
    this.status =
      (registry.getSingleMetric(LEADER_METRIC) as Gauge<'name'> | undefined) ??
      new Gauge({
        name: LEADER_METRIC,
        help: '1 while this replica holds the leader-election Lease called `name`, 0 while it stands by.',
        labelNames: ['name'],
        registers: [registry],
      });
    this.status.set({ name: leaseName }, 0);
  }

  set(leading: boolean): void {
    this.status.set({ name: this.leaseName }, leading ? 1 : 0);
  }
}
