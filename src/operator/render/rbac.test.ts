import { describe, expect, it } from '@jest/globals';
import { evaluate } from '@marcbachmann/cel-js';
import type {
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1PolicyRule,
  V1Role,
  V1RoleBinding,
} from '@kubernetes/client-node';
import { defaultOperatorEnv } from '../env.js';
import { findObject, metalLB, renderObjects } from '../../../test/support/operator.js';
import { renderMetalLB } from './index.js';

const objects = renderObjects(metalLB());

function rulesOf(kind: 'Role' | 'ClusterRole', name: string): V1PolicyRule[] {
  return findObject<V1Role | V1ClusterRole>(objects, kind, name).rules ?? [];
}

/** Whether the rules allow the verb, on the object `name` when given (a rule without resourceNames allows any). */
function allows(
  rules: V1PolicyRule[],
  group: string,
  resource: string,
  verb: string,
  name?: string,
): boolean {
  return rules.some(
    (rule) =>
      (rule.apiGroups ?? []).includes(group) &&
      (rule.resources ?? []).includes(resource) &&
      rule.verbs.includes(verb) &&
      (name === undefined ? !rule.resourceNames : (rule.resourceNames ?? [name]).includes(name)),
  );
}

/** Every verb granted on a resource, with or without resourceNames. */
function verbsOn(rules: V1PolicyRule[], group: string, resource: string): string[] {
  const verbs = rules
    .filter((rule) => (rule.apiGroups ?? []).includes(group) && (rule.resources ?? []).includes(resource))
    .flatMap((rule) => rule.verbs);
  return [...new Set(verbs)].sort();
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
    // Informers list and watch; the one write is a merge patch of the status subresource (audited in
    // test/e2e/install.e2e.ts).
    expect(verbsOn(rules, '', 'services')).toEqual(['list', 'watch']);
    expect(verbsOn(rules, '', 'services/status')).toEqual(['patch']);
  });

  it('lets the controller read namespaces (not nodes) and record events through events.k8s.io only', () => {
    const rules = rulesOf('ClusterRole', 'metallb-system:controller');
    expect(verbsOn(rules, '', 'namespaces')).toEqual(['list', 'watch']);
    expect(verbsOn(rules, '', 'nodes')).toEqual([]);
    expect(verbsOn(rules, 'events.k8s.io', 'events')).toEqual(['create', 'patch']);
    expect(verbsOn(rules, '', 'events')).toEqual([]);
  });

  it('lets the controller read pools (no other configuration kind), write pool status and elect a leader in its namespace', () => {
    const rules = rulesOf('Role', 'controller');
    expect(verbsOn(rules, 'metallb.io', 'ipaddresspools')).toEqual(['list', 'watch']);
    for (const kind of configurationKinds.filter((kind) => kind !== 'ipaddresspools'))
      expect(verbsOn(rules, 'metallb.io', kind)).toEqual([]);
    expect(verbsOn(rules, 'metallb.io', 'ipaddresspools/status')).toEqual(['patch']);
    expect(allows(rules, 'metallb.io', 'ipaddresspools', 'update')).toBe(false);
    expect(allows(rules, 'metallb.io', 'bgpsessionstates', 'create')).toBe(false);
    expect(allows(rules, '', 'secrets', 'get')).toBe(false);
  });

  it('lets the controller read and renew only its own leader-election Lease', () => {
    const rules = rulesOf('Role', 'controller');
    expect(verbsOn(rules, 'coordination.k8s.io', 'leases')).toEqual(['create', 'get', 'update']);
    for (const verb of ['get', 'update']) {
      expect(allows(rules, 'coordination.k8s.io', 'leases', verb, 'metallb-controller')).toBe(true);
      expect(allows(rules, 'coordination.k8s.io', 'leases', verb, 'metallb-speaker-worker-0')).toBe(false);
      expect(allows(rules, 'coordination.k8s.io', 'leases', verb, 'metallb-operator')).toBe(false);
    }
    // Creating cannot be limited by name in RBAC: the admission policy refuses other names.
    expect(allows(rules, 'coordination.k8s.io', 'leases', 'create')).toBe(true);
    expect(allows(rules, 'coordination.k8s.io', 'leases', 'delete', 'metallb-speaker-worker-0')).toBe(false);
  });

  it('lets the speaker read Services, their endpoint slices and nodes, and record events', () => {
    const rules = rulesOf('ClusterRole', 'metallb-system:speaker');
    expect(allows(rules, '', 'services', 'watch')).toBe(true);
    expect(allows(rules, 'discovery.k8s.io', 'endpointslices', 'watch')).toBe(true);
    expect(allows(rules, '', 'nodes', 'watch')).toBe(true);
    expect(allows(rules, 'events.k8s.io', 'events', 'create')).toBe(true);
    expect(allows(rules, '', 'services', 'update')).toBe(false);
    expect(allows(rules, '', 'services/status', 'update')).toBe(false);
    // Informers list and watch; nothing in the speaker gets one object.
    for (const [group, resource] of [
      ['', 'services'],
      ['', 'nodes'],
      ['discovery.k8s.io', 'endpointslices'],
    ] as const)
      expect(verbsOn(rules, group, resource)).toEqual(['list', 'watch']);
  });

  it('lets the speaker list and watch only the Secrets BGPPeers name as passwordSecret, by name', () => {
    const withPasswords = renderMetalLB(metalLB(), defaultOperatorEnv, undefined, ['pw-b', 'pw-a', 'pw-a']);
    if (!withPasswords.ok) throw new Error('expected objects');
    const rules = findObject<V1Role>(withPasswords.objects, 'Role', 'speaker').rules ?? [];
    const secretRules = rules.filter((rule) => (rule.resources ?? []).includes('secrets'));
    expect(secretRules).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['pw-a', 'pw-b'], verbs: ['list', 'watch'] },
    ]);
    for (const verb of ['list', 'watch']) {
      expect(allows(rules, '', 'secrets', verb, 'pw-a')).toBe(true);
      // The webhook's CA key lives in the same namespace.
      expect(allows(rules, '', 'secrets', verb, 'metallb-webhook-cert')).toBe(false);
      expect(allows(rules, '', 'secrets', verb)).toBe(false);
    }
    expect(allows(rules, '', 'secrets', 'get', 'pw-a')).toBe(false);
    // The controller never gets them.
    const controllerRules = findObject<V1Role>(withPasswords.objects, 'Role', 'controller').rules ?? [];
    expect(verbsOn(controllerRules, '', 'secrets')).toEqual([]);
  });

  it('grants the speaker no Secret at all when no BGPPeer names one (an empty resourceNames would mean all)', () => {
    expect(verbsOn(rulesOf('Role', 'speaker'), '', 'secrets')).toEqual([]);
  });

  it('lets the speaker read the configuration, write announcement and session statuses and heartbeat Leases', () => {
    const rules = rulesOf('Role', 'speaker');
    for (const kind of configurationKinds)
      expect(verbsOn(rules, 'metallb.io', kind)).toEqual(['list', 'watch']);
    // Server-side apply (patch, and create when it creates), an informer, and deletes of stale objects; no
    // get or update, which the status writers never send.
    for (const kind of ['servicel2statuses', 'servicebgpstatuses', 'bgpsessionstates']) {
      expect(verbsOn(rules, 'metallb.io', kind)).toEqual(['create', 'delete', 'list', 'patch', 'watch']);
      expect(verbsOn(rules, 'metallb.io', `${kind}/status`)).toEqual(['patch']);
    }
    // The layer-2 heartbeat: create, renew (merge patch), watch the others'; never get, update or delete,
    // which the liveness code does not call (a stopping speaker leaves its Lease resting).
    expect(verbsOn(rules, 'coordination.k8s.io', 'leases')).toEqual(['create', 'list', 'patch', 'watch']);
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

describe('the admission policy on Leases in the namespace', () => {
  const policy = findObject<V1ValidatingAdmissionPolicy>(
    objects,
    'ValidatingAdmissionPolicy',
    'metallb-lease-owners.metallb-system',
  );
  const spec = policy.spec ?? {};

  interface Request {
    username: string;
    name: string;
    node?: string[];
  }

  /** What the API server decides for a write of a Lease: undefined when allowed, else the message. */
  function denial({ username, name, node }: Request): string | undefined {
    // As the API server does: no extra field at all for a token without extras.
    const userInfo = node
      ? { username, extra: { 'authentication.kubernetes.io/node-name': node } }
      : { username };
    const context = { request: { name, userInfo } };
    const matched = (spec.matchConditions ?? []).every((c) => evaluate(c.expression, context) === true);
    if (!matched) return undefined;
    return (spec.validations ?? []).find((v) => evaluate(v.expression, context) !== true)?.message;
  }

  const speaker = 'system:serviceaccount:metallb-system:speaker';
  const controller = 'system:serviceaccount:metallb-system:controller';

  it("lets a speaker with a node-bound token write its own node's Lease", () => {
    expect(
      denial({ username: speaker, name: 'metallb-speaker-worker-0', node: ['worker-0'] }),
    ).toBeUndefined();
  });

  it("refuses a speaker another node's Lease, the controller's, or any Lease without a node-bound token", () => {
    const refusal = /a speaker may write only its own node's Lease/;
    expect(denial({ username: speaker, name: 'metallb-speaker-worker-1', node: ['worker-0'] })).toMatch(
      refusal,
    );
    expect(denial({ username: speaker, name: 'metallb-controller', node: ['worker-0'] })).toMatch(refusal);
    expect(denial({ username: speaker, name: 'metallb-speaker-worker-0' })).toMatch(refusal);
    // A name that merely starts with the node's is another node's Lease.
    expect(denial({ username: speaker, name: 'metallb-speaker-worker-0x', node: ['worker-0'] })).toMatch(
      refusal,
    );
  });

  it('lets the controller write only its leader-election Lease', () => {
    expect(denial({ username: controller, name: 'metallb-controller' })).toBeUndefined();
    expect(denial({ username: controller, name: 'metallb-speaker-worker-0' })).toMatch(
      /only its leader-election/,
    );
    expect(denial({ username: controller, name: 'metallb-operator' })).toMatch(/only its leader-election/);
  });

  it('leaves everyone else to RBAC, speakers of another install included', () => {
    expect(
      denial({ username: 'system:serviceaccount:metallb-system:operator', name: 'metallb-operator' }),
    ).toBeUndefined();
    expect(denial({ username: 'system:serviceaccount:lb-system:speaker', name: 'x' })).toBeUndefined();
  });

  it("covers creates, updates and deletes of Leases, and only in the operator's namespace", () => {
    expect(spec.failurePolicy).toBe('Fail');
    expect(spec.matchConstraints?.resourceRules).toEqual([
      {
        apiGroups: ['coordination.k8s.io'],
        apiVersions: ['v1'],
        resources: ['leases'],
        operations: ['CREATE', 'UPDATE', 'DELETE'],
      },
    ]);
    const binding = findObject<V1ValidatingAdmissionPolicyBinding>(
      objects,
      'ValidatingAdmissionPolicyBinding',
      'metallb-lease-owners.metallb-system',
    );
    expect(binding.spec).toEqual({
      policyName: 'metallb-lease-owners.metallb-system',
      validationActions: ['Deny'],
      matchResources: {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'metallb-system' } },
      },
    });
  });
});
