import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { V1PolicyRule } from '@kubernetes/client-node';
import {
  clusterRules,
  components,
  namespacedRules,
  passwordSecretRules,
  passwordSecretVerbs,
} from '../../operator/render/rbac.js';
import { defaultOperatorEnv } from '../../operator/env.js';
import { webhookConfigurationTemplate } from '../../webhook/registration.js';
import { identities, operatorDeployment, operatorIdentity, webhookDeployment } from './objects.js';
import { rulesOf } from './rbac.js';
import { frrImage, productImage, productVersion } from './version.js';
import { validatingWebhooks } from './webhooks.js';

/** Whether `held` grants every verb of `wanted` on every resource it names (resourceNames-free rules only). */
function grants(held: readonly V1PolicyRule[], wanted: V1PolicyRule): boolean {
  return (wanted.apiGroups ?? []).every((group) =>
    (wanted.resources ?? []).every((resource) =>
      wanted.verbs.every((verb) =>
        held.some(
          (rule) =>
            rule.resourceNames === undefined &&
            (rule.apiGroups ?? []).includes(group) &&
            (rule.resources ?? []).includes(resource) &&
            rule.verbs.includes(verb),
        ),
      ),
    ),
  );
}

describe('the install', () => {
  it('sets the version in one place that package.json agrees with', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(pkg.version).toBe(productVersion);
    expect(productImage).toBe(`quay.io/metallb-ts/metallb:v${productVersion}`);
    expect(frrImage).toBe(`quay.io/metallb-ts/frr:v${productVersion}`);
  });

  it('runs the operator, and makes it deploy operands, by the immutable version tag', () => {
    const container = operatorDeployment().spec?.template.spec?.containers[0];
    expect(container?.image).toBe(productImage);
    const env = Object.fromEntries((container?.env ?? []).map((variable) => [variable.name, variable.value]));
    expect(env.CONTROLLER_IMAGE).toBe(productImage);
    expect(env.SPEAKER_IMAGE).toBe(productImage);
    expect(env.FRR_IMAGE).toBe(frrImage);
    expect(defaultOperatorEnv.controllerImage).toBe(productImage);
    for (const image of [productImage, env.FRR_IMAGE ?? '']) expect(image).not.toMatch(/:latest$|^[^:]*$/);
  });

  it('grants no wildcard to any identity, its own or an operand', () => {
    const every = [
      ...identities.flatMap((identity) => rulesOf([...identity.clusterRules, ...identity.namespacedRules])),
      ...components.flatMap((component) => [...clusterRules[component], ...namespacedRules[component]]),
    ];
    for (const rule of every) {
      for (const list of [rule.apiGroups, rule.resources, rule.verbs, rule.resourceNames])
        expect(list ?? []).not.toContain('*');
    }
  });

  it("lets the operator grant the operands' rules, which RBAC allows only to an identity holding them", () => {
    const clusterHeld = rulesOf(operatorIdentity.clusterRules);
    const namespaceHeld = [...clusterHeld, ...rulesOf(operatorIdentity.namespacedRules)];
    for (const component of components) {
      for (const rule of clusterRules[component]) expect(grants(clusterHeld, rule)).toBe(true);
      for (const rule of namespacedRules[component]) expect(grants(namespaceHeld, rule)).toBe(true);
    }
    // The speaker's password Secrets are named at run time: any name must be grantable.
    for (const rule of passwordSecretRules(['bgp-password', 'another-password']))
      expect(grants(namespaceHeld, rule)).toBe(true);
  });

  it('holds no get on Secrets for the speaker, and no Secret verb the speaker is not granted', () => {
    const secretVerbs = rulesOf(operatorIdentity.namespacedRules)
      .filter((rule) => (rule.resources ?? []).includes('secrets'))
      .flatMap((rule) => rule.verbs)
      .sort();
    expect(secretVerbs).toEqual([...passwordSecretVerbs].sort());
  });

  it('says what every rule of its own identities is for', () => {
    for (const identity of identities) {
      for (const rule of [...identity.clusterRules, ...identity.namespacedRules])
        expect(rule.why).not.toBe('');
    }
  });

  it('runs its pods non-root, without privilege escalation, with RuntimeDefault seccomp and no capabilities', () => {
    for (const deployment of [
      operatorDeployment(),
      webhookDeployment(),
      webhookDeployment({ olmCertDir: true }),
    ]) {
      const pod = deployment.spec?.template.spec;
      expect(pod?.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      for (const container of pod?.containers ?? []) {
        expect(container.securityContext).toMatchObject({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
      }
    }
  });

  it('registers at run time the same webhooks the manifests install', () => {
    const template = webhookConfigurationTemplate('metallb-system') as {
      webhooks: { name: string; rules: { resources: string[] }[] }[];
    };
    expect(template.webhooks.map((webhook) => [webhook.name, webhook.rules[0]?.resources[0]])).toEqual(
      validatingWebhooks.map((webhook) => [webhook.name, webhook.resource]),
    );
  });
});
