import { describe, expect, it } from '@jest/globals';
import { auditedRequests, compareWithRules, grantsOf } from './rbac-audit.js';

const user = 'system:serviceaccount:metallb-system:controller';

function line(fields: Record<string, unknown>): string {
  return JSON.stringify({ user: { username: 'admin' }, impersonatedUser: { username: user }, ...fields });
}

const log = [
  line({
    verb: 'list',
    objectRef: { resource: 'services', apiVersion: 'v1' },
    responseStatus: { code: 200 },
  }),
  line({
    verb: 'patch',
    objectRef: { resource: 'services', subresource: 'status', namespace: 'default', name: 'web' },
    responseStatus: { code: 200 },
  }),
  line({
    verb: 'update',
    objectRef: {
      apiGroup: 'coordination.k8s.io',
      resource: 'leases',
      namespace: 'metallb-system',
      name: 'other',
    },
    responseStatus: { code: 403 },
  }),
  line({
    verb: 'patch',
    objectRef: { apiGroup: 'apps', resource: 'deployments', namespace: 'metallb-system', name: 'controller' },
    responseStatus: { code: 201 },
  }),
  // Discovery and someone else's requests do not count.
  line({ verb: 'get', responseStatus: { code: 200 } }),
  JSON.stringify({ user: { username: 'admin' }, verb: 'delete', objectRef: { resource: 'nodes' } }),
].join('\n');

describe('comparing audited requests with RBAC rules', () => {
  it("reads an identity's resource requests, impersonated ones included, with subresources", () => {
    expect(auditedRequests(log, user).map((r) => `${r.verb} ${r.resource} ${r.code}`)).toEqual([
      'list services 200',
      'patch services/status 200',
      'update leases 403',
      'create deployments 201',
      'patch deployments 201',
    ]);
  });

  it('reports a refused or uncovered request, and every grant nothing used', () => {
    const grants = [
      ...grantsOf([
        { apiGroups: [''], resources: ['services'], verbs: ['list', 'get'] },
        { apiGroups: [''], resources: ['services/status'], verbs: ['patch'] },
      ]),
      ...grantsOf(
        [
          {
            apiGroups: ['coordination.k8s.io'],
            resources: ['leases'],
            resourceNames: ['metallb-controller', 'other'],
            verbs: ['update'],
          },
        ],
        'metallb-system',
      ),
    ];
    const applied = grantsOf([
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['create', 'patch'] },
    ]);
    expect(compareWithRules(auditedRequests(log, user), [...grants, ...applied])).toEqual({
      ungranted: ['update coordination.k8s.io/leases/other in metallb-system -> 403'],
      unused: [
        'get core/services',
        'update coordination.k8s.io/leases/metallb-controller in metallb-system',
        'update coordination.k8s.io/leases/other in metallb-system',
      ],
    });
    // A Role's grant does not cover another namespace.
    const roleOnly = grantsOf(
      [{ apiGroups: [''], resources: ['services/status'], verbs: ['patch'] }],
      'metallb-system',
    );
    expect(compareWithRules(auditedRequests(log, user), roleOnly).ungranted).toContain(
      'patch core/services/status/web in default -> 200',
    );
  });
});
