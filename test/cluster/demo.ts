/**
 * The product's main job on the embedded default: a local control plane (three workers and a tainted
 * control-plane node) with a real OLM serving catalog/, MetalLB installed by Subscription as on OpenShift,
 * config/samples applied through the admission webhook OLM configured, and what the cluster then shows.
 * Kwok nodes run no containers, so the demo plays the kubelet: the operator and webhook Deployments' pods,
 * then the controller and speakers the operator rendered, run as local processes, each impersonating its
 * pod's ServiceAccount. Stops everything at the end unless --keep is given.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import {
  installNamespace,
  operatorServiceAccount,
  webhookServiceAccount,
} from '../../src/manifests/install/names.js';
import { LocalOlm } from '../olm/local-olm.js';
import {
  jsonpath,
  startWebhookAsPod,
  subscribe,
  subscriptionName,
  waitForCsvSucceeded,
  waitForInstallPlanComplete,
} from '../olm/subscription.js';
import { serviceAccountUser, writeImpersonatingKubeconfig } from './impersonation.js';
import { componentEnv } from './component-env.js';
import { repoRoot } from './local-cluster.js';
import { waitFor } from './wait-for.js';
import { ManagedProcess, sleep } from './processes.js';
import { addRoute } from './service-proxy.js';
import { startSupervised, stopSupervised, type ClusterState } from './supervisor.js';

const run = promisify(execFile);

export interface DemoContext {
  readonly state: ClusterState;
  readonly stateDir: string;
  kubectl(...args: string[]): Promise<string>;
  /** kubectl that may fail: returns stdout and stderr together instead of throwing. */
  kubectlMayFail(stdin: string, ...args: string[]): Promise<{ code: number; output: string }>;
  /** Runs `metallb <name>` as a process, as `serviceAccount` of metallb-system when given (else as admin). */
  startComponent(name: string, args: readonly string[], serviceAccount?: string): ManagedProcess;
  /**
   * A kubeconfig acting as ServiceAccount `serviceAccount` of metallb-system, from `base` (default the admin's);
   * with `node`, as a token bound to that node, as a DaemonSet pod's is.
   */
  identity(serviceAccount: string, options?: { base?: string; node?: string }): Promise<string>;
  step(text: string): void;
}

const ns = installNamespace;

/** A real OLM, then the OpenShift procedure: Namespace, OperatorGroup, Subscription; returns the CSV's name. */
async function olmInstallStep(demo: DemoContext, olm: LocalOlm): Promise<string> {
  demo.step(
    `installing through OLM: Namespace ${ns} (openshift.io/cluster-monitoring=true), OperatorGroup, Subscription to channel stable`,
  );
  console.log((await subscribe(olm, ns)).trim());
  const installPlan = await waitForInstallPlanComplete(olm, ns);
  console.log(`   InstallPlan ${installPlan}: approved and Complete`);
  console.log(await demo.kubectl('get', 'installplans', '-n', ns, '-o', 'wide'));
  const csv = await waitFor(
    'the Subscription to name its installed CSV',
    async () =>
      (await jsonpath(olm, ['subscription', subscriptionName], '{.status.installedCSV}', ns)) || undefined,
    60_000,
  );
  await waitForCsvSucceeded(olm, csv, ns);
  console.log(`   ClusterServiceVersion ${csv}: phase Succeeded`);
  console.log(await demo.kubectl('get', 'subscriptions,clusterserviceversions', '-n', ns));

  demo.step(
    `what the CSV ${csv} made OLM create: Deployments, ServiceAccounts, RBAC, CRDs, webhook configurations`,
  );
  const owned = `olm.owner=${csv}`;
  console.log(await demo.kubectl('get', 'deployments,serviceaccounts,services', '-n', ns, '-l', owned));
  console.log(await demo.kubectl('get', 'roles,rolebindings', '-n', ns, '-l', owned));
  console.log(await demo.kubectl('get', 'clusterroles,clusterrolebindings', '-l', owned));
  const crds = (await demo.kubectl('get', 'crd', '-o', 'name'))
    .split('\n')
    .filter((l) => l.endsWith('.metallb.io'));
  console.log(`   CRDs (${crds.length}): ${crds.map((l) => l.split('/')[1]).join(', ')}`);
  const webhooks = JSON.parse(
    await demo.kubectl('get', 'validatingwebhookconfigurations', '-l', owned, '-o', 'json'),
  ) as {
    items: {
      metadata: { name: string };
      webhooks: { clientConfig: { service?: { name: string; namespace: string }; caBundle?: string } }[];
    }[];
  };
  for (const configuration of webhooks.items) {
    const hook = configuration.webhooks[0]?.clientConfig;
    console.log(
      `   ValidatingWebhookConfiguration ${configuration.metadata.name}: Service ` +
        `${hook?.service?.namespace}/${hook?.service?.name}, caBundle ${hook?.caBundle ? 'set by OLM' : 'missing'}`,
    );
  }
  const conversion = await jsonpath(
    olm,
    ['crd', 'bgppeers.metallb.io'],
    '{.spec.conversion.strategy} {.spec.conversion.webhook.clientConfig.service.name}',
    'default',
  );
  console.log(`   CRD bgppeers.metallb.io conversion: ${conversion}`);
  return csv;
}

