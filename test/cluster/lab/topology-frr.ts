/**
 * The FRR side of the e2e BGP lab: the router's configuration, and what FRR's JSON output says about routes,
 * sessions and BFD peers, reduced to the facts the tests assert on. FRR's JSON differs between commands and
 * versions (8.4 here), so every field is optional until parsed.
 */

export interface BfdTimers {
  readonly receiveIntervalMs: number;
  readonly transmitIntervalMs: number;
  readonly detectMultiplier: number;
}

export interface RouterSettings {
  readonly asn: number;
  /** TCP MD5 password on every node session; undefined for none. */
  readonly password?: string;
  /** BFD on the node sessions with this profile; a session only uses it when the node side enables BFD too. */
  readonly bfd?: BfdTimers;
}

export const ROUTER_BFD_PROFILE = 'metallb-e2e';

export interface RouterConfigInput {
  readonly hostname: string;
  readonly routerId: string;
  readonly nodeAddresses: readonly string[];
  /** The ASN the node speakers use: the same ASN as the router's makes the sessions iBGP. */
  readonly nodeAsn: number;
  readonly settings: RouterSettings;
}

/** The router's complete frr.conf: one peer group with every node address, ECMP across nodes. */
export function renderRouterConfig({
  hostname,
  routerId,
  nodeAddresses,
  nodeAsn,
  settings,
}: RouterConfigInput): string {
  const lines = ['frr defaults traditional', `hostname ${hostname}`, '!'];
  if (settings.bfd) {
    lines.push(
      'bfd',
      ` profile ${ROUTER_BFD_PROFILE}`,
      `  detect-multiplier ${settings.bfd.detectMultiplier}`,
      `  receive-interval ${settings.bfd.receiveIntervalMs}`,
      `  transmit-interval ${settings.bfd.transmitIntervalMs}`,
      ' exit',
      'exit',
      '!',
    );
  }
  lines.push(
    `router bgp ${settings.asn}`,
    ` bgp router-id ${routerId}`,
    ' no bgp ebgp-requires-policy',
    // Nodes may come from different ASes in some tests; ECMP must still spread over all of them.
    ' bgp bestpath as-path multipath-relax',
    ' neighbor nodes peer-group',
    ` neighbor nodes remote-as ${settings.asn === nodeAsn ? 'internal' : 'external'}`,
    // The traditional profile retries a failed connection after 120 s; tests restore links and expect
    // sessions back within seconds.
    ' neighbor nodes timers connect 1',
  );
  if (settings.password !== undefined) lines.push(` neighbor nodes password ${settings.password}`);
  if (settings.bfd) lines.push(' neighbor nodes bfd', ` neighbor nodes bfd profile ${ROUTER_BFD_PROFILE}`);
  for (const address of nodeAddresses) lines.push(` neighbor ${address} peer-group nodes`);
  lines.push(
    ' !',
    ' address-family ipv4 unicast',
    '  maximum-paths 16',
    '  maximum-paths ibgp 16',
    ' exit-address-family',
    'exit',
    '!',
    '',
  );
  return lines.join('\n');
}

/** One BGP path to a prefix as the router received it. */
export interface RouterPath {
  readonly nextHop: string;
  readonly peer: string;
  readonly best: boolean;
  readonly multipath: boolean;
  readonly asPath: string;
  readonly localPref?: number;
  /** As FRR prints them, e.g. '64512:100' or 'no-advertise'; sorted. */
  readonly communities: readonly string[];
  /** 'global:local1:local2', sorted. */
  readonly largeCommunities: readonly string[];
}

/** A prefix in the router's RIB, installed from BGP, with the BGP attributes behind it. */
export interface RouterRoute {
  readonly prefix: string;
  /** The next hops zebra installed, sorted: one per announcing node when ECMP works. */
  readonly nextHops: readonly string[];
  /** Every BGP path the router holds for the prefix, best first. */
  readonly paths: readonly RouterPath[];
  /** The best path's attributes, for the common single-attribute-set case. */
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
  readonly localPref?: number;
}

export interface BgpSessionView {
  /** FRR's state name: Idle, Connect, Active, OpenSent, OpenConfirm, Established; 'absent' when unknown. */
  readonly state: string;
  readonly acceptedPrefixes: number;
  readonly lastResetReason?: string;
  readonly holdTimeMs?: number;
  /** How often this session came up since the router started: a flap counts once more. */
  readonly connectionsEstablished?: number;
}

export interface BfdPeerView {
  readonly peer: string;
  readonly status: string;
  readonly receiveIntervalMs?: number;
  readonly transmitIntervalMs?: number;
  readonly detectMultiplier?: number;
  readonly remoteDetectMultiplier?: number;
  /** What the node's side asked for: its BFD profile, as the router learned it. */
  readonly remoteReceiveIntervalMs?: number;
  readonly remoteTransmitIntervalMs?: number;
}

interface ZebraNextHopJson {
  readonly ip?: string;
  readonly active?: boolean;
  readonly fib?: boolean;
}

interface ZebraRouteJson {
  readonly prefix?: string;
  readonly protocol?: string;
  readonly selected?: boolean;
  readonly installed?: boolean;
  readonly nexthops?: readonly ZebraNextHopJson[];
}

/** `show ip route [PREFIX|bgp] json`: prefix → installed next hops of the selected BGP route. */
export function parseZebraRoutes(output: string): Map<string, string[]> {
  const routes = new Map<string, string[]>();
  const parsed = parseJson(output) as Record<string, readonly ZebraRouteJson[]> | undefined;
  for (const [prefix, entries] of Object.entries(parsed ?? {})) {
    for (const entry of entries) {
      if (entry.protocol !== 'bgp' || !entry.selected) continue;
      const nextHops = (entry.nexthops ?? [])
        .filter((hop) => hop.ip !== undefined && hop.active === true && hop.fib !== false)
        .map((hop) => hop.ip as string);
      if (nextHops.length > 0) routes.set(prefix, [...new Set(nextHops)].sort(compareAddresses));
    }
  }
  return routes;
}

