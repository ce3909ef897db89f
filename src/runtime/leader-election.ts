/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm and defaults (15 s lease,
 * 10 s renew deadline, 2 s retry period):
 * - every retry period (jittered while a candidate) read the Lease; create it if missing;
 * - another holder's claim counts as live until leaseDuration after we *saw the record change*, by our own
 *   clock: the remote renewTime is never compared with local time, so clock skew between nodes is harmless;
 * - take over or renew with an update guarded by the resourceVersion we read (a lost race is a 409, not a
 *   leader); leaseTransitions grows when the holder changes; acquireTime stays while the holder stays;
 * - a leader that cannot renew within the renew deadline, or sees someone else holding the Lease, stops
 *   leading;
 * - on stop, the leader first ends its guarded work (onStoppedLeading), then releases the Lease (empty
 *   holder, 1 s duration) so a standby takes over at its next retry instead of waiting out the lease.
 * There is no fencing: guarded work must tolerate a brief overlap, as with client-go.
 */
import { sleep, systemClock, type Clock } from './clock.js';
import { silentLogger, type Logger } from './logging.js';
import { formatMicroTime } from './micro-time.js';
import { apiStatus, type RawClient } from './raw-client.js';

export interface LeaseSpec {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  /** MicroTime strings, as the API server sends them. */
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

export interface Lease {
  readonly apiVersion: 'coordination.k8s.io/v1';
  readonly kind: 'Lease';
  readonly metadata: { readonly name: string; readonly namespace: string; readonly resourceVersion?: string };
  readonly spec?: LeaseSpec;
}

/** Reads and writes one Lease. `update` must fail (409) if the Lease's resourceVersion moved on. */
export interface LeaseStore {
  readonly namespace: string;
  readonly name: string;
  get(signal: AbortSignal): Promise<Lease | undefined>;
  create(lease: Lease, signal: AbortSignal): Promise<Lease>;
  update(lease: Lease, signal: AbortSignal): Promise<Lease>;
}

export class ApiLeaseStore implements LeaseStore {
  constructor(
    private readonly client: Pick<RawClient, 'get' | 'create' | 'replace'>,
    readonly namespace: string,
    readonly name: string,
  ) {}

