/**
 * A layer-2 lab in network namespaces, built and torn down by a test:
 *
 *   <prefix>-<node> eth0 ─┐                                      ┌─ eth0 <prefix>-client
 *   …                     ├─ br0 in <prefix>-lan (198.51.100.0/24, ┤
 *                         │         2001:db8::/64)                  │
 *   <prefix>-<node> eth1 ─┴─ br1 in <prefix>-lan (optional second LAN, 192.0.2.0/24, 2001:db8:2::/64) ─ eth1
 *
 * The bridges snoop multicast (IGMP/MLD) and are the LAN's querier, as managed switches are: a Neighbor
 * Solicitation for a solicited-node group reaches only the ports that joined it with an MLD report, so an
 * NDP responder works here only if it joins correctly. Broadcast (ARP) and ff02::1 go everywhere.
 *
 * Every interface has a fixed MAC (L2_MACS) and fixed addresses; DAD is off in the lab (addresses are
 * usable at once and MLD reports leave from a link-local source immediately), so building takes well under
 * a second. Processes inside node namespaces reach the API server through an ApiRelay (127.0.0.1:6443 in
 * each namespace), started when a kubeconfig is given or the e2e cluster is running.
 *
 * Cleanup: destroy() (call it from afterAll), a process 'exit' hook and a watchdog (netns.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ManagedProcess } from '../../cluster/processes.js';
import { ApiRelay } from './api-relay.js';
import { componentNodeOptions } from '../../../src/operator/render/node-options.js';
import { cliEntry } from './product.js';
import { NamespaceJanitor, inNamespace, ip, ipBatch, nextFreePrefix, run, sleep, sysctl } from './netns.js';
import { waitFor } from '../wait-for.js';

/** LAN 1 (eth0 everywhere): nodes at .10+i / ::10+i (hex digits of the decimal index), the client at .2 / ::2. */
export const LAN = {
  ipv4Prefix: '198.51.100',
  ipv6Prefix: '2001:db8:',
  ipv4Cidr: '198.51.100.0/24',
  ipv6Cidr: '2001:db8::/64',
  /** Free for Service addresses: no interface uses them. */
  servicePoolV4: '198.51.100.128/25',
  servicePoolV6: '2001:db8::1:0/112',
} as const;

/** LAN 2 (eth1), present with `secondLan: true`. */
export const LAN2 = {
  ipv4Prefix: '192.0.2',
  ipv6Prefix: '2001:db8:2:',
  ipv4Cidr: '192.0.2.0/24',
  ipv6Cidr: '2001:db8:2::/64',
  servicePoolV4: '192.0.2.128/25',
  servicePoolV6: '2001:db8:2::1:0/112',
} as const;

/** Locally administered MACs: 02:00:00:00:<lan 01|02>:<node index + 1, hex>; the client is :fe. */
export function labMac(lan: 1 | 2, index: number | 'client'): string {
  const last = index === 'client' ? 0xfe : index + 1;
  return `02:00:00:00:0${lan}:${last.toString(16).padStart(2, '0')}`;
}

export type LabInterfaceName = 'eth0' | 'eth1';

export interface LabInterface {
  readonly name: LabInterfaceName;
  readonly mac: string;
  readonly ipv4: string;
  readonly ipv6: string;
  /** The bridge port in the LAN namespace this interface is cabled to. */
  readonly switchPort: string;
}

export interface L2Node {
  readonly name: string;
  readonly namespace: string;
  /** eth0, and eth1 with a second LAN. */
  readonly interfaces: readonly LabInterface[];
  /** eth0. */
  readonly lan: LabInterface;
}

export interface LabClient {
  readonly namespace: string;
  readonly interfaces: readonly LabInterface[];
  readonly lan: LabInterface;
}

export interface L2LabOptions {
  /** Node names: the kwok Node objects the speakers stand for (short DNS labels). */
  readonly nodes: readonly string[];
  /** A second bridge, with eth1 on every node and the client (for `interfaces` selection). */
  readonly secondLan?: boolean;
  /**
   * The cluster's admin kubeconfig; processes in node namespaces get one that goes through the relay.
   * Default: the e2e cluster's ($METALLB_E2E_KUBECONFIG) when set; null: no relay.
   */
  readonly kubeconfigPath?: string | null;
}

