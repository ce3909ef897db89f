/** BGPPeer: AS numbers, where the router is, timers, password, BFD profile and nodes, each peer on its own. */
import { formatAddress, parseAddress, type Address } from '../net/ip.js';
import {
  canonicalJson,
  quote,
  readBoolean,
  readInteger,
  readList,
  readNonEmptyString,
  readString,
  type Fields,
} from './read.js';
import type { SourceObject } from './objects.js';
import { resolvePassword } from './passwords.js';
import type { NodeIndex } from './nodes.js';
import { parseSelectorList } from './selectors.js';
import { deriveTimers, parseDuration } from './timers.js';
import type { Peer, PeerTarget, RemoteAS } from './types.js';

export interface PeerContext {
  /** Every BFDProfile given, valid or not: an invalid one is reported on itself, not as missing. */
  readonly bfdProfileNames: ReadonlySet<string>;
  readonly secrets: ReadonlyMap<string, Fields>;
  readonly nodes: NodeIndex;
  readonly metallbNamespace: string;
}

export interface ParsedPeer {
  readonly source: SourceObject;
  readonly peer: Peer;
  /** The spec as canonical text: equal for two peers that say exactly the same. */
  readonly specKey: string;
  /** False when a node selector could not be read, so node-sharing rules cannot judge this peer. */
  readonly nodesComplete: boolean;
}

const asnHint = 'an AS number is 1-4294967295 (private: 64512-65534 and 4200000000-4294967294)';
const addressExample = 'such as 192.0.2.1 or 2001:db8::1';

function parseRemoteAS(source: SourceObject, myASN: number | undefined): RemoteAS | undefined {
  const { spec, report } = source;
  const peerASN = readInteger(spec, 'peerASN') || undefined; // 0 means unset, as upstream reads it
  const dynamicASN = readNonEmptyString(spec, 'dynamicASN');
  if (peerASN !== undefined && dynamicASN !== undefined) {
    report.problem(
      'peer.asnTwice',
      'spec.dynamicASN',
      'peerASN and dynamicASN are both set; set only one of them',
    );
    return undefined;
  }
  if (dynamicASN !== undefined) {
    if (dynamicASN !== 'internal' && dynamicASN !== 'external') {
      report.problem(
        'peer.dynamicASNInvalid',
        'spec.dynamicASN',
        `${quote(dynamicASN)} is not valid; use internal (iBGP) or external (eBGP)`,
      );
      return undefined;
    }
    return dynamicASN;
  }
  if (peerASN === undefined) {
    report.problem(
      'field.required',
      'spec.peerASN',
      "missing; set peerASN to the router's AS number, or dynamicASN to internal or external to accept the AS number the router sends",
    );
    return undefined;
  }
  if (peerASN === myASN && readBoolean(spec, 'ebgpMultiHop') === true) {
    report.problem(
      'peer.ibgpMultiHop',
      'spec.ebgpMultiHop',
      `peerASN equals myASN (${peerASN}), so this is an iBGP session, which may span several hops already; remove ebgpMultiHop`,
    );
  }
  return peerASN;
}

/**
 * Why FRR and the kernel would refuse this TCP MD5 password (a line break would even inject FRR
 * commands), or undefined when it is fine. Never includes the password itself.
 */
function passwordProblem(password: string): string | undefined {
  if (password.length > 80) return `is ${password.length} characters long, more than the kernel's 80`;
  if (!/^[\x21-\x7e]+$/.test(password)) return 'contains spaces, control characters or non-ASCII characters';
  return undefined;
}

/** Interface and VRF names are Linux device names: at most 15 characters, no blanks or slashes. */
function checkLinuxName(source: SourceObject, field: 'interface' | 'vrf'): void {
  const name = readNonEmptyString(source.spec, field);
  if (name === undefined) return;
  if (name.length > 15 || !/^[^\s/]+$/.test(name)) {
    source.report.problem(
      'peer.invalidLinkName',
      `spec.${field}`,
      `${quote(name)} is not a valid Linux ${field === 'vrf' ? 'VRF' : 'interface'} name; use at most 15 characters without blanks or slashes`,
    );
  }
}

function parseTarget(source: SourceObject): PeerTarget | undefined {
  const { spec, report } = source;
  const addressText = readNonEmptyString(spec, 'peerAddress');
  const interfaceName = readNonEmptyString(spec, 'interface');
  if (addressText !== undefined && interfaceName !== undefined) {
    report.problem(
      'peer.addressAndInterface',
      'spec.interface',
      'peerAddress and interface are both set; set peerAddress for a router at a known address, or interface for unnumbered BGP, not both',
    );
    return undefined;
  }
  if (interfaceName !== undefined) return { kind: 'interface', interface: interfaceName };
  if (addressText === undefined) {
    report.problem(
      'field.required',
      'spec.peerAddress',
      `missing; set peerAddress to the router's IP address (${addressExample}), or interface for unnumbered BGP`,
    );
    return undefined;
  }
  const address = parseAddress(addressText);
  if (!address) {
    report.problem(
      'peer.invalidAddress',
      'spec.peerAddress',
      `${quote(addressText)} is not an IP address; use one ${addressExample}`,
    );
    return undefined;
  }
  return { kind: 'address', address };
}

