/**
 * Bad days, end to end, on a control plane of this suite's own (it stops the API server and freezes etcd,
 * which the shared one must never see): the controller and the webhook run as real processes while
 * LoadBalancer Services churn (created and deleted), and the suite watches every address the whole time.
 *
 * The guarantees, for every fault: the processes reconnect by themselves (same process, never exited), no
 * address moves from the Service that first got it, no address is held by two Services at once, and every
 * Service that still exists ends with an address. Recovery times are measured and printed; the assertions
 * on them are loose because the 2-core machine is shared.
 *
 * The issue asks for 500 churning Services; each test churns 240 (24 of them deleted again) so that a test
 * stays under about two minutes on two busy cores, most of which is the fault itself.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1Service } from '@kubernetes/client-node';
import { KubeConfig } from '@kubernetes/client-node';
import { apiStatus, RawClient } from '../../src/runtime/raw-client.js';
import { kubectl, waitFor } from '../cluster/lab/cluster.js';
import { startProduct, type ProductProcess } from '../cluster/lab/product.js';
import { LocalCluster } from '../cluster/local-cluster.js';
import { freePort, sleep } from '../cluster/processes.js';
import { persist } from '../cluster/persist.js';

const metallbNamespace = 'metallb-system';
const poolsPath = `/apis/metallb.io/v1beta1/namespaces/${metallbNamespace}/ipaddresspools`;
/** Services per churn, and every how many one is deleted again. */
const churnCount = 240;
const deleteEvery = 10;

let cluster: LocalCluster | undefined;
const started: ProductProcess[] = [];
const figures: string[] = [];
let namespaceCounter = 0;

function client(): RawClient {
  if (!cluster) throw new Error('no cluster');
  const config = new KubeConfig();
  config.loadFromFile(cluster.kubeconfigPath);
  return new RawClient(config);
}

function record(figure: string): void {
  figures.push(figure);
  process.stdout.write(`faults.e2e: ${figure}\n`);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Churn {
  /** Resolves once every Service was created and every tenth deleted again. */
  readonly done: Promise<void>;
  /** Names of the Services deleted again. */
  readonly deleted: Set<string>;
}

/**
 * Creates `count` Services at about `perSecond`, retrying each until the API takes it (a 409 after a timed-out
 * try means the first try landed), and deletes every tenth one shortly after it was created, so addresses are
 * released and handed out again while the fault lasts.
 */
function churn(namespace: string, count: number, perSecond: number): Churn {
  const api = client();
  const deleted = new Set<string>();
  const workers = 3;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next;
      next += 1;
      const name = `churn-${index}`;
      await persist(
        () =>
          api.create(
            `/api/v1/namespaces/${namespace}/services`,
            {
              apiVersion: 'v1',
              kind: 'Service',
              metadata: { name, namespace },
              spec: {
                type: 'LoadBalancer',
                allocateLoadBalancerNodePorts: false,
                selector: { app: 'churn' },
                ports: [{ port: 80, protocol: 'TCP' }],
              },
            },
            { timeoutMs: 5_000 },
          ),
        [409],
        180_000,
      );
      if (index % deleteEvery === deleteEvery - 1) {
        const victim = `churn-${index - deleteEvery / 2}`;
        deleted.add(victim);
        await persist(
          () => api.delete(`/api/v1/namespaces/${namespace}/services/${victim}`, { timeoutMs: 5_000 }),
          [404],
          180_000,
        );
      }
      await sleep((workers * 1000) / perSecond);
    }
  };
  const done = Promise.all(Array.from({ length: workers }, worker)).then(
    () => api.close(),
    (error: unknown) => {
      api.close();
      throw error;
    },
  );
  return { done, deleted };
}

function ingressOf(service: V1Service): string[] {
  return (service.status?.loadBalancer?.ingress ?? []).map((entry) => entry.ip ?? '').filter(Boolean);
}

/**
 * Lists the namespace's Services every 500 ms for as long as the API answers, and keeps what a user would
 * call a broken promise: a Service (by uid, so a recreated name is a new Service) whose address differs from
 * the first one it had, and an address two Services hold in the same snapshot.
 */
class AssignmentObserver {
  readonly firstAddress = new Map<
    string,
    { readonly name: string; readonly ips: string; readonly at: number }
  >();
  readonly moved = new Set<string>();
  readonly duplicates = new Set<string>();
  private stopped = false;
  private readonly loop: Promise<void>;
  private readonly api = client();

  constructor(private readonly namespace: string) {
    this.loop = this.run();
  }

