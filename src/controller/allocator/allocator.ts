/**
 * The IP allocator: pools + who holds what + a service → addresses, or a sentence saying why not.
 * Pure (no I/O); the controller feeds it from the informer cache and writes Service status.
 *
 * Order of preference when allocating (allocate):
 *   1. addresses the service requests (metallb.io/loadBalancerIPs or spec.loadBalancerIP), in any pool that
 *      admits the service, autoAssign or not;
 *   2. the pool named by metallb.io/address-pool, autoAssign or not, if it admits the service;
 *   3. autoAssign pools whose serviceAllocation selects the service, by priority; then autoAssign pools
 *      without serviceAllocation.
 * Within a pool: ranges in declared order, lowest free (or shareable) address first.
 */
import type { Address, AddressRange, Family } from '../../net/ip.js';
import { formatAddress, parseAddress, rangeContains } from '../../net/ip.js';
import { familyName, isBuggyIPv4, sameAddress, usableAddressCount } from '../../net/ip-math.js';
import { AddressBook } from './address-book.js';
import { readServiceIntent } from './annotations.js';
import { ChurnSafeMap } from './churn-safe-map.js';
import { describePool, describeService, formatAddresses, joinWords, serviceKey } from './describe.js';
import type { FamilyPlan } from './families.js';
import { checkAddressFamilies, inFamilyOrder, isFamilyPlan, planFamilies } from './families.js';
import { admitsNamespace, allocationRefusal, automaticCandidates } from './pool-selection.js';
import type { SharingIdentity } from './sharing.js';
import { sharingIdentity, sharingRefusal } from './sharing.js';
import type {
  AllocationResult,
  AllocatorPool,
  AllocatorService,
  Assigned,
  PoolStats,
  Refused,
} from './types.js';

/** A service's addresses as found in its status, for rebuilding state after a restart. */
export interface ExistingAssignment {
  readonly service: AllocatorService;
  readonly ips: readonly string[];
}

export interface RebuildReport {
  readonly kept: readonly { readonly service: string; readonly assignment: Assigned }[];
  /** Services whose addresses could not be re-registered; they need a new allocation. */
  readonly refused: readonly {
    readonly service: string;
    readonly ips: readonly string[];
    readonly refusal: Refused;
  }[];
}

export interface ReleasedAssignment {
  readonly service: string;
  readonly ips: readonly string[];
  readonly pool: string;
  /** Set when the allocator let go on its own (pool change), for an event on the service. */
  readonly reason?: string | undefined;
}

export interface PoolChangeReport {
  /** Assignments whose addresses no longer lie in one pool; those services need a new allocation. */
  readonly released: readonly ReleasedAssignment[];
  /** Assignments kept whose pool name changed (pool renamed or split). */
  readonly rehomed: readonly { readonly service: string; readonly from: string; readonly to: string }[];
}

type ServiceRef = Pick<AllocatorService, 'namespace' | 'name'>;

interface Holding {
  readonly service: AllocatorService;
  readonly addresses: readonly Address[];
  pool: string;
  readonly identity: SharingIdentity;
}

interface PoolEntry {
  readonly pool: AllocatorPool;
  readonly capacity: Record<Family, bigint>;
}

interface Validated {
  readonly ok: true;
  readonly pool: AllocatorPool;
  readonly addresses: readonly Address[];
  readonly identity: SharingIdentity;
}

/** Whether addresses were asked for by the service, or are already in its status. */
type ClaimKind = 'requested' | 'existing';

function capacityOf(pool: AllocatorPool): Record<Family, bigint> {
  const capacity: Record<Family, bigint> = { 4: 0n, 6: 0n };
  for (const range of pool.ranges) capacity[range.family] += usableAddressCount(range, pool.avoidBuggyIPs);
  return capacity;
}

function avoidsAddress(pool: AllocatorPool, address: Address): boolean {
  return pool.avoidBuggyIPs && address.family === 4 && isBuggyIPv4(address.value);
}

function sameAddressSet(a: readonly Address[], b: readonly Address[]): boolean {
  return a.length === b.length && a.every((address) => b.some((other) => sameAddress(address, other)));
}

