/**
 * What speaker suites (and the BGP benchmark) do on the cluster side of the BGP lab: run `metallb speaker`
 * per topology node, write MetalLB CRs, and stand in for the controller and the endpoint controllers by
 * writing LoadBalancer status and EndpointSlices directly, so a speaker failure is the speaker's alone.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiStatus } from '../../../src/runtime/raw-client.js';
import { rawClient } from './cluster.js';
import { startProduct, type ProductProcess } from './product.js';
import type { BgpTopology, TopologyNode } from './topology.js';

export const METALLB_NAMESPACE = 'metallb-system';
const FIELD_MANAGER = 'metallb-e2e-speaker-suite';

// ------------------------------------------------------------------------------------------ speakers

export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface SpeakerHandle {
  readonly node: TopologyNode;
  readonly product: ProductProcess;
  readonly metricsPort: number;
  readonly healthPort: number;
  log(): string;
  /**
   * One scrape of /metrics, parsed; plain HTTP, so only for speakers started without secureMetrics, and
   * only from the host namespace (a speaker inside its node's namespace listens on that loopback).
   */
  metrics(): Promise<MetricSample[]>;
  stop(): Promise<void>;
}

interface ReadyLine {
  readonly msg?: string;
  readonly metricsPort?: number;
  readonly healthPort?: number;
}

function readyLine(log: string): ReadyLine | undefined {
  for (const line of log.split('\n')) {
    if (!line.includes('"speaker ready"')) continue;
    try {
      const parsed = JSON.parse(line) as ReadyLine;
      if (parsed.msg === 'speaker ready') return parsed;
    } catch {
      // a partial line still being written; the next poll sees it whole
    }
  }
  return undefined;
}

export interface SpeakerOptions {
  readonly extraArgs?: readonly string[];
  /** Serve /metrics as in a cluster (HTTPS, bearer token, authorization) instead of plain HTTP. */
  readonly secureMetrics?: boolean;
  /**
   * Starts the speaker with these arguments inside the node's network namespace (e.g. as its ServiceAccount,
   * through an API relay) instead of in the host's. There it may run layer 2 too: it answers only on the
   * node's link. Its metrics and probe ports are then on the namespace's loopback, out of metrics()' reach.
   */
  readonly launchInNodeNamespace?: (args: readonly string[]) => ProductProcess;
  /**
   * Run inside the node's network namespace, reaching the API server through this kubeconfig (an
   * ApiRelay's, see api-relay.ts) instead of from the host: a test can then cut that one speaker off.
   * Layer 2 stays off, as in the host's namespace.
   */
  readonly namespaceKubeconfig?: string;
  /** Extra environment for the speaker process (e.g. a benchmark's memory probe). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Runs `metallb speaker` for a topology node in the host namespace, driving that node's FRR by pathspace,
 * and resolves once it logged "speaker ready". The topology's watchdog adopts it.
 */
export async function startSpeaker(
  topology: BgpTopology,
  nodeName: string,
  {
    extraArgs = [],
    secureMetrics = false,
    launchInNodeNamespace,
    namespaceKubeconfig,
    env,
  }: SpeakerOptions = {},
): Promise<SpeakerHandle> {
  const node = topology.node(nodeName);
  const inNamespace = launchInNodeNamespace !== undefined || namespaceKubeconfig !== undefined;
  const args = [
    '--node',
    node.name,
    '--frr-mode',
    'local',
    '--frr-pathspace',
    node.pathspace,
    '--port',
    '0',
    '--health-probe-port',
    '0',
    // Scraped over loopback only; nothing else needs to reach these ports.
    '--bind-address',
    '127.0.0.1',
    '--log-level',
    'debug',
    // In the host's namespace layer 2 would answer ARP on the host's own interfaces.
    ...(launchInNodeNamespace ? [] : ['--disable-l2']),
    ...extraArgs,
  ];
  const product = launchInNodeNamespace
    ? launchInNodeNamespace(args)
    : namespaceKubeconfig !== undefined
      ? startProduct('speaker', [`--kubeconfig=${namespaceKubeconfig}`, ...args], {
          secureMetrics,
          kubeconfig: false,
          ...(env ? { env } : {}),
          wrapper: ['ip', 'netns', 'exec', node.namespace],
        })
      : startProduct('speaker', args, { secureMetrics, ...(env ? { env } : {}) });
  topology.adoptProcess(product.process.pid);
  try {
    await product.process.waitUntilReady(async () => readyLine(product.log()) !== undefined, 60_000);
  } catch (error) {
    await product.stop();
    throw error;
  }
  const ready = readyLine(product.log()) as ReadyLine;
  if (typeof ready.metricsPort !== 'number' || typeof ready.healthPort !== 'number') {
    await product.stop();
    throw new Error(`the speaker's ready line lacks metricsPort/healthPort: ${JSON.stringify(ready)}`);
  }
  const metricsPort = ready.metricsPort;
  return {
    node,
    product,
    metricsPort,
    healthPort: ready.healthPort,
    log: () => product.log(),
    metrics: async () => {
      if (inNamespace) throw new Error(`the speaker of ${node.name} serves metrics inside ${node.namespace}`);
      return parsePrometheusText(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
    },
    stop: async () => {
      await product.stop();
      // The speaker keeps frr.conf (passwords included) in a private scratch folder named after the pathspace.
      rmSync(join(tmpdir(), `metallb-speaker-${node.pathspace}`), { recursive: true, force: true });
    },
  };
}

/** One speaker per topology node, started together; if any fails to start, the others are stopped. */
export async function startSpeakers(
  topology: BgpTopology,
  options: SpeakerOptions | ((node: TopologyNode) => SpeakerOptions) = {},
): Promise<SpeakerHandle[]> {
  const results = await Promise.allSettled(
    topology.nodes.map((node) =>
      startSpeaker(topology, node.name, typeof options === 'function' ? options(node) : options),
    ),
  );
  const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) {
    await Promise.all(started.map((speaker) => speaker.stop()));
    throw failure.reason;
  }
  return started;
}

/** The Prometheus text format, enough for gauges and counters: `name{a="b",c="d"} value`. */
export function parsePrometheusText(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] as string] = (pair[2] as string).replace(/\\(.)/g, (_, escaped: string) =>
        escaped === 'n' ? '\n' : escaped,
      );
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with this name whose labels include `labels`; undefined if there is none. */
export function metricValue(
  samples: readonly MetricSample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  return samples.find(
    (sample) =>
      sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  )?.value;
}

