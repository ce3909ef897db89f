/**
 * FRR's JSON state, read defensively into the few fields the speaker uses: BGP neighbours from
 * `show bgp vrf all neighbors json`, BFD peers from `show bfd peers json` and their counters from
 * `show bfd peers counters json` (FRR 8.4 shapes; samples in testdata/frr-json). Unknown or missing fields
 * read as zero or empty, so a newer FRR degrades to fewer details instead of failing a scrape.
 */

export interface BgpMessageStats {
  readonly opensSent: number;
  readonly opensReceived: number;
  readonly notificationsSent: number;
  readonly notificationsReceived: number;
  readonly updatesSent: number;
  readonly updatesReceived: number;
  readonly keepalivesSent: number;
  readonly keepalivesReceived: number;
  readonly routeRefreshSent: number;
  readonly routeRefreshReceived: number;
  readonly totalSent: number;
  readonly totalReceived: number;
}

export interface BgpNeighborState {
  /** "default" for the default VRF, as FRR names it. */
  readonly vrf: string;
  /** FRR's key for the neighbour: its address, or the interface of an unnumbered session. */
  readonly neighbor: string;
  readonly state: string;
  readonly established: boolean;
  /** Prefixes sent, summed over address families. */
  readonly prefixesSent: number;
  /** Prefixes accepted from the peer, summed over address families. */
  readonly prefixesReceived: number;
  /** When the session reached Established, in whole seconds since the epoch (FRR rounds it); only while established. */
  readonly establishedEpochSeconds?: number;
  /** Hold time and keepalive interval in use (the negotiated ones once established), in ms; 0 when FRR omits them. */
  readonly holdTimeMs: number;
  readonly keepaliveMs: number;
  /** The BFD state bgpd last heard of for this neighbour ("Up", "Down", "Unknown"), when it has BFD. */
  readonly bfdStatus?: string;
  readonly messages: BgpMessageStats;
  /** The remote port of the current TCP connection; -1 or 0 without one. */
  readonly foreignPort: number;
  /** Why the last session went down, in FRR's words ("Waiting for peer OPEN", "BFD down received", …). */
  readonly lastResetDueTo?: string;
  /** The last NOTIFICATION sent or received, e.g. "Cease/Bad Peer AS". */
  readonly lastNotificationReason?: string;
  readonly lastErrorCodeSubcode?: string;
}

export interface BfdPeerState {
  readonly peer: string;
  readonly vrf: string;
  readonly up: boolean;
  /** bfdd's word for the state: up, down, init or shutdown. */
  readonly status: string;
}

export interface BfdPeerCounters {
  readonly peer: string;
  readonly vrf: string;
  readonly controlPacketInput: number;
  readonly controlPacketOutput: number;
  readonly echoPacketInput: number;
  readonly echoPacketOutput: number;
  readonly sessionUpEvents: number;
  readonly sessionDownEvents: number;
  readonly zebraNotifications: number;
}

/** FRR's name for the VRF a MetalLB peer lives in ('' in the config). */
export function frrVrfName(vrf: string): string {
  return vrf === '' ? 'default' : vrf;
}

