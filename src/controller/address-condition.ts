/**
 * The `metallb.io/AddressAssigned` condition in a Service's status.conditions, so `kubectl get svc -o
 * jsonpath='{.status.conditions}'` says why a Service is pending without reading events or logs: False with
 * a stable reason code per allocator refusal and the allocator's own sentence, True with the addresses once
 * it has them. Pure: the reconciler sends the result in the status patch it writes anyway.
 *
 * Only this one condition type is ever added, changed or removed; conditions of other controllers are
 * carried over untouched (the patch is guarded by the resourceVersion the decision was made from).
 */
import type { V1Condition, V1Service } from '@kubernetes/client-node';
import type { Convergence, RefusalCode } from './allocator/index.js';

export const ADDRESS_ASSIGNED_CONDITION = 'metallb.io/AddressAssigned';

/** The reason of the True condition. */
export const ASSIGNED_REASON = 'Assigned';

/**
 * One reason per allocator refusal. Part of the API (alerts and scripts match on them): rename none; a new
 * refusal code needs a new reason, which the Record type enforces.
 */
export const REFUSAL_REASONS: Readonly<Record<RefusalCode, string>> = {
  'invalid-request': 'InvalidRequest',
  'no-ip-family': 'IPFamilyUnknown',
  'family-mismatch': 'IPFamilyMismatch',
  'not-in-any-pool': 'AddressNotInAnyPool',
  'split-across-pools': 'AddressesInDifferentPools',
  'avoided-address': 'AddressAvoided',
  'pool-not-allowed': 'PoolNotAllowed',
  'unknown-pool': 'PoolNotFound',
  'pool-mismatch': 'PoolMismatch',
  'request-mismatch': 'RequestMismatch',
  'address-in-use': 'RequestedAddressInUse',
  'sharing-conflict': 'SharingConflict',
  'no-pool': 'NoIPAddressPool',
  'no-pool-for-namespace': 'NoPoolForNamespace',
  'no-eligible-pool': 'NoMatchingPool',
  'no-pool-of-family': 'NoPoolOfFamily',
  'no-dual-stack-pool': 'NoDualStackPool',
  exhausted: 'PoolExhausted',
};

/** metav1.Condition's message limit; the API server rejects the whole status write beyond it. */
const maxMessageLength = 32_768;

/** What the condition says, before it gets a transition time and a generation. */
export interface AddressConditionState {
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
}

/**
 * What the condition should be after a convergence: a state to hold, 'remove' when the Service is no longer
 * a LoadBalancer we serve, or 'leave' when its status is another controller's (another load-balancer class,
 * which may be another MetalLB writing this very condition type).
 */
export type AddressConditionWish = AddressConditionState | 'remove' | 'leave';

function bounded(message: string): string {
  return message.length <= maxMessageLength ? message : `${message.slice(0, maxMessageLength - 1)}…`;
}

/**
 * The True message names the addresses and pool only, so that keeping an assignment says exactly what
 * assigning it said and a reconcile that changes nothing writes nothing.
 */
export function assignedMessage(ips: readonly string[], pool: string): string {
  return `Assigned ${ips.join(', ')} from IPAddressPool "${pool}"`;
}

export function addressConditionFor(convergence: Convergence, servedClass: boolean): AddressConditionWish {
  switch (convergence.kind) {
    case 'ignored':
      return servedClass ? 'remove' : 'leave';
    case 'kept':
    case 'assigned':
      return {
        status: 'True',
        reason: ASSIGNED_REASON,
        message: assignedMessage(convergence.ips, convergence.pool),
      };
    case 'failed':
      return {
        status: 'False',
        reason: REFUSAL_REASONS[convergence.refusal.code],
        message: bounded(convergence.refusal.reason),
      };
  }
}

/** Our condition in the Service's status, if it has one. */
export function addressConditionOf(service: V1Service): V1Condition | undefined {
  return service.status?.conditions?.find((condition) => condition.type === ADDRESS_ASSIGNED_CONDITION);
}

/** metav1.Time has whole seconds; a millisecond timestamp would look like a change on every comparison. */
export function conditionTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function timeText(time: Date | string | undefined): string | undefined {
  if (time === undefined) return undefined;
  return typeof time === 'string' ? time : conditionTime(time.getTime());
}

export interface ConditionInput {
  /** Our condition as the Service has it now (or as we last wrote it, when the cache lags behind). */
  readonly current: V1Condition | undefined;
  readonly wish: AddressConditionWish;
  /** metadata.generation of the Service the decision was made from. */
  readonly generation: number | undefined;
  readonly now: number;
}

/**
 * The condition to write: a new value, null to remove it, or undefined when it already says this. The
 * transition time moves only when the status does, so it tells since when a Service has been pending.
 */
export function nextAddressCondition(input: ConditionInput): V1Condition | null | undefined {
  const { current, wish, generation } = input;
  if (wish === 'leave') return undefined;
  if (wish === 'remove') return current ? null : undefined;
  if (
    current &&
    current.status === wish.status &&
    current.reason === wish.reason &&
    current.message === wish.message &&
    current.observedGeneration === generation
  ) {
    return undefined;
  }
  const kept = current?.status === wish.status ? timeText(current.lastTransitionTime) : undefined;
  return {
    type: ADDRESS_ASSIGNED_CONDITION,
    status: wish.status,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime: (kept ?? conditionTime(input.now)) as unknown as Date,
    reason: wish.reason,
    message: wish.message,
  };
}

/**
 * status.conditions with ours replaced (or removed) and every other condition as it is, in its place; null
 * when nothing is left, so a merge patch removes the field rather than writing an empty list.
 */
export function conditionsWith(
  existing: readonly V1Condition[] | undefined,
  ours: V1Condition | null,
): V1Condition[] | null {
  const others = existing ?? [];
  const index = others.findIndex((condition) => condition.type === ADDRESS_ASSIGNED_CONDITION);
  const result =
    index < 0
      ? [...others, ...(ours ? [ours] : [])]
      : [...others.slice(0, index), ...(ours ? [ours] : []), ...others.slice(index + 1)];
  return result.length > 0 ? result : null;
}