/** The speaker's log as JSON records (lines that are not JSON are skipped). */
export function logRecords(log: string): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      records.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // partial line
    }
  }
  return records;
}

// -------------------------------------------------------------------------------------- MetalLB CRs

export type MetallbKind =
  'IPAddressPool' | 'BGPPeer' | 'BGPAdvertisement' | 'BFDProfile' | 'Community' | 'L2Advertisement';

const metallbResources: Readonly<Record<MetallbKind, { readonly version: string; readonly plural: string }>> =
  {
    IPAddressPool: { version: 'v1beta1', plural: 'ipaddresspools' },
    BGPPeer: { version: 'v1beta2', plural: 'bgppeers' },
    BGPAdvertisement: { version: 'v1beta1', plural: 'bgpadvertisements' },
    BFDProfile: { version: 'v1beta1', plural: 'bfdprofiles' },
    Community: { version: 'v1beta1', plural: 'communities' },
    L2Advertisement: { version: 'v1beta1', plural: 'l2advertisements' },
  };

function metallbCollection(kind: MetallbKind): string {
  const { version, plural } = metallbResources[kind];
  return `/apis/metallb.io/${version}/namespaces/${METALLB_NAMESPACE}/${plural}`;
}

export interface MetallbObject {
  readonly kind: MetallbKind;
  readonly name: string;
  readonly spec: Readonly<Record<string, unknown>>;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Creates or updates MetalLB CRs (server-side apply, so re-applying a changed spec replaces our fields). */
export async function applyMetallb(...objects: readonly MetallbObject[]): Promise<void> {
  for (const object of objects) {
    await rawClient().apply(
      `${metallbCollection(object.kind)}/${object.name}`,
      {
        apiVersion: `metallb.io/${metallbResources[object.kind].version}`,
        kind: object.kind,
        metadata: {
          name: object.name,
          namespace: METALLB_NAMESPACE,
          ...(object.labels ? { labels: object.labels } : {}),
        },
        spec: object.spec,
      },
      FIELD_MANAGER,
    );
  }
}

export async function deleteMetallb(kind: MetallbKind, name: string): Promise<void> {
  await ignoreNotFound(rawClient().delete(`${metallbCollection(kind)}/${name}`));
}

/**
 * Deletes every MetalLB configuration CR in the namespace: the suites share one cluster, and objects another
 * suite left behind (the samples, say) would otherwise become part of the speaker's configuration.
 */
export async function deleteAllMetallb(): Promise<string[]> {
  const deleted: string[] = [];
  for (const kind of Object.keys(metallbResources) as MetallbKind[]) {
    const list = await rawClient().list<{ metadata: { name: string } }>(metallbCollection(kind));
    for (const item of list.items) {
      await deleteMetallb(kind, item.metadata.name);
      deleted.push(`${kind}/${item.metadata.name}`);
    }
  }
  return deleted;
}

export async function ensureBasicAuthSecret(name: string, password: string): Promise<void> {
  await rawClient().apply(
    `/api/v1/namespaces/${METALLB_NAMESPACE}/secrets/${name}`,
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: METALLB_NAMESPACE },
      type: 'kubernetes.io/basic-auth',
      stringData: { password },
    },
    FIELD_MANAGER,
  );
}