function assigned(service: AllocatorService, addresses: readonly Address[], pool: string): Assigned {
  const ordered = inFamilyOrder(service, addresses);
  return { ok: true, ips: ordered.map(formatAddress), addresses: ordered, pool };
}

export class Allocator {
  private readonly pools = new Map<string, PoolEntry>();
  private readonly holdings = new ChurnSafeMap<string, Holding>();
  private readonly book = new AddressBook();

  constructor(pools: Iterable<AllocatorPool> = []) {
    this.setPools(pools);
  }

  /**
   * Replaces the pool set. An assignment stays when one pool still holds all its addresses (re-homed when
   * that pool has another name); otherwise it is released and reported, so the service gets a new address.
   * Whether the service is still admitted by its pool is checked when the service is next converged.
   */
  setPools(pools: Iterable<AllocatorPool>): PoolChangeReport {
    this.pools.clear();
    for (const pool of [...pools].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      this.pools.set(pool.name, { pool, capacity: capacityOf(pool) });
    }
    const released: ReleasedAssignment[] = [];
    const rehomed: { service: string; from: string; to: string }[] = [];
    for (const [key, holding] of [...this.holdings]) {
      const home = this.locate(holding.service, holding.addresses, 'existing');
      if (!home.ok) {
        this.drop(key);
        released.push({
          service: key,
          ips: holding.addresses.map(formatAddress),
          pool: holding.pool,
          reason: home.reason,
        });
      } else if (home.pool.name !== holding.pool) {
        for (const address of holding.addresses) this.book.rehome(address, home.pool.name);
        rehomed.push({ service: key, from: holding.pool, to: home.pool.name });
        holding.pool = home.pool.name;
      }
    }
    return { released, rehomed };
  }

  /** The pools, by name. */
  poolList(): AllocatorPool[] {
    return [...this.pools.values()].map((entry) => entry.pool);
  }

  /** What the service holds now, if anything. */
  assignmentOf(service: ServiceRef): Assigned | undefined {
    const holding = this.holdings.get(serviceKey(service));
    return holding && assigned(holding.service, holding.addresses, holding.pool);
  }

  /** The services (namespace/name) holding an address. */
  holdersOf(ip: string): string[] {
    const address = parseAddress(ip);
    const record = address && this.book.holders(address);
    return record ? [...record.services].sort() : [];
  }

  /**
   * Whether the service may keep these addresses (from its status) under the current pools, annotations
   * and other holders, without changing anything. The refusal says why not.
   */
  check(service: AllocatorService, ips: readonly string[]): AllocationResult {
    const claim = this.parseClaim(service, ips);
    if (!claim.ok) return claim;
    const validated = this.validate(service, claim.addresses, 'status.loadBalancer.ingress', 'existing');
    return validated.ok ? assigned(service, validated.addresses, validated.pool.name) : validated;
  }

  /**
   * Registers addresses the service already has (its status), replacing what it held. Used to rebuild state
   * after a restart and to re-validate on every reconcile. Refused when another service holds an address
   * without a compatible sharing key, when the addresses left the pools, or when the service now asks for
   * something else; the service then keeps what it held before the call.
   */
  assign(service: AllocatorService, ips: readonly string[]): AllocationResult {
    const claim = this.parseClaim(service, ips);
    if (!claim.ok) return claim;
    const validated = this.validate(service, claim.addresses, 'status.loadBalancer.ingress', 'existing');
    if (!validated.ok) return validated;
    this.hold(service, validated);
    return assigned(service, validated.addresses, validated.pool.name);
  }

  /**
   * Re-registers many services' existing addresses before anything new is allocated, so a restart never
   * moves an address. The oldest service wins an address claimed by two services that may not share it.
   */
  rebuild(existing: readonly ExistingAssignment[]): RebuildReport {
    const ordered = existing
      .filter((entry) => entry.ips.length > 0)
      .sort(
        (a, b) =>
          (a.service.createdAt ?? Number.POSITIVE_INFINITY) -
            (b.service.createdAt ?? Number.POSITIVE_INFINITY) ||
          (serviceKey(a.service) < serviceKey(b.service) ? -1 : 1),
      );
    const kept: { service: string; assignment: Assigned }[] = [];
    const refused: { service: string; ips: readonly string[]; refusal: Refused }[] = [];
    for (const entry of ordered) {
      const result = this.assign(entry.service, entry.ips);
      if (result.ok) kept.push({ service: serviceKey(entry.service), assignment: result });
      else refused.push({ service: serviceKey(entry.service), ips: entry.ips, refusal: result });
    }
    return { kept, refused };
  }

