/** Which IP families a service gets addresses of, from spec.ipFamilies and spec.ipFamilyPolicy. */
import type { Address, Family } from '../../net/ip.js';
import { familyName } from '../../net/ip-math.js';
import { describeService, formatAddresses } from './describe.js';
import type { AllocatorService, Refused } from './types.js';

export interface FamilyPlan {
  /** Families to get from one pool, primary first. */
  readonly preferred: readonly Family[];
  /** Single families to fall back to, in order, when no pool can give all of `preferred`. */
  readonly fallbacks: readonly Family[];
}

function describeFamilies(families: readonly Family[]): string {
  return families.length === 0 ? 'none' : families.map(familyName).join(' and ');
}

/**
 * The families to allocate. The cluster IPs decide: a PreferDualStack service in a single-stack cluster
 * has one cluster IP family, and an address of another family would reach no backend.
 */
export function planFamilies(service: AllocatorService): FamilyPlan | Refused {
  const families = [...new Set(service.ipFamilies)];
  const [primary, secondary] = families;
  const who = describeService(service);
  if (primary === undefined) {
    return {
      ok: false,
      code: 'no-ip-family',
      reason: `${who} has no spec.ipFamilies (no cluster IP yet), so its address family is unknown; it is retried once Kubernetes assigns a cluster IP`,
    };
  }
  if (service.ipFamilyPolicy === 'SingleStack' || secondary === undefined) {
    if (service.ipFamilyPolicy === 'RequireDualStack') {
      return {
        ok: false,
        code: 'family-mismatch',
        reason: `${who} has ipFamilyPolicy RequireDualStack but only ${familyName(primary)} cluster IPs; the cluster must give it both families, or set ipFamilyPolicy PreferDualStack`,
      };
    }
    return { preferred: [primary], fallbacks: [] };
  }
  if (service.ipFamilyPolicy === 'RequireDualStack')
    return { preferred: [primary, secondary], fallbacks: [] };
  return { preferred: [primary, secondary], fallbacks: [primary, secondary] };
}

export function isFamilyPlan(plan: FamilyPlan | Refused): plan is FamilyPlan {
  return !('ok' in plan);
}

/**
 * Whether a set of addresses (requested, or already in status) fits the service's families: one per
 * family, only families of its cluster IPs, both when RequireDualStack, one when SingleStack.
 */
export function checkAddressFamilies(
  service: AllocatorService,
  addresses: readonly Address[],
  source: string,
): Refused | undefined {
  const plan = planFamilies(service);
  if (!isFamilyPlan(plan)) return plan;
  const who = describeService(service);
  const families = addresses.map((address) => address.family);
  const mismatch = (why: string): Refused => ({
    ok: false,
    code: 'family-mismatch',
    reason: `${who}: ${source} ${formatAddresses(addresses)} ${why}`,
  });
  if (new Set(families).size !== families.length) {
    return mismatch(
      'holds two addresses of one family; a service takes at most one IPv4 and one IPv6 address',
    );
  }
  const foreign = families.find((family) => !plan.preferred.includes(family));
  if (foreign !== undefined) {
    return mismatch(
      `is ${familyName(foreign)}, but the service's ipFamilies are ${describeFamilies(plan.preferred)}; ` +
        `use an address of the service's family`,
    );
  }
  if (service.ipFamilyPolicy === 'RequireDualStack' && families.length < 2) {
    return mismatch(
      'is a single address, but ipFamilyPolicy RequireDualStack needs one IPv4 and one IPv6 address',
    );
  }
  if (plan.preferred.length === 1 && families.length > 1) {
    return mismatch(
      `has two families, but the service is single-stack (${familyName(plan.preferred[0] as Family)})`,
    );
  }
  return undefined;
}

/** Orders addresses as the service lists its families, primary first. */
export function inFamilyOrder(service: AllocatorService, addresses: readonly Address[]): Address[] {
  const rank = (address: Address): number => {
    const index = service.ipFamilies.indexOf(address.family);
    return index < 0 ? 2 : index;
  };
  return [...addresses].sort((a, b) => rank(a) - rank(b));
}
