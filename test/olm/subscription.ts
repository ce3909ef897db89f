/**
 * Installing the product through a LocalOlm the way the OpenShift procedure says, shared by the OLM e2e and
 * `make demo`: a Namespace labelled for cluster monitoring, an OperatorGroup and a Subscription to channel
 * stable, then the InstallPlan to Complete and the CSV to Succeeded. Kwok nodes run no containers, so the
 * webhook Deployment's pod is played by a process (startWebhookAsPod): the certificate OLM issued, the
 * Service OLM made routed to it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installNamespace, operatorName, webhookDeploymentName } from '../../src/manifests/install/names.js';
import { freePort } from '../cluster/processes.js';
import { waitFor } from '../cluster/wait-for.js';
import { catalogSourceName, olmNamespace, type LocalOlm } from './local-olm.js';

export const subscriptionName = 'metallb-operator-sub';
export const operatorGroupName = 'metallb-operator';
export const olmWebhookServiceName = `${webhookDeploymentName}-service`;

/** The three objects a user creates: Namespace, OperatorGroup, Subscription (channel stable). */
export function subscriptionManifests(namespace = installNamespace): string {
  return [
    `apiVersion: v1
kind: Namespace
metadata:
  name: ${namespace}
  labels:
    openshift.io/cluster-monitoring: "true"`,
    `apiVersion: operators.coreos.com/v1
kind: OperatorGroup
metadata:
  name: ${operatorGroupName}
  namespace: ${namespace}`,
    `apiVersion: operators.coreos.com/v1alpha1
kind: Subscription
metadata:
  name: ${subscriptionName}
  namespace: ${namespace}
spec:
  channel: stable
  name: ${operatorName}
  source: ${catalogSourceName}
  sourceNamespace: ${olmNamespace}`,
  ].join('\n---\n');
}

/** `kubectl get -o jsonpath`, '' when the object is missing. */
export async function jsonpath(
  olm: LocalOlm,
  kindAndName: readonly string[],
  path: string,
  namespace = installNamespace,
): Promise<string> {
  try {
    return (await olm.kubectl(['get', ...kindAndName, '-n', namespace, '-o', `jsonpath=${path}`])).trim();
  } catch {
    return '';
  }
}

const tail = (olm: LocalOlm, component: string, chars: number): string =>
  readFileSync(olm.logFile(component), 'utf8').slice(-chars);

/** Creates the Namespace, OperatorGroup and Subscription; returns what kubectl said. */
export function subscribe(olm: LocalOlm, namespace = installNamespace): Promise<string> {
  return olm.kubectl(['apply', '-f', '-'], subscriptionManifests(namespace));
}

/** Waits for the Subscription's InstallPlan and then for it to complete; returns its name. */
export async function waitForInstallPlanComplete(
  olm: LocalOlm,
  namespace = installNamespace,
): Promise<string> {
  const installPlan = await waitFor(
    'the Subscription to get an InstallPlan',
    async () =>
      (await jsonpath(olm, ['subscription', subscriptionName], '{.status.installPlanRef.name}', namespace)) ||
      undefined,
    120_000,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\ncatalog log:\n${tail(olm, 'catalog', 4000)}`);
  });
  await waitFor(
    `InstallPlan ${installPlan} to complete`,
    async () =>
      (await jsonpath(olm, ['installplan', installPlan], '{.status.phase}', namespace)) === 'Complete'
        ? true
        : undefined,
    180_000,
  ).catch(async (error: unknown) => {
    const status = await jsonpath(olm, ['installplan', installPlan], '{.status}', namespace);
    throw new Error(
      `${String(error)}\nInstallPlan status: ${status.slice(0, 4000)}\ncatalog log:\n${tail(olm, 'catalog', 6000)}`,
    );
  });
  return installPlan;
}

export async function waitForCsvSucceeded(
  olm: LocalOlm,
  name: string,
  namespace = installNamespace,
): Promise<void> {
  await waitFor(
    `CSV ${name} to succeed`,
    async () =>
      (await jsonpath(olm, ['csv', name], '{.status.phase}', namespace)) === 'Succeeded' ? true : undefined,
    120_000,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\nolm log:\n${tail(olm, 'olm', 4000)}`);
  });
}

export interface WebhookPodOptions<T> {
  readonly namespace?: string;
  /** Where the certificate OLM issued is written (a new folder under it per call). */
  readonly workDir: string;
  /** Starts `metallb webhook` with these arguments, e.g. as the CSV's webhook ServiceAccount. */
  readonly start: (args: readonly string[]) => T;
  /** Sends the API server's connections for `destination` (the Service's "clusterIP:port") to `target`. */
  readonly route: (destination: string, target: { host: string; port: number }) => void;
}

/**
 * The webhook Deployment's pod, as a process: the certificate OLM issued for the webhook Service (the Secret
 * OLM mounts into the pod), and the Service's cluster IP routed to it, so the API server calls it exactly as
 * the webhook configurations OLM wrote say.
 */
export async function startWebhookAsPod<T>(olm: LocalOlm, options: WebhookPodOptions<T>): Promise<T> {
  const namespace = options.namespace ?? installNamespace;
  const getJson = async <R>(args: string[]): Promise<R> =>
    JSON.parse(await olm.kubectl(['get', ...args, '-n', namespace, '-o', 'json'])) as R;
  // During an upgrade OLM replaces the Secret: wait for the one the current CSV's install made.
  const secret = await waitFor(
    `the webhook certificate Secret ${olmWebhookServiceName}-cert`,
    () =>
      getJson<{ data: Record<string, string> }>(['secret', `${olmWebhookServiceName}-cert`]).catch(
        () => undefined,
      ),
    60_000,
  );
  const certDir = mkdtempSync(join(options.workDir, 'webhook-certs-'));
  for (const file of ['tls.crt', 'tls.key'])
    writeFileSync(join(certDir, file), Buffer.from(secret.data[file] ?? '', 'base64'), { mode: 0o600 });
  const port = await freePort();
  const started = options.start([
    '--host=127.0.0.1',
    `--port=${port}`,
    `--cert-dir=${certDir}`,
    `--namespace=${namespace}`,
  ]);
  const service = await getJson<{ spec: { clusterIP: string; ports: { port: number }[] } }>([
    'service',
    olmWebhookServiceName,
  ]);
  for (const servicePort of service.spec.ports)
    options.route(`${service.spec.clusterIP}:${servicePort.port}`, { host: '127.0.0.1', port });
  return started;
}