  /**
   * Allocates addresses for the service by the rules (requested addresses, then the named pool, then
   * automatic pools), replacing what it held. On refusal the service keeps what it held before the call.
   */
  allocate(service: AllocatorService): AllocationResult {
    const key = serviceKey(service);
    const previous = this.holdings.get(key);
    if (previous) this.drop(key);
    const result = this.allocateFresh(service);
    if (!result.ok && previous) this.restore(key, previous);
    return result;
  }

  /**
   * For a PreferDualStack service holding one family: adds the other family from the same pool when it has
   * a free (or shareable) address. Undefined when there is nothing to add; a refusal when the pool is full.
   */
  extend(service: AllocatorService): AllocationResult | undefined {
    const holding = this.holdings.get(serviceKey(service));
    const plan = planFamilies(service);
    if (!holding || !isFamilyPlan(plan) || service.ipFamilyPolicy !== 'PreferDualStack') return undefined;
    if (plan.preferred.length < 2 || holding.addresses.length !== 1) return undefined;
    const intent = readServiceIntent(service);
    if (!intent.ok || intent.intent.requested) return undefined;
    const entry = this.pools.get(holding.pool);
    const held = holding.addresses[0] as Address;
    const missing = plan.preferred.find((family) => family !== held.family);
    if (!entry || missing === undefined) return undefined;
    const address = this.pickFamily(entry.pool, missing, service, holding.identity);
    if (!address) {
      return {
        ok: false,
        code: 'exhausted',
        reason:
          `${describeService(service)} (PreferDualStack) keeps only ${formatAddress(held)}: ` +
          `${describePool(entry.pool.name)} has no free ${familyName(missing)} address to add`,
      };
    }
    const addresses = [...holding.addresses, address];
    this.hold(service, { ok: true, pool: entry.pool, addresses, identity: holding.identity });
    return assigned(service, addresses, entry.pool.name);
  }

  /** Frees what the service holds (deleted, no longer a LoadBalancer, or about to be re-allocated). */
  release(service: ServiceRef): ReleasedAssignment | undefined {
    const key = serviceKey(service);
    const holding = this.holdings.get(key);
    if (!holding) return undefined;
    this.drop(key);
    return { service: key, ips: holding.addresses.map(formatAddress), pool: holding.pool };
  }

  /** Capacity and use per pool and family, by pool name. */
  stats(): PoolStats[] {
    return [...this.pools.keys()].map((name) => this.poolStats(name) as PoolStats);
  }

  poolStats(name: string): PoolStats | undefined {
    const entry = this.pools.get(name);
    if (!entry) return undefined;
    const inUse = { ipv4: this.book.inUse(name, 4), ipv6: this.book.inUse(name, 6) };
    const available = (capacity: bigint, used: number): bigint =>
      capacity > BigInt(used) ? capacity - BigInt(used) : 0n;
    return {
      pool: name,
      capacity: { ipv4: entry.capacity[4], ipv6: entry.capacity[6] },
      inUse,
      available: {
        ipv4: available(entry.capacity[4], inUse.ipv4),
        ipv6: available(entry.capacity[6], inUse.ipv6),
      },
    };
  }

