import { describe, expect, it } from '@jest/globals';
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1PolicyRule,
  V1Role,
  V1RoleBinding,
} from '@kubernetes/client-node';
import { defaultOperatorEnv } from '../env.js';
import { findObject, metalLB, renderObjects } from '../../../test/support/operator.js';

const objects = renderObjects(metalLB());

function rulesOf(kind: 'Role' | 'ClusterRole', name: string): V1PolicyRule[] {
  return findObject<V1Role | V1ClusterRole>(objects, kind, name).rules ?? [];
}

function allows(rules: V1PolicyRule[], group: string, resource: string, verb: string): boolean {
  return rules.some(
    (rule) =>
      (rule.apiGroups ?? []).includes(group) &&
      (rule.resources ?? []).includes(resource) &&
      rule.verbs.includes(verb),
  );
}

const configurationKinds = [
  'ipaddresspools',
  'bgppeers',
  'bgpadvertisements',
  'l2advertisements',
  'communities',
  'bfdprofiles',
];

describe('the operands RBAC', () => {
  it('binds each ServiceAccount to its own Role and ClusterRole', () => {
    for (const component of ['controller', 'speaker']) {
      expect(findObject(objects, 'ServiceAccount', component).metadata?.namespace).toBe('metallb-system');
      const roleBinding = findObject<V1RoleBinding>(objects, 'RoleBinding', component);
      expect(roleBinding.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: component,
      });
      expect(roleBinding.subjects).toEqual([
        { kind: 'ServiceAccount', name: component, namespace: 'metallb-system' },
      ]);
      const clusterBinding = findObject<V1ClusterRoleBinding>(
        objects,
        'ClusterRoleBinding',
        `metallb-system:${component}`,
      );
      expect(clusterBinding.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: `metallb-system:${component}`,
      });
      expect(clusterBinding.subjects).toEqual([
        { kind: 'ServiceAccount', name: component, namespace: 'metallb-system' },
      ]);
    }
  });

  it('names cluster-wide RBAC after the namespace so that installs in two namespaces do not collide', () => {
    const elsewhere = renderObjects(
      { ...metalLB(), metadata: { name: 'metallb', namespace: 'lb-system' } },
      { ...defaultOperatorEnv, namespace: 'lb-system' },
    );
    expect(elsewhere.filter((o) => o.kind === 'ClusterRole').map((o) => o.metadata?.name)).toEqual([
      'lb-system:controller',
      'lb-system:speaker',
    ]);
  });

  it('lets the controller watch Services in every namespace and write only their status', () => {
    const rules = rulesOf('ClusterRole', 'metallb-system:controller');
    for (const verb of ['get', 'list', 'watch']) expect(allows(rules, '', 'services', verb)).toBe(true);
    expect(allows(rules, '', 'services/status', 'update')).toBe(true);
    expect(allows(rules, '', 'services/status', 'patch')).toBe(true);
    expect(allows(rules, '', 'services', 'update')).toBe(false);
  });

  it('lets the controller read namespaces and nodes and record events', () => {
    const rules = rulesOf('ClusterRole', 'metallb-system:controller');
    for (const resource of ['namespaces', 'nodes']) expect(allows(rules, '', resource, 'watch')).toBe(true);
    expect(allows(rules, '', 'events', 'create')).toBe(true);
    expect(allows(rules, 'events.k8s.io', 'events', 'create')).toBe(true);
  });

  it('lets the controller read the configuration, write pool status and elect a leader in its namespace', () => {
    const rules = rulesOf('Role', 'controller');
    for (const kind of configurationKinds) expect(allows(rules, 'metallb.io', kind, 'watch')).toBe(true);
    expect(allows(rules, 'metallb.io', 'ipaddresspools/status', 'update')).toBe(true);
    expect(allows(rules, 'metallb.io', 'ipaddresspools', 'update')).toBe(false);
    for (const verb of ['get', 'create', 'update'])
      expect(allows(rules, 'coordination.k8s.io', 'leases', verb)).toBe(true);
    expect(allows(rules, '', 'secrets', 'get')).toBe(false);
  });

  it('lets the speaker read Services, their endpoint slices and nodes, and record events', () => {
    const rules = rulesOf('ClusterRole', 'metallb-system:speaker');
    expect(allows(rules, '', 'services', 'watch')).toBe(true);
    expect(allows(rules, 'discovery.k8s.io', 'endpointslices', 'watch')).toBe(true);
    expect(allows(rules, '', 'nodes', 'watch')).toBe(true);
    expect(allows(rules, '', 'events', 'create')).toBe(true);
    expect(allows(rules, '', 'services', 'update')).toBe(false);
    expect(allows(rules, '', 'services/status', 'update')).toBe(false);
  });

  it('lets the speaker read the configuration and secrets, write announcement statuses and heartbeat Leases', () => {
    const rules = rulesOf('Role', 'speaker');
    for (const kind of configurationKinds) expect(allows(rules, 'metallb.io', kind, 'watch')).toBe(true);
    for (const kind of ['servicel2statuses', 'servicebgpstatuses']) {
      for (const verb of ['create', 'update', 'delete', 'watch'])
        expect(allows(rules, 'metallb.io', kind, verb)).toBe(true);
      expect(allows(rules, 'metallb.io', `${kind}/status`, 'update')).toBe(true);
    }
    expect(allows(rules, '', 'secrets', 'watch')).toBe(true);
    expect(allows(rules, '', 'secrets', 'update')).toBe(false);
    // The layer-2 heartbeat: create, renew (merge patch), watch the others', delete on a graceful stop.
    for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'])
      expect(allows(rules, 'coordination.k8s.io', 'leases', verb)).toBe(true);
  });

  it('grants the speaker Leases only in its own namespace', () => {
    const rules = rulesOf('ClusterRole', 'metallb-system:speaker');
    expect(allows(rules, 'coordination.k8s.io', 'leases', 'get')).toBe(false);
  });

  it('lets both operands ask who a metrics scraper is and whether it may get /metrics, and nothing more there', () => {
    for (const component of ['controller', 'speaker']) {
      const rules = rulesOf('ClusterRole', `metallb-system:${component}`);
      expect(allows(rules, 'authentication.k8s.io', 'tokenreviews', 'create')).toBe(true);
      expect(allows(rules, 'authorization.k8s.io', 'subjectaccessreviews', 'create')).toBe(true);
      expect(allows(rules, 'authentication.k8s.io', 'tokenreviews', 'list')).toBe(false);
      expect(allows(rules, 'authorization.k8s.io', 'subjectaccessreviews', 'get')).toBe(false);
    }
  });
});