export async function deleteSecret(name: string): Promise<void> {
  await ignoreNotFound(rawClient().delete(`/api/v1/namespaces/${METALLB_NAMESPACE}/secrets/${name}`));
}

// ------------------------------------------------------------------------------------------- nodes

/** Sets (string) or removes (null) labels on a Node. */
export async function patchNodeLabels(
  node: string,
  labels: Readonly<Record<string, string | null>>,
): Promise<void> {
  await rawClient().patch(`/api/v1/nodes/${node}`, { metadata: { labels } }, 'application/merge-patch+json');
}

// ---------------------------------------------------------------------------------------- services

export interface LoadBalancerService {
  readonly namespace: string;
  readonly name: string;
  /** The address "the controller" assigned, written into status.loadBalancer.ingress; none leaves it pending. */
  readonly ip?: string;
  readonly pool: string;
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';
  /** Nodes that run a ready endpoint of the service. */
  readonly endpointNodes: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

const servicePath = (namespace: string, name: string): string =>
  `/api/v1/namespaces/${namespace}/services/${name}`;
const sliceCollection = (namespace: string): string =>
  `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;

/**
 * A selector-less LoadBalancer Service with its EndpointSlice and its assigned IP, the way the controller
 * and the endpoint-slice controller would leave it. The IP is written last, as in a real cluster.
 */
export async function createLoadBalancerService(service: LoadBalancerService): Promise<void> {
  await rawClient().create(`/api/v1/namespaces/${service.namespace}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: service.name,
      namespace: service.namespace,
      labels: service.labels ?? {},
      annotations: { 'metallb.io/ip-allocated-from-pool': service.pool },
    },
    spec: {
      type: 'LoadBalancer',
      externalTrafficPolicy: service.externalTrafficPolicy ?? 'Cluster',
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
    },
  });
  await setEndpointNodes(service.namespace, service.name, service.endpointNodes);
  if (service.ip !== undefined) await setServiceIngress(service.namespace, service.name, service.ip);
}

export async function setServiceIngress(namespace: string, name: string, ip: string): Promise<void> {
  await rawClient().patch(
    `${servicePath(namespace, name)}/status`,
    { status: { loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } } },
    'application/merge-patch+json',
  );
}

/** Removes the service's load-balancer address from its status, as the controller does when it releases it. */
export async function clearServiceIngress(namespace: string, name: string): Promise<void> {
  await rawClient().patch(
    `${servicePath(namespace, name)}/status`,
    { status: { loadBalancer: { ingress: null } } },
    'application/merge-patch+json',
  );
}

/** Replaces the service's endpoints: one ready endpoint on each of `nodes`. */
export async function setEndpointNodes(
  namespace: string,
  name: string,
  nodes: readonly string[],
): Promise<void> {
  const sliceName = `${name}-e2e`;
  await rawClient().apply(
    `${sliceCollection(namespace)}/${sliceName}`,
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: sliceName,
        namespace,
        labels: {
          'kubernetes.io/service-name': name,
          // Not the endpoint-slice controller's value: it leaves slices it does not manage alone.
          'endpointslice.kubernetes.io/managed-by': 'e2e.metallb.io',
        },
      },
      addressType: 'IPv4',
      endpoints: nodes.map((node, index) => ({
        // Pod addresses never leave the API server in these tests; any private-looking value does.
        addresses: [`10.244.${index + 1}.${10 + index}`],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: node,
      })),
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    },
    FIELD_MANAGER,
  );
}

export async function deleteService(namespace: string, name: string): Promise<void> {
  await ignoreNotFound(rawClient().delete(`${sliceCollection(namespace)}/${name}-e2e`));
  await ignoreNotFound(rawClient().delete(servicePath(namespace, name)));
}

// -------------------------------------------------------------------------------------------- events

export interface EventView {
  readonly namespace: string;
  readonly type: string;
  readonly reason: string;
  readonly note: string;
  readonly regarding: string;
}

/** events.k8s.io/v1 Events in the given namespaces, as flat records. */
export async function listEvents(namespaces: readonly string[]): Promise<EventView[]> {
  const events: EventView[] = [];
  for (const namespace of namespaces) {
    const list = await rawClient().list<{
      type?: string;
      reason?: string;
      note?: string;
      regarding?: { kind?: string; name?: string };
    }>(`/apis/events.k8s.io/v1/namespaces/${namespace}/events`);
    for (const item of list.items) {
      events.push({
        namespace,
        type: item.type ?? '',
        reason: item.reason ?? '',
        note: item.note ?? '',
        regarding: `${item.regarding?.kind ?? ''}/${item.regarding?.name ?? ''}`,
      });
    }
  }
  return events;
}

// ------------------------------------------------------------------------------------------- helpers

async function ignoreNotFound(request: Promise<unknown>): Promise<void> {
  try {
    await request;
  } catch (error) {
    if (apiStatus(error) !== 404) throw error;
  }
}
