/** The speaker's pure decisions: what this node announces, to whom, and why it leaves things out. */
export type * from './types.js';
export { planBgp, type BgpPlanInput } from './bgp.js';
export { planNodeFromObject, nodeExclusion, EXCLUDE_FROM_LOAD_BALANCERS_LABEL } from './node.js';
export { sessionFamilies } from './peers.js';
export { POOL_ANNOTATIONS, SERVICE_NAME_LABEL, serviceKey } from './service.js';
export { planL2, type L2PlanInput, type L2Plan, type L2Announcement, type LiveSpeaker } from './l2.js';
export { placeGroups, placementCapacity, type PlacementGroup } from './placement.js';
