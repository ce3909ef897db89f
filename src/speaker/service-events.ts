/**
 * Events on Services about this node's BGP decision, once per change of that decision (not once per
 * reconcile): "announcing from node X", or why not (refused: conflicting advertisements; withheld: no
 * endpoints here, not selected, …). Reasons are upstream's codes, so events read as upstream's do.
 */
import type { BgpPlan, ServiceRef } from './plan/index.js';
import { serviceKey } from './plan/index.js';

export interface ServiceEvent {
  readonly service: ServiceRef;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly note: string;
}

/** Service key → a signature of the last decision reported for it. */
export type ReportedOutcomes = ReadonlyMap<string, string>;

/** Withheld reasons too ordinary to be worth an event: the controller has not assigned an IP yet. */
const quietCodes = new Set(['noIPAllocated']);

/** The events for decisions that changed since `previous`, and the signatures to remember. */
export function serviceOutcomeEvents(
  previous: ReportedOutcomes,
  plan: BgpPlan,
): { readonly events: readonly ServiceEvent[]; readonly reported: ReportedOutcomes } {
  const reported = new Map<string, string>();
  const events: ServiceEvent[] = [];
  const consider = (service: ServiceRef, signature: string, event: () => ServiceEvent | undefined) => {
    const key = serviceKey(service);
    reported.set(key, signature);
    if (previous.get(key) === signature) return;
    const built = event();
    if (built) events.push(built);
  };
  for (const { service } of plan.announced) {
    consider(service, 'announced', () => ({
      service,
      type: 'Normal',
      reason: 'nodeAssigned',
      note: `announcing from node "${plan.node}" with protocol "bgp"`,
    }));
  }
  for (const notice of plan.refused) {
    consider(notice.service, `refused ${notice.code} ${notice.reason}`, () => ({
      service: notice.service,
      type: 'Warning',
      reason: notice.code,
      note: `not announced from node "${plan.node}" over BGP: ${notice.reason}`,
    }));
  }
  for (const notice of plan.withheld) {
    consider(notice.service, `withheld ${notice.code} ${notice.reason}`, () =>
      quietCodes.has(notice.code)
        ? undefined
        : {
            service: notice.service,
            type: 'Normal',
            reason: notice.code,
            note: `not announced from node "${plan.node}" over BGP: ${notice.reason}`,
          },
    );
  }
  return { events, reported };
}
