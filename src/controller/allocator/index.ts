export { Allocator } from './allocator.js';
export type { ExistingAssignment, PoolChangeReport, RebuildReport, ReleasedAssignment } from './allocator.js';
export {
  ADDRESS_POOL_ANNOTATION,
  ALLOW_SHARED_IP_ANNOTATION,
  IP_ALLOCATED_FROM_POOL_ANNOTATION,
  LOAD_BALANCER_IPS_ANNOTATION,
  legacyAnnotationsOf,
} from './annotations.js';
export { convergeService, servesLoadBalancerClass } from './converge.js';
export type { ConvergeOptions, Convergence, Dropped } from './converge.js';
export { serviceKey } from './describe.js';
export { ingressIPsOf, poolFromResource, serviceFromKubernetes } from './from-kubernetes.js';
export { poolGaugesOf, poolStatusOf } from './stats.js';
export type { PoolGauges } from './stats.js';
export type * from './types.js';