  private get collection(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases`;
  }

  async get(signal: AbortSignal): Promise<Lease | undefined> {
    try {
      return await this.client.get<Lease>(`${this.collection}/${encodeURIComponent(this.name)}`, { signal });
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw error;
    }
  }

  create(lease: Lease, signal: AbortSignal): Promise<Lease> {
    return this.client.create<Lease>(this.collection, lease, { signal });
  }

  update(lease: Lease, signal: AbortSignal): Promise<Lease> {
    return this.client.replace<Lease>(`${this.collection}/${encodeURIComponent(this.name)}`, lease, {
      signal,
    });
  }
}

/**
 * The spec to write when `identity` claims or renews a Lease whose current spec is `current` (undefined
 * when the Lease does not exist yet).
 */
export function nextLeaseSpec(
  current: LeaseSpec | undefined,
  identity: string,
  nowMs: number,
  leaseDurationSeconds: number,
): LeaseSpec {
  const now = formatMicroTime(nowMs);
  const renewing = current?.holderIdentity === identity;
  const transitions = current?.leaseTransitions ?? 0;
  return {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: renewing && current.acquireTime ? current.acquireTime : now,
    renewTime: now,
    leaseTransitions: current === undefined || renewing ? transitions : transitions + 1,
  };
}

/** The spec a leader writes to hand the Lease back on a graceful stop. */
export function releasedLeaseSpec(current: LeaseSpec | undefined, nowMs: number): LeaseSpec {
  const now = formatMicroTime(nowMs);
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: current?.leaseTransitions ?? 0,
  };
}

export interface LeaderElectionOptions {
  readonly store: LeaseStore;
  /** Unique per candidate, typically the pod name. */
  readonly identity: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  /** Hand the Lease back on stop(); default true. */
  readonly releaseOnStop?: boolean;
  /** Called on becoming leader; `signal` aborts when leadership ends. Not awaited: start work and return. */
  readonly onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called (and awaited) when leadership ends, lost or stopped, before the Lease is released. */
  readonly onStoppedLeading: () => void | Promise<void>;
  /** Called whenever the observed holder changes (including to ourselves). */
  readonly onNewLeader?: (identity: string) => void;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly logger?: Logger;
}

export type ElectionEnd = 'stopped' | 'lost';

const jitterFactor = 1.2;

export class LeaderElector {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly stopController = new AbortController();
  private observed: LeaseSpec | undefined;
  private observedAt = 0;
  private latest: Lease | undefined;
  private leading = false;
  private running: Promise<ElectionEnd> | undefined;
  private ended = false;

  constructor(private readonly options: LeaderElectionOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!options.identity) throw new Error('leader election needs a non-empty identity');
    if (this.leaseDurationMs <= this.renewDeadlineMs) {
      throw new Error('leader election: the lease duration must be greater than the renew deadline');
    }
    if (this.renewDeadlineMs <= jitterFactor * this.retryPeriodMs) {
      throw new Error('leader election: the renew deadline must be greater than 1.2 × the retry period');
    }
    if (this.leaseDurationMs % 1000 !== 0) {
      throw new Error('leader election: the lease duration must be whole seconds (the Lease stores seconds)');
    }
    this.log = (options.logger ?? silentLogger()).child({
      lease: `${options.store.namespace}/${options.store.name}`,
      identity: options.identity,
    });
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder we last observed ("" after a release), or undefined before the first read. */
  leader(): string | undefined {
    return this.observed?.holderIdentity;
  }

  /** True from run() until it ends: a candidate or leader, either way healthy. */
  isRunning(): boolean {
    return this.running !== undefined && !this.ended && !this.stopController.signal.aborted;
  }

  /** Campaigns, leads until the Lease is lost or stop() is called, then resolves with which it was. */
  run(): Promise<ElectionEnd> {
    this.running ??= this.campaign().finally(() => {
      this.ended = true;
    });
    return this.running;
  }

  /** Ends the election; if leading, stops the guarded work and releases the Lease first. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.running;
  }

  private async campaign(): Promise<ElectionEnd> {
    const signal = this.stopController.signal;
    this.log.info('waiting to acquire the lease');
    while (!signal.aborted && !(await this.attempt(signal))) {
      await sleep(this.clock, this.retryPeriodMs * (1 + jitterFactor * this.random()), signal);
    }
    if (signal.aborted) return 'stopped';

    this.leading = true;
    this.log.info('acquired the lease; leading');
    const leadership = new AbortController();
    Promise.resolve()
      .then(() => this.options.onStartedLeading(leadership.signal))
      .catch((error: unknown) => this.log.error({ err: error }, 'onStartedLeading failed'));

    const end = await this.renewUntilLostOrStopped(signal);
    this.leading = false;
    leadership.abort();
    this.log.info({ reason: end }, end === 'lost' ? 'lost the lease' : 'stopping leadership');
    try {
      await this.options.onStoppedLeading();
    } catch (error) {
      this.log.error({ err: error }, 'onStoppedLeading failed');
    }
    if (end === 'stopped' && this.options.releaseOnStop !== false) await this.release();
    return end;
  }

  private async renewUntilLostOrStopped(signal: AbortSignal): Promise<ElectionEnd> {
    let renewedAt = this.clock.now();
    for (;;) {
      await sleep(this.clock, this.retryPeriodMs, signal);
      if (signal.aborted) return 'stopped';
      if (await this.attempt(signal)) {
        renewedAt = this.clock.now();
        continue;
      }
      if (signal.aborted) return 'stopped';
      const holder = this.observed?.holderIdentity;
      if (holder && holder !== this.options.identity) return 'lost';
      if (this.clock.now() - renewedAt >= this.renewDeadlineMs) return 'lost';
    }
  }

  /** One try, bounded by the renew deadline so a hung request cannot outlive our claim. */
  private async attempt(signal: AbortSignal): Promise<boolean> {
    const timeout = new AbortController();
    const timer = this.clock.setTimer(this.renewDeadlineMs, () => timeout.abort());
    try {
      return await this.tryAcquireOrRenew(AbortSignal.any([signal, timeout.signal]));
    } catch (error) {
      if (!signal.aborted) {
        const conflict = apiStatus(error) === 409;
        this.log[conflict ? 'debug' : 'warn'](
          { err: error },
          conflict ? 'lost a race for the lease' : 'lease update failed',
        );
      }
      return false;
    } finally {
      timer.cancel();
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { store, identity } = this.options;
    const durationSeconds = this.leaseDurationMs / 1000;
    const now = this.clock.now();
    const current = await store.get(signal);
    if (!current) {
      const created = await store.create(
        {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: store.name, namespace: store.namespace },
          spec: nextLeaseSpec(undefined, identity, now, durationSeconds),
        },
        signal,
      );
      this.observe(created, this.clock.now());
      return true;
    }
    this.observe(current, now);
    const holder = current.spec?.holderIdentity ?? '';
    const claimMs = (current.spec?.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== '' && holder !== identity && this.observedAt + claimMs > now) return false;
    const updated = await store.update(
      { ...current, spec: nextLeaseSpec(current.spec, identity, now, durationSeconds) },
      signal,
    );
    this.observe(updated, this.clock.now());
    return true;
  }

  /** Restarts the expiry clock whenever the record changes: our own observation time, not renewTime. */
  private observe(lease: Lease, now: number): void {
    this.latest = lease;
    const spec = lease.spec ?? {};
    if (this.observed && sameRecord(this.observed, spec)) return;
    const previousHolder = this.observed?.holderIdentity;
    this.observed = spec;
    this.observedAt = now;
    const holder = spec.holderIdentity ?? '';
    if (holder !== previousHolder && holder !== '') {
      this.log.info({ leader: holder }, 'new leader observed');
      this.options.onNewLeader?.(holder);
    }
  }

  private async release(): Promise<void> {
    if (!this.latest || this.observed?.holderIdentity !== this.options.identity) return;
    const timeout = new AbortController();
    const timer = this.clock.setTimer(this.renewDeadlineMs, () => timeout.abort());
    try {
      const released = await this.options.store.update(
        { ...this.latest, spec: releasedLeaseSpec(this.latest.spec, this.clock.now()) },
        timeout.signal,
      );
      this.observe(released, this.clock.now());
      this.log.info('released the lease');
    } catch (error) {
      this.log.warn({ err: error }, 'could not release the lease; it will expire instead');
    } finally {
      timer.cancel();
    }
  }
}

function sameRecord(a: LeaseSpec, b: LeaseSpec): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions
  );
}