  private allocateFresh(service: AllocatorService): AllocationResult {
    const intent = readServiceIntent(service);
    if (!intent.ok) return intent;
    const { requested, pool: poolAnnotation, sharingKey } = intent.intent;
    if (requested) {
      const validated = this.validate(service, requested.addresses, requested.source, 'requested');
      if (!validated.ok) return validated;
      this.hold(service, validated);
      return assigned(service, validated.addresses, validated.pool.name);
    }
    const plan = planFamilies(service);
    if (!isFamilyPlan(plan)) return plan;
    const identity = sharingIdentity(service, sharingKey);
    const who = describeService(service);
    let tiers: (readonly AllocatorPool[])[];
    if (poolAnnotation) {
      const entry = this.pools.get(poolAnnotation.value);
      if (!entry) {
        const known = [...this.pools.keys()];
        return {
          ok: false,
          code: 'unknown-pool',
          reason:
            `${who} asks for ${describePool(poolAnnotation.value)} (${poolAnnotation.key}), which does not exist; ` +
            (known.length > 0
              ? `use one of ${joinWords(known.map((name) => `"${name}"`))}, or create it`
              : 'create it'),
        };
      }
      const refusal = allocationRefusal(entry.pool, service);
      if (refusal) {
        return {
          ok: false,
          code: 'pool-not-allowed',
          reason: `${who} asks for ${describePool(entry.pool.name)} (${poolAnnotation.key}), but ${refusal}; change the pool's serviceAllocation or ask for another pool`,
        };
      }
      tiers = [[entry.pool]];
    } else {
      const candidates = automaticCandidates(
        [...this.pools.values()].map((entry) => entry.pool),
        service,
      );
      if (candidates.tiers.length === 0) {
        if (this.pools.size === 0) {
          return {
            ok: false,
            code: 'no-pool',
            reason: `${who} cannot get an address: no IPAddressPool exists; create one`,
          };
        }
        const pools = [...this.pools.values()].map((entry) => entry.pool);
        return {
          ok: false,
          // Not even a pool named by annotation would admit this namespace: say so, it is the usual cause.
          code: pools.some((pool) => admitsNamespace(pool, service))
            ? 'no-eligible-pool'
            : 'no-pool-for-namespace',
          reason: `${who} cannot get an address: no IPAddressPool may serve it automatically: ${candidates.skipped.join('; ')}`,
        };
      }
      tiers = candidates.tiers.map((tier) => [...tier]);
    }
    const picked = this.search(tiers, plan, service, identity);
    if (picked) {
      const validated: Validated = { ok: true, pool: picked.pool, addresses: picked.addresses, identity };
      this.hold(service, validated);
      return assigned(service, picked.addresses, picked.pool.name);
    }
    return this.explainNoAddress(tiers.flat(), plan, service, identity, poolAnnotation?.key);
  }

  /** The first pick the plan allows: within each tier both families from one pool, then single families. */
  private search(
    tiers: readonly (readonly AllocatorPool[])[],
    plan: FamilyPlan,
    service: AllocatorService,
    identity: SharingIdentity,
  ): { pool: AllocatorPool; addresses: Address[] } | undefined {
    for (const tier of tiers) {
      for (const pool of tier) {
        const addresses: Address[] = [];
        for (const family of plan.preferred) {
          const address = this.pickFamily(pool, family, service, identity);
          if (!address) break;
          addresses.push(address);
        }
        if (addresses.length === plan.preferred.length) return { pool, addresses };
      }
      for (const family of plan.fallbacks) {
        for (const pool of tier) {
          const address = this.pickFamily(pool, family, service, identity);
          if (address) return { pool, addresses: [address] };
        }
      }
    }
    return undefined;
  }

  /** The pool's lowest address of the family that is free or may be shared, ranges in declared order. */
  private pickFamily(
    pool: AllocatorPool,
    family: Family,
    service: AllocatorService,
    identity: SharingIdentity,
  ): Address | undefined {
    for (const range of pool.ranges) {
      if (range.family !== family) continue;
      const free = this.book.lowestFree(range, pool.avoidBuggyIPs);
      const shared =
        identity.key === undefined ? undefined : this.lowestShareable(range, pool, service, identity, free);
      const best = shared !== undefined && (free === undefined || shared < free) ? shared : free;
      if (best !== undefined) return { family, value: best };
    }
    return undefined;
  }

  /** The lowest address in the range held under the service's sharing key that it may join, below `bound`. */
  private lowestShareable(
    range: AddressRange,
    pool: AllocatorPool,
    service: AllocatorService,
    identity: SharingIdentity,
    bound: bigint | undefined,
  ): bigint | undefined {
    let best = bound;
    let found: bigint | undefined;
    for (const record of this.book.sharedUnder(identity.key as string)) {
      const { address } = record;
      if (!rangeContains(range, address) || avoidsAddress(pool, address)) continue;
      if (best !== undefined && address.value >= best) continue;
      if (sharingRefusal(address, record, service, identity)) continue;
      best = address.value;
      found = address.value;
    }
    return found;
  }