interface BgpPathJson {
  readonly valid?: boolean;
  readonly bestpath?: { readonly overall?: boolean };
  readonly multipath?: boolean;
  readonly locPrf?: number;
  readonly localpref?: number;
  readonly aspath?: { readonly string?: string };
  readonly community?: { readonly string?: string };
  readonly largeCommunity?: { readonly string?: string };
  readonly nexthops?: readonly { readonly ip?: string }[];
  readonly peer?: { readonly peerId?: string };
}

/** `show bgp ipv4 unicast PREFIX json`: the valid paths, best first. */
export function parseBgpPrefix(output: string): RouterPath[] {
  const parsed = parseJson(output) as { readonly paths?: readonly BgpPathJson[] } | undefined;
  const paths = (parsed?.paths ?? [])
    .filter((path) => path.valid !== false)
    .map((path): RouterPath => {
      const localPref = path.locPrf ?? path.localpref;
      return {
        nextHop: path.nexthops?.[0]?.ip ?? '',
        peer: path.peer?.peerId ?? '',
        best: path.bestpath?.overall === true,
        multipath: path.multipath === true,
        asPath: path.aspath?.string ?? '',
        ...(localPref !== undefined ? { localPref } : {}),
        communities: words(path.community?.string),
        largeCommunities: words(path.largeCommunity?.string),
      };
    });
  return paths.sort((a, b) => Number(b.best) - Number(a.best) || compareAddresses(a.nextHop, b.nextHop));
}

interface BgpNeighborJson {
  readonly bgpState?: string;
  readonly lastResetDueTo?: string;
  readonly bgpTimerHoldTimeMsecs?: number;
  readonly connectionsEstablished?: number;
  readonly addressFamilyInfo?: Record<string, { readonly acceptedPrefixCounter?: number }>;
}

/** `show bgp neighbors ADDRESS json`. */
export function parseBgpNeighbor(output: string, address: string): BgpSessionView {
  const parsed = parseJson(output) as Record<string, BgpNeighborJson> | undefined;
  const neighbor = parsed?.[address];
  if (!neighbor?.bgpState) return { state: 'absent', acceptedPrefixes: 0 };
  const acceptedPrefixes = Object.values(neighbor.addressFamilyInfo ?? {}).reduce(
    (sum, family) => sum + (family.acceptedPrefixCounter ?? 0),
    0,
  );
  return {
    state: neighbor.bgpState,
    acceptedPrefixes,
    ...(neighbor.lastResetDueTo ? { lastResetReason: neighbor.lastResetDueTo } : {}),
    ...(neighbor.bgpTimerHoldTimeMsecs !== undefined ? { holdTimeMs: neighbor.bgpTimerHoldTimeMsecs } : {}),
    ...(neighbor.connectionsEstablished !== undefined
      ? { connectionsEstablished: neighbor.connectionsEstablished }
      : {}),
  };
}

interface BfdPeerJson {
  readonly peer?: string;
  readonly status?: string;
  readonly 'receive-interval'?: number;
  readonly 'transmit-interval'?: number;
  readonly 'detect-multiplier'?: number;
  readonly 'remote-detect-multiplier'?: number;
  readonly 'remote-receive-interval'?: number;
  readonly 'remote-transmit-interval'?: number;
}

/** `show bfd peers json`. */
export function parseBfdPeers(output: string): BfdPeerView[] {
  const parsed = parseJson(output) as readonly BfdPeerJson[] | undefined;
  return (Array.isArray(parsed) ? parsed : [])
    .filter((peer): peer is BfdPeerJson & { peer: string } => typeof peer.peer === 'string')
    .map((peer) => ({
      peer: peer.peer,
      status: peer.status ?? 'unknown',
      ...(peer['receive-interval'] !== undefined ? { receiveIntervalMs: peer['receive-interval'] } : {}),
      ...(peer['transmit-interval'] !== undefined ? { transmitIntervalMs: peer['transmit-interval'] } : {}),
      ...(peer['detect-multiplier'] !== undefined ? { detectMultiplier: peer['detect-multiplier'] } : {}),
      ...(peer['remote-detect-multiplier'] !== undefined
        ? { remoteDetectMultiplier: peer['remote-detect-multiplier'] }
        : {}),
      ...(peer['remote-receive-interval'] !== undefined
        ? { remoteReceiveIntervalMs: peer['remote-receive-interval'] }
        : {}),
      ...(peer['remote-transmit-interval'] !== undefined
        ? { remoteTransmitIntervalMs: peer['remote-transmit-interval'] }
        : {}),
    }))
    .sort((a, b) => compareAddresses(a.peer, b.peer));
}

/** vtysh prints nothing, or a warning line, when the daemon behind a command is not running. */
function parseJson(output: string): unknown {
  const trimmed = output.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return undefined;
  }
}

function words(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter(Boolean).sort();
}

/** Numeric order for IPv4 dotted quads (so .9 sorts before .10); plain string order otherwise. */
export function compareAddresses(a: string, b: string): number {
  const toKey = (address: string): string =>
    /^\d+\.\d+\.\d+\.\d+$/.test(address)
      ? address
          .split('.')
          .map((part) => part.padStart(3, '0'))
          .join('.')
      : address;
  const [left, right] = [toKey(a), toKey(b)];
  return left < right ? -1 : left > right ? 1 : 0;
}