/**
 * Kwok nodes run no containers: the demo plays the kubelet for the operator and webhook Deployments the CSV
 * created, running each as a process with the pod's identity (its ServiceAccount, by impersonation) and the
 * webhook with the certificate OLM issued, behind the Service OLM created.
 */
async function kubeletStep(demo: DemoContext, olm: LocalOlm): Promise<void> {
  demo.step(
    "kwok nodes run no containers, so the demo plays the kubelet for the CSV's Deployments: their pods as processes with the pods' ServiceAccounts",
  );
  console.log(
    await demo.kubectl(
      'get',
      'deployments',
      '-n',
      ns,
      '-o',
      'custom-columns=DEPLOYMENT:.metadata.name,SERVICEACCOUNT:.spec.template.spec.serviceAccountName,ARGS:.spec.template.spec.containers[0].args',
    ),
  );
  const routesFile = demo.state.serviceRoutesFile;
  if (!routesFile) throw new Error('the demo cluster runs without a service proxy');
  await startWebhookAsPod(olm, {
    namespace: ns,
    workDir: webhookCertsDir(demo.stateDir),
    start: (args) => demo.startComponent('webhook', args, webhookServiceAccount),
    route: (destination, target) => {
      addRoute(routesFile, destination, target);
      console.log(
        `   the API server's calls to Service ${destination} reach the webhook at ${target.host}:${target.port}`,
      );
    },
  });
  demo.startComponent(
    'operator',
    [
      `--namespace=${ns}`,
      '--health-probe-bind-address=127.0.0.1:0',
      '--metrics-bind-address=0',
      '--leader-elect=true',
    ],
    operatorServiceAccount,
  );
}

async function samplesStep(demo: DemoContext): Promise<void> {
  demo.step('applying config/samples to metallb-system, through the webhook OLM configured');
  const samples = join(repoRoot, 'config/samples');
  // Until the webhook serves, the API server refuses (failurePolicy Fail): a server-side dry run calls it too.
  await waitFor(
    'the webhook to answer the API server',
    async () =>
      (await demo.kubectlMayFail('', 'apply', '--dry-run=server', '-f', samples)).code === 0
        ? true
        : undefined,
    60_000,
  );
  console.log(await demo.kubectl('apply', '-f', samples));

  demo.step('a pool overlapping the sample pools is refused at apply time, with the reason');
  const overlapping =
    'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: overlapping, namespace: metallb-system}\n' +
    'spec: {addresses: [192.0.2.128/25]}\n';
  const refused = await demo.kubectlMayFail(overlapping, 'apply', '-f', '-');
  console.log(refused.output.trim());
}

/** Where the webhook's copy of the certificate OLM issued is kept, while the demo runs. */
function webhookCertsDir(stateDir: string): string {
  return join(stateDir, 'webhook-certs');
}

function componentsFile(stateDir: string): string {
  return join(stateDir, 'components.json');
}