  /** When the first address seen after `since` appeared (undefined: none yet). */
  firstAssignmentAfter(since: number): number | undefined {
    const times = [...this.firstAddress.values()].map((entry) => entry.at).filter((at) => at > since);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  /** Checks one snapshot; exported through the sets above. */
  observe(services: readonly V1Service[], at: number): void {
    const holders = new Map<string, string>();
    for (const service of services) {
      const uid = service.metadata?.uid ?? '';
      const name = service.metadata?.name ?? '';
      const ips = ingressOf(service);
      if (ips.length === 0) continue;
      const first = this.firstAddress.get(uid);
      if (!first) this.firstAddress.set(uid, { name, ips: ips.join(','), at });
      else if (first.ips !== ips.join(',')) this.moved.add(`${name}: ${first.ips} -> ${ips.join(',')}`);
      for (const ip of ips) {
        const holder = holders.get(ip);
        if (holder !== undefined && holder !== name) this.duplicates.add(`${ip}: ${holder} and ${name}`);
        holders.set(ip, name);
      }
    }
  }

  async snapshot(): Promise<V1Service[]> {
    return (
      await this.api.list<V1Service>(`/api/v1/namespaces/${this.namespace}/services`, { timeoutMs: 3_000 })
    ).items;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const items = await this.snapshot();
        this.observe(items, Date.now());
      } catch {
        // The API is down or frozen: that is the fault under test; the next poll tries again.
      }
      await sleep(500);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.api.close();
  }
}

/**
 * Waits until every Service the churn left has an address, then checks the end state the same way as the
 * snapshots: nothing moved, nothing held twice. Returns when the last one got its address.
 */
async function expectConverged(
  namespace: string,
  observer: AssignmentObserver,
  load: Churn,
  timeoutMs: number,
): Promise<number> {
  const expected = churnCount - load.deleted.size;
  const final = await waitFor(
    `all ${expected} remaining Services in ${namespace} to have an address`,
    async () => {
      const items = await observer.snapshot();
      observer.observe(items, Date.now());
      const assigned = items.filter((service) => ingressOf(service).length > 0);
      return assigned.length >= expected ? items : undefined;
    },
    { timeoutMs, intervalMs: 1_000 },
  ).catch(async (error: unknown) => {
    const items = await observer.snapshot().catch(() => []);
    const pending = items.filter((service) => ingressOf(service).length === 0).map((s) => s.metadata?.name);
    throw new Error(`${String(error)}; still without an address: ${pending.slice(0, 20).join(', ')}`);
  });
  const names = final.map((service) => service.metadata?.name ?? '');
  expect(names.filter((name) => load.deleted.has(name))).toEqual([]);
  expect(final).toHaveLength(expected);
  expect(final.filter((service) => ingressOf(service).length === 0)).toEqual([]);
  expect([...observer.moved]).toEqual([]);
  expect([...observer.duplicates]).toEqual([]);
  const allIps = final.flatMap(ingressOf);
  expect(new Set(allIps).size).toBe(allIps.length);
  return Math.max(...[...observer.firstAddress.values()].map((entry) => entry.at));
}

/** When a process logged lines with this message, in log order. */
function logTimes(product: ProductProcess, message: string): number[] {
  return product
    .log()
    .split('\n')
    .filter((line) => line.includes(`"msg":"${message}"`))
    .map((line) => Date.parse((JSON.parse(line) as { time: string }).time));
}

/** How many addresses the controller took over from the Services' status when it started allocating. */
function keptAddresses(controller: ProductProcess): number {
  const line = controller
    .log()
    .split('\n')
    .find((entry) => entry.includes('"msg":"pools loaded; state rebuilt from Service status"'));
  return line ? Number((JSON.parse(line) as { kept?: number }).kept) : Number.NaN;
}

/** Fails with the end of its log when the process is gone: it must ride out the fault, not restart. */
function expectStillRunning(product: ProductProcess): void {
  if (!product.process.running) {
    throw new Error(`${product.process.name} exited:\n${product.process.logTail(40)}`);
  }
}

async function startController(identity: string): Promise<ProductProcess> {
  const controller = startProduct('controller', ['--port=0', '--health-probe-port=0'], {
    env: { METALLB_POD_NAME: identity },
  });
  started.push(controller);
  return controller;
}