function parseOptionalAddress(
  source: SourceObject,
  field: 'sourceAddress' | 'routerID',
): Address | undefined {
  const text = readNonEmptyString(source.spec, field);
  if (text === undefined) return undefined;
  const address = parseAddress(text);
  if (field === 'routerID') {
    if (!address || address.family !== 4) {
      source.report.problem(
        'peer.invalidRouterID',
        'spec.routerID',
        `${quote(text)} is not an IPv4 address; a BGP router ID is 32 bits written as one, such as 192.0.2.10, even on IPv6 sessions`,
      );
      return undefined;
    }
    return address;
  }
  if (!address) {
    source.report.problem(
      'peer.invalidSourceAddress',
      'spec.sourceAddress',
      `${quote(text)} is not an IP address; use an address of this node ${addressExample}, or leave it unset`,
    );
  }
  return address;
}

export function parsePeer(source: SourceObject, context: PeerContext): ParsedPeer | undefined {
  const { spec, report } = source;
  const myASN = readInteger(spec, 'myASN');
  if (myASN === 0)
    report.problem(
      'peer.asnZero',
      'spec.myASN',
      `0 is not an AS number; set the AS number the speakers use: ${asnHint}`,
    );
  else if (myASN === undefined)
    report.problem('field.required', 'spec.myASN', `missing; set the AS number the speakers use: ${asnHint}`);
  const remoteAS = parseRemoteAS(source, myASN);
  const target = parseTarget(source);
  const sourceAddress = parseOptionalAddress(source, 'sourceAddress');
  const routerID = parseOptionalAddress(source, 'routerID');
  const timers = deriveTimers(readString(spec, 'holdTime'), readString(spec, 'keepaliveTime'), report);
  const connectTimeText = readString(spec, 'connectTime');
  const connectTime = connectTimeText === undefined ? undefined : parseDuration(connectTimeText);
  const resolved = resolvePassword(source, context.secrets, context.metallbNamespace);
  const password =
    resolved.password && passwordProblem(resolved.password.reveal()) ? undefined : resolved.password;
  if (resolved.password && !password) {
    report.problem(
      'peer.invalidPassword',
      resolved.secretName ? 'spec.passwordSecret.name' : 'spec.password',
      `the password ${passwordProblem(resolved.password.reveal()) ?? ''}; use 1 to 80 printable ASCII characters without spaces`,
    );
  }
  const secretName = resolved.secretName;
  checkLinuxName(source, 'interface');
  checkLinuxName(source, 'vrf');

  const bfdProfile = readNonEmptyString(spec, 'bfdProfile');
  if (bfdProfile !== undefined && !context.bfdProfileNames.has(bfdProfile)) {
    report.problem(
      'peer.bfdProfileMissing',
      'spec.bfdProfile',
      `BFDProfile ${quote(bfdProfile)} does not exist in ${quote(context.metallbNamespace)}; create it, or remove bfdProfile to run the session without BFD`,
      { transient: true },
    );
  }
  if (readBoolean(spec, 'disableMP') === true) {
    report.warning(
      'peer.disableMPDeprecated',
      'spec.disableMP',
      'deprecated and without effect: each address family already has its own session unless dualStackAddressFamily is set; remove it',
    );
  }
  const { selectors: nodeSelectors, complete: nodesComplete } = parseSelectorList(
    readList(spec, 'nodeSelectors'),
    'spec.nodeSelectors',
    report,
  );
  if (!myASN || remoteAS === undefined || !target) return undefined;

  const vrf = readString(spec, 'vrf') ?? '';
  const where = target.kind === 'address' ? formatAddress(target.address) : target.interface;
  const localASN = readInteger(spec, 'localASN');
  const port = readInteger(spec, 'peerPort');
  const peer: Peer = {
    name: source.name,
    myASN,
    remoteAS,
    ...(localASN ? { localASN } : {}),
    ibgp: remoteAS === 'internal' || remoteAS === myASN,
    target,
    identifier: vrf ? `${where}-${vrf}` : where,
    port: port || 179, // v1beta1 allowed 0 for "unset"
    ...(sourceAddress ? { sourceAddress } : {}),
    ...(routerID ? { routerID } : {}),
    ...(timers ? { timers } : {}),
    ...(connectTime !== undefined ? { connectTimeSeconds: Math.trunc(connectTime / 1e9) } : {}),
    ...(password ? { password } : {}),
    ...(secretName ? { passwordSecretName: secretName } : {}),
    ...(bfdProfile ? { bfdProfile } : {}),
    ebgpMultiHop: readBoolean(spec, 'ebgpMultiHop') ?? false,
    enableGracefulRestart: readBoolean(spec, 'enableGracefulRestart') ?? false,
    vrf,
    dualStackAddressFamily: readBoolean(spec, 'dualStackAddressFamily') ?? false,
    nodeSelectors,
    nodes: context.nodes.select(nodeSelectors),
  };
  return { source, peer, specKey: canonicalJson(spec), nodesComplete };
}
