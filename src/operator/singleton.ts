/**
 * A cluster has exactly one MetalLB resource: named `metallb`, in the operator's namespace. Any other one is
 * answered, never ignored: it gets Degraded with a reason and a message saying what to do, and a Warning
 * event, and nothing is deployed for it.
 */
import { metallbResourceName } from './render/index.js';
import type { Finding } from './conditions.js';

export type SingletonDecision =
  { readonly kind: 'manage' } | { readonly kind: 'reject'; readonly finding: Finding };

export interface SingletonInput {
  readonly name: string;
  readonly namespace: string;
  /** The operator's namespace. */
  readonly operatorNamespace: string;
  /** Whether a MetalLB named `metallb` exists in the operator's namespace (this one or another). */
  readonly theOneExists: boolean;
}

export function singletonDecision(input: SingletonInput): SingletonDecision {
  const { name, namespace, operatorNamespace } = input;
  if (namespace !== operatorNamespace) {
    return {
      kind: 'reject',
      finding: {
        reason: 'WrongNamespace',
        message:
          `MetalLB resources are read only from the operator's namespace ${operatorNamespace}, and this one is ` +
          `in ${namespace}: create it as ${operatorNamespace}/${metallbResourceName} and delete this one`,
      },
    };
  }
  if (name === metallbResourceName) return { kind: 'manage' };
  if (input.theOneExists) {
    return {
      kind: 'reject',
      finding: {
        reason: 'DuplicateMetalLBResource',
        message:
          `a cluster has exactly one MetalLB resource and ${operatorNamespace}/${metallbResourceName} is it: ` +
          `this second one, "${name}", deploys nothing; move its settings to ${metallbResourceName} and delete it`,
      },
    };
  }
  return {
    kind: 'reject',
    finding: {
      reason: 'IncorrectMetalLBResourceName',
      message:
        `the MetalLB resource must be named "${metallbResourceName}", not "${name}": this one deploys nothing. ` +
        `Create ${operatorNamespace}/${metallbResourceName} with the same spec and delete this one`,
    },
  };
}