export interface ResolveOptions {
  /** The asking interface (default eth0). */
  readonly iface?: LabInterfaceName;
  /** How long to wait for answers (default 1000 ms). */
  readonly timeoutMs?: number;
  /** A node name: ask from that node instead of the client. */
  readonly from?: string;
}

export interface Neighbour {
  readonly ip: string;
  readonly dev: string;
  readonly mac: string | undefined;
  /** Kernel NUD states, e.g. ['REACHABLE'], ['STALE'], ['FAILED']. */
  readonly state: readonly string[];
}

export interface NeighbourChange {
  /** Date.now() when the change was seen. */
  readonly atMs: number;
  /** undefined: the entry went away or has no MAC (INCOMPLETE/FAILED). */
  readonly mac: string | undefined;
}

export interface NeighbourWatch {
  readonly ip: string;
  /** Every MAC change seen, oldest first; the first entry is the state when watching began. */
  readonly changes: readonly NeighbourChange[];
  /** The MAC last seen. */
  current(): string | undefined;
  /** Resolves with the time of the first change to `mac` at or after `sinceMs` (default: any time). */
  waitForMac(
    mac: string,
    options?: { readonly sinceMs?: number; readonly timeoutMs?: number },
  ): Promise<number>;
  stop(): Promise<void>;
}

