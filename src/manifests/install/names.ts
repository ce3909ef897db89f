/** Names of the objects the install creates, shared by the manifests, the bundle and the webhook's registration. */
export const installNamespace = 'metallb-system';

export const operatorName = 'metallb-operator';
export const operatorServiceAccount = 'metallb-operator';
export const operatorDeploymentName = 'metallb-operator-controller-manager';

export const webhookName = 'metallb-webhook';
export const webhookServiceAccount = 'metallb-webhook';
export const webhookDeploymentName = 'metallb-operator-webhook-server';
export const webhookServiceName = 'metallb-webhook-service';
export const webhookConfigurationName = 'metallb-webhook-configuration';
export const webhookCertSecretName = 'metallb-webhook-cert';
/** Where OLM mounts the serving certificate it manages for a Deployment named in a webhookdefinition. */
export const olmWebhookCertDir = '/tmp/k8s-webhook-server/serving-certs';
export const webhookPort = 9443;

export const operatorMetricsServiceName = 'metallb-operator-metrics';
export const operatorMetricsPort = 8080;
export const operatorHealthPort = 8081;

/** The Lease the operator's replicas elect their leader with (see src/cli/operator.ts). */
export const operatorLeaseName = 'metallb-operator';