  private explainNoAddress(
    pools: readonly AllocatorPool[],
    plan: FamilyPlan,
    service: AllocatorService,
    identity: SharingIdentity,
    /** The annotation that named the pool, when the service asked for one. */
    namedBy?: string,
  ): Refused {
    const who = describeService(service);
    const families = (pool: AllocatorPool): Set<Family> => new Set(pool.ranges.map((range) => range.family));
    const describeFamilies = (pool: AllocatorPool): string => {
      const held = [...families(pool)].sort();
      return `${describePool(pool.name)} has ${held.length === 0 ? 'no addresses' : `${held.map(familyName).join(' and ')} addresses only`}`;
    };
    const scope =
      namedBy && pools[0]
        ? `${describePool(pools[0].name)}, which ${namedBy} asks for,`
        : `every pool it may use (${joinWords(pools.map((pool) => `"${pool.name}"`))})`;
    const wanted = plan.fallbacks.length > 0 ? plan.fallbacks : plan.preferred;
    const dualRequired = plan.fallbacks.length === 0 && plan.preferred.length === 2;
    if (dualRequired && !pools.some((pool) => families(pool).size === 2)) {
      return {
        ok: false,
        code: 'no-dual-stack-pool',
        reason:
          `${who} has ipFamilyPolicy RequireDualStack and needs one IPv4 and one IPv6 address from one pool, ` +
          `but ${pools.map(describeFamilies).join('; ')}; add the missing family to the pool's spec.addresses, ` +
          'or set ipFamilyPolicy PreferDualStack',
      };
    }
    if (!dualRequired && !pools.some((pool) => wanted.some((family) => families(pool).has(family)))) {
      return {
        ok: false,
        code: 'no-pool-of-family',
        reason:
          `${who} needs an ${wanted.map(familyName).join(' or ')} address, but ${pools.map(describeFamilies).join('; ')}; ` +
          'add addresses of that family to a pool it may use',
      };
    }
    const usage = pools
      .map((pool) => {
        const stats = this.poolStats(pool.name);
        const parts = [...families(pool)].sort().map((family) => {
          const key = family === 4 ? 'ipv4' : 'ipv6';
          return `${familyName(family)} ${stats?.inUse[key] ?? 0} of ${stats?.capacity[key] ?? 0n} in use`;
        });
        return `${describePool(pool.name)}: ${parts.join(', ')}`;
      })
      .join('; ');
    const sharing =
      identity.key === undefined
        ? ''
        : ` No address shared under metallb.io/allow-shared-ip "${identity.key}" has the service's ports free.`;
    return {
      ok: false,
      code: 'exhausted',
      reason:
        `${who} cannot get ${dualRequired ? 'an IPv4 and an IPv6' : `an ${wanted.map(familyName).join(' or ')}`} ` +
        `address: ${scope} is full (${usage}).${sharing} Add addresses to a pool, ` +
        'or delete services that no longer need one.',
    };
  }

  private parseClaim(
    service: AllocatorService,
    ips: readonly string[],
  ): { ok: true; addresses: Address[] } | Refused {
    const addresses: Address[] = [];
    for (const ip of ips) {
      const address = parseAddress(ip);
      if (!address) {
        return {
          ok: false,
          code: 'invalid-request',
          reason: `${describeService(service)}: status.loadBalancer.ingress holds "${ip}", which is not an IP address`,
        };
      }
      addresses.push(address);
    }
    if (addresses.length === 0) {
      return {
        ok: false,
        code: 'invalid-request',
        reason: `${describeService(service)}: no address to register`,
      };
    }
    return { ok: true, addresses };
  }