async function waitUntilAllocating(controller: ProductProcess): Promise<void> {
  await waitFor(
    'the controller to allocate',
    async () => {
      if (!controller.process.running) throw new Error(`controller exited:\n${controller.log()}`);
      return controller.log().includes('pools loaded') ? true : undefined;
    },
    60_000,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${controller.log()}`);
  });
}

const pool = (name: string, range: string) =>
  `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: ${name}, namespace: ${metallbNamespace}}\nspec: {addresses: [${range}]}`;

/** Starts the webhook registered at https://127.0.0.1:PORT and waits until the API server enforces it. */
async function startWebhook(port: number): Promise<{ webhook: ProductProcess; enforcedAt: number }> {
  const webhook = startProduct('webhook', [
    '--host=127.0.0.1',
    `--port=${port}`,
    `--local-url=https://127.0.0.1:${port}`,
    `--namespace=${metallbNamespace}`,
  ]);
  started.push(webhook);
  const enforcedAt = await waitFor(
    'the webhook to be enforced',
    async () => ((await webhookRefuses()) ? Date.now() : undefined),
    { timeoutMs: 60_000, intervalMs: 200 },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\nwebhook log:\n${webhook.log()}`);
  });
  return { webhook, enforcedAt };
}

/** True when an invalid pool is refused by our webhook (not only by the CRD schema). */
async function webhookRefuses(): Promise<boolean> {
  const result = await kubectl(['apply', '-f', '-'], pool('probe', '"not-an-address"'));
  if (result.code === 0) await kubectl(['delete', 'ipaddresspool', 'probe', '-n', metallbNamespace]);
  return /admission webhook "ipaddresspoolvalidationwebhook\.metallb\.io" denied/.test(result.stderr);
}

async function testNamespace(): Promise<string> {
  namespaceCounter += 1;
  const name = `faults-${namespaceCounter}`;
  await client().create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

beforeAll(async () => {
  cluster = await LocalCluster.start({ nodes: [] });
  // The lab helpers (kubectl, startProduct) follow these: point them at this suite's control plane.
  process.env.METALLB_E2E_KUBECONFIG = cluster.kubeconfigPath;
  process.env.METALLB_E2E_BIN_DIR = cluster.binDir;
  await client().create('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: metallbNamespace },
  });
  // One pool for the whole suite, far larger than a churn: every Service can have an address.
  await client().apply(
    `${poolsPath}/faults`,
    {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'faults', namespace: metallbNamespace },
      spec: { addresses: ['10.220.0.0/16'] },
    },
    'faults-e2e',
  );
}, 120_000);

afterEach(async () => {
  for (const product of started.splice(0)) await product.stop();
  // The webhook removes its configuration on a clean exit; a killed one leaves it behind.
  await kubectl([
    'delete',
    'validatingwebhookconfiguration',
    'metallb-webhook-configuration',
    '--ignore-not-found',
  ]);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  if (figures.length > 0) process.stdout.write(`\nfaults.e2e figures:\n  ${figures.join('\n  ')}\n`);
}, 60_000);

const metallbPath = `/apis/metallb.io/v1beta1/namespaces/${metallbNamespace}/metallbs/metallb`;
const speakerDaemonSetPath = `/apis/apps/v1/namespaces/${metallbNamespace}/daemonsets/speaker`;

async function applyMetalLB(spec: Record<string, unknown>): Promise<void> {
  await client().apply(
    metallbPath,
    {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'MetalLB',
      metadata: { name: 'metallb', namespace: metallbNamespace },
      spec,
    },
    'faults-e2e',
  );
}

/** The speaker container's args in the DaemonSet the operator rendered; undefined before it exists. */
async function renderedSpeakerArgs(): Promise<string[] | undefined> {
  try {
    const daemonSet = await client().get<{
      spec: { template: { spec: { containers: { name: string; args?: string[] }[] } } };
    }>(speakerDaemonSetPath);
    return daemonSet.spec.template.spec.containers.find((c) => c.name === 'speaker')?.args ?? [];
  } catch (error) {
    if (apiStatus(error) === 404) return undefined;
    throw error;
  }
}

/** The operator, running the MetalLB resource it was given (its workloads rendered; no pods needed). */
async function startOperator(): Promise<ProductProcess> {
  const operator = startProduct(
    'operator',
    ['--health-probe-bind-address=127.0.0.1:0', '--metrics-bind-address=0'],
    { env: { OPERATOR_NAMESPACE: metallbNamespace } },
  );
  started.push(operator);
  await applyMetalLB({ logLevel: 'info' });
  await waitFor(
    'the operator to render the speaker DaemonSet',
    async () => (await renderedSpeakerArgs())?.includes('--log-level=info'),
    60_000,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${operator.process.logTail(40)}`);
  });
  return operator;
}

/**
 * Runs the controller, the webhook and the operator, starts the churn, lets `fault` do its damage once the first addresses
 * are out (it resolves with the moment the control plane answered again), and checks every guarantee.
 */
