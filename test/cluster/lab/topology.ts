/**
 * A BGP lab in network namespaces, built and torn down by a test:
 *
 *   <prefix>-worker-0 ──eth0┐                         ┌ 198.51.100.1  <prefix>-router  192.0.2.17 ┐
 *   <prefix>-worker-1 ──eth0┼── br0 in <prefix>-lan ──┘  FRR, AS 64513, BFD, ECMP                   │
 *   …  198.51.100.10+i/24   ┘                                              <prefix>-client 192.0.2.18/28
 *
 * Load-balancer addresses come from 203.0.113.0/24, which no interface uses.
 *
 * Every node namespace runs its own FRR (zebra, bgpd, bfdd, staticd) under the FRR pathspace
 * `<prefix>-<node>`, started empty: the speaker under test runs in the host namespace and configures that FRR
 * through its unix sockets (/var/run/frr/<pathspace>/), exactly as it would a sidecar's. Nothing inside the
 * namespaces talks to the API server, so the control plane can stay on loopback.
 *
 * The prefix carries this process's pid and a counter, so parallel runs and several topologies in one run
 * never share a namespace or a pathspace. Cleanup is netns.ts's NamespaceJanitor: destroy() (tests call it
 * in afterAll), a process 'exit' hook and a detached watchdog.
 */
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  NamespaceJanitor,
  inNamespace,
  ip,
  isRunning,
  nextFreePrefix,
  run,
  signalProcess,
  sleep,
} from './netns.js';
import { waitFor } from '../wait-for.js';
import {
  parseBfdPeers,
  parseBgpNeighbor,
  parseBgpPrefix,
  parseZebraRoutes,
  renderRouterConfig,
  type BfdPeerView,
  type BgpSessionView,
  type RouterRoute,
  type RouterSettings,
} from './topology-frr.js';

export type { BfdPeerView, BgpSessionView, RouterPath, RouterRoute, RouterSettings } from './topology-frr.js';
export { sleep } from './netns.js';

export const LAN_PREFIX_LENGTH = 24;
export const ROUTER_LAN_ADDRESS = '198.51.100.1';
// The client network stays out of 203.0.113.0/24 so that all of it can be a pool (aggregation to /24), and
// away from 192.0.2.2, an address of the host itself in some environments.
export const ROUTER_CLIENT_ADDRESS = '192.0.2.17';
export const CLIENT_ADDRESS = '192.0.2.18';
export const CLIENT_PREFIX_LENGTH = 28;
/** Load-balancer addresses for tests: disjoint from the LAN and from the client network. */
export const LOAD_BALANCER_POOL = '203.0.113.128/25';
/** A /24 for aggregation tests; it contains LOAD_BALANCER_POOL, so never configure both at once. */
export const AGGREGATION_POOL = '203.0.113.0/24';
export const NODE_ASN = 64512;
export const ROUTER_ASN = 64513;
export const DEFAULT_ROUTER_BFD = { receiveIntervalMs: 300, transmitIntervalMs: 300, detectMultiplier: 3 };

const FRR_BIN = '/usr/lib/frr';
const FRR_DAEMONS = ['zebra', 'bgpd', 'bfdd', 'staticd'] as const;
type FrrDaemon = (typeof FRR_DAEMONS)[number];
const FRR_RUN_DIR = '/var/run/frr';
const FRR_CONF_DIR = '/etc/frr';
const NODE_INTERFACE = 'eth0';
const ROUTER_LAN_INTERFACE = 'lan0';

export interface TopologyNode {
  readonly name: string;
  readonly namespace: string;
  /** FRR's -N: the speaker's --frr-pathspace. */
  readonly pathspace: string;
  readonly address: string;
  readonly interfaceName: string;
}

export interface TopologyOptions {
  /** Node names, e.g. the kwok Node objects the speakers stand for. */
  readonly nodes: readonly string[];
  readonly router?: Partial<RouterSettings>;
}

/** FRR folders are named after the prefix too: a leftover one makes the prefix taken. */
function frrPrefixTaken(prefix: string): boolean {
  return (
    existsSync(join(FRR_RUN_DIR, `${prefix}-router`)) || existsSync(join(FRR_CONF_DIR, `${prefix}-router`))
  );
}

interface FrrInstance {
  readonly namespace: string;
  readonly pathspace: string;
}

