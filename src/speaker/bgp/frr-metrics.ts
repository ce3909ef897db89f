/**
 * BGP and BFD metrics read from FRR at scrape time, with upstream MetalLB's names and labels (its FRR-mode
 * exporter): `peer` is "address:port" for BGP and the address for BFD, `vrf` is FRR's VRF name ("default").
 * One scrape runs the three vtysh show commands once (in parallel) and every metric reads that snapshot.
 *
 * Upstream takes the port from the current TCP connection, which changes with every reconnect and is -1
 * while the session is down; here it is the port configured on the BGPPeer, so a series stays one series.
 * Peers the speaker configured but FRR does not report (FRR down, bgpd restarting) read session_up 0.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { silentLogger, type Logger } from '../../runtime/logging.js';
import {
  parseBfdCounters,
  parseBfdPeers,
  parseBgpNeighbors,
  type BfdPeerCounters,
  type BfdPeerState,
  type BgpMessageStats,
  type BgpNeighborState,
} from './frr-state.js';
import type { Vtysh } from './frr-tools.js';

/** A BGP session the speaker configured in FRR, as FRR names it. */
export interface ConfiguredSession {
  /** The BGPPeer's name. */
  readonly peer: string;
  /** FRR's VRF name: "default" or the BGPPeer's vrf. */
  readonly vrf: string;
  /** FRR's key for the neighbour: the address as FRR prints it, or the interface. */
  readonly neighbor: string;
  readonly port: number;
  readonly bfd: boolean;
}

export interface FrrSnapshot {
  /** bgpd answered. */
  readonly bgpReachable: boolean;
  readonly neighbors: readonly BgpNeighborState[];
  readonly bfdPeers: readonly BfdPeerState[];
  readonly bfdCounters: readonly BfdPeerCounters[];
}

export const emptySnapshot: FrrSnapshot = {
  bgpReachable: false,
  neighbors: [],
  bfdPeers: [],
  bfdCounters: [],
};

/** Reads FRR's state once per `maxAgeMs`, however many metrics (and callers) ask. */
export class FrrStateReader {
  private cached: { readonly at: number; readonly snapshot: Promise<FrrSnapshot> } | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly maxAgeMs: number;

  constructor(
    private readonly vtysh: Vtysh,
    options: { readonly clock?: Clock; readonly maxAgeMs?: number; readonly logger?: Logger } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.maxAgeMs = options.maxAgeMs ?? 1000;
    this.log = (options.logger ?? silentLogger()).child({ subsystem: 'frr-state' });
  }

  read(): Promise<FrrSnapshot> {
    const now = this.clock.now();
    if (this.cached && now - this.cached.at < this.maxAgeMs) return this.cached.snapshot;
    const snapshot = this.fetch();
    this.cached = { at: now, snapshot };
    return snapshot;
  }

  /**
   * Only the BGP neighbours, in one vtysh call (each call costs a process that loads vtysh's command tree):
   * enough for session state, which takes BFD's state from bgpd's view of each neighbour.
   */
  async readNeighbors(): Promise<FrrSnapshot> {
    const neighbors = await this.json('show bgp vrf all neighbors json');
    return {
      bgpReachable: neighbors !== undefined,
      neighbors: parseBgpNeighbors(neighbors),
      bfdPeers: [],
      bfdCounters: [],
    };
  }

  private async fetch(): Promise<FrrSnapshot> {
    const [neighbors, bfdPeers, bfdCounters] = await Promise.all([
      this.json('show bgp vrf all neighbors json'),
      this.json('show bfd peers json'),
      this.json('show bfd peers counters json'),
    ]);
    return {
      bgpReachable: neighbors !== undefined,
      neighbors: parseBgpNeighbors(neighbors),
      bfdPeers: parseBfdPeers(bfdPeers),
      bfdCounters: parseBfdCounters(bfdCounters),
    };
  }

  private async json(command: string): Promise<unknown> {
    try {
      return await this.vtysh.showJson(command);
    } catch (error) {
      this.log.debug({ err: error, command }, 'cannot read FRR state');
      return undefined;
    }
  }
}

export interface Sample {
  readonly labels: { readonly peer: string; readonly vrf: string };
  readonly value: number;
}