async function rideOut(
  label: string,
  fault: () => Promise<number>,
  expectations: {
    /** The controller's watches fail (a stopped API server); a frozen etcd leaves them open and silent. */
    readonly watchesBreak: boolean;
  },
): Promise<void> {
  const namespace = await testNamespace();
  const controller = await startController(`ride-out-${namespace}`);
  await waitUntilAllocating(controller);
  const { webhook } = await startWebhook(await freePort());
  const operator = await startOperator();
  const observer = new AssignmentObserver(namespace);
  try {
    const load = churn(namespace, churnCount, 10);
    await waitFor('the first addresses', () => observer.firstAddress.size >= 20, 60_000);
    const backAt = await fault();
    expectStillRunning(controller);
    expectStillRunning(webhook);
    expectStillRunning(operator);

    const firstAfter = await waitFor(
      `a new address after the ${label}`,
      () => observer.firstAssignmentAfter(backAt),
      90_000,
    );
    const leadingAgainAt = logTimes(controller, 'acquired the lease; leading').at(-1) ?? Number.NaN;
    record(
      `${label}: controller leading again ${seconds(leadingAgainAt - backAt)}, first new address ` +
        `${seconds(firstAfter - backAt)} after the control plane was back`,
    );
    await load.done;
    const churnDoneAt = Date.now();
    const lastAt = await expectConverged(namespace, observer, load, 90_000);
    record(
      `${label}: all ${churnCount - load.deleted.size} Services have addresses ` +
        `${seconds(Math.max(0, lastAt - churnDoneAt))} after the last was created ` +
        `(${observer.firstAddress.size} addresses handed out, none moved, none twice)`,
    );

    // Same processes throughout: they reconnected rather than restarted.
    expectStillRunning(controller);
    expectStillRunning(webhook);
    expectStillRunning(operator);
    expect(controller.log()).not.toMatch(/exiting/);
    if (expectations.watchesBreak) {
      expect(controller.log()).toMatch(/"msg":"(watch failed; reconnecting|list failed; retrying)"/);
    }
    // Both faults outlast the renew deadline: the controller lost its Lease, campaigned again in the same
    // process, and its informers listed afresh before it allocated in its new term.
    expect(controller.log()).toContain('"msg":"lost the leader Lease; campaigning again"');
    expect(controller.log()).toContain('"msg":"leading: listing afresh before allocating"');
    expect(controller.log()).toContain('"msg":"relisting on request"');
    // The webhook serves again, with the state it reads from the API server.
    expect(await webhookRefuses()).toBe(true);
    const valid = await kubectl(['apply', '-f', '-'], pool('after-fault', '198.51.100.0/28'));
    expect(valid.code).toBe(0);
    await kubectl(['delete', 'ipaddresspool', 'after-fault', '-n', metallbNamespace]);
    // The operator's watches are back: a change to the MetalLB resource reaches what it renders.
    const changedAt = Date.now();
    await applyMetalLB({ logLevel: 'debug' });
    await waitFor(
      'the operator to render the new log level',
      async () => (await renderedSpeakerArgs())?.includes('--log-level=debug'),
      60_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${operator.process.logTail(40)}`);
    });
    record(
      `${label}: operator rendered a MetalLB change ${seconds(Date.now() - changedAt)} after it was applied`,
    );
  } finally {
    await observer.stop();
  }
}

describe('faults of the control plane while Services churn', () => {
  it('the controller, the webhook and the operator ride out a 30 s kube-apiserver outage: nothing moves, nothing is assigned twice, every Service gets an address', async () => {
    await rideOut(
      'API server restart',
      async () => {
        if (!cluster) throw new Error('no cluster');
        const stoppedAt = Date.now();
        // Killed (connections reset, then refused), started again on the same port with the same etcd.
        const { readyAt } = await cluster.restartApiServer(30_000);
        record(`kube-apiserver down ${seconds(readyAt - stoppedAt)} (30 s stopped, then its start-up)`);
        return readyAt;
      },
      { watchesBreak: true },
    );
  }, 240_000);

  it('the controller, the webhook and the operator ride out etcd frozen (SIGSTOP) for 20 s: same guarantees', async () => {
    await rideOut(
      'etcd pause',
      async () => {
        if (!cluster) throw new Error('no cluster');
        // Frozen, not gone: the API server's requests hang instead of failing fast.
        cluster.pause('etcd');
        await sleep(20_000);
        cluster.resume('etcd');
        return Date.now();
      },
      { watchesBreak: false },
    );
  }, 240_000);
});

describe('the controller SIGKILLed again and again while Services churn', () => {
  it('moves no address and assigns none twice across 10 SIGKILLs and restarts, and every Service ends with one', async () => {
    const namespace = await testNamespace();
    // The same pod name on every restart, as a restarted container keeps: it takes its own Lease back at once.
    const identity = 'killed-again-and-again';
    let controller = await startController(identity);
    await waitUntilAllocating(controller);
    const observer = new AssignmentObserver(namespace);
    const restartToAllocating: number[] = [];
    const keptOnRestart: number[] = [];
    try {
      // Slower than the other cases, so the churn lasts through all ten kills and restarts.
      const load = churn(namespace, churnCount, 4);
      await waitFor('the first addresses', () => observer.firstAddress.size >= 10, 60_000);
      for (let kill = 0; kill < 10; kill++) {
        // Every 2 to 4 s, at whatever point of its work the controller is.
        await sleep(2_000 + Math.random() * 2_000);
        expectStillRunning(controller);
        process.kill(controller.process.pid as number, 'SIGKILL');
        await controller.stop();
        started.splice(started.indexOf(controller), 1);
        const restartedAt = Date.now();
        controller = await startController(identity);
        await waitUntilAllocating(controller);
        restartToAllocating.push(Date.now() - restartedAt);
        keptOnRestart.push(keptAddresses(controller));
      }
      const sorted = [...restartToAllocating].sort((a, b) => a - b);
      record(
        `controller SIGKILL x10: restart to allocating median ${seconds(sorted[5] ?? 0)}, ` +
          `worst ${seconds(sorted.at(-1) ?? 0)}`,
      );
      await load.done;
      const churnDoneAt = Date.now();
      const lastAt = await expectConverged(namespace, observer, load, 90_000);
      record(
        `controller SIGKILL x10: all ${churnCount - load.deleted.size} Services have addresses ` +
          `${seconds(Math.max(0, lastAt - churnDoneAt))} after the last was created ` +
          `(${observer.firstAddress.size} addresses handed out, none moved, none twice)`,
      );
      // Each restart rebuilt its state from the Services' status before allocating: never from nothing.
      record(`controller SIGKILL x10: addresses kept by each restart: ${keptOnRestart.join(', ')}`);
      expect(keptOnRestart.filter((kept) => !(kept > 0))).toEqual([]);
    } finally {
      await observer.stop();
    }
  }, 240_000);
});

describe('the webhook down under failurePolicy: Fail', () => {
  it('refuses applies with an error naming the webhook while it is down, and admits again within seconds of its return', async () => {
    const port = await freePort();
    const { webhook } = await startWebhook(port);
    const configuration = await kubectl([
      'get',
      'validatingwebhookconfiguration',
      'metallb-webhook-configuration',
      '-o',
      'jsonpath={.webhooks[*].failurePolicy}',
    ]);
    expect(configuration.stdout.split(' ')).toEqual(expect.arrayContaining(['Fail']));
    expect(configuration.stdout).not.toContain('Ignore');

    // Killed: no chance to remove its configuration, as when its pod or node dies.
    process.kill(webhook.process.pid as number, 'SIGKILL');
    await webhook.stop();
    const refused = await kubectl(['apply', '-f', '-'], pool('while-down', '198.51.100.32/28'));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(
      /failed calling webhook "ipaddresspoolvalidationwebhook\.metallb\.io".*connection refused/,
    );
    record(`webhook down: kubectl apply says: ${refused.stderr.trim().split('\n')[0]}`);
    expect((await kubectl(['get', 'ipaddresspool', 'while-down', '-n', metallbNamespace])).code).not.toBe(0);

    const returnedAt = Date.now();
    const { webhook: back } = await startWebhook(port);
    const admittedAt = await waitFor(
      'the apply to be admitted again',
      async () =>
        (await kubectl(['apply', '-f', '-'], pool('while-down', '198.51.100.32/28'))).code === 0
          ? Date.now()
          : undefined,
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    const readyLine = back
      .log()
      .split('\n')
      .find((line) => line.includes('"msg":"webhook ready"'));
    record(
      `webhook down: apply admitted ${seconds(admittedAt - returnedAt)} after the webhook process was ` +
        `started again${readyLine ? '' : ' (no ready line logged)'}`,
    );
    // Loose for a shared 2-core machine: start-up of the process plus the API server's next call.
    expect(admittedAt - returnedAt).toBeLessThan(30_000);
    await kubectl(['delete', 'ipaddresspool', 'while-down', '-n', metallbNamespace]);
  }, 120_000);
});
