/** The speaker's pure decisions: what this node announces, to whom, and why it leaves things out. */
export type * from './types.js';
export { planBgp, type BgpPlanInput } from './bgp.js';
export { planNodeFromObject, nodeExclusion, EXCLUDE_FROM_LOAD_BALANCERS_LABEL } from './node.js';
export { sessionFamilies } from './peers.js';
export { POOL_ANNOTATIONS, SERVICE_NAME_LABEL, serviceKey } from './service.js';
