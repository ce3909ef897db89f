/**
 * What one convergence means for the Service object: the status to write, the pool annotation to set or
 * remove, the events to record, and what the reconciler must do for other services. Pure, so every rule
 * about when to write and what to say is pinned by unit tests.
 */
import type { Convergence } from './allocator/index.js';

export const EVENT_REASONS = {
  allocated: 'IPAllocated',
  allocationFailed: 'AllocationFailed',
  cleared: 'ClearAssignment',
  additionalFailed: 'AdditionalAssignFailed',
  deprecatedAnnotation: 'DeprecatedAnnotation',
  invalidConfig: 'InvalidConfiguration',
} as const;

export interface ServiceEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  /** What was done or tried, for events.k8s.io's action field. */
  readonly action: string;
  readonly note: string;
}

export interface ServiceUpdate {
  /** status.loadBalancer.ingress to write (empty clears it), or undefined to leave status alone. */
  readonly ingress?: readonly string[] | undefined;
  /** The ip-allocated-from-pool annotation: a pool name to set, null to remove, undefined to leave. */
  readonly poolAnnotation?: string | null | undefined;
  readonly events: readonly ServiceEvent[];
  /** The service has no address and waits for one: retry it whenever addresses are released. */
  readonly waiting: boolean;
  /** Addresses were given up here, so services waiting for one should be retried. */
  readonly releasedAddresses: boolean;
}

export interface ServiceUpdateInput {
  readonly convergence: Convergence;
  /** The service's current metallb.io/ip-allocated-from-pool annotation. */
  readonly currentPoolAnnotation: string | undefined;
  /**
   * Whether the service belongs to this controller's load-balancer class. A service of another class is
   * someone else's: its status and annotations are never touched, only our memory of it is dropped.
   */
  readonly servedClass: boolean;
}

function annotationFor(current: string | undefined, wanted: string | undefined): string | null | undefined {
  if (wanted === undefined) return current === undefined ? undefined : null;
  return current === wanted ? undefined : wanted;
}

export function planServiceUpdate(input: ServiceUpdateInput): ServiceUpdate {
  const { convergence, currentPoolAnnotation } = input;
  const ingress = convergence.changed ? convergence.ips : undefined;
  const events: ServiceEvent[] = [];
  switch (convergence.kind) {
    case 'ignored':
      if (!input.servedClass) {
        return { events, waiting: false, releasedAddresses: convergence.released !== undefined };
      }
      return {
        ingress,
        poolAnnotation: annotationFor(currentPoolAnnotation, undefined),
        events,
        waiting: false,
        releasedAddresses: convergence.released !== undefined,
      };
    case 'kept':
      if (convergence.extendRefused) {
        events.push({
          type: 'Normal',
          reason: EVENT_REASONS.additionalFailed,
          action: 'Allocate',
          note: convergence.extendRefused.reason,
        });
      }
      return {
        ingress,
        poolAnnotation: annotationFor(currentPoolAnnotation, convergence.pool),
        events,
        waiting: false,
        releasedAddresses: false,
      };
    case 'assigned':
      if (convergence.dropped) {
        events.push({
          type: 'Normal',
          reason: EVENT_REASONS.cleared,
          action: 'Release',
          note:
            `Current IP ${convergence.dropped.ips.join(', ')} not allowed by config, will attempt for new IP ` +
            `assignment: ${convergence.dropped.reason}`,
        });
      }
      if (convergence.changed) {
        const from = `from IPAddressPool "${convergence.pool}"`;
        // Events aggregate on reason and action, keeping the first note: a replacement gets its own action,
        // so the new address is not hidden behind the note of the first assignment.
        events.push({
          type: 'Normal',
          reason: EVENT_REASONS.allocated,
          action: convergence.dropped ? 'Reallocate' : 'Allocate',
          note: convergence.extended
            ? `Assigned additional IP, now ${convergence.ips.join(', ')} ${from}`
            : convergence.dropped
              ? `Assigned IP ${convergence.ips.join(', ')} ${from} in place of ${convergence.dropped.ips.join(', ')}`
              : `Assigned IP ${convergence.ips.join(', ')} ${from}`,
        });
      }
      return {
        ingress,
        poolAnnotation: annotationFor(currentPoolAnnotation, convergence.pool),
        events,
        waiting: false,
        releasedAddresses: convergence.dropped !== undefined,
      };
    case 'failed':
      if (convergence.dropped) {
        events.push({
          type: 'Normal',
          reason: EVENT_REASONS.cleared,
          action: 'Release',
          note:
            `Current IP ${convergence.dropped.ips.join(', ')} not allowed by config, will attempt for new IP ` +
            `assignment: ${convergence.dropped.reason}`,
        });
      }
      events.push({
        type: 'Warning',
        reason: EVENT_REASONS.allocationFailed,
        action: 'Allocate',
        note: `Failed to allocate IP: ${convergence.refusal.reason}`,
      });
      return {
        ingress,
        poolAnnotation: annotationFor(currentPoolAnnotation, undefined),
        events,
        waiting: true,
        releasedAddresses: convergence.dropped !== undefined,
      };
  }
}

/**
 * The deprecation warning for metallb.universe.tf/ annotations, once per distinct set: `lastWarned` is the
 * set last warned about for this service ('' for none).
 */
export function deprecationWarning(
  legacyAnnotations: readonly string[],
  lastWarned: string,
): { readonly event?: ServiceEvent; readonly warned: string } {
  const warned = legacyAnnotations.join(',');
  if (warned === '' || warned === lastWarned) return { warned };
  const replacements = legacyAnnotations.map((key) => key.replace(/^metallb\.universe\.tf\//, 'metallb.io/'));
  return {
    warned,
    event: {
      type: 'Warning',
      reason: EVENT_REASONS.deprecatedAnnotation,
      action: 'Validate',
      note:
        `Service uses deprecated annotation${legacyAnnotations.length > 1 ? 's' : ''} ${legacyAnnotations.join(', ')}; ` +
        `use ${replacements.join(', ')} instead`,
    },
  };
}