type JsonRecord = Readonly<Record<string, unknown>>;

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberField(record: JsonRecord | undefined, name: string): number {
  const value = record?.[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function stringField(record: JsonRecord | undefined, name: string): string | undefined {
  const value = record?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function readMessages(record: JsonRecord | undefined): BgpMessageStats {
  return {
    opensSent: numberField(record, 'opensSent'),
    opensReceived: numberField(record, 'opensRecv'),
    notificationsSent: numberField(record, 'notificationsSent'),
    notificationsReceived: numberField(record, 'notificationsRecv'),
    updatesSent: numberField(record, 'updatesSent'),
    updatesReceived: numberField(record, 'updatesRecv'),
    keepalivesSent: numberField(record, 'keepalivesSent'),
    keepalivesReceived: numberField(record, 'keepalivesRecv'),
    routeRefreshSent: numberField(record, 'routeRefreshSent'),
    routeRefreshReceived: numberField(record, 'routeRefreshRecv'),
    totalSent: numberField(record, 'totalSent'),
    totalReceived: numberField(record, 'totalRecv'),
  };
}

function readNeighbor(vrf: string, neighbor: string, record: JsonRecord): BgpNeighborState {
  const state = stringField(record, 'bgpState') ?? 'Unknown';
  const families = isRecord(record.addressFamilyInfo) ? Object.values(record.addressFamilyInfo) : [];
  const sumOver = (field: string) =>
    families.reduce<number>((sum, family) => sum + (isRecord(family) ? numberField(family, field) : 0), 0);
  const established = state === 'Established';
  const epoch = numberField(record, 'bgpTimerUpEstablishedEpoch');
  const bfdStatus = isRecord(record.peerBfdInfo) ? stringField(record.peerBfdInfo, 'status') : undefined;
  const lastResetDueTo = stringField(record, 'lastResetDueTo');
  const lastNotificationReason = stringField(record, 'lastNotificationReason');
  const lastErrorCodeSubcode = stringField(record, 'lastErrorCodeSubcode');
  return {
    vrf,
    neighbor,
    state,
    established,
    prefixesSent: sumOver('sentPrefixCounter'),
    prefixesReceived: sumOver('acceptedPrefixCounter'),
    ...(established && epoch > 0 ? { establishedEpochSeconds: epoch } : {}),
    holdTimeMs: numberField(record, 'bgpTimerHoldTimeMsecs'),
    keepaliveMs: numberField(record, 'bgpTimerKeepAliveIntervalMsecs'),
    ...(bfdStatus ? { bfdStatus } : {}),
    messages: readMessages(isRecord(record.messageStats) ? record.messageStats : undefined),
    foreignPort: numberField(record, 'portForeign'),
    ...(lastResetDueTo ? { lastResetDueTo } : {}),
    ...(lastNotificationReason ? { lastNotificationReason } : {}),
    ...(lastErrorCodeSubcode ? { lastErrorCodeSubcode } : {}),
  };
}

/**
 * `show bgp vrf all neighbors json`: an object keyed by VRF name, each holding vrfId/vrfName and one object
 * per neighbour. Sorted by VRF, then neighbour, so output built from it is stable.
 */
export function parseBgpNeighbors(json: unknown): BgpNeighborState[] {
  if (!isRecord(json)) return [];
  const neighbors: BgpNeighborState[] = [];
  for (const [vrfKey, vrfValue] of Object.entries(json)) {
    if (!isRecord(vrfValue)) continue;
    const vrf = stringField(vrfValue, 'vrfName') ?? vrfKey;
    for (const [neighbor, value] of Object.entries(vrfValue)) {
      if (isRecord(value)) neighbors.push(readNeighbor(vrf, neighbor, value));
    }
  }
  return neighbors.sort((a, b) => compareText(a.vrf, b.vrf) || compareText(a.neighbor, b.neighbor));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function records(json: unknown): JsonRecord[] {
  return Array.isArray(json) ? json.filter(isRecord) : [];
}

/** `show bfd peers json`: an array with one entry per session, in every VRF. */
export function parseBfdPeers(json: unknown): BfdPeerState[] {
  return records(json)
    .map((record) => {
      const status = stringField(record, 'status') ?? 'unknown';
      return {
        peer: stringField(record, 'peer') ?? '',
        vrf: stringField(record, 'vrf') ?? 'default',
        up: status === 'up',
        status,
      };
    })
    .filter((peer) => peer.peer !== '');
}

/** `show bfd peers counters json`. */
export function parseBfdCounters(json: unknown): BfdPeerCounters[] {
  return records(json)
    .map((record) => ({
      peer: stringField(record, 'peer') ?? '',
      vrf: stringField(record, 'vrf') ?? 'default',
      controlPacketInput: numberField(record, 'control-packet-input'),
      controlPacketOutput: numberField(record, 'control-packet-output'),
      echoPacketInput: numberField(record, 'echo-packet-input'),
      echoPacketOutput: numberField(record, 'echo-packet-output'),
      sessionUpEvents: numberField(record, 'session-up'),
      sessionDownEvents: numberField(record, 'session-down'),
      zebraNotifications: numberField(record, 'zebra-notifications'),
    }))
    .filter((counters) => counters.peer !== '');
}

/** The `show daemons` line: the daemons vtysh reaches, e.g. [zebra, bgpd, bfdd]. */
export function parseDaemons(text: string): string[] {
  return text
    .split(/\s+/)
    .map((word) => word.trim())
    .filter((word) => /^[a-z0-9]+d$|^zebra$/.test(word));
}

/**
 * A fingerprint of `show running-config`: the configuration lines, without the banner and version lines
 * FRR prints around them, so a restarted daemon that came back with the same configuration hashes the same.
 */
export function normalizeRunningConfig(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter(
      (line) =>
        line !== '' &&
        line !== 'Building configuration...' &&
        line !== 'Current configuration:' &&
        !line.startsWith('frr version '),
    )
    .join('\n');
}
