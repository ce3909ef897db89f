/**
 * Makes the API server trust and reach the webhook when it manages its own certificates: keeps the CA and
 * serving certificate in a Secret (rotating them before they expire or when a name is missing), and
 * publishes the CA as caBundle in the validating webhook configuration and the BGPPeer CRD's conversion
 * stanza. With a local URL (running outside the cluster, as the demo and e2e do) it also points both at
 * that URL instead of the Service, and removes the configuration again on shutdown.
 */
import { conversionCrdName, validatingWebhookConfiguration } from '../manifests/install/webhooks.js';
import { apiStatus, type RawClient } from '../runtime/raw-client.js';
import {
  createCertificateAuthority,
  createServingCertificate,
  needsRotation,
  type WebhookCertificates,
} from './certificates.js';

type RawObject = Record<string, unknown>;

const fieldManager = 'metallb-webhook';
const conversionCrd = conversionCrdName;

export interface RegistrationOptions {
  readonly namespace: string;
  readonly secretName: string;
  readonly serviceName: string;
  readonly webhookConfigurationName: string;
  /** https://HOST:PORT the API server should call instead of the Service. */
  readonly localUrl?: string;
}

/** The configuration as the install defines it (src/manifests/install), to publish the CA or URL in. */
export function webhookConfigurationTemplate(namespace: string): RawObject {
  return validatingWebhookConfiguration(namespace) as unknown as RawObject;
}

/** Every name the API server may use to reach the webhook; the certificate must cover all of them. */
export function servingNames(options: RegistrationOptions): string[] {
  const service = `${options.serviceName}.${options.namespace}.svc`;
  const names = [service, `${service}.cluster.local`];
  if (options.localUrl) names.push(new URL(options.localUrl).hostname.replace(/^\[|\]$/g, ''));
  return names;
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: unknown) =>
  typeof text === 'string' ? Buffer.from(text, 'base64').toString('utf8') : undefined;

/** The certificates from the Secret, or new ones written to it when missing, expiring or incomplete. */
export async function ensureCertificates(
  client: RawClient,
  options: RegistrationOptions,
): Promise<WebhookCertificates> {
  const path = `/api/v1/namespaces/${options.namespace}/secrets/${options.secretName}`;
  const names = servingNames(options);
  let data: Record<string, unknown> = {};
  try {
    data = ((await client.get<RawObject>(path)).data ?? {}) as Record<string, unknown>;
  } catch (error) {
    if (apiStatus(error) !== 404) throw error;
  }
  const current = {
    ca: unb64(data['ca.crt']),
    caKey: unb64(data['ca.key']),
    cert: unb64(data['tls.crt']),
    key: unb64(data['tls.key']),
  };
  if (
    current.ca &&
    current.caKey &&
    current.cert &&
    current.key &&
    !needsRotation(current.cert, names) &&
    !needsRotation(current.ca, [])
  ) {
    return {
      ca: { certPem: current.ca, keyPem: current.caKey },
      serving: { certPem: current.cert, keyPem: current.key },
    };
  }
  const ca =
    current.ca && current.caKey && !needsRotation(current.ca, [])
      ? { certPem: current.ca, keyPem: current.caKey }
      : createCertificateAuthority('metallb-webhook-ca');
  const ipAddresses = names.filter((name) => /^[\d.]+$/.test(name) || name.includes(':'));
  const serving = createServingCertificate(ca, {
    dnsNames: names.filter((name) => !ipAddresses.includes(name)),
    ipAddresses,
  });
  await client.apply(
    path,
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: options.secretName,
        namespace: options.namespace,
        labels: { 'app.kubernetes.io/name': 'metallb' },
      },
      type: 'kubernetes.io/tls',
      data: {
        'ca.crt': b64(ca.certPem),
        'ca.key': b64(ca.keyPem),
        'tls.crt': b64(serving.certPem),
        'tls.key': b64(serving.keyPem),
      },
    },
    fieldManager,
  );
  return { ca, serving };
}

function clientConfig(caPem: string, path: string, options: RegistrationOptions): RawObject {
  const caBundle = b64(caPem);
  if (options.localUrl) return { url: `${options.localUrl}${path}`, caBundle };
  return { service: { name: options.serviceName, namespace: options.namespace, path, port: 443 }, caBundle };
}

/** Publishes the CA (and, locally, the URL) in the webhook configuration and the conversion stanza. */
export async function publishCaBundle(
  client: RawClient,
  caPem: string,
  options: RegistrationOptions,
): Promise<void> {
  const template = webhookConfigurationTemplate(options.namespace);
  const webhooks = (template.webhooks as RawObject[]).map((webhook) => {
    const service = ((webhook.clientConfig as RawObject).service ?? {}) as RawObject;
    return { ...webhook, clientConfig: clientConfig(caPem, String(service.path ?? ''), options) };
  });
  const metadata = { ...(template.metadata as RawObject), name: options.webhookConfigurationName };
  const path = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${options.webhookConfigurationName}`;
  try {
    // An installed configuration (kubectl apply -k, another manager's fields) is rewritten whole: a merge
    // patch replaces the list, where server-side apply would keep the installer's `service` beside our `url`.
    await client.patch(path, { webhooks }, 'application/merge-patch+json');
  } catch (error) {
    if (apiStatus(error) !== 404) throw error;
    await client.apply(path, { ...template, metadata, webhooks }, fieldManager);
  }
  const conversionClient = clientConfig(caPem, '/convert', options);
  await client.patch(
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${conversionCrd}`,
    {
      spec: {
        conversion: {
          strategy: 'Webhook',
          webhook: {
            conversionReviewVersions: ['v1'],
            clientConfig: options.localUrl
              ? { ...conversionClient, service: null }
              : { ...conversionClient, url: null },
          },
        },
      },
    },
    'application/merge-patch+json',
  );
}

/**
 * Makes the certificate Secret a dependent of the webhook configuration, so that garbage collection removes
 * the CA key with it: uninstalling (kubectl delete -k, or a local run's exit, which removes the
 * configuration) leaves no key behind, also where the namespace itself stays. A namespaced object may have a
 * cluster-scoped owner. Called after each publication; the merge patch is idempotent.
 */
export async function adoptCertificateSecret(client: RawClient, options: RegistrationOptions): Promise<void> {
  const configuration = await client.get<{ metadata?: { uid?: string } }>(
    `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${options.webhookConfigurationName}`,
  );
  const uid = configuration.metadata?.uid;
  if (!uid) return;
  await client.patch(
    `/api/v1/namespaces/${options.namespace}/secrets/${options.secretName}`,
    {
      metadata: {
        ownerReferences: [
          {
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'ValidatingWebhookConfiguration',
            name: options.webhookConfigurationName,
            uid,
          },
        ],
      },
    },
    'application/merge-patch+json',
  );
}

/**
 * Local runs only: remove the configuration so a stopped webhook does not block every write, and point the
 * conversion stanza back at the Service, as the CRD ships.
 */
export async function unpublish(client: RawClient, options: RegistrationOptions): Promise<void> {
  await client.patch(
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${conversionCrd}`,
    {
      spec: {
        conversion: {
          webhook: {
            clientConfig: {
              url: null,
              caBundle: null,
              service: {
                name: options.serviceName,
                namespace: options.namespace,
                path: '/convert',
                port: 443,
              },
            },
          },
        },
      },
    },
    'application/merge-patch+json',
  );
  try {
    await client.delete(
      `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${options.webhookConfigurationName}`,
    );
  } catch (error) {
    if (apiStatus(error) !== 404) throw error;
  }
}
