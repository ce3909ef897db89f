/**
 * What an identity did, from the kube-apiserver's audit log, against what its RBAC rules grant it: every
 * request must fall under a rule (and none was refused), and every rule must have been used. A rule is
 * expanded into one grant per API group, resource, verb and name, so an unused verb of an otherwise used
 * rule still shows.
 */
import type { V1PolicyRule } from '@kubernetes/client-node';

export interface AuditRequest {
  readonly verb: string;
  readonly apiGroup: string;
  /** "resource" or "resource/subresource". */
  readonly resource: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly code: number;
}

export interface Grant {
  readonly apiGroup: string;
  readonly resource: string;
  readonly verb: string;
  /** Undefined: any object. */
  readonly name?: string;
  /** Undefined: every namespace (a ClusterRole). */
  readonly namespace?: string;
}

interface AuditLine {
  readonly verb?: string;
  readonly user?: { readonly username?: string };
  readonly impersonatedUser?: { readonly username?: string };
  readonly objectRef?: {
    readonly apiGroup?: string;
    readonly resource?: string;
    readonly subresource?: string;
    readonly namespace?: string;
    readonly name?: string;
  };
  readonly responseStatus?: { readonly code?: number };
}

/**
 * The resource requests `username` made (directly or through impersonation). Requests without an object
 * reference (discovery, /version) and reviews of one's own access are left out: the API server grants them
 * to every authenticated identity (system:discovery, system:basic-user), not the identity's roles.
 */
export function auditedRequests(log: string, username: string): AuditRequest[] {
  const requests: AuditRequest[] = [];
  for (const text of log.split('\n')) {
    if (text.trim() === '') continue;
    const line = JSON.parse(text) as AuditLine;
    const who = line.impersonatedUser?.username ?? line.user?.username;
    const ref = line.objectRef;
    if (who !== username || !ref?.resource || !line.verb) continue;
    if (ref.apiGroup === 'authorization.k8s.io' && ref.resource.startsWith('self')) continue;
    const code = line.responseStatus?.code ?? 0;
    // A server-side apply that creates the object is one patch request, which the API server also
    // authorizes as a create (on the collection: a create is never limited by name).
    if (line.verb === 'patch' && code === 201) {
      requests.push({
        verb: 'create',
        apiGroup: ref.apiGroup ?? '',
        resource: ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource,
        ...(ref.namespace ? { namespace: ref.namespace } : {}),
        code,
      });
    }
    requests.push({
      verb: line.verb,
      apiGroup: ref.apiGroup ?? '',
      resource: ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource,
      ...(ref.namespace ? { namespace: ref.namespace } : {}),
      ...(ref.name ? { name: ref.name } : {}),
      code,
    });
  }
  return requests;
}

/** Every (group, resource, verb, name) a set of rules grants; `namespace` for a Role's rules. */
export function grantsOf(rules: readonly V1PolicyRule[], namespace?: string): Grant[] {
  const grants: Grant[] = [];
  for (const rule of rules) {
    for (const apiGroup of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        for (const verb of rule.verbs) {
          for (const name of rule.resourceNames ?? [undefined]) {
            grants.push({
              apiGroup,
              resource,
              verb,
              ...(name !== undefined ? { name } : {}),
              ...(namespace !== undefined ? { namespace } : {}),
            });
          }
        }
      }
    }
  }
  return grants;
}

function covers(grant: Grant, request: AuditRequest): boolean {
  return (
    grant.apiGroup === request.apiGroup &&
    grant.resource === request.resource &&
    grant.verb === request.verb &&
    (grant.name === undefined || grant.name === request.name) &&
    (grant.namespace === undefined || grant.namespace === request.namespace)
  );
}

export const describeGrant = (grant: Grant): string =>
  `${grant.verb} ${grant.apiGroup || 'core'}/${grant.resource}${grant.name ? `/${grant.name}` : ''}${grant.namespace ? ` in ${grant.namespace}` : ''}`;

export const describeRequest = (request: AuditRequest): string =>
  `${request.verb} ${request.apiGroup || 'core'}/${request.resource}${request.name ? `/${request.name}` : ''}${request.namespace ? ` in ${request.namespace}` : ''} -> ${request.code}`;

/**
 * `ungranted`: requests no grant covers, or that the API server refused (403), each once;
 * `unused`: grants no request used.
 */
export function compareWithRules(
  requests: readonly AuditRequest[],
  grants: readonly Grant[],
): { readonly ungranted: string[]; readonly unused: string[] } {
  const ungranted = new Set<string>();
  for (const request of requests) {
    if (request.code === 403 || !grants.some((grant) => covers(grant, request))) {
      ungranted.add(describeRequest(request));
    }
  }
  const unused = grants
    .filter((grant) => !requests.some((request) => request.code !== 403 && covers(grant, request)))
    .map(describeGrant);
  return { ungranted: [...ungranted].sort(), unused: [...new Set(unused)].sort() };
}