/** Stops the components a kept demo left running (make demo-down), before their cluster goes away. */
async function stopComponents(stateDir: string): Promise<void> {
  if (!existsSync(componentsFile(stateDir))) return;
  const pids = JSON.parse(readFileSync(componentsFile(stateDir), 'utf8')) as number[];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 15_000;
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  while (pids.some(alive) && Date.now() < deadline) await sleep(200);
  for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
  rmSync(componentsFile(stateDir), { force: true });
  rmSync(webhookCertsDir(stateDir), { recursive: true, force: true });
}

async function operatorStep(demo: DemoContext): Promise<void> {
  demo.step('the operator turns the sample MetalLB resource into the controller and speakers');
  await waitFor(
    'the MetalLB resource to be Available',
    async () =>
      (await demo.kubectl(
        'get',
        'metallbs.metallb.io',
        'metallb',
        '-n',
        'metallb-system',
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Available")].status}',
      )) === 'True',
    120_000,
  );
  console.log(await demo.kubectl('get', 'metallbs.metallb.io', '-n', 'metallb-system', '-o', 'wide'));
  console.log(await demo.kubectl('get', 'deployments,daemonsets,pods', '-n', 'metallb-system', '-o', 'wide'));
  console.log(await demo.kubectl('get', 'serviceaccounts,roles,rolebindings', '-n', 'metallb-system'));
}

async function controllerStep(demo: DemoContext): Promise<string> {
  demo.step(
    "starting the controller (the operator's controller Deployment, as its ServiceAccount) and exposing a Deployment as a LoadBalancer Service",
  );
  demo.startComponent('controller', [`--namespace=${ns}`, '--port=0', '--health-probe-port=0'], 'controller');
  await demo.kubectl(
    'create',
    'deployment',
    'web',
    '--image=example.invalid/web:1',
    '--replicas=2',
    '-n',
    'default',
  );
  await demo.kubectl('expose', 'deployment', 'web', '--type=LoadBalancer', '--port=80', '-n', 'default');
  await waitFor('the Service to get an external IP', async () => (await serviceIP(demo)) !== '', 60_000);
  console.log(await demo.kubectl('get', 'service', 'web', '-n', 'default', '-o', 'wide'));
  console.log(
    await demo.kubectl('get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=web'),
  );
  console.log(await demo.kubectl('get', 'ipaddresspools.metallb.io', '-n', 'metallb-system'));
  return serviceIP(demo);
}

/** The controller's metrics as a cluster Prometheus gets them: HTTPS, a ServiceAccount token, RBAC. */
async function metricsStep(demo: DemoContext): Promise<void> {
  demo.step(
    'scraping the controller metrics over HTTPS: refused without a token, served to metallb-metrics-reader',
  );
  const log = join(demo.stateDir, 'logs', 'controller.log');
  const port = await waitFor('the controller to log its metrics port', async () => {
    const line = readFileSync(log, 'utf8')
      .split('\n')
      .filter((entry) => entry.includes('"msg":"controller running"'))
      // The log of an earlier demo run may precede this one's.
      .at(-1);
    return line ? (JSON.parse(line) as { metricsPort: number }).metricsPort : undefined;
  });
  const { RawClient } = await import('../../src/runtime/raw-client.js');
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { metricsReader, scrape } = await import('./lab/metrics-access.js');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(demo.state.kubeconfig);
  const client = new RawClient(kubeConfig);
  const anonymous = await scrape(port);
  console.log(
    `   https://127.0.0.1:${port}/metrics without a token: ${anonymous.status} ${anonymous.body.trim()}`,
  );
  const plain = await scrape(port, { scheme: 'http' });
  console.log(`   plain http://127.0.0.1:${port}/metrics: ${plain.status === 0 ? plain.body : plain.status}`);
  const reader = await metricsReader(client, 'default', 'demo-prometheus', true);
  try {
    const allowed = await waitFor('the metrics reader to be allowed', async () => {
      const result = await scrape(port, { token: reader.token });
      return result.status === 200 ? result : undefined;
    });
    const series = allowed.body.split('\n').filter((line) => line.startsWith('metallb_allocator_addresses'));
    console.log(
      `   with the token of ServiceAccount default/demo-prometheus (bound to ClusterRole metallb-metrics-reader): ${allowed.status}`,
    );
    for (const line of series) console.log(`     ${line}`);
  } finally {
    await reader.remove();
    client.close();
  }
}