export interface LabProcess {
  readonly pid: number;
  readonly logFile: string;
  readonly running: boolean;
  /** Everything the process wrote to stdout and stderr so far. */
  log(): string;
  kill(signal?: NodeJS.Signals): void;
  /** Resolves with the first log line matching `pattern`; rejects on timeout or if the process exits. */
  waitForLog(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the process has exited. */
  waitForExit(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** An address no lab uses, for the entry that shows a neighbour monitor is live. */
const MONITOR_MARKER = '169.254.253.253';

const NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

function lanAddresses(lan: typeof LAN | typeof LAN2, host: number): { ipv4: string; ipv6: string } {
  return { ipv4: `${lan.ipv4Prefix}.${host}`, ipv6: `${lan.ipv6Prefix}:${host}` };
}

export class L2Lab {
  readonly nodes: readonly L2Node[];
  readonly client: LabClient;
  readonly lanNamespace: string;
  /** Logs of processes started in the lab; kept after destroy() for failure reports. */
  readonly logDir: string;
  private readonly janitor: NamespaceJanitor;
  private relay: ApiRelay | undefined;
  private readonly kubeconfigs = new Map<string, string>();
  private readonly started: LabProcess[] = [];
  private readonly watches = new Set<NeighbourWatch>();
  private destroyed = false;

  private constructor(
    readonly prefix: string,
    nodeNames: readonly string[],
    readonly secondLan: boolean,
  ) {
    const lans = secondLan ? ([LAN, LAN2] as const) : ([LAN] as const);
    const iface = (lanIndex: 0 | 1, index: number | 'client', port: string): LabInterface => {
      const lan = lans[lanIndex] as typeof LAN | typeof LAN2;
      return {
        name: lanIndex === 0 ? 'eth0' : 'eth1',
        mac: labMac(lanIndex === 0 ? 1 : 2, index),
        ...lanAddresses(lan, index === 'client' ? 2 : 10 + index),
        switchPort: port,
      };
    };
    this.nodes = nodeNames.map((name, index) => {
      const interfaces = lans.map((_, lanIndex) => iface(lanIndex as 0 | 1, index, `n${index}l${lanIndex}`));
      return { name, namespace: `${prefix}-${name}`, interfaces, lan: interfaces[0] as LabInterface };
    });
    const clientInterfaces = lans.map((_, lanIndex) => iface(lanIndex as 0 | 1, 'client', `cl${lanIndex}`));
    this.client = {
      namespace: `${prefix}-client`,
      interfaces: clientInterfaces,
      lan: clientInterfaces[0] as LabInterface,
    };
    this.lanNamespace = `${prefix}-lan`;
    const stateDir = mkdtempSync(join(tmpdir(), `${prefix}-state-`));
    this.logDir = mkdtempSync(join(tmpdir(), `${prefix}-logs-`));
    this.janitor = new NamespaceJanitor({
      prefix,
      namespaces: this.namespaces,
      stateDir,
      // The speaker's FRR pathspace is the namespace's name: its scratch folder and anything its FRR
      // tooling may leave under FRR's folders for that pathspace go too.
      paths: this.nodes.flatMap((node) => [
        join(tmpdir(), `metallb-speaker-${node.namespace}`),
        join('/etc/frr', node.namespace),
        join('/var/run/frr', node.namespace),
      ]),
    });
  }

  /** Builds the lab; on any failure removes whatever it had built. */
  static async create(options: L2LabOptions): Promise<L2Lab> {
    if (options.nodes.length === 0 || options.nodes.length > 40) throw new Error('1 to 40 nodes, please');
    const badName = options.nodes.find((name) => !NAME.test(name) || name === 'lan' || name === 'client');
    if (badName !== undefined) throw new Error(`node name ${JSON.stringify(badName)} is not usable`);
    const prefix = nextFreePrefix('mlbl2', () => false);
    const lab = new L2Lab(prefix, options.nodes, options.secondLan ?? false);
    try {
      lab.janitor.arm();
      await lab.build();
      const kubeconfig =
        options.kubeconfigPath === undefined ? process.env.METALLB_E2E_KUBECONFIG : options.kubeconfigPath;
      if (kubeconfig) await lab.startRelay(kubeconfig);
      return lab;
    } catch (error) {
      await lab.destroy();
      throw error;
    }
  }

  get namespaces(): string[] {
    return [this.lanNamespace, this.client.namespace, ...this.nodes.map((n) => n.namespace)];
  }

  node(name: string): L2Node {
    const node = this.nodes.find((candidate) => candidate.name === name);
    if (!node) throw new Error(`no node ${name} in this lab (${this.nodes.map((n) => n.name).join(', ')})`);
    return node;
  }

  /** PIDs of the API relay's processes (host side first), empty without a relay. */
  get relayPids(): number[] {
    return this.relay?.pids ?? [];
  }

  /** The relay's socket file on the host, undefined without a relay. */
  get relaySocketPath(): string | undefined {
    return this.relay?.socketPath;
  }

  /** The kubeconfig a process inside `nodeName`'s namespace uses (server https://127.0.0.1:6443). */
  kubeconfigFor(nodeName: string): string {
    const path = this.kubeconfigs.get(this.node(nodeName).namespace);
    if (!path) throw new Error('this lab has no API relay: create it with a kubeconfig or in the e2e run');
    return path;
  }

  // ------------------------------------------------------------------------------------------ build

  private async build(): Promise<void> {
    const hosts = [this.client, ...this.nodes];
    const lan = this.lanNamespace;
    await Promise.all(
      this.namespaces.map(async (namespace) => {
        await ip(undefined, `netns add ${namespace}`);
        // Before any interface exists, so every one inherits it: addresses and link-locals usable at once.
        await sysctl(namespace, {
          'net.ipv6.conf.default.accept_dad': 0,
          'net.ipv6.conf.all.accept_dad': 0,
        });
      }),
    );
    const bridges = this.secondLan ? ['br0', 'br1'] : ['br0'];
    // Snooping on, the querier off until the bridge has its link-local address (a query attempted before
    // that is retried only after the startup interval); queries then repeat every second at first, and
    // a 1 s response interval makes hosts answer them quickly.
    await ipBatch(lan, [
      'link set lo up',
      ...bridges.map(
        (bridge) =>
          `link add ${bridge} type bridge mcast_snooping 1 mcast_querier 0 mcast_query_response_interval 100 mcast_startup_query_interval 100 mcast_startup_query_count 5`,
      ),
    ]);
    await Promise.all(
      hosts.map((host) =>
        ipBatch(host.namespace, [
          'link set lo up',
          ...host.interfaces.flatMap((iface) => [
            `link add ${iface.name} address ${iface.mac} type veth peer name ${iface.switchPort} netns ${lan}`,
            `addr add ${iface.ipv4}/24 dev ${iface.name}`,
            `addr add ${iface.ipv6}/64 dev ${iface.name} nodad`,
            `link set ${iface.name} up`,
          ]),
        ]),
      ),
    );
    const ports = hosts.flatMap((host) => host.interfaces);
    // Ports carry frames only; the bridge itself is the only LAN-namespace host (it sends the queries).
    await sysctl(
      lan,
      Object.fromEntries(ports.map((port) => [`net.ipv6.conf.${port.switchPort}.disable_ipv6`, 1])),
    );
    await ipBatch(lan, [
      ...ports.map((port) => `link set ${port.switchPort} master ${port.name === 'eth0' ? 'br0' : 'br1'} up`),
      ...bridges.map((bridge) => `link set ${bridge} up`),
    ]);
    await this.startQuerier(
      bridges,
      hosts.map((host) => host.namespace),
    );
  }

  /**
   * Makes the bridges the LAN's MLD/IGMP querier and waits until every host has heard a query: only then
   * is snooping in force (without a querier a Linux bridge floods all multicast).
   */
  private async startQuerier(bridges: readonly string[], hosts: readonly string[]): Promise<void> {
    const heardQuery = async (namespace: string): Promise<boolean> =>
      ((await snmp6(namespace)).get('Icmp6InGroupMembQueries') ?? 0) > 0;
    for (let attempt = 1; ; attempt++) {
      for (const bridge of bridges) {
        // Turning it on sends a query at once, if the bridge has an address by then; otherwise try again.
        await ip(this.lanNamespace, `link set ${bridge} type bridge mcast_querier 0`);
        await ip(this.lanNamespace, `link set ${bridge} type bridge mcast_querier 1`);
      }
      try {
        await Promise.all(
          hosts.map((namespace) =>
            waitFor(`the LAN's MLD querier to reach ${namespace}`, () => heardQuery(namespace), {
              timeoutMs: 1_500,
              intervalMs: 20,
            }),
          ),
        );
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }

  private async startRelay(kubeconfigPath: string): Promise<void> {
    this.relay = await ApiRelay.start(kubeconfigPath, mkdtempSync(join(tmpdir(), `${this.prefix}-relay-`)));
    for (const pid of this.relay.pids) this.janitor.adoptProcess(pid);
    const relay = this.relay;
    await Promise.all(
      this.nodes.map(async (node) => {
        const access = await relay.enterNamespace(node.namespace);
        this.kubeconfigs.set(node.namespace, access.kubeconfigPath);
      }),
    );
  }

  // -------------------------------------------------------------------------------------- processes

  /**
   * Starts `command` inside a node's namespace with KUBECONFIG set to the relayed kubeconfig (when the lab
   * has a relay). The pid is the command's own (`ip netns exec` execs it), so signals reach it directly.
   */
  startInNode(
    nodeName: string,
    command: readonly string[],
    options: { readonly env?: Readonly<Record<string, string>>; readonly name?: string } = {},
  ): LabProcess {
    const node = this.node(nodeName);
    const kubeconfig = this.kubeconfigs.get(node.namespace);
    const name = options.name ?? command.map((word) => word.split('/').pop()).join(' ');
    const logFile = join(
      this.logDir,
      `${node.name}-${this.started.length}-${(command[0] ?? 'cmd').split('/').pop()}.log`,
    );
    const managed = ManagedProcess.start(name, 'ip', ['netns', 'exec', node.namespace, ...command], logFile, {
      ...process.env,
      ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}),
      ...options.env,
    });
    const handle = labProcess(managed, logFile);
    this.started.push(handle);
    return handle;
  }

  /** `metallb SUBCOMMAND --kubeconfig=<relayed> ARGS…` inside a node's namespace (the built CLI in dist/). */
  startProductInNode(
    nodeName: string,
    subcommand: string,
    args: readonly string[],
    options: { readonly env?: Readonly<Record<string, string>> } = {},
  ): LabProcess {
    return this.startInNode(
      nodeName,
      [process.execPath, cliEntry(), subcommand, `--kubeconfig=${this.kubeconfigFor(nodeName)}`, ...args],
      {
        env: { NODE_OPTIONS: componentNodeOptions, ...options.env },
        name: `metallb ${subcommand} on ${nodeName}`,
      },
    );
  }

  /**
   * `metallb speaker` for a node, inside its namespace, with FRR in local mode under the pathspace named
   * after the namespace (no FRR runs there: L2 needs none), metrics and probes on the namespace's loopback
   * at fixed ports 7472/7473. Resolves once it logged "caches synced" (it reached the API server).
   */
  async startSpeaker(nodeName: string, extraArgs: readonly string[] = []): Promise<LabProcess> {
    const node = this.node(nodeName);
    const speaker = this.startProductInNode(nodeName, 'speaker', [
      '--node',
      node.name,
      '--frr-mode',
      'local',
      '--frr-pathspace',
      node.namespace,
      '--bind-address',
      '127.0.0.1',
      '--log-level',
      'debug',
      ...extraArgs,
    ]);
    try {
      await speaker.waitForLog('caches synced', 60_000);
    } catch (error) {
      await speaker.stop();
      throw error;
    }
    return speaker;
  }

  /** Runs a command to completion inside a namespace of the lab; rejects on a non-zero exit. */
  exec(namespace: string, command: readonly string[], timeoutMs = 30_000): Promise<string> {
    return inNamespace(namespace, command, timeoutMs);
  }

  inNode(nodeName: string, command: readonly string[]): Promise<string> {
    return this.exec(this.node(nodeName).namespace, command);
  }

  inClient(command: readonly string[]): Promise<string> {
    return this.exec(this.client.namespace, command);
  }

  // ----------------------------------------------------------------------------------- client tools

  /**
   * The MAC that answers for `address` on the client's `iface` (default eth0): one ARP request (Habets
   * arping) or one Neighbor Solicitation (ndisc6), waiting up to `timeoutMs` (default 1000). undefined when
   * nobody answers. Neither touches the asking kernel's neighbour cache. With `from`, a node asks instead.
   */
  async resolveMac(address: string, options: ResolveOptions = {}): Promise<string | undefined> {
    const macs = await this.answeringMacs(address, { ...options, first: true });
    return macs[0];
  }

  /**
   * Every MAC that answers one request for `address` within `timeoutMs` (default 1000), in order of
   * arrival, duplicates removed: exactly one entry when exactly one host answers.
   */
  async answeringMacs(
    address: string,
    options: ResolveOptions & { readonly first?: boolean } = {},
  ): Promise<string[]> {
    const namespace = options.from ? this.node(options.from).namespace : this.client.namespace;
    const iface = options.iface ?? 'eth0';
    const timeoutMs = options.timeoutMs ?? 1000;
    const command = address.includes(':')
      ? [
          'ndisc6',
          '-n',
          '-q',
          options.first ? '-1' : '-m',
          '-r',
          '1',
          '-w',
          String(timeoutMs),
          address,
          iface,
        ]
      : [
          '/usr/sbin/arping',
          '-r',
          '-c',
          '1',
          ...(options.first ? ['-C', '1'] : []),
          '-w',
          String(timeoutMs / 1000),
          '-i',
          iface,
          address,
        ];
    let stdout: string;
    try {
      ({ stdout } = await run('ip', ['netns', 'exec', namespace, ...command], {
        timeout: timeoutMs + 5_000,
      }));
    } catch (error) {
      // Both tools exit non-zero when nobody answers; what they printed still counts.
      stdout = (error as { stdout?: string }).stdout ?? '';
    }
    const macs = stdout
      .split('\n')
      .map((line) => line.trim().toLowerCase())
      .filter((line) => /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(line));
    return [...new Set(macs)];
  }

  /** The client kernel's neighbour entry for `address` (ip -j neigh), or undefined when it has none. */
  async neighbour(address: string, iface: LabInterfaceName = 'eth0'): Promise<Neighbour | undefined> {
    const stdout = await ip(this.client.namespace, `-j neigh show to ${address} dev ${iface}`);
    const entries = JSON.parse(stdout.trim() || '[]') as {
      dst: string;
      dev?: string;
      lladdr?: string;
      state?: string[];
    }[];
    const entry = entries.find((candidate) => candidate.dst === address);
    if (!entry) return undefined;
    return {
      ip: entry.dst,
      dev: entry.dev ?? iface,
      mac: entry.lladdr?.toLowerCase(),
      state: entry.state ?? [],
    };
  }

  /** Forgets the client's neighbour entries (all, or the one for `address`). */
  async flushNeighbours(address?: string): Promise<void> {
    await ip(this.client.namespace, address ? `neigh flush to ${address}` : 'neigh flush all');
  }

  /**
   * Records every change of the client's neighbour entry for `address` with the time it was seen, from
   * the kernel's own notifications (`ip monitor neigh`, one ordered source: a poll beside it could report
   * an older state after a newer one). Resolves once the monitor is live. The client sends nothing: only
   * what arrives on the wire changes the entry.
   */
  async watchNeighbour(address: string, iface: LabInterfaceName = 'eth0'): Promise<NeighbourWatch> {
    const changes: NeighbourChange[] = [];
    const waiters = new Set<() => void>();
    const record = (mac: string | undefined): void => {
      const last = changes[changes.length - 1];
      if (last && last.mac === mac) return;
      changes.push({ atMs: Date.now(), mac });
      for (const waiter of waiters) waiter();
    };
    const monitor: ChildProcess = spawn('ip', ['-n', this.client.namespace, 'monitor', 'neigh'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let live: () => void = () => undefined;
    const monitorLive = new Promise<void>((resolve) => {
      live = resolve;
    });
    const lines = createInterface({ input: monitor.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const match = /^(Deleted )?(\S+) dev (\S+)(?: lladdr (\S+))?/.exec(line);
      if (match?.[2] === MONITOR_MARKER) live();
      if (!match || match[2] !== address || match[3] !== iface || changes.length === 0) return;
      const gone = match[1] !== undefined || /\b(FAILED|INCOMPLETE)\b/.test(line);
      record(gone ? undefined : match[4]?.toLowerCase());
    });
    // A throw-away entry the monitor must report: once it does, no later change can be missed. Repeated,
    // because `ip monitor` may not have subscribed yet when the first one comes and goes.
    const marker = `neigh replace ${MONITOR_MARKER} lladdr 02:00:00:00:00:00 dev ${iface} nud permanent`;
    let isLive = false;
    void monitorLive.then(() => (isLive = true));
    const deadline = Date.now() + 5_000;
    while (!isLive && Date.now() < deadline) {
      await ip(this.client.namespace, marker);
      await ip(this.client.namespace, `neigh del ${MONITOR_MARKER} dev ${iface}`);
      await Promise.race([monitorLive, sleep(200)]);
    }
    const failed = !isLive;
    if (failed) {
      monitor.kill('SIGKILL');
      throw new Error(`ip monitor neigh in ${this.client.namespace} reported nothing in 5 s`);
    }
    record((await this.neighbour(address, iface))?.mac);
    const watch: NeighbourWatch = {
      ip: address,
      changes,
      current: () => changes[changes.length - 1]?.mac,
      waitForMac: (mac, options = {}) => {
        const wanted = mac.toLowerCase();
        const sinceMs = options.sinceMs ?? 0;
        const found = (): number | undefined =>
          changes.find((change) => change.mac === wanted && change.atMs >= sinceMs)?.atMs;
        return new Promise<number>((resolve, reject) => {
          const check = (): void => {
            const at = found();
            if (at === undefined) return;
            waiters.delete(check);
            clearTimeout(timer);
            resolve(at);
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            reject(
              new Error(
                `the client's entry for ${address} never became ${wanted}; seen: ${JSON.stringify(changes)}`,
              ),
            );
          }, options.timeoutMs ?? 10_000);
          waiters.add(check);
          check();
        });
      },
      stop: async () => {
        monitor.kill('SIGTERM');
        this.watches.delete(watch);
      },
    };
    this.watches.add(watch);
    return watch;
  }

  /** Adds an address to a client interface (e.g. to own a Service IP before the speaker probes for it). */
  async addClientAddress(address: string, iface: LabInterfaceName = 'eth0'): Promise<void> {
    const length = address.includes(':') ? 64 : 24;
    await ip(
      this.client.namespace,
      `addr add ${address}/${length} dev ${iface}${address.includes(':') ? ' nodad' : ''}`,
    );
  }

  async removeClientAddress(address: string, iface: LabInterfaceName = 'eth0'): Promise<void> {
    const length = address.includes(':') ? 64 : 24;
    await ip(this.client.namespace, `addr del ${address}/${length} dev ${iface}`);
  }

  /** One ping from the client (or from a node, with `from`); true when a reply came within `timeoutMs`. */
  async ping(
    address: string,
    options: { readonly from?: string; readonly timeoutMs?: number } = {},
  ): Promise<boolean> {
    const namespace = options.from ? this.node(options.from).namespace : this.client.namespace;
    const seconds = Math.max(1, Math.ceil((options.timeoutMs ?? 1000) / 1000));
    try {
      await run(
        'ip',
        ['netns', 'exec', namespace, 'ping', '-n', '-q', '-c', '1', '-W', String(seconds), address],
        {
          timeout: seconds * 1000 + 5_000,
        },
      );
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Sends a gratuitous ARP from a node claiming `address` (default: its own eth0 address) with its MAC:
   * an unsolicited request (`arping -U`), or an unsolicited reply with `reply: true` (`-U -P`).
   */
  async gratuitousArp(
    nodeName: string,
    options: { readonly address?: string; readonly iface?: LabInterfaceName; readonly reply?: boolean } = {},
  ): Promise<void> {
    const node = this.node(nodeName);
    const iface = node.interfaces.find((candidate) => candidate.name === (options.iface ?? 'eth0'));
    if (!iface) throw new Error(`${nodeName} has no ${options.iface ?? 'eth0'}`);
    const address = options.address ?? iface.ipv4;
    await run('ip', [
      'netns',
      'exec',
      node.namespace,
      '/usr/sbin/arping',
      '-q',
      '-U',
      ...(options.reply ? ['-P'] : []),
      '-c',
      '1',
      '-w',
      '0.2',
      '-S',
      address,
      '-i',
      iface.name,
      address,
    ]).catch((error: unknown) => {
      // arping exits 1 when no reply came, which is the normal outcome of an unsolicited one.
      if ((error as { code?: number }).code !== 1) throw error;
    });
  }

  // ---------------------------------------------------------------------------------------- failures

  /** Unplugs a node's cable at the switch: its bridge port goes down, and its interface loses carrier. */
  async cutLink(nodeName: string, iface: LabInterfaceName = 'eth0'): Promise<void> {
    await ip(this.lanNamespace, `link set ${this.port(nodeName, iface)} down`);
  }

  async restoreLink(nodeName: string, iface: LabInterfaceName = 'eth0'): Promise<void> {
    await ip(this.lanNamespace, `link set ${this.port(nodeName, iface)} up`);
  }

  private port(nodeName: string, iface: LabInterfaceName): string {
    const found = this.node(nodeName).interfaces.find((candidate) => candidate.name === iface);
    if (!found) throw new Error(`${nodeName} has no ${iface}`);
    return found.switchPort;
  }

  // ------------------------------------------------------------------------------------- inspection

  /** A namespace's IPv6/ICMPv6 counters (/proc/net/snmp6), e.g. Icmp6InNeighborSolicits. */
  async counters(namespace: string): Promise<Map<string, number>> {
    return snmp6(namespace);
  }

  /** The multicast groups the LAN's switch learned, per port (`bridge mdb`). */
  async switchGroups(): Promise<{ readonly port: string; readonly group: string }[]> {
    const { stdout } = await run('bridge', ['-n', this.lanNamespace, '-j', 'mdb', 'show']);
    const parsed = JSON.parse(stdout.trim() || '[]') as { mdb?: { port: string; grp: string }[] }[];
    return parsed
      .flatMap((entry) => entry.mdb ?? [])
      .map((entry) => ({ port: entry.port, group: entry.grp }));
  }

  // ---------------------------------------------------------------------------------------- cleanup

  /** Stops every process, watch and relay of the lab and removes its namespaces; safe to call repeatedly. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.watches].map((watch) => watch.stop()));
    await Promise.all(this.started.map((handle) => handle.stop(2_000)));
    await this.relay?.stop();
    await this.janitor.cleanUp();
    // Logs stay for failure reports, but an empty folder says nothing.
    if (readdirSync(this.logDir).length === 0) rmSync(this.logDir, { recursive: true, force: true });
  }
}

function labProcess(managed: ManagedProcess, logFile: string): LabProcess {
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const waitForExit = async (timeoutMs = 30_000): Promise<void> => {
    await waitFor(`${managed.name} to exit`, () => !managed.running, { timeoutMs, intervalMs: 10 });
  };
  return {
    pid: managed.pid as number,
    logFile,
    get running() {
      return managed.running;
    },
    log,
    kill: (signal = 'SIGTERM') => {
      if (managed.running && managed.pid !== undefined) process.kill(managed.pid, signal);
    },
    waitForLog: async (pattern, timeoutMs = 30_000) => {
      const matches = (line: string): boolean =>
        typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = log().split('\n').find(matches);
        if (line !== undefined) return line;
        if (!managed.running) {
          throw new Error(
            `${managed.name} exited before logging ${String(pattern)}:\n${managed.logTail(40)}`,
          );
        }
        if (Date.now() > deadline) {
          throw new Error(
            `${managed.name} did not log ${String(pattern)} in ${timeoutMs} ms:\n${managed.logTail(40)}`,
          );
        }
        await sleep(25);
      }
    },
    waitForExit,
    stop: (graceMs = 10_000) => managed.stop(graceMs),
  };
}

async function snmp6(namespace: string): Promise<Map<string, number>> {
  const text = await inNamespace(namespace, ['cat', '/proc/net/snmp6']);
  const counters = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) counters.set(key, Number(value));
  }
  return counters;
}
