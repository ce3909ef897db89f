/**
 * Who holds which address. Per family, an interval set of used addresses answers "lowest free address in
 * this range" without enumerating the range, and a map from address to its holders answers sharing
 * questions. Nothing here judges whether a holding is allowed: the allocator checks before it records.
 */
import type { Address, AddressRange, Family } from '../../net/ip.js';
import { skipBuggyIPv4 } from '../../net/ip-math.js';
import { ChurnSafeMap } from './churn-safe-map.js';
import { IntervalSet } from './interval-set.js';
import type { AddressHolders, SharingIdentity } from './sharing.js';

export interface AddressRecord extends AddressHolders {
  readonly address: Address;
  /** The pool the address counts against in statistics. */
  readonly pool: string;
}

interface MutableRecord {
  readonly address: Address;
  pool: string;
  readonly key: string | undefined;
  readonly backend: string;
  readonly ports: Map<string, string>;
  readonly services: Set<string>;
}

export class AddressBook {
  private readonly used: Record<Family, IntervalSet> = { 4: new IntervalSet(), 6: new IntervalSet() };
  private readonly records: Record<Family, ChurnSafeMap<bigint, MutableRecord>> = {
    4: new ChurnSafeMap(),
    6: new ChurnSafeMap(),
  };
  /** allow-shared-ip key → addresses held under it, so a sharer looks only at its own group. */
  private readonly bySharingKey = new ChurnSafeMap<string, Set<MutableRecord>>();
  private readonly inUseByPool = new Map<string, Record<Family, number>>();

  holders(address: Address): AddressRecord | undefined {
    return this.records[address.family].get(address.value);
  }

  /** Records `service` on the address. The caller has checked that sharing allows it. */
  hold(address: Address, pool: string, service: string, identity: SharingIdentity): void {
    let record = this.records[address.family].get(address.value);
    if (!record) {
      record = {
        address,
        pool,
        key: identity.key,
        backend: identity.backend,
        ports: new Map(),
        services: new Set(),
      };
      this.records[address.family].set(address.value, record);
      this.used[address.family].add(address.value);
      if (identity.key !== undefined) this.sharingGroup(identity.key).add(record);
      this.countInUse(pool, address.family, 1);
    }
    record.services.add(service);
    for (const port of identity.ports) record.ports.set(port, service);
  }

  /** Removes `service` from the address; the address becomes free when its last holder leaves. */
  letGo(address: Address, service: string): void {
    const record = this.records[address.family].get(address.value);
    if (!record || !record.services.delete(service)) return;
    for (const [port, user] of record.ports) if (user === service) record.ports.delete(port);
    if (record.services.size > 0) return;
    this.records[address.family].delete(address.value);
    this.used[address.family].delete(address.value);
    if (record.key !== undefined) {
      const group = this.bySharingKey.get(record.key);
      group?.delete(record);
      if (group?.size === 0) this.bySharingKey.delete(record.key);
    }
    this.countInUse(record.pool, address.family, -1);
  }

  /** Moves the address to another pool's count (pool renamed or split). */
  rehome(address: Address, pool: string): void {
    const record = this.records[address.family].get(address.value);
    if (!record || record.pool === pool) return;
    this.countInUse(record.pool, address.family, -1);
    record.pool = pool;
    this.countInUse(pool, address.family, 1);
  }

  /**
   * The lowest address of the range nobody holds, skipping .0/.255 when asked. Each step jumps over a whole
   * run of used addresses, so the cost depends on how fragmented the used addresses are, not on the range.
   */
  lowestFree(range: AddressRange, avoidBuggyIPs: boolean): bigint | undefined {
    const used = this.used[range.family];
    const skipBuggy = avoidBuggyIPs && range.family === 4;
    let candidate = range.first;
    for (;;) {
      if (skipBuggy) candidate = skipBuggyIPv4(candidate);
      if (candidate > range.last) return undefined;
      const next = used.firstAbsentFrom(candidate);
      if (next === candidate) return candidate;
      candidate = next;
    }
  }

  /** Addresses held under the sharing key. */
  sharedUnder(key: string): Iterable<AddressRecord> {
    return this.bySharingKey.get(key) ?? [];
  }

  inUse(pool: string, family: Family): number {
    return this.inUseByPool.get(pool)?.[family] ?? 0;
  }

  private sharingGroup(key: string): Set<MutableRecord> {
    let group = this.bySharingKey.get(key);
    if (!group) {
      group = new Set();
      this.bySharingKey.set(key, group);
    }
    return group;
  }

  private countInUse(pool: string, family: Family, delta: number): void {
    let counts = this.inUseByPool.get(pool);
    if (!counts) {
      counts = { 4: 0, 6: 0 };
      this.inUseByPool.set(pool, counts);
    }
    // Entries stay at zero rather than being deleted: see churn-safe-map.ts for why deleting hurts.
    counts[family] += delta;
  }
}
