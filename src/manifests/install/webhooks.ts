/**
 * The validating webhooks and the BGPPeer conversion webhook, defined once: config/webhook, the OLM bundle's
 * webhookdefinitions and the webhook's own registration (src/webhook/registration.ts) all read this table.
 */
import type {
  V1Service,
  V1ValidatingWebhook,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { installNamespace, webhookConfigurationName, webhookPort, webhookServiceName } from './names.js';

export interface ValidatingWebhookEntry {
  /** The webhook's name, as upstream MetalLB registers it. */
  readonly name: string;
  readonly resource: string;
  readonly version: string;
  readonly operations: readonly ('CREATE' | 'UPDATE' | 'DELETE')[];
  /** The path `metallb webhook` serves this kind's admission on. */
  readonly path: string;
}

const entry = (
  name: string,
  resource: string,
  kind: string,
  version: string,
  operations: ValidatingWebhookEntry['operations'] = ['CREATE', 'UPDATE'],
): ValidatingWebhookEntry => ({
  name: `${name}.metallb.io`,
  resource,
  version,
  operations,
  path: `/validate-metallb-io-${version}-${kind}`,
});

export const validatingWebhooks: readonly ValidatingWebhookEntry[] = [
  entry('ipaddresspoolvalidationwebhook', 'ipaddresspools', 'ipaddresspool', 'v1beta1'),
  entry('l2advertisementvalidationwebhook', 'l2advertisements', 'l2advertisement', 'v1beta1'),
  entry('bgpadvertisementvalidationwebhook', 'bgpadvertisements', 'bgpadvertisement', 'v1beta1'),
  entry('bgppeersvalidationwebhook', 'bgppeers', 'bgppeer', 'v1beta2'),
  // DELETE too: a BFDProfile a BGPPeer still uses must not disappear under it.
  entry('bfdprofilevalidationwebhook', 'bfdprofiles', 'bfdprofile', 'v1beta1', [
    'CREATE',
    'UPDATE',
    'DELETE',
  ]),
  entry('communityvalidationwebhook', 'communities', 'community', 'v1beta1'),
  entry('metallbvalidationwebhook', 'metallbs', 'metallb', 'v1beta1'),
];

/** The CRD whose versions the conversion webhook translates, and where it is served. */
export const conversionCrdName = 'bgppeers.metallb.io';
export const conversionPath = '/convert';

export const webhookLabels = {
  'app.kubernetes.io/name': 'metallb',
  'app.kubernetes.io/component': 'webhook',
};
/** Pod labels of the webhook Deployment; the Service selects them. */
export const webhookSelector = { app: 'metallb', component: 'webhook' };

/** The rule and policy part of one webhook; the caller supplies how the API server reaches it. */
export function validatingWebhook(
  webhook: ValidatingWebhookEntry,
  clientConfig: V1ValidatingWebhook['clientConfig'],
): V1ValidatingWebhook {
  return {
    name: webhook.name,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    timeoutSeconds: 10,
    clientConfig,
    rules: [
      {
        apiGroups: ['metallb.io'],
        apiVersions: [webhook.version],
        operations: [...webhook.operations],
        resources: [webhook.resource],
        scope: 'Namespaced',
      },
    ],
  };
}

/**
 * The configuration reaching the webhook through its Service. caBundle is left out: the webhook fills it
 * with self-managed certificates, OLM with the ones it manages.
 */
export function validatingWebhookConfiguration(
  namespace: string = installNamespace,
): V1ValidatingWebhookConfiguration {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: webhookConfigurationName, labels: webhookLabels },
    webhooks: validatingWebhooks.map((webhook) =>
      validatingWebhook(webhook, {
        service: { name: webhookServiceName, namespace, path: webhook.path, port: 443 },
      }),
    ),
  };
}

export function webhookService(namespace: string = installNamespace): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: webhookServiceName, namespace, labels: webhookLabels },
    spec: {
      selector: webhookSelector,
      ports: [{ name: 'webhook', port: 443, targetPort: webhookPort }],
    },
  };
}