/** Metric name → samples, computed from one snapshot: the pure half of the collectors, tested on its own. */
export type Samples = ReadonlyMap<string, readonly Sample[]>;

interface MetricSpec<T> {
  readonly name: string;
  readonly help: string;
  readonly value: (source: T) => number;
}

const bgpMessageMetrics: readonly MetricSpec<BgpMessageStats>[] = [
  { name: 'metallb_bgp_opens_sent', help: 'Number of BGP open messages sent', value: (m) => m.opensSent },
  {
    name: 'metallb_bgp_opens_received',
    help: 'Number of BGP open messages received',
    value: (m) => m.opensReceived,
  },
  {
    name: 'metallb_bgp_notifications_sent',
    help: 'Number of BGP notification messages sent',
    value: (m) => m.notificationsSent,
  },
  {
    name: 'metallb_bgp_updates_total',
    help: 'Number of BGP UPDATE messages sent',
    value: (m) => m.updatesSent,
  },
  {
    name: 'metallb_bgp_updates_total_received',
    help: 'Number of BGP UPDATE messages received',
    value: (m) => m.updatesReceived,
  },
  {
    name: 'metallb_bgp_keepalives_sent',
    help: 'Number of BGP keepalive messages sent',
    value: (m) => m.keepalivesSent,
  },
  {
    name: 'metallb_bgp_keepalives_received',
    help: 'Number of BGP keepalive messages received',
    value: (m) => m.keepalivesReceived,
  },
  {
    name: 'metallb_bgp_route_refresh_sent',
    help: 'Number of BGP route refresh messages sent',
    value: (m) => m.routeRefreshSent,
  },
  { name: 'metallb_bgp_total_sent', help: 'Number of total BGP messages sent', value: (m) => m.totalSent },
  {
    name: 'metallb_bgp_total_received',
    help: 'Number of total BGP messages received',
    value: (m) => m.totalReceived,
  },
];

const bgpSessionUp = { name: 'metallb_bgp_session_up', help: 'BGP session state (1 is up, 0 is down)' };
const bgpPrefixes = {
  name: 'metallb_bgp_announced_prefixes_total',
  help: 'Number of prefixes currently being advertised on the BGP session',
};

const bfdCounterMetrics: readonly MetricSpec<BfdPeerCounters>[] = [
  {
    name: 'metallb_bfd_control_packet_input',
    help: 'Number of received BFD control packets',
    value: (c) => c.controlPacketInput,
  },
  {
    name: 'metallb_bfd_control_packet_output',
    help: 'Number of sent BFD control packets',
    value: (c) => c.controlPacketOutput,
  },
  {
    name: 'metallb_bfd_echo_packet_input',
    help: 'Number of received BFD echo packets',
    value: (c) => c.echoPacketInput,
  },
  {
    name: 'metallb_bfd_echo_packet_output',
    help: 'Number of sent BFD echo packets',
    value: (c) => c.echoPacketOutput,
  },
  {
    name: 'metallb_bfd_session_up_events',
    help: 'Number of BFD session up events',
    value: (c) => c.sessionUpEvents,
  },
  {
    name: 'metallb_bfd_session_down_events',
    help: 'Number of BFD session down events',
    value: (c) => c.sessionDownEvents,
  },
  {
    name: 'metallb_bfd_zebra_notifications',
    help: 'Number of BFD zebra notifications',
    value: (c) => c.zebraNotifications,
  },
];

const bfdSessionUp = { name: 'metallb_bfd_session_up', help: 'BFD session state (1 is up, 0 is down)' };

function sessionKey(vrf: string, neighbor: string): string {
  return `${vrf} ${neighbor}`;
}

/** "address:port" as upstream labels BGP peers (IPv6 addresses without brackets, as upstream prints them). */
export function bgpPeerLabel(neighbor: string, port: number): string {
  return `${neighbor}:${port}`;
}

