/**
 * bundle/: the OLM registry+v1 bundle. The ClusterServiceVersion's install strategy, permissions and webhook
 * definitions are rendered from src/manifests/install, the owned CRDs' descriptors from the JSON Schemas in
 * api/, alm-examples from config/samples.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  identities,
  operatorDeployment,
  operatorMetricsService,
  productImage,
  productVersion,
  webhookDeployment,
  type Identity,
} from '../../src/manifests/install/objects.js';
import { rulesOf } from '../../src/manifests/install/rbac.js';
import { frrImage, sourceRepository } from '../../src/manifests/install/version.js';
import { installNamespace, webhookDeploymentName, webhookPort } from '../../src/manifests/install/names.js';
import {
  conversionCrdName,
  conversionPath,
  validatingWebhook,
  validatingWebhooks,
} from '../../src/manifests/install/webhooks.js';
import { group, loadKinds, repoRoot, resolveSchema, type ApiKind, type JsonObject } from '../api-source.js';
import { crdFileNames } from './config.js';
import { bundleFile, parseObjects } from './yaml.js';

export const packageName = 'metallb-operator';
export const channel = 'stable';
export const csvName = `${packageName}.v${productVersion}`;
export const minKubeVersion = '1.28.0';

const icon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="12" fill="#2b5797"/><circle cx="32" cy="20" r="7" fill="#fff"/><circle cx="16" cy="46" r="7" fill="#fff"/><circle cx="48" cy="46" r="7" fill="#fff"/><path d="M32 27v8M32 35L16 39M32 35l16 4" stroke="#fff" stroke-width="3" fill="none"/></svg>`;

/** "peerASN" → "Peer ASN": a display name from a field name. */
function displayName(field: string): string {
  const words = field.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function descriptors(section: JsonObject | undefined): JsonObject[] {
  const properties = (section?.properties ?? {}) as Record<string, JsonObject>;
  return Object.entries(properties).map(([path, schema]) => ({
    path,
    displayName: displayName(path),
    description: typeof schema.description === 'string' ? schema.description : displayName(path),
  }));
}

function ownedCrds(kinds: readonly ApiKind[]): JsonObject[] {
  return kinds.flatMap((apiKind) =>
    apiKind.definition.versions.map((version) => {
      const schema = resolveSchema(apiKind.schemaFiles.get(version.name) as string);
      const properties = (schema.properties ?? {}) as Record<string, JsonObject>;
      const owned: JsonObject = {
        name: `${apiKind.definition.plural}.${group}`,
        version: version.name,
        kind: apiKind.definition.kind,
        displayName: displayName(apiKind.definition.kind),
        description: typeof schema.description === 'string' ? schema.description : apiKind.definition.kind,
        specDescriptors: descriptors(properties.spec),
        statusDescriptors: descriptors(properties.status),
      };
      if (apiKind.definition.kind === 'MetalLB') {
        owned.resources = [
          { kind: 'Deployment', name: 'controller', version: 'v1' },
          { kind: 'DaemonSet', name: 'speaker', version: 'v1' },
          { kind: 'ServiceAccount', name: 'controller', version: 'v1' },
          { kind: 'ServiceAccount', name: 'speaker', version: 'v1' },
          { kind: 'ConfigMap', name: '', version: 'v1' },
        ];
      }
      return owned;
    }),
  );
}

function almExamples(): string {
  const dir = join(repoRoot, 'config/samples');
  const samples = readdirSync(dir)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .flatMap((name) => parseObjects(readFileSync(join(dir, name), 'utf8')));
  return JSON.stringify(samples, null, 2);
}

function permissions(scope: 'cluster' | 'namespaced'): JsonObject[] {
  return identities.map((identity: Identity) => ({
    serviceAccountName: identity.serviceAccount,
    rules: rulesOf(
      scope === 'cluster' ? identity.clusterRules : identity.namespacedRules,
    ) as unknown as JsonObject[],
  }));
}

function webhookDefinitions(): JsonObject[] {
  const common = {
    admissionReviewVersions: ['v1'],
    containerPort: 443,
    targetPort: webhookPort,
    deploymentName: webhookDeploymentName,
    sideEffects: 'None',
  };
  const validating = validatingWebhooks.map((entry) => {
    const { name, rules, failurePolicy, matchPolicy, timeoutSeconds } = validatingWebhook(entry, {});
    return {
      ...common,
      type: 'ValidatingAdmissionWebhook',
      generateName: name,
      webhookPath: entry.path,
      failurePolicy,
      matchPolicy,
      timeoutSeconds,
      rules,
    } as unknown as JsonObject;
  });
  const conversion: JsonObject = {
    ...common,
    type: 'ConversionWebhook',
    generateName: 'bgppeerconversionwebhook.metallb.io',
    webhookPath: conversionPath,
    conversionCRDs: [conversionCrdName],
  };
  return [...validating, conversion];
}

const description = `A load balancer for bare-metal Kubernetes clusters, compatible with MetalLB's API (group metallb.io).

Create one \`MetalLB\` resource named \`metallb\` in the operator's namespace; the operator deploys the controller,
which assigns addresses from \`IPAddressPool\`s to LoadBalancer Services, and a speaker on every selected node, which
announces them over layer 2 (ARP/NDP) or BGP (FRR, with BFD). Advertisements, peers, BFD profiles and communities
configure how.`;

function clusterServiceVersion(kinds: readonly ApiKind[]): JsonObject {
  const deployment = (spec: ReturnType<typeof operatorDeployment>) => ({
    name: spec.metadata?.name ?? '',
    label: (spec.metadata?.labels ?? {}) as JsonObject,
    spec: spec.spec as unknown as JsonObject,
  });
  return {
    apiVersion: 'operators.coreos.com/v1alpha1',
    kind: 'ClusterServiceVersion',
    metadata: {
      name: csvName,
      namespace: 'placeholder',
      annotations: {
        'alm-examples': almExamples(),
        capabilities: 'Basic Install',
        categories: 'Networking',
        containerImage: productImage,
        description: 'A load balancer for bare-metal Kubernetes clusters, compatible with the MetalLB API.',
        'operatorframework.io/suggested-namespace': installNamespace,
        'operatorframework.io/cluster-monitoring': 'true',
        repository: sourceRepository,
        support: 'metallb-ts maintainers',
      },
      labels: {
        'operatorframework.io/arch.amd64': 'supported',
        'operatorframework.io/os.linux': 'supported',
      },
    },
    spec: {
      displayName: 'MetalLB Operator',
      description,
      version: productVersion,
      minKubeVersion,
      maturity: 'alpha',
      provider: { name: 'metallb-ts' },
      maintainers: [{ name: 'metallb-ts maintainers', email: 'maintainers@metallb-ts.example.org' }],
      links: [
        { name: 'Source', url: sourceRepository },
        { name: 'MetalLB API and concepts', url: 'https://metallb.universe.tf/concepts/' },
      ],
      keywords: ['metallb', 'load-balancer', 'bare-metal', 'bgp', 'layer2', 'networking'],
      icon: [{ base64data: Buffer.from(icon).toString('base64'), mediatype: 'image/svg+xml' }],
      // OLM installs conversion webhooks only for AllNamespaces operators; the operator reads only its own
      // namespace either way (the OpenShift procedure's OperatorGroup targets all namespaces).
      installModes: [
        { type: 'OwnNamespace', supported: false },
        { type: 'SingleNamespace', supported: false },
        { type: 'MultiNamespace', supported: false },
        { type: 'AllNamespaces', supported: true },
      ],
      install: {
        strategy: 'deployment',
        spec: {
          deployments: [
            deployment(operatorDeployment()),
            deployment(webhookDeployment({ olmCertDir: true })),
          ],
          permissions: permissions('namespaced'),
          clusterPermissions: permissions('cluster'),
        },
      },
      customresourcedefinitions: { owned: ownedCrds(kinds) },
      webhookdefinitions: webhookDefinitions(),
      relatedImages: [
        { name: 'metallb', image: productImage },
        { name: 'frr', image: frrImage },
      ],
    },
  };
}

export const bundleAnnotations: Record<string, string> = {
  'operators.operatorframework.io.bundle.mediatype.v1': 'registry+v1',
  'operators.operatorframework.io.bundle.manifests.v1': 'manifests/',
  'operators.operatorframework.io.bundle.metadata.v1': 'metadata/',
  'operators.operatorframework.io.bundle.package.v1': packageName,
  'operators.operatorframework.io.bundle.channels.v1': channel,
  'operators.operatorframework.io.bundle.channel.default.v1': channel,
};

function dockerfile(): string {
  return [
    '# Generated by `make generate` from src/manifests/install. Do not edit; change the TypeScript instead.',
    'FROM scratch',
    ...Object.entries(bundleAnnotations).map(([key, value]) => `LABEL ${key}=${value}`),
    'COPY bundle/manifests /manifests/',
    'COPY bundle/metadata /metadata/',
    '',
  ].join('\n');
}

export function bundleFiles(): Map<string, string> {
  const kinds = loadKinds();
  const files = new Map<string, string>();
  files.set(
    `bundle/manifests/${packageName}.clusterserviceversion.yaml`,
    bundleFile(clusterServiceVersion(kinds)),
  );
  for (const name of crdFileNames()) {
    // One document and nothing before it: the bundle loader reads only the first document of a file.
    const [crd] = parseObjects(readFileSync(join(repoRoot, 'crds', name), 'utf8'));
    files.set(`bundle/manifests/${name}`, bundleFile(crd));
  }
  // OLM creates bundle objects in the namespace the operator is installed into.
  const { namespace: _namespace, ...serviceMetadata } = operatorMetricsService().metadata ?? {};
  files.set(
    'bundle/manifests/metallb-operator-metrics_v1_service.yaml',
    bundleFile({ ...operatorMetricsService(), metadata: serviceMetadata }),
  );
  // No PrometheusRule here although registry+v1 may carry one: OLM fails the whole InstallPlan where the
  // monitoring.coreos.com kinds are not served (a cluster without the Prometheus Operator). The operator
  // renders the alerts itself where the kind is served.
  files.set('bundle/metadata/annotations.yaml', bundleFile({ annotations: bundleAnnotations }));
  files.set('bundle.Dockerfile', dockerfile());
  return files;
}

export const bundleOwnedDirs = ['bundle/manifests', 'bundle/metadata'];