export class BgpTopology {
  readonly nodes: readonly TopologyNode[];
  readonly routerNamespace: string;
  readonly routerPathspace: string;
  readonly lanNamespace: string;
  readonly clientNamespace: string;
  readonly routerAddress = ROUTER_LAN_ADDRESS;
  readonly clientAddress = CLIENT_ADDRESS;
  /** FRR daemons' own logs, one file per daemon and instance. */
  readonly logDir: string;
  private routerSettings: RouterSettings;
  private readonly initialRouterSettings: RouterSettings;
  private readonly janitor: NamespaceJanitor;

  private constructor(
    readonly prefix: string,
    nodeNames: readonly string[],
    router: RouterSettings,
  ) {
    this.nodes = nodeNames.map((name, index) => ({
      name,
      namespace: `${prefix}-${name}`,
      pathspace: `${prefix}-${name}`,
      address: `198.51.100.${10 + index}`,
      interfaceName: NODE_INTERFACE,
    }));
    this.lanNamespace = `${prefix}-lan`;
    this.routerNamespace = `${prefix}-router`;
    this.routerPathspace = `${prefix}-router`;
    this.clientNamespace = `${prefix}-client`;
    this.routerSettings = router;
    this.initialRouterSettings = router;
    this.logDir = mkdtempSync(join(tmpdir(), `${prefix}-frr-logs-`));
    chownSync(this.logDir, frrIds().uid, frrIds().gid);
    this.janitor = new NamespaceJanitor({
      prefix,
      namespaces: this.namespaces,
      stateDir: this.logDir,
      paths: this.pathspaces.flatMap((ps) => [join(FRR_RUN_DIR, ps), join(FRR_CONF_DIR, ps)]),
      removeStateDir: !process.env.METALLB_E2E_KEEP_FRR_LOGS,
    });
  }

  /** Builds the namespaces, links and FRR instances; on any failure removes whatever it had built. */
  static async create(options: TopologyOptions): Promise<BgpTopology> {
    if (options.nodes.length === 0 || options.nodes.length > 40) throw new Error('1 to 40 nodes, please');
    const badName = options.nodes.find((name) => !/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/.test(name));
    if (badName !== undefined)
      throw new Error(`node name ${JSON.stringify(badName)} is not a short DNS label`);
    const prefix = nextFreePrefix('mlbe2e', frrPrefixTaken);
    const topology = new BgpTopology(prefix, options.nodes, {
      asn: ROUTER_ASN,
      bfd: DEFAULT_ROUTER_BFD,
      ...options.router,
    });
    try {
      topology.janitor.arm();
      await topology.build();
      return topology;
    } catch (error) {
      await topology.destroy();
      throw error;
    }
  }

  get namespaces(): string[] {
    return [
      this.lanNamespace,
      this.routerNamespace,
      this.clientNamespace,
      ...this.nodes.map((n) => n.namespace),
    ];
  }

  private get pathspaces(): string[] {
    return [this.routerPathspace, ...this.nodes.map((n) => n.pathspace)];
  }

  node(name: string): TopologyNode {
    const node = this.nodes.find((candidate) => candidate.name === name);
    if (!node)
      throw new Error(`no node ${name} in this topology (${this.nodes.map((n) => n.name).join(', ')})`);
    return node;
  }