/** Every BGP and BFD sample for one snapshot and the sessions the speaker configured. */
export function frrSamples(snapshot: FrrSnapshot, sessions: readonly ConfiguredSession[]): Samples {
  const samples = new Map<string, Sample[]>();
  const add = (name: string, labels: Sample['labels'], value: number): void => {
    let list = samples.get(name);
    if (!list) {
      list = [];
      samples.set(name, list);
    }
    list.push({ labels, value });
  };
  const configured = new Map(sessions.map((session) => [sessionKey(session.vrf, session.neighbor), session]));

  const reported = new Set<string>();
  for (const neighbor of snapshot.neighbors) {
    const key = sessionKey(neighbor.vrf, neighbor.neighbor);
    reported.add(key);
    const port = configured.get(key)?.port ?? (neighbor.foreignPort > 0 ? neighbor.foreignPort : 179);
    const labels = { peer: bgpPeerLabel(neighbor.neighbor, port), vrf: neighbor.vrf };
    add(bgpSessionUp.name, labels, neighbor.established ? 1 : 0);
    add(bgpPrefixes.name, labels, neighbor.prefixesSent);
    for (const metric of bgpMessageMetrics) add(metric.name, labels, metric.value(neighbor.messages));
  }
  for (const session of sessions) {
    if (reported.has(sessionKey(session.vrf, session.neighbor))) continue;
    const labels = { peer: bgpPeerLabel(session.neighbor, session.port), vrf: session.vrf };
    add(bgpSessionUp.name, labels, 0);
    add(bgpPrefixes.name, labels, 0);
  }

  const bfdReported = new Set<string>();
  for (const peer of snapshot.bfdPeers) {
    bfdReported.add(sessionKey(peer.vrf, peer.peer));
    add(bfdSessionUp.name, { peer: peer.peer, vrf: peer.vrf }, peer.up ? 1 : 0);
  }
  for (const session of sessions) {
    if (!session.bfd || bfdReported.has(sessionKey(session.vrf, session.neighbor))) continue;
    add(bfdSessionUp.name, { peer: session.neighbor, vrf: session.vrf }, 0);
  }
  for (const counters of snapshot.bfdCounters) {
    const labels = { peer: counters.peer, vrf: counters.vrf };
    for (const metric of bfdCounterMetrics) add(metric.name, labels, metric.value(counters));
  }
  return samples;
}

/** Every metric this module serves, for documentation and tests. */
export const frrMetricNames: readonly string[] = [
  bgpSessionUp.name,
  bgpPrefixes.name,
  ...bgpMessageMetrics.map((metric) => metric.name),
  bfdSessionUp.name,
  ...bfdCounterMetrics.map((metric) => metric.name),
];

export interface FrrMetricsOptions {
  readonly registry: Registry;
  readonly reader: Pick<FrrStateReader, 'read'>;
  /** The sessions the speaker configured right now. */
  readonly sessions: () => readonly ConfiguredSession[];
  /** Report configured sessions as down when bgpd does not answer; otherwise serve nothing then. Default true. */
  readonly downWhenUnreachable?: boolean;
}

/**
 * Registers the collectors. Each metric's collect awaits the shared snapshot of this scrape and copies its
 * samples; FRR being down yields session_up 0 for the configured sessions, never a failed scrape.
 */
export function registerFrrMetrics(options: FrrMetricsOptions): void {
  const { registry } = options;
  let current: { readonly snapshot: Promise<FrrSnapshot>; readonly samples: Promise<Samples> } | undefined;
  const samplesNow = (): Promise<Samples> => {
    const snapshot = options.reader.read().catch(() => emptySnapshot);
    if (current?.snapshot !== snapshot) {
      const sessions = (value: FrrSnapshot) =>
        value.bgpReachable || options.downWhenUnreachable !== false ? options.sessions() : [];
      current = { snapshot, samples: snapshot.then((value) => frrSamples(value, sessions(value))) };
    }
    return current.samples;
  };
  const labelNames = ['peer', 'vrf'] as const;
  const gauge = (name: string, help: string): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const samples = (await samplesNow()).get(name) ?? [];
        this.reset();
        for (const sample of samples) this.set(sample.labels, sample.value);
      },
    });
  };
  const counter = (name: string, help: string): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const samples = (await samplesNow()).get(name) ?? [];
        this.reset();
        for (const sample of samples) this.inc(sample.labels, sample.value);
      },
    });
  };
  gauge(bgpSessionUp.name, bgpSessionUp.help);
  gauge(bgpPrefixes.name, bgpPrefixes.help);
  for (const metric of bgpMessageMetrics) counter(metric.name, metric.help);
  gauge(bfdSessionUp.name, bfdSessionUp.help);
  for (const metric of bfdCounterMetrics) counter(metric.name, metric.help);
}
