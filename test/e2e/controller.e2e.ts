/**
 * `metallb controller` as a real process against the local control plane: Services get addresses from the
 * IPAddressPools as users expect, the status, events, pool status and metrics say so, and no address ever
 * moves or is handed out twice across a SIGKILL, a restart or a second replica.
 *
 * Pools live in metallb-system; this suite deletes every IPAddressPool there at its start and end (and
 * each test its own), and uses address ranges no other test of the suite uses. Allocation only: no traffic
 * is ever sent to an assigned address.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1Condition, V1Service } from '@kubernetes/client-node';
import type { IPAddressPool } from '../../src/api/types.generated.js';
import { apiStatus } from '../../src/runtime/raw-client.js';
import {
  appsApi,
  createNamespace,
  ensureNamespace,
  kubectl,
  rawClient,
  waitFor,
} from '../cluster/lab/cluster.js';
import { startProduct, type ProductProcess } from '../cluster/lab/product.js';

const metallbNamespace = 'metallb-system';
const poolsPath = `/apis/metallb.io/v1beta1/namespaces/${metallbNamespace}/ipaddresspools`;
const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${metallbNamespace}/leases/metallb-controller`;

interface Controller {
  readonly product: ProductProcess;
  readonly metricsPort: number;
  readonly identity: string;
}

const running: Controller[] = [];
const namespaces: string[] = [];

async function startController(identity: string, extraArgs: readonly string[] = []): Promise<Controller> {
  const product = startProduct('controller', ['--port=0', '--health-probe-port=0', ...extraArgs], {
    env: { METALLB_POD_NAME: identity },
  });
  const line = await waitFor(
    `controller ${identity} to start`,
    async () => {
      if (!product.process.running) throw new Error(`controller exited:\n${product.log()}`);
      return product
        .log()
        .split('\n')
        .find((entry) => entry.includes('"msg":"controller running"'));
    },
    30_000,
  ).catch(async (error: unknown) => {
    await product.stop();
    throw error;
  });
  const metricsPort = (JSON.parse(line) as { metricsPort: number }).metricsPort;
  const controller = { product, metricsPort, identity };
  running.push(controller);
  return controller;
}

async function stopController(controller: Controller): Promise<void> {
  await controller.product.stop();
  running.splice(running.indexOf(controller), 1);
}

async function killController(controller: Controller): Promise<void> {
  process.kill(controller.product.process.pid as number, 'SIGKILL');
  await stopController(controller);
}

/** Waits until the controller leads and has loaded the pools (its log says so). */
async function waitUntilAllocating(controller: Controller, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `controller ${controller.identity} to allocate`,
    async () => (controller.product.log().includes('pools loaded') ? true : undefined),
    timeoutMs,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${controller.product.log()}`);
  });
}

async function metricsOf(controller: Controller): Promise<string> {
  return (await fetch(`http://127.0.0.1:${controller.metricsPort}/metrics`)).text();
}

async function applyPool(name: string, spec: IPAddressPool['spec']): Promise<void> {
  await rawClient().apply(
    `${poolsPath}/${name}`,
    {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name, namespace: metallbNamespace },
      spec,
    },
    'controller-e2e',
  );
}

async function deleteAllPools(): Promise<void> {
  await rawClient().delete(poolsPath);
}

async function deleteLease(): Promise<void> {
  await rawClient()
    .delete(leasePath)
    .catch((error: unknown) => {
      if (apiStatus(error) !== 404) throw error;
    });
}

async function testNamespace(prefix: string): Promise<string> {
  const namespace = await createNamespace(prefix);
  namespaces.push(namespace);
  return namespace;
}

/** Deletes the services first (one call), so no controller sees them lose their pool, then the namespaces. */
async function deleteNamespaces(): Promise<void> {
  const client = rawClient();
  for (const namespace of namespaces.splice(0)) {
    await client
      .delete(`/api/v1/namespaces/${namespace}/services`, { timeoutMs: 180_000 })
      .catch(() => undefined);
    await client.delete(`/api/v1/namespaces/${namespace}`).catch(() => undefined);
  }
}

interface ServiceOptions {
  readonly annotations?: Record<string, string>;
  readonly ports?: readonly number[];
  readonly loadBalancerClass?: string;
  readonly selector?: Record<string, string>;
  readonly ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  readonly ipFamilies?: readonly ('IPv4' | 'IPv6')[];
}