  private async build(): Promise<void> {
    for (const namespace of this.namespaces) {
      await ip(undefined, `netns add ${namespace}`);
      await ip(namespace, 'link set lo up');
    }
    const lan = this.lanNamespace;
    await ip(lan, 'link add br0 type bridge');
    await ip(lan, 'link set br0 up');

    for (const [index, node] of this.nodes.entries()) {
      const port = `node${index}`;
      await ip(node.namespace, `link add ${NODE_INTERFACE} type veth peer name ${port} netns ${lan}`);
      await ip(lan, `link set ${port} master br0 up`);
      await ip(node.namespace, `addr add ${node.address}/${LAN_PREFIX_LENGTH} dev ${NODE_INTERFACE}`);
      await ip(node.namespace, `link set ${NODE_INTERFACE} up`);
    }

    const router = this.routerNamespace;
    await ip(router, `link add ${ROUTER_LAN_INTERFACE} type veth peer name router netns ${lan}`);
    await ip(lan, 'link set router master br0 up');
    await ip(router, `addr add ${ROUTER_LAN_ADDRESS}/${LAN_PREFIX_LENGTH} dev ${ROUTER_LAN_INTERFACE}`);
    await ip(router, `link set ${ROUTER_LAN_INTERFACE} up`);
    const client = this.clientNamespace;
    await ip(router, `link add client0 type veth peer name eth0 netns ${client}`);
    await ip(router, `addr add ${ROUTER_CLIENT_ADDRESS}/${CLIENT_PREFIX_LENGTH} dev client0`);
    await ip(router, 'link set client0 up');
    await inNamespace(router, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    await ip(client, `addr add ${CLIENT_ADDRESS}/${CLIENT_PREFIX_LENGTH} dev eth0`);
    await ip(client, 'link set eth0 up');
    await ip(client, `route add default via ${ROUTER_CLIENT_ADDRESS}`);

    await Promise.all([
      ...this.nodes.map((node) => this.startInstance(node, minimalConfig(node.name))),
      this.startRouter(),
    ]);
  }

  // ---------------------------------------------------------------------------------------------- FRR

  private async startInstance(instance: FrrInstance, initialConfig: string | undefined): Promise<void> {
    prepareFrrDirs(instance.pathspace);
    // zebra first: the other daemons connect to its zserv socket and give up on a missing one only slowly.
    await this.startDaemon(instance, 'zebra');
    await waitFor(
      `zebra of ${instance.pathspace}`,
      () => existsSync(join(FRR_RUN_DIR, instance.pathspace, 'zserv.api')),
      10_000,
    );
    await Promise.all(FRR_DAEMONS.filter((d) => d !== 'zebra').map((d) => this.startDaemon(instance, d)));
    await waitFor(
      `FRR daemons of ${instance.pathspace} to answer vtysh`,
      async () => {
        const output = await vtysh(instance.pathspace, ['show daemons']).catch(() => '');
        return FRR_DAEMONS.every((daemon) => output.includes(daemon));
      },
      15_000,
    );
    if (initialConfig !== undefined) await this.applyConfig(instance.pathspace, initialConfig);
  }

  private async startDaemon(instance: FrrInstance, daemon: FrrDaemon): Promise<void> {
    await inNamespace(instance.namespace, [
      join(FRR_BIN, daemon),
      '--daemon',
      '--pathspace',
      instance.pathspace,
      '--profile',
      'traditional',
      // No TCP vty: vtysh goes through the unix sockets, and a port would only invite collisions.
      '--vty_port',
      '0',
      '--log',
      `file:${join(this.logDir, `${instance.pathspace}-${daemon}.log`)}`,
      '--log-level',
      'informational',
      ...(daemon === 'zebra' ? ['--nl-bufsize', '90000000'] : []),
    ]);
  }

  private async stopInstance(instance: FrrInstance, signal: NodeJS.Signals): Promise<void> {
    const pids = FRR_DAEMONS.map((daemon) => daemonPid(instance.pathspace, daemon)).filter(
      (pid): pid is number => pid !== undefined,
    );
    for (const pid of pids) signalProcess(pid, signal);
    await waitFor(`FRR daemons of ${instance.pathspace} to exit`, () => !pids.some(isRunning), 10_000);
  }

  /** Loads a complete configuration into a running instance through vtysh, line by line like `vtysh -b`. */
  async applyConfig(pathspace: string, config: string): Promise<void> {
    const file = join(this.logDir, `${pathspace}-applied.conf`);
    writeFileSync(file, config);
    await run('vtysh', ['-N', pathspace, '-f', file], { timeout: 30_000 });
  }

  /** Replaces a running instance's configuration with `config`, through FRR's own reload tool. */
  async reloadConfig(pathspace: string, config: string): Promise<void> {
    const file = join(this.logDir, `${pathspace}-reload.conf`);
    writeFileSync(file, config);
    await run(
      'python3',
      [join(FRR_BIN, 'frr-reload.py'), '--pathspace', pathspace, '--reload', '--stdout', file],
      {
        timeout: 60_000,
      },
    );
  }

  /** Runs vtysh commands against a node's FRR (for diagnostics: running config, neighbors). */
  nodeVtysh(nodeName: string, commands: readonly string[]): Promise<string> {
    return vtysh(this.node(nodeName).pathspace, commands);
  }

  routerVtysh(commands: readonly string[]): Promise<string> {
    return vtysh(this.routerPathspace, commands);
  }

  /** SIGKILLs every FRR daemon of a node, as a crash would: the speaker must notice and re-apply. */
  async killFrr(nodeName: string): Promise<void> {
    await this.stopInstance(this.node(nodeName), 'SIGKILL');
  }

  /** Starts a node's FRR again, empty: restoring the configuration is the speaker's job. */
  async startFrr(nodeName: string): Promise<void> {
    await this.startInstance(this.node(nodeName), minimalConfig(nodeName));
  }

  /** Stops the router's FRR; its sessions drop as if the router went away. */
  async stopRouter(): Promise<void> {
    await this.stopInstance(this.routerInstance, 'SIGTERM');
  }

  async startRouter(): Promise<void> {
    await this.startInstance(this.routerInstance, this.routerConfig());
  }

  private get routerInstance(): FrrInstance {
    return { namespace: this.routerNamespace, pathspace: this.routerPathspace };
  }

  get router(): RouterSettings {
    return this.routerSettings;
  }

  /** Changes the router's side of the node sessions (ASN for iBGP, password, BFD) in place. */
  async reconfigureRouter(change: Partial<RouterSettings>): Promise<void> {
    const { password, ...rest } = { ...this.routerSettings, ...change };
    // An explicit `password: undefined` removes the password.
    this.routerSettings = password === undefined ? rest : { ...rest, password };
    await this.reloadConfig(this.routerPathspace, this.routerConfig());
  }

  /** Back to the settings the topology was created with; starts the router again if a test left it down. */
  async resetRouter(): Promise<void> {
    this.routerSettings = this.initialRouterSettings;
    const running = FRR_DAEMONS.every((daemon) => daemonPid(this.routerPathspace, daemon) !== undefined);
    if (running) {
      await this.reloadConfig(this.routerPathspace, this.routerConfig());
    } else {
      await this.stopInstance(this.routerInstance, 'SIGKILL');
      await this.startRouter();
    }
  }

  async setRouterPassword(password: string | undefined): Promise<void> {
    await this.reconfigureRouter({ password });
  }

  routerConfig(): string {
    return renderRouterConfig({
      hostname: this.routerPathspace,
      routerId: ROUTER_LAN_ADDRESS,
      nodeAddresses: this.nodes.map((n) => n.address),
      nodeAsn: NODE_ASN,
      settings: this.routerSettings,
    });
  }

  // --------------------------------------------------------------------------------------- router views

  /**
   * The BGP routes the router installed (zebra's RIB), with the BGP attributes of each: one next hop per
   * announcing node under ECMP. With `prefix`, only that prefix (an empty list when it is not installed).
   */
  async routerRoutes(prefix?: string): Promise<RouterRoute[]> {
    const installed = await this.routerInstalled(prefix);
    const routes: RouterRoute[] = [];
    for (const [routePrefix, nextHops] of installed) {
      const paths = parseBgpPrefix(
        await this.routerVtysh([`show bgp ${familyOf(routePrefix)} unicast ${routePrefix} json`]),
      );
      const best = paths.find((path) => path.best) ?? paths[0];
      routes.push({
        prefix: routePrefix,
        nextHops,
        paths,
        communities: best?.communities ?? [],
        largeCommunities: best?.largeCommunities ?? [],
        ...(best?.localPref !== undefined ? { localPref: best.localPref } : {}),
      });
    }
    return routes.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  }

  /** prefix → installed next hops, from one vtysh call: cheap enough to poll every few tens of ms. */
  async routerInstalled(prefix?: string): Promise<Map<string, string[]>> {
    const family = prefix?.includes(':') ? 'ipv6' : 'ip';
    return parseZebraRoutes(await this.routerVtysh([`show ${family} route ${prefix ?? 'bgp'} json`]));
  }

  /** The installed next hops of one prefix; empty when the router has no BGP route for it. */
  async routerNextHops(prefix: string): Promise<string[]> {
    return (await this.routerInstalled(prefix)).get(prefix) ?? [];
  }

  /** The router's view of its session with a node address. */
  async routerSession(nodeAddress: string): Promise<BgpSessionView> {
    return parseBgpNeighbor(await this.routerVtysh([`show bgp neighbors ${nodeAddress} json`]), nodeAddress);
  }

  async bfdPeers(): Promise<BfdPeerView[]> {
    return parseBfdPeers(await this.routerVtysh(['show bfd peers json']));
  }

  /**
   * Polls until `nextHop` is no longer installed for `prefix` and returns the time since `sinceMs`
   * (a Date.now() taken just before the event under test).
   */
  async waitForNextHopWithdrawal(
    prefix: string,
    nextHop: string,
    sinceMs: number,
    options: { readonly pollMs?: number; readonly timeoutMs?: number } = {},
  ): Promise<number> {
    const pollMs = options.pollMs ?? 50;
    const deadline = sinceMs + (options.timeoutMs ?? 30_000);
    for (;;) {
      const nextHops = await this.routerNextHops(prefix);
      const now = Date.now();
      if (!nextHops.includes(nextHop)) return now - sinceMs;
      if (now > deadline)
        throw new Error(`${nextHop} still a next hop of ${prefix} after ${now - sinceMs} ms`);
      await sleep(pollMs);
    }
  }

  // ----------------------------------------------------------------------------------------- failures

  /** Takes the node's LAN interface down inside its namespace: the router notices only through BFD or BGP. */
  async cutLink(nodeName: string): Promise<void> {
    const node = this.node(nodeName);
    await ip(node.namespace, `link set ${node.interfaceName} down`);
  }

  async restoreLink(nodeName: string): Promise<void> {
    const node = this.node(nodeName);
    await ip(node.namespace, `link set ${node.interfaceName} up`);
  }

  /** Takes the router's LAN link down: every node loses the router at once, with FRR still running on both sides. */
  async cutRouterLink(): Promise<void> {
    await ip(this.routerNamespace, `link set ${ROUTER_LAN_INTERFACE} down`);
  }

  async restoreRouterLink(): Promise<void> {
    await ip(this.routerNamespace, `link set ${ROUTER_LAN_INTERFACE} up`);
  }

  // ------------------------------------------------------------------------------------------ cleanup

  /** Removes every namespace, FRR process and FRR directory of this topology; safe to call repeatedly. */
  async destroy(): Promise<void> {
    await this.janitor.cleanUp();
  }

  /**
   * Puts a process started for this topology (a speaker) under the janitor: if this process dies without
   * destroy(), the watchdog stops it too. Only a process whose command line names this topology's prefix is
   * signalled, so a recycled pid is safe.
   */
  adoptProcess(pid: number | undefined): void {
    this.janitor.adoptProcess(pid);
  }
}

// ------------------------------------------------------------------------------------------- helpers

function minimalConfig(hostname: string): string {
  return ['frr defaults traditional', `hostname ${hostname}`, '!', ''].join('\n');
}

/**
 * FRR keeps sockets under /var/run/frr/<pathspace>/ and vtysh and frr-reload.py read
 * /etc/frr/<pathspace>/vtysh.conf (integrated config, so `vtysh -w` writes one frr.conf there).
 */
function prepareFrrDirs(pathspace: string): void {
  const { uid, gid } = frrIds();
  for (const dir of [join(FRR_RUN_DIR, pathspace), join(FRR_CONF_DIR, pathspace)]) {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chownSync(dir, uid, gid);
  }
  const vtyshConf = join(FRR_CONF_DIR, pathspace, 'vtysh.conf');
  if (!existsSync(vtyshConf)) writeFileSync(vtyshConf, 'service integrated-vtysh-config\n');
}

let frrIdsCache: { uid: number; gid: number } | undefined;

function frrIds(): { uid: number; gid: number } {
  if (!frrIdsCache) {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('frr:'));
    const fields = line?.split(':');
    if (!fields?.[2] || !fields[3]) throw new Error('the frr user is missing: is FRR installed?');
    frrIdsCache = { uid: Number(fields[2]), gid: Number(fields[3]) };
  }
  return frrIdsCache;
}

function daemonPid(pathspace: string, daemon: FrrDaemon): number | undefined {
  const file = join(FRR_RUN_DIR, pathspace, `${daemon}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  // A stale pid file may name an unrelated process by now: only signal the daemon it describes.
  const comm = existsSync(`/proc/${pid}/comm`) ? readFileSync(`/proc/${pid}/comm`, 'utf8').trim() : '';
  return comm === daemon && isRunning(pid) ? pid : undefined;
}

/** vtysh against one FRR instance; rejects when the daemons a command needs are down. */
async function vtysh(pathspace: string, commands: readonly string[]): Promise<string> {
  const { stdout } = await run('vtysh', ['-N', pathspace, ...commands.flatMap((c) => ['-c', c])], {
    timeout: 30_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  // With some daemons down vtysh still exits 0, printing this instead of the answer.
  const down = /^(\S+) is not running$/m.exec(stdout);
  if (down) throw new Error(`vtysh -N ${pathspace}: ${down[1] ?? 'a daemon'} is not running`);
  return stdout;
}

function familyOf(prefix: string): 'ipv4' | 'ipv6' {
  return prefix.includes(':') ? 'ipv6' : 'ipv4';
}
