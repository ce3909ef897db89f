/**
 * config/: kustomize bases for `kubectl apply -k config/default`. The CRDs are copies of crds/ (kustomize reads
 * nothing outside its folder); everything else is rendered from src/manifests/install.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  clusterRole,
  clusterRoleBinding,
  identities,
  namespace,
  operatorDeployment,
  operatorMetricsService,
  role,
  roleBinding,
  serviceAccount,
  webhookDeployment,
} from '../../src/manifests/install/objects.js';
import { validatingWebhookConfiguration, webhookService } from '../../src/manifests/install/webhooks.js';
import { repoRoot } from '../api-source.js';
import { manifestFile, yamlDocument } from './yaml.js';

function kustomization(resources: readonly string[]): string {
  return manifestFile([
    yamlDocument({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources }),
  ]);
}

export function crdFileNames(): string[] {
  return readdirSync(join(repoRoot, 'crds'))
    .filter((name) => name.endsWith('.yaml'))
    .sort();
}

export function configFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const crds = crdFileNames();
  for (const name of crds)
    files.set(`config/crd/${name}`, readFileSync(join(repoRoot, 'crds', name), 'utf8'));
  files.set('config/crd/kustomization.yaml', kustomization(crds));

  files.set(
    'config/rbac/service_account.yaml',
    manifestFile(identities.map((identity) => yamlDocument(serviceAccount(identity)))),
  );
  files.set(
    'config/rbac/role.yaml',
    manifestFile(
      identities.flatMap((identity) => [
        yamlDocument(clusterRole(identity), identity.clusterRules),
        yamlDocument(role(identity), identity.namespacedRules),
      ]),
    ),
  );
  files.set(
    'config/rbac/role_binding.yaml',
    manifestFile(
      identities.flatMap((identity) => [
        yamlDocument(clusterRoleBinding(identity)),
        yamlDocument(roleBinding(identity)),
      ]),
    ),
  );
  files.set(
    'config/rbac/kustomization.yaml',
    kustomization(['service_account.yaml', 'role.yaml', 'role_binding.yaml']),
  );

  files.set('config/manager/namespace.yaml', manifestFile([yamlDocument(namespace())]));
  files.set('config/manager/manager.yaml', manifestFile([yamlDocument(operatorDeployment())]));
  files.set('config/manager/metrics-service.yaml', manifestFile([yamlDocument(operatorMetricsService())]));
  files.set(
    'config/manager/kustomization.yaml',
    kustomization(['namespace.yaml', 'manager.yaml', 'metrics-service.yaml']),
  );

  files.set('config/webhook/service.yaml', manifestFile([yamlDocument(webhookService())]));
  files.set(
    'config/webhook/validating-webhook-configuration.yaml',
    manifestFile([yamlDocument(validatingWebhookConfiguration())]),
  );
  files.set('config/webhook/webhook-server.yaml', manifestFile([yamlDocument(webhookDeployment())]));
  files.set(
    'config/webhook/kustomization.yaml',
    kustomization(['service.yaml', 'validating-webhook-configuration.yaml', 'webhook-server.yaml']),
  );

  files.set(
    'config/default/kustomization.yaml',
    kustomization(['../crd', '../rbac', '../manager', '../webhook']),
  );
  return files;
}

/** The folders this generator owns entirely: a file there that it no longer writes is stale. */
export const configOwnedDirs = [
  'config/crd',
  'config/rbac',
  'config/manager',
  'config/webhook',
  'config/default',
];