function serviceIP(demo: DemoContext): Promise<string> {
  return demo.kubectl(
    'get',
    'service',
    'web',
    '-n',
    'default',
    '-o',
    'jsonpath={.status.loadBalancer.ingress[0].ip}',
  );
}

/** Whether this process may build network namespaces: root and a working `ip netns`. */
async function canUseNetworkNamespaces(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not running as root';
  try {
    await run('ip', ['netns', 'list']);
    return undefined;
  } catch (error) {
    return `ip netns does not work here (${(error as Error).message.split('\n')[0]})`;
  }
}

async function bgpStep(demo: DemoContext): Promise<void> {
  demo.step('announcing over BGP: FRR per node in network namespaces, a speaker per node, an FRR router');
  const unavailable = await canUseNetworkNamespaces();
  if (unavailable) {
    console.log(`   skipped: ${unavailable}; network namespaces are needed for the BGP part of the demo`);
    return;
  }
  // The e2e topology helpers find the cluster through this variable.
  process.env.METALLB_E2E_KUBECONFIG = demo.state.kubeconfig;
  const { BgpTopology, LOAD_BALANCER_POOL, NODE_ASN, ROUTER_ASN, ROUTER_LAN_ADDRESS } =
    await import('./lab/topology.js');
  const { startSpeakers } = await import('./lab/topology-speakers.js');
  const topology = await BgpTopology.create({ nodes: ['worker-0', 'worker-1'] });
  const speakers: { stop(): Promise<void> }[] = [];
  try {
    console.log(
      `   LAN 198.51.100.0/24: router ${ROUTER_LAN_ADDRESS} (AS ${ROUTER_ASN}), ` +
        topology.nodes.map((n) => `${n.name} ${n.address}`).join(', ') +
        ` (AS ${NODE_ASN}); pool ${LOAD_BALANCER_POOL}`,
    );
    const objects = [
      `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: demo-bgp, namespace: metallb-system}\nspec: {addresses: ["${LOAD_BALANCER_POOL}"], autoAssign: false}`,
      `apiVersion: metallb.io/v1beta1\nkind: BFDProfile\nmetadata: {name: demo-bfd, namespace: metallb-system}\nspec: {receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3}`,
      `apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: demo-router, namespace: metallb-system}\nspec: {myASN: ${NODE_ASN}, peerASN: ${ROUTER_ASN}, peerAddress: ${ROUTER_LAN_ADDRESS}, bfdProfile: demo-bfd}`,
      `apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: demo-bgp, namespace: metallb-system}\nspec: {ipAddressPools: [demo-bgp], peers: [demo-router], communities: ["64512:300", "large:64512:1:300"]}`,
      `apiVersion: v1\nkind: Service\nmetadata: {name: web-bgp, namespace: default, annotations: {metallb.io/address-pool: demo-bgp}}\nspec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}`,
    ].join('\n---\n');
    console.log((await demo.kubectlMayFail(objects, 'apply', '-f', '-')).output.trim());
    console.log(
      `   the speaker DaemonSet's pods, played by processes as ${serviceAccountUser(ns, 'speaker')} bound to their node`,
    );
    // A --kubeconfig after the helper's own wins (the CLI takes the last of a repeated flag).
    const asSpeaker = await Promise.all(
      topology.nodes.map(async (node) => ({
        node: node.name,
        kubeconfig: await demo.identity('speaker', { node: node.name }),
      })),
    );
    speakers.push(
      ...(await startSpeakers(topology, (node) => ({
        extraArgs: [
          `--kubeconfig=${asSpeaker.find((entry) => entry.node === node.name)?.kubeconfig ?? ''}`,
          `--namespace=${ns}`,
        ],
      }))),
    );
    const ip = await (async () => {
      let found = '';
      await waitFor('web-bgp to get an IP', async () => {
        found = await demo.kubectl(
          'get',
          'service',
          'web-bgp',
          '-n',
          'default',
          '-o',
          'jsonpath={.status.loadBalancer.ingress[0].ip}',
        );
        return found !== '';
      });
      return found;
    })();
    await waitFor(
      `the router to learn ${ip}/32 from both nodes`,
      async () => (await topology.routerNextHops(`${ip}/32`)).length === 2,
      60_000,
    );
    console.log(await demo.kubectl('get', 'service', 'web-bgp', '-n', 'default'));
    console.log(
      `   the router's view (vtysh -c 'show ip route ${ip}/32', 'show bgp ipv4 unicast ${ip}/32'):`,
    );
    console.log(await topology.routerVtysh([`show ip route ${ip}/32`]));
    console.log(await topology.routerVtysh([`show bgp ipv4 unicast ${ip}/32`]));
    console.log(await demo.kubectl('get', 'servicebgpstatuses.metallb.io', '-n', 'metallb-system'));
  } finally {
    for (const speaker of speakers) await speaker.stop();
    await topology.destroy();
  }
}