async function createService(namespace: string, name: string, options: ServiceOptions = {}): Promise<void> {
  await rawClient().create(`/api/v1/namespaces/${namespace}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, ...(options.annotations ? { annotations: options.annotations } : {}) },
    spec: {
      type: 'LoadBalancer',
      ...(options.loadBalancerClass ? { loadBalancerClass: options.loadBalancerClass } : {}),
      ...(options.ipFamilyPolicy ? { ipFamilyPolicy: options.ipFamilyPolicy } : {}),
      ...(options.ipFamilies ? { ipFamilies: options.ipFamilies } : {}),
      selector: options.selector ?? { app: name },
      ports: (options.ports ?? [80]).map((port) => ({ name: `p${port}`, port, protocol: 'TCP' })),
    },
  });
}

/** Creates services named `${prefix}-N` for N in [from, to), at most `limit` requests in flight. */
async function createServices(namespace: string, prefix: string, from: number, to: number, limit = 20) {
  let next = from;
  const client = rawClient();
  const worker = async (): Promise<void> => {
    while (next < to) {
      const index = next;
      next += 1;
      await client.create(`/api/v1/namespaces/${namespace}/services`, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `${prefix}-${index}`, namespace },
        spec: {
          type: 'LoadBalancer',
          // Thousands of services would take most of the cluster's NodePort range (30000-32767).
          allocateLoadBalancerNodePorts: false,
          selector: { app: prefix },
          ports: [{ port: 80, protocol: 'TCP' }],
        },
      });
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  client.close();
}

async function getService(namespace: string, name: string): Promise<V1Service> {
  return rawClient().get<V1Service>(`/api/v1/namespaces/${namespace}/services/${name}`);
}

function ingressOf(service: V1Service): string[] {
  return (service.status?.loadBalancer?.ingress ?? []).map((entry) => entry.ip ?? '').filter(Boolean);
}

async function waitForIngress(namespace: string, name: string, timeoutMs = 30_000): Promise<string[]> {
  return waitFor(
    `${namespace}/${name} to get an address`,
    async () => {
      const ips = ingressOf(await getService(namespace, name));
      return ips.length > 0 ? ips : undefined;
    },
    timeoutMs,
  );
}

/** Every service's first ingress address by name, once all `count` services in the namespace have one. */
async function waitForAllAssigned(
  namespace: string,
  count: number,
  timeoutMs: number,
): Promise<Map<string, string>> {
  const client = rawClient();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const list = await client.list<V1Service>(`/api/v1/namespaces/${namespace}/services`);
      const assigned = new Map<string, string>();
      for (const service of list.items) {
        const ip = ingressOf(service)[0];
        if (ip) assigned.set(service.metadata?.name ?? '', ip);
      }
      if (assigned.size >= count) return assigned;
      if (Date.now() > deadline) {
        throw new Error(
          `after ${timeoutMs} ms only ${assigned.size} of ${count} services in ${namespace} have an address`,
        );
      }
      // Listing thousands of services is not free for the API server the controller is writing to.
      await new Promise((resolve) => setTimeout(resolve, count > 100 ? 1000 : 250));
    }
  } finally {
    client.close();
  }
}

const addressAssigned = 'metallb.io/AddressAssigned';

function addressConditionOf(service: V1Service): V1Condition | undefined {
  return service.status?.conditions?.find((condition) => condition.type === addressAssigned);
}

/** Waits until the service's metallb.io/AddressAssigned condition has this status and reason. */
async function waitForAddressCondition(
  namespace: string,
  name: string,
  status: 'True' | 'False',
  reason: string,
): Promise<V1Condition> {
  return waitFor(`${namespace}/${name} to be ${addressAssigned}=${status} (${reason})`, async () => {
    const condition = addressConditionOf(await getService(namespace, name));
    return condition?.status === status && condition.reason === reason ? condition : undefined;
  });
}

interface EventLike {
  readonly reason?: string;
  readonly note?: string;
  readonly type?: string;
  readonly regarding?: { readonly name?: string };
}

async function eventsOf(namespace: string, name: string): Promise<EventLike[]> {
  const list = await rawClient().list<EventLike>(`/apis/events.k8s.io/v1/namespaces/${namespace}/events`);
  return list.items.filter((event) => event.regarding?.name === name);
}

async function waitForEvent(namespace: string, name: string, reason: string): Promise<EventLike> {
  return waitFor(`a ${reason} event on ${namespace}/${name}`, async () =>
    (await eventsOf(namespace, name)).find((event) => event.reason === reason),
  );
}

function duplicates(ips: Iterable<string>): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const ip of ips) (seen.has(ip) ? repeated : seen).add(ip);
  return [...repeated];
}

beforeAll(async () => {
  await ensureNamespace(metallbNamespace);
  await deleteAllPools();
  await deleteLease();
});

/** Also on failure: nothing of one test may leak into the next. */
async function cleanUp(): Promise<void> {
  for (const controller of [...running]) await stopController(controller);
  await deleteNamespaces();
  await deleteAllPools();
  await deleteLease();
}

afterAll(cleanUp);

describe('metallb controller: assigning addresses', () => {
  let controller: Controller;

  beforeAll(async () => {
    controller = await startController('controller-basic');
    await waitUntilAllocating(controller);
  });

  afterEach(async () => {
    await deleteNamespaces();
    await deleteAllPools();
  });

  afterAll(cleanUp);

  it('gives the seed scenario an external IP from the pool, and kubectl get svc shows it', async () => {
    await applyPool('seed', { addresses: ['192.0.2.0/24', '198.51.100.1-198.51.100.3'] });
    const namespace = await testNamespace('ctl-seed');
    await appsApi().createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              containers: [{ name: 'web', image: 'example.invalid/web:1', ports: [{ containerPort: 80 }] }],
            },
          },
        },
      },
    });
    await createService(namespace, 'web');
    const [ip] = await waitForIngress(namespace, 'web');
    expect(ip).toBe('192.0.2.0');

    const shown = await kubectl(['get', 'svc', 'web', '-n', namespace]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP/);
    expect(shown.stdout).toMatch(/web\s+LoadBalancer\s+10\.96\.\d+\.\d+\s+192\.0\.2\.0\s+80:\d+\/TCP/);

    const service = await getService(namespace, 'web');
    expect(service.metadata?.annotations?.['metallb.io/ip-allocated-from-pool']).toBe('seed');
    const event = await waitForEvent(namespace, 'web', 'IPAllocated');
    expect(event.note).toBe('Assigned IP 192.0.2.0 from IPAddressPool "seed"');
  });

  it('lets a second service share the address under the same allow-shared-ip key with other ports', async () => {
    await applyPool('shared', { addresses: ['198.51.100.16/28'] });
    const namespace = await testNamespace('ctl-share');
    await createService(namespace, 'dns-tcp', {
      annotations: { 'metallb.io/allow-shared-ip': 'dns' },
      ports: [53],
    });
    const [ip] = await waitForIngress(namespace, 'dns-tcp');
    expect(ip).toBe('198.51.100.16');

    await createService(namespace, 'dns-web', {
      annotations: { 'metallb.io/allow-shared-ip': 'dns', 'metallb.io/loadBalancerIPs': ip as string },
      ports: [443],
    });
    expect(await waitForIngress(namespace, 'dns-web')).toEqual([ip]);

    // Same key, same port: refused with the clash named, and the first two keep the address.
    await createService(namespace, 'clash', {
      annotations: { 'metallb.io/allow-shared-ip': 'dns', 'metallb.io/loadBalancerIPs': ip as string },
      ports: [53],
    });
    const refused = await waitForEvent(namespace, 'clash', 'AllocationFailed');
    expect(refused.type).toBe('Warning');
    expect(refused.note).toContain('53');
    expect(ingressOf(await getService(namespace, 'clash'))).toEqual([]);
    expect(ingressOf(await getService(namespace, 'dns-tcp'))).toEqual([ip]);
  });

  it('refuses a requested IP outside every pool with an AllocationFailed event that says why', async () => {
    await applyPool('narrow', { addresses: ['198.51.100.128/28'] });
    const namespace = await testNamespace('ctl-fail');
    await createService(namespace, 'wants-other', {
      annotations: { 'metallb.io/loadBalancerIPs': '203.0.113.200' },
    });
    const event = await waitForEvent(namespace, 'wants-other', 'AllocationFailed');
    expect(event.type).toBe('Warning');
    expect(event.note).toContain(`Service ${namespace}/wants-other requests 203.0.113.200`);
    expect(event.note).toContain('no IPAddressPool contains it');
    expect(ingressOf(await getService(namespace, 'wants-other'))).toEqual([]);
  });

  it('says why a Service is pending in its AddressAssigned condition, and flips it to True once a pool fits', async () => {
    const namespace = await testNamespace('ctl-cond');
    await applyPool('team', {
      addresses: ['203.0.113.80/29'],
      serviceAllocation: { namespaces: ['someone-else'] },
    });
    await createService(namespace, 'web');
    await createService(namespace, 'gold', { annotations: { 'metallb.io/address-pool': 'gold' } });

    const noNamespace = await waitForAddressCondition(namespace, 'web', 'False', 'NoPoolForNamespace');
    expect(noNamespace.message).toBe(
      `Service ${namespace}/web cannot get an address: no IPAddressPool may serve it automatically: ` +
        `IPAddressPool "team" admits only namespace someone-else (spec.serviceAllocation), and namespace ` +
        `${namespace} is not one of them`,
    );
    const noPool = await waitForAddressCondition(namespace, 'gold', 'False', 'PoolNotFound');
    expect(noPool.message).toBe(
      `Service ${namespace}/gold asks for IPAddressPool "gold" (metallb.io/address-pool), which does not ` +
        'exist; use one of "team", or create it',
    );
    const pendingGold = await getService(namespace, 'gold');
    expect(noPool.observedGeneration).toBe(pendingGold.metadata?.generation);
    expect(String(noPool.lastTransitionTime)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // Events stay as they were.
    expect((await waitForEvent(namespace, 'gold', 'AllocationFailed')).note).toBe(
      `Failed to allocate IP: ${noPool.message}`,
    );

    // What the README tells users to run.
    const shown = await kubectl([
      'get',
      'svc',
      'web',
      '-n',
      namespace,
      '-o',
      'jsonpath={.status.conditions}',
    ]);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual([
      expect.objectContaining({ type: addressAssigned, status: 'False', reason: 'NoPoolForNamespace' }),
    ]);

    await applyPool('gold', { addresses: ['203.0.113.64/29'], autoAssign: false });
    const assigned = await waitForAddressCondition(namespace, 'gold', 'True', 'Assigned');
    expect(assigned.message).toBe('Assigned 203.0.113.64 from IPAddressPool "gold"');
    expect(ingressOf(await getService(namespace, 'gold'))).toEqual(['203.0.113.64']);
    // Another pool exists now, but none may serve web automatically: a new reason, still False.
    expect(
      (await waitForAddressCondition(namespace, 'web', 'False', 'NoMatchingPool')).lastTransitionTime,
    ).toEqual(noNamespace.lastTransitionTime);

    await applyPool('team', {
      addresses: ['203.0.113.80/29'],
      serviceAllocation: { namespaces: ['someone-else', namespace] },
    });
    const web = await waitForAddressCondition(namespace, 'web', 'True', 'Assigned');
    expect(web.message).toBe('Assigned 203.0.113.80 from IPAddressPool "team"');
    const reason = await kubectl([
      'get',
      'svc',
      'web',
      '-n',
      namespace,
      '-o',
      `jsonpath={.status.conditions[?(@.type=="${addressAssigned}")].status}`,
    ]);
    expect(reason.stdout).toBe('True');
  });

  it('releases an address that leaves the pool and reassigns the service, with an event', async () => {
    await applyPool('movable', { addresses: ['203.0.113.0/28'], autoAssign: false });
    const namespace = await testNamespace('ctl-move');
    await createService(namespace, 'pinned', { annotations: { 'metallb.io/address-pool': 'movable' } });
    expect(await waitForIngress(namespace, 'pinned')).toEqual(['203.0.113.0']);

    await applyPool('movable', { addresses: ['203.0.113.16/28'], autoAssign: false });
    const moved = await waitFor('the service to move into the new range', async () => {
      const ips = ingressOf(await getService(namespace, 'pinned'));
      return ips[0] === '203.0.113.16' ? ips : undefined;
    });
    expect(moved).toEqual(['203.0.113.16']);
    const cleared = await waitForEvent(namespace, 'pinned', 'ClearAssignment');
    expect(cleared.note).toContain('203.0.113.0');
    expect(cleared.note).toContain('no IPAddressPool contains it');
    const reassigned = await waitFor('an IPAllocated event for the new address', async () =>
      (await eventsOf(namespace, 'pinned')).find(
        (event) => event.reason === 'IPAllocated' && event.note?.includes('203.0.113.16'),
      ),
    );
    expect(reassigned.note).toBe(
      'Assigned IP 203.0.113.16 from IPAddressPool "movable" in place of 203.0.113.0',
    );
  });

  it('counts assigned and available addresses in IPAddressPool.status and the allocator metrics', async () => {
    await applyPool('counted', { addresses: ['198.51.100.64/30'], autoAssign: false });
    const namespace = await testNamespace('ctl-count');
    for (const name of ['one', 'two']) {
      await createService(namespace, name, { annotations: { 'metallb.io/address-pool': 'counted' } });
    }
    await waitForAllAssigned(namespace, 2, 30_000);
    const statusOf = async () => (await rawClient().get<IPAddressPool>(`${poolsPath}/counted`)).status ?? {};
    await waitFor('the pool status to count two', async () =>
      (await statusOf()).assignedIPv4 === 2 ? true : undefined,
    );
    expect(await statusOf()).toEqual({
      assignedIPv4: 2,
      assignedIPv6: 0,
      availableIPv4: 2,
      availableIPv6: 0,
    });

    const metrics = await metricsOf(controller);
    expect(metrics).toContain('metallb_allocator_addresses_total{pool="counted"} 4');
    expect(metrics).toContain('metallb_allocator_addresses_in_use_total{pool="counted"} 2');
    expect(metrics).toContain('metallb_k8s_client_config_loaded_bool 1');
    expect(metrics).toContain('metallb_k8s_client_config_stale_bool 0');

    await rawClient().delete(`/api/v1/namespaces/${namespace}/services/two`);
    await waitFor('the pool status to count one after a deletion', async () =>
      (await statusOf()).assignedIPv4 === 1 ? true : undefined,
    );
    expect(await metricsOf(controller)).toContain(
      'metallb_allocator_addresses_in_use_total{pool="counted"} 1',
    );
  });

  it('releases the address of a service that stops being a LoadBalancer, and hands it to a waiting one', async () => {
    await applyPool('single', { addresses: ['198.51.100.200/32'] });
    const namespace = await testNamespace('ctl-type');
    await createService(namespace, 'first');
    expect(await waitForIngress(namespace, 'first')).toEqual(['198.51.100.200']);
    await createService(namespace, 'second');
    await waitForEvent(namespace, 'second', 'AllocationFailed');

    await rawClient().patch(
      `/api/v1/namespaces/${namespace}/services/first`,
      { spec: { type: 'ClusterIP' } },
      'application/merge-patch+json',
    );
    expect(await waitForIngress(namespace, 'second')).toEqual(['198.51.100.200']);
    const first = await getService(namespace, 'first');
    expect(ingressOf(first)).toEqual([]);
    expect(first.metadata?.annotations?.['metallb.io/ip-allocated-from-pool']).toBeUndefined();
    // No longer a LoadBalancer we serve: no condition of ours either.
    expect(addressConditionOf(first)).toBeUndefined();
    expect((await waitForAddressCondition(namespace, 'second', 'True', 'Assigned')).message).toBe(
      'Assigned 198.51.100.200 from IPAddressPool "single"',
    );
  });

  it('leaves services of another load-balancer class alone', async () => {
    await applyPool('classy', { addresses: ['198.51.100.240/29'] });
    const namespace = await testNamespace('ctl-class');
    await createService(namespace, 'foreign', { loadBalancerClass: 'example.com/other' });
    await createService(namespace, 'ours');
    expect(await waitForIngress(namespace, 'ours')).toEqual(['198.51.100.240']);
    const foreign = await getService(namespace, 'foreign');
    expect(ingressOf(foreign)).toEqual([]);
    expect(foreign.metadata?.annotations?.['metallb.io/ip-allocated-from-pool']).toBeUndefined();
    expect(addressConditionOf(foreign)).toBeUndefined();
    expect(await eventsOf(namespace, 'foreign')).toEqual([]);
  });

  it('keeps the last valid pools while the pools are invalid, and says so in an event and a metric', async () => {
    await applyPool('steady', { addresses: ['198.51.100.96/29'] });
    const namespace = await testNamespace('ctl-stale');
    await createService(namespace, 'before');
    expect(await waitForIngress(namespace, 'before')).toEqual(['198.51.100.96']);

    await applyPool('overlapping', { addresses: ['198.51.100.96/30'] });
    await waitFor('the configuration to be reported stale', async () =>
      (await metricsOf(controller)).includes('metallb_k8s_client_config_stale_bool 1') ? true : undefined,
    );
    const warning = await waitFor('a warning on the overlapping pool', async () =>
      (await eventsOf(metallbNamespace, 'overlapping')).find(
        (event) => event.reason === 'InvalidConfiguration',
      ),
    );
    expect(warning.type).toBe('Warning');
    expect(warning.note).toContain('spec.addresses[0]');
    expect(warning.note).toContain('keeps the last valid pools');

    // Still served from the last valid pools.
    await createService(namespace, 'during');
    expect(await waitForIngress(namespace, 'during')).toEqual(['198.51.100.97']);
    expect(ingressOf(await getService(namespace, 'before'))).toEqual(['198.51.100.96']);

    await rawClient().delete(`${poolsPath}/overlapping`);
    await waitFor('the configuration to be fresh again', async () =>
      (await metricsOf(controller)).includes('metallb_k8s_client_config_stale_bool 0') ? true : undefined,
    );
  });

  it('writes nothing more once every service is converged: a status write is no new reconcile', async () => {
    await applyPool('quiet', { addresses: ['198.51.100.232/29'] });
    const namespace = await testNamespace('ctl-quiet');
    await createService(namespace, 'calm');
    await waitForIngress(namespace, 'calm');
    await waitFor('the annotation', async () =>
      (await getService(namespace, 'calm')).metadata?.annotations?.['metallb.io/ip-allocated-from-pool']
        ? true
        : undefined,
    );
    const versionBefore = (await getService(namespace, 'calm')).metadata?.resourceVersion;
    const reconciles = async () =>
      Number(
        /controller_runtime_reconcile_total\{controller="service",result="success"\} (\d+)/.exec(
          await metricsOf(controller),
        )?.[1],
      );
    // Earlier tests' deletions may still be draining through the queue: start from a quiet controller.
    let previous = -1;
    const before = await waitFor('the controller to go quiet', async () => {
      const now = await reconciles();
      const quiet = now === previous;
      previous = now;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return quiet ? now : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await reconciles()).toBe(before);
    expect((await getService(namespace, 'calm')).metadata?.resourceVersion).toBe(versionBefore);
  });
});

describe('metallb controller: two replicas', () => {
  afterEach(cleanUp);

  it('never assigns an address twice while two replicas run, and the standby takes over from a killed leader', async () => {
    await applyPool('pair', { addresses: ['10.201.0.0/24'] });
    const namespace = await testNamespace('ctl-pair');
    const [a, b] = await Promise.all([startController('replica-a'), startController('replica-b')]);
    await createServices(namespace, 'pair', 0, 200);
    const first = await waitForAllAssigned(namespace, 200, 120_000);
    expect(duplicates(first.values())).toEqual([]);

    const holder = (await rawClient().get<{ spec?: { holderIdentity?: string } }>(leasePath)).spec
      ?.holderIdentity;
    const leader = holder === a?.identity ? a : b;
    const standby = leader === a ? b : a;
    if (!leader || !standby) throw new Error('two controllers expected');
    expect(standby.product.log()).not.toContain('addresses assigned');

    await killController(leader);
    await createServices(namespace, 'pair', 200, 250);
    // The Lease must expire (15 s) before the standby leads.
    const all = await waitForAllAssigned(namespace, 250, 90_000);
    expect(duplicates(all.values())).toEqual([]);
    const moved = [...first].filter(([name, ip]) => all.get(name) !== ip);
    expect(moved).toEqual([]);
    const newHolder = (await rawClient().get<{ spec?: { holderIdentity?: string } }>(leasePath)).spec
      ?.holderIdentity;
    expect(newHolder).toBe(standby.identity);
  });
});

describe('metallb controller: restart', () => {
  afterEach(cleanUp);

  it('keeps every one of 2,000 addresses across a SIGKILL and restart, and gives new services fresh ones', async () => {
    await applyPool('bulk', { addresses: ['10.200.0.0/16'] });
    const namespace = await testNamespace('ctl-restart');
    const first = await startController('restart');
    await waitUntilAllocating(first);
    await createServices(namespace, 'bulk', 0, 2000);
    const before = await waitForAllAssigned(namespace, 2000, 180_000);
    expect(duplicates(before.values())).toEqual([]);

    await killController(first);
    // Created while no controller runs: a restart that allocated before rebuilding would hand these the
    // lowest addresses, which the first 2,000 hold.
    await createServices(namespace, 'late', 0, 20);
    // The same pod name, as a restarted container has: it takes its Lease back at once.
    const second = await startController('restart');
    await waitUntilAllocating(second);
    const after = await waitForAllAssigned(namespace, 2020, 120_000);

    const changed = [...before].filter(([name, ip]) => after.get(name) !== ip);
    expect(changed).toEqual([]);
    expect(duplicates(after.values())).toEqual([]);
    expect(second.product.log()).toContain('"kept":2000');
  });
});

describe('metallb controller: IPv6 and dual-stack services', () => {
  afterEach(cleanUp);

  it('gives an IPv6-only service an IPv6 address and a dual-stack one an address per family, kept across a restart', async () => {
    await applyPool('v6', { addresses: ['2001:db8:6::/120'] });
    await applyPool('dual', { addresses: ['198.51.100.16/28', '2001:db8:d5::/120'] });
    const namespace = await testNamespace('ctl-dual');
    const first = await startController('dual-stack');
    await waitUntilAllocating(first);
    await createService(namespace, 'six', {
      ipFamilyPolicy: 'SingleStack',
      ipFamilies: ['IPv6'],
      annotations: { 'metallb.io/address-pool': 'v6' },
    });
    await createService(namespace, 'both', {
      ipFamilyPolicy: 'RequireDualStack',
      ipFamilies: ['IPv4', 'IPv6'],
      annotations: { 'metallb.io/address-pool': 'dual' },
    });
    await createService(namespace, 'prefer', {
      ipFamilyPolicy: 'PreferDualStack',
      annotations: { 'metallb.io/address-pool': 'dual' },
    });

    // The cluster itself is dual-stack: the API server gave the dual-stack services a cluster IP per family.
    const both = await getService(namespace, 'both');
    expect(both.spec?.clusterIPs).toHaveLength(2);
    expect(both.spec?.clusterIPs?.[1]).toMatch(/^2001:db8:ffff::/);
    expect((await getService(namespace, 'six')).spec?.clusterIP).toMatch(/^2001:db8:ffff::/);

    const six = await waitForIngress(namespace, 'six');
    expect(six).toEqual(['2001:db8:6::']);
    const dual = await waitFor('both families for both and prefer', async () => {
      const assigned = [
        ingressOf(await getService(namespace, 'both')),
        ingressOf(await getService(namespace, 'prefer')),
      ];
      return assigned.every((ips) => ips.length === 2) ? assigned : undefined;
    });
    for (const ips of dual) {
      expect(ips.filter((ip) => /^198\.51\.100\.(1[6-9]|2\d|3[01])$/.test(ip))).toHaveLength(1);
      expect(ips.filter((ip) => ip.startsWith('2001:db8:d5::'))).toHaveLength(1);
    }
    expect(duplicates(dual.flat())).toEqual([]);

    await killController(first);
    const second = await startController('dual-stack');
    await waitUntilAllocating(second);
    // A restarted controller that re-allocated would write new addresses; give it time to converge.
    await waitFor('the restarted controller to reconcile the services', async () =>
      second.product.log().includes('"kept":3') ? true : undefined,
    );
    expect(ingressOf(await getService(namespace, 'six'))).toEqual(six);
    expect(ingressOf(await getService(namespace, 'both'))).toEqual(dual[0]);
    expect(ingressOf(await getService(namespace, 'prefer'))).toEqual(dual[1]);
  });
});
