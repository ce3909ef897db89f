/**
 * What the cluster serves that changes what the operator renders, found through API discovery: the
 * monitoring.coreos.com/v1 ServiceMonitor and PrometheusRule kinds (prometheus-operator installed), and OpenShift
 * (config.openshift.io served). A 404 means "not here"; any other failure is thrown, so the caller retries
 * instead of pruning what an earlier answer rendered.
 */
import { apiStatus, type RawClient } from '../runtime/raw-client.js';
import type { ClusterCapabilities } from './render/index.js';

interface ResourceList {
  readonly resources?: readonly { readonly name: string }[];
}

async function discover<T>(client: Pick<RawClient, 'get'>, path: string): Promise<T | undefined> {
  try {
    return await client.get<T>(path);
  } catch (error) {
    if (apiStatus(error) === 404) return undefined;
    throw error;
  }
}

export async function detectCapabilities(client: Pick<RawClient, 'get'>): Promise<ClusterCapabilities> {
  const [monitoring, openShift] = await Promise.all([
    discover<ResourceList>(client, '/apis/monitoring.coreos.com/v1'),
    discover<unknown>(client, '/apis/config.openshift.io'),
  ]);
  const served = (plural: string): boolean =>
    (monitoring?.resources ?? []).some((resource) => resource.name === plural);
  return {
    serviceMonitors: served('servicemonitors'),
    prometheusRules: served('prometheusrules'),
    openShift: openShift !== undefined,
  };
}

export function sameCapabilities(a: ClusterCapabilities, b: ClusterCapabilities): boolean {
  return (
    a.serviceMonitors === b.serviceMonitors &&
    a.prometheusRules === b.prometheusRules &&
    a.openShift === b.openShift
  );
}