  /** The one pool holding every address and admitting the service, or why there is none. */
  private locate(
    service: AllocatorService,
    addresses: readonly Address[],
    kind: ClaimKind,
  ): { ok: true; pool: AllocatorPool } | Refused {
    const who = describeService(service);
    const verb = kind === 'requested' ? 'requests' : 'holds';
    const fix =
      kind === 'requested'
        ? "add it to an IPAddressPool's spec.addresses, or request an address that a pool contains"
        : 'it will get a new address';
    let home: AllocatorPool | undefined;
    for (const address of addresses) {
      const ip = formatAddress(address);
      const containing = [...this.pools.values()]
        .map((entry) => entry.pool)
        .filter((pool) => pool.ranges.some((range) => rangeContains(range, address)));
      const usable = containing.find((pool) => !avoidsAddress(pool, address));
      if (!usable) {
        if (containing[0]) {
          return {
            ok: false,
            code: 'avoided-address',
            reason:
              `${who} ${verb} ${ip}, which ${describePool(containing[0].name)} does not hand out because it ends ` +
              `in .0 or .255 and the pool sets avoidBuggyIPs; ${kind === 'requested' ? 'request another address' : fix}`,
          };
        }
        return {
          ok: false,
          code: 'not-in-any-pool',
          reason: `${who} ${verb} ${ip}, but no IPAddressPool contains it; ${fix}`,
        };
      }
      if (home && home.name !== usable.name) {
        return {
          ok: false,
          code: 'split-across-pools',
          reason:
            `${who} ${verb} ${formatAddresses(addresses)}, which lie in ${describePool(home.name)} and ` +
            `${describePool(usable.name)}; a service's addresses must come from one pool`,
        };
      }
      home = usable;
    }
    return { ok: true, pool: home as AllocatorPool };
  }

  private validate(
    service: AllocatorService,
    addresses: readonly Address[],
    source: string,
    kind: ClaimKind,
  ): Validated | Refused {
    const who = describeService(service);
    const intent = readServiceIntent(service);
    if (!intent.ok) return intent;
    const familyRefusal = checkAddressFamilies(service, addresses, source);
    if (familyRefusal) return familyRefusal;
    const located = this.locate(service, addresses, kind);
    if (!located.ok) return located;
    const { pool } = located;
    const refusal = allocationRefusal(pool, service);
    if (refusal) {
      return {
        ok: false,
        code: 'pool-not-allowed',
        reason:
          `${who} ${kind === 'requested' ? 'requests' : 'holds'} ${formatAddresses(addresses)}, but ${refusal}; ` +
          "change the pool's serviceAllocation, or use an address of a pool that admits the service",
      };
    }
    const { pool: poolAnnotation, requested, sharingKey } = intent.intent;
    if (poolAnnotation && poolAnnotation.value !== pool.name) {
      return {
        ok: false,
        code: 'pool-mismatch',
        reason:
          `${who} ${kind === 'requested' ? 'requests' : 'holds'} ${formatAddresses(addresses)} from ` +
          `${describePool(pool.name)}, but ${poolAnnotation.key} asks for ${describePool(poolAnnotation.value)}; ` +
          'make the two agree',
      };
    }
    if (kind === 'existing' && requested && !sameAddressSet(requested.addresses, addresses)) {
      return {
        ok: false,
        code: 'request-mismatch',
        reason:
          `${who} holds ${formatAddresses(addresses)}, but ${requested.source} now asks for ` +
          `${formatAddresses(requested.addresses)}`,
      };
    }
    const identity = sharingIdentity(service, sharingKey);
    for (const address of addresses) {
      const holders = this.book.holders(address);
      const conflict = holders && sharingRefusal(address, holders, service, identity);
      if (conflict) return conflict;
    }
    return { ok: true, pool, addresses, identity };
  }

  private hold(service: AllocatorService, validated: Validated): void {
    const key = serviceKey(service);
    if (this.holdings.has(key)) this.drop(key);
    for (const address of validated.addresses)
      this.book.hold(address, validated.pool.name, key, validated.identity);
    this.holdings.set(key, {
      service,
      addresses: validated.addresses,
      pool: validated.pool.name,
      identity: validated.identity,
    });
  }

  private restore(key: string, holding: Holding): void {
    for (const address of holding.addresses) this.book.hold(address, holding.pool, key, holding.identity);
    this.holdings.set(key, holding);
  }

  private drop(key: string): void {
    const holding = this.holdings.get(key);
    if (!holding) return;
    for (const address of holding.addresses) this.book.letGo(address, key);
    this.holdings.delete(key);
  }
}