async function l2Step(demo: DemoContext): Promise<void> {
  demo.step('announcing in layer 2: a speaker in each of three node namespaces answers ARP for a Service IP');
  const unavailable = await canUseNetworkNamespaces();
  if (unavailable) {
    console.log(`   skipped: ${unavailable}; network namespaces are needed for the layer-2 part of the demo`);
    return;
  }
  process.env.METALLB_E2E_KUBECONFIG = demo.state.kubeconfig;
  const { L2Lab, labMac } = await import('./lab/l2-lab.js');
  const { announcingNode, primeNeighbour, timeNeighbourMove, waitForLiveSpeakers } =
    await import('./lab/l2-speakers.js');
  const nodes = ['worker-0', 'worker-1', 'worker-2'];
  const lab = await L2Lab.create({ nodes, kubeconfigPath: demo.state.kubeconfig });
  const speakers = new Map<string, { kill(signal?: NodeJS.Signals): void; stop(): Promise<void> }>();
  const macOf = (node: string): string => labMac(1, nodes.indexOf(node));
  try {
    console.log(
      `   LAN 198.51.100.0/24 on a bridge with MLD snooping: client ${lab.client.lan.ipv4} (${lab.client.lan.mac}), ` +
        lab.nodes.map((n) => `${n.name} ${n.lan.ipv4} (${n.lan.mac})`).join(', '),
    );
    console.log(
      `   the speaker DaemonSet's pods, played by processes as ${serviceAccountUser(ns, 'speaker')} bound to their node`,
    );
    for (const node of nodes) {
      // Through the lab's API relay, as the speaker; a --kubeconfig after the lab's own wins.
      const kubeconfig = await demo.identity('speaker', { base: lab.kubeconfigFor(node), node });
      speakers.set(
        node,
        await lab.startSpeaker(node, [
          '--log-level',
          'info',
          `--kubeconfig=${kubeconfig}`,
          `--namespace=${ns}`,
        ]),
      );
    }
    const objects = [
      `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: demo-l2, namespace: metallb-system}\nspec: {addresses: ["198.51.100.200-198.51.100.210"], autoAssign: false}`,
      `apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: demo-l2, namespace: metallb-system}\nspec: {ipAddressPools: [demo-l2]}`,
      `apiVersion: v1\nkind: Service\nmetadata: {name: web-l2, namespace: default, annotations: {metallb.io/address-pool: demo-l2}}\nspec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}`,
    ].join('\n---\n');
    console.log((await demo.kubectlMayFail(objects, 'apply', '-f', '-')).output.trim());
    await waitForLiveSpeakers(nodes);
    let ip = '';
    await waitFor('web-l2 to get an IP', async () => {
      ip = await demo.kubectl(
        'get',
        'service',
        'web-l2',
        '-n',
        'default',
        '-o',
        'jsonpath={.status.loadBalancer.ingress[0].ip}',
      );
      return ip !== '';
    });
    const owner = await announcingNode('default', 'web-l2');
    console.log(await demo.kubectl('get', 'servicel2statuses.metallb.io', '-n', 'metallb-system'));
    await waitFor(
      `${ip} to answer from ${owner}`,
      async () => (await lab.resolveMac(ip)) === macOf(owner),
      15_000,
    );
    console.log(`   the client's arping ${ip} (${owner} is ${macOf(owner)}):`);
    console.log(await lab.inClient(['arping', '-c', '2', '-i', 'eth0', ip]).catch((e: Error) => e.message));
    await primeNeighbour(lab, ip, macOf(owner));
    console.log(
      `   killing ${owner}'s speaker (SIGKILL); watching the client's neighbour table, sending nothing:`,
    );
    const moved = await timeNeighbourMove(lab, ip, macOf(owner), () => speakers.get(owner)?.kill('SIGKILL'));
    const next = nodes.find((node) => macOf(node) === moved.mac) ?? moved.mac;
    console.log(
      `   the client's entry for ${ip} moved to ${next} (${moved.mac}) ${moved.ms} ms later, by gratuitous ARP`,
    );
    console.log(await lab.inClient(['ip', 'neigh', 'show', ip]));
  } finally {
    for (const speaker of speakers.values()) await speaker.stop().catch(() => undefined);
    await lab.destroy();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      keep: { type: 'boolean', default: false },
      down: { type: 'boolean', default: false },
      'state-dir': { type: 'string', default: join(repoRoot, '.local/demo') },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'Usage: make demo [DEMO_FLAGS=--keep]\n\n  --keep            leave the cluster, OLM and components running (stop them with make demo-down)\n  --down            stop a kept demo\n  --state-dir DIR   where the demo keeps its kubeconfig and logs (default .local/demo)',
    );
    return;
  }
  const stateDir = values['state-dir'] as string;
  await stopComponents(stateDir);
  await stopSupervised(stateDir);
  if (values.down) {
    console.log('demo stopped');
    return;
  }
  const logDir = join(stateDir, 'logs');
  const identityDir = join(stateDir, 'identities');
  mkdirSync(logDir, { recursive: true });
  mkdirSync(identityDir, { recursive: true });
  rmSync(webhookCertsDir(stateDir), { recursive: true, force: true });
  mkdirSync(webhookCertsDir(stateDir), { recursive: true });
  const started = Date.now();
  const step = (text: string) =>
    console.log(`\n==> [${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${text}`);
  step(
    'starting a local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok), without the CRDs: OLM installs them',
  );
  const state = await startSupervised({
    stateDir,
    crds: false,
    serviceProxy: true,
    ...(values.keep ? {} : { parentPid: process.pid }),
  });
  const components: ManagedProcess[] = [];
  let olm: LocalOlm | undefined;
  // Every process the demo leaves behind with --keep, for make demo-down (and the next make demo).
  const track = () =>
    writeFileSync(
      componentsFile(stateDir),
      JSON.stringify([...components.map((c) => c.pid), ...(olm?.pids ?? [])].filter(Boolean)),
    );
  const identityKubeconfig = (
    serviceAccount: string,
    base = state.kubeconfig,
    node?: string,
    extra: Record<string, string[]> = {},
  ): string =>
    writeImpersonatingKubeconfig(
      base,
      serviceAccountUser(ns, serviceAccount),
      join(identityDir, `${serviceAccount}${node ? `-${node}` : ''}.kubeconfig`),
      extra,
    );
  const kubectlArgs = (args: readonly string[]) => [`--kubeconfig=${state.kubeconfig}`, ...args];
  const demo: DemoContext = {
    state,
    stateDir,
    step,
    kubectl: async (...args) =>
      (await run(join(state.binDir, 'kubectl'), kubectlArgs(args))).stdout.trimEnd(),
    kubectlMayFail: async (stdin, ...args) => {
      const child = run(join(state.binDir, 'kubectl'), kubectlArgs(args));
      child.child.stdin?.end(stdin);
      try {
        const { stdout, stderr } = await child;
        return { code: 0, output: `${stdout}${stderr}` };
      } catch (error) {
        const failure = error as { stdout?: string; stderr?: string };
        return { code: 1, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
      }
    },
    identity: async (serviceAccount, { base = state.kubeconfig, node } = {}) => {
      const { nodeNameExtra } = await import('./lab/identities.js');
      return identityKubeconfig(serviceAccount, base, node, node ? { [nodeNameExtra]: [node] } : {});
    },
    startComponent: (name, args, serviceAccount) => {
      const kubeconfig = serviceAccount ? identityKubeconfig(serviceAccount) : state.kubeconfig;
      const component = ManagedProcess.start(
        `metallb ${name}`,
        process.execPath,
        [join(repoRoot, 'dist/src/cli/main.js'), name, `--kubeconfig=${kubeconfig}`, ...args],
        join(logDir, `${name}.log`),
        componentEnv(),
      );
      components.push(component);
      track();
      const identity = serviceAccount ? ` as ${serviceAccountUser(ns, serviceAccount)}` : '';
      console.log(
        `   metallb ${name} running${identity} (pid ${component.pid}); log: ${join(logDir, `${name}.log`)}`,
      );
      return component;
    },
  };
  let installedCsv: string | undefined;
  try {
    console.log(`API server at ${state.server}`);
    console.log(await demo.kubectl('get', 'nodes', '-o', 'wide'));

    step(
      `starting OLM: its CRDs, its olm and catalog operators, and \`opm serve catalog/\` behind a CatalogSource`,
    );
    olm = await LocalOlm.start({
      kubeconfig: state.kubeconfig,
      clusterBinDir: state.binDir,
      workDir: join(stateDir, 'olm'),
      log: (line) => console.log(`   ${line}`),
    });
    track();
    console.log(await demo.kubectl('get', 'catalogsources', '-A'));
    console.log(`   OLM logs: ${join(stateDir, 'olm', 'logs')}`);

    installedCsv = await olmInstallStep(demo, olm);
    // The sample MetalLB resource runs the speakers with this RuntimeClass; pods are refused without it.
    await demo.kubectlMayFail(
      'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: metallb-runtime}\nhandler: runc\n',
      'apply',
      '-f',
      '-',
    );
    await kubeletStep(demo, olm);
    await samplesStep(demo);
    await operatorStep(demo);
    await controllerStep(demo);
    await metricsStep(demo);
    await bgpStep(demo);
    await l2Step(demo);

    step('what the cluster now holds');
    console.log(
      await demo.kubectl(
        'get',
        'ipaddresspools,l2advertisements,bgpadvertisements,bgppeers,bfdprofiles,communities',
        '-n',
        'metallb-system',
      ),
    );

    if (values.keep) {
      step('left running');
      console.log(
        `  export KUBECONFIG=${state.kubeconfig} PATH=${state.binDir}:$PATH\n  stop it with: make demo-down`,
      );
    }
  } finally {
    if (!values.keep) {
      step(
        'uninstalling: the MetalLB resource, then the Subscription and the CSV; stopping OLM, the components and the control plane',
      );
      // While the operator still runs, so its finalizer can remove what it created.
      const deleted = [
        await demo.kubectlMayFail('', 'delete', 'metallbs.metallb.io', '--all', '-n', ns, '--timeout=30s'),
        await demo.kubectlMayFail('', 'delete', 'subscription', subscriptionName, '-n', ns, '--timeout=30s'),
        ...(installedCsv
          ? [await demo.kubectlMayFail('', 'delete', 'csv', installedCsv, '-n', ns, '--timeout=60s')]
          : []),
      ];
      for (const result of deleted) if (result.output.trim()) console.log(`   ${result.output.trim()}`);
      for (const component of components.reverse()) await component.stop();
      await olm?.stop();
      rmSync(componentsFile(stateDir), { force: true });
      rmSync(webhookCertsDir(stateDir), { recursive: true, force: true });
      await stopSupervised(stateDir);
    }
  }
}

main().then(
  // With --keep the components and OLM outlive the demo: do not wait for them.
  () => process.exit(0),
  (error: unknown) => {
    console.error(`demo failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
