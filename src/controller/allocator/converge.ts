/**
 * One reconcile of one service against the allocator: given the service and the addresses in its status,
 * decide what its status should say. Level-based: the status is the truth about what the service has; the
 * allocator's memory is brought in line with it (kept, extended, replaced or released).
 */
import { parseAddress } from '../../net/ip.js';
import type { Allocator, ReleasedAssignment } from './allocator.js';
import { describeService } from './describe.js';
import type { AllocatorService, Refused } from './types.js';

export interface ConvergeOptions {
  /** The controller's --lb-class: unset serves services without spec.loadBalancerClass only. */
  readonly loadBalancerClass?: string | undefined;
}

/** Addresses given up during this reconcile, and why (an event on the service). */
export interface Dropped {
  readonly ips: readonly string[];
  readonly reason: string;
}

interface Outcome {
  /** What status.loadBalancer.ingress should list; empty for none. */
  readonly ips: readonly string[];
  /** Whether that differs from the current status, so status must be written. */
  readonly changed: boolean;
}

export type Convergence =
  /** Not ours (not a LoadBalancer, or another load-balancer class): anything held is released. */
  | (Outcome & { readonly kind: 'ignored'; readonly reason: string; readonly released?: ReleasedAssignment })
  /** The current addresses stay; `extendRefused` says why a PreferDualStack service still has one family. */
  | (Outcome & { readonly kind: 'kept'; readonly pool: string; readonly extendRefused?: Refused })
  /** New addresses: first allocation, an added family, or a replacement for addresses no longer allowed. */
  | (Outcome & {
      readonly kind: 'assigned';
      readonly pool: string;
      readonly extended: boolean;
      readonly dropped?: Dropped;
    })
  /** No address could be given; current addresses, if any, were given up. */
  | (Outcome & { readonly kind: 'failed'; readonly refusal: Refused; readonly dropped?: Dropped });

/** Whether a controller started with `--lb-class` (or without) serves this service. */
export function servesLoadBalancerClass(
  service: AllocatorService,
  loadBalancerClass: string | undefined,
): boolean {
  const own = service.loadBalancerClass ?? '';
  return own === (loadBalancerClass ?? '');
}

function normalise(ips: readonly string[]): string[] {
  return ips
    .map((ip) => ip.trim())
    .filter((ip) => ip !== '')
    .map((ip) => {
      const address = parseAddress(ip);
      return address ? `${address.family}:${address.value}` : ip;
    })
    .sort();
}

function differs(current: readonly string[], next: readonly string[]): boolean {
  const a = normalise(current);
  const b = normalise(next);
  return a.length !== b.length || a.some((value, index) => value !== b[index]);
}

/**
 * Reconciles one service. The caller writes status (and the ip-allocated-from-pool annotation) when
 * `changed`, and, after any release, requeues services that are still waiting for an address.
 */
export function convergeService(
  allocator: Allocator,
  service: AllocatorService,
  currentIps: readonly string[],
  options: ConvergeOptions = {},
): Convergence {
  const current = currentIps.map((ip) => ip.trim()).filter((ip) => ip !== '');
  if (!servesLoadBalancerClass(service, options.loadBalancerClass)) {
    // Another controller owns this service's status: let go of our memory, never write its status.
    const released = allocator.release(service);
    return {
      kind: 'ignored',
      reason: `${describeService(service)} has loadBalancerClass "${service.loadBalancerClass ?? ''}", served by another controller`,
      ips: current,
      changed: false,
      released,
    };
  }
  if (service.type !== 'LoadBalancer') {
    const released = allocator.release(service);
    return {
      kind: 'ignored',
      reason: `${describeService(service)} is of type ${service.type}, not LoadBalancer`,
      ips: [],
      changed: current.length > 0,
      released,
    };
  }

  let dropped: Dropped | undefined;
  if (current.length > 0) {
    const kept = allocator.assign(service, current);
    if (kept.ok) {
      const extension = allocator.extend(service);
      if (extension?.ok) {
        return {
          kind: 'assigned',
          pool: extension.pool,
          ips: extension.ips,
          changed: true,
          extended: true,
        };
      }
      return {
        kind: 'kept',
        pool: kept.pool,
        ips: kept.ips,
        changed: differs(current, kept.ips),
        extendRefused: extension,
      };
    }
    dropped = { ips: current, reason: kept.reason };
    allocator.release(service);
  }

  const result = allocator.allocate(service);
  if (result.ok) {
    return {
      kind: 'assigned',
      pool: result.pool,
      ips: result.ips,
      changed: differs(current, result.ips),
      extended: false,
      dropped,
    };
  }
  return { kind: 'failed', refusal: result, ips: [], changed: current.length > 0, dropped };
}
