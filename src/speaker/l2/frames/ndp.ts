/**
 * IPv6 Neighbor Discovery over Ethernet (RFC 4861): Neighbor Solicitation and Neighbor Advertisement in
 * ICMPv6, with the link-layer address options, the solicited-node multicast group an NS is sent to, and the
 * Duplicate Address Detection form of an NS (RFC 4862: from ::, no source link-layer option).
 */
import { macLength } from './bytes.js';
import { encodeEthernet, etherTypeIPv6 } from './ethernet.js';

const ipv6HeaderLength = 40;
const nextHeaderIcmpv6 = 58;
/** RFC 4861 §7.1: NS/NA arrive with hop limit 255, which proves they were not routed. */
export const ndpHopLimit = 255;
export const icmpNeighborSolicitation = 135;
export const icmpNeighborAdvertisement = 136;
const ndMessageLength = 24; // type, code, checksum, 4 reserved/flag bytes, 16-byte target
const optionSourceLinkLayer = 1;
const optionTargetLinkLayer = 2;

const flagRouter = 0x80;
const flagSolicited = 0x40;
const flagOverride = 0x20;

export const unspecifiedIPv6: Buffer = Buffer.alloc(16, 0);
export const allNodesIPv6: Buffer = Buffer.from('ff020000000000000000000000000001', 'hex');

export interface NeighborMessage {
  readonly type: 'solicitation' | 'advertisement';
  readonly source: Buffer;
  readonly destination: Buffer;
  readonly hopLimit: number;
  readonly target: Buffer;
  /** NA flags; all false for an NS. */
  readonly router: boolean;
  readonly solicited: boolean;
  readonly override: boolean;
  readonly sourceLinkLayer?: Buffer;
  readonly targetLinkLayer?: Buffer;
}

/** ff02::1:ffXX:XXXX: the group an NS for `ip` is sent to (RFC 4291 §2.7.1). */
export function solicitedNodeAddress(ip: Buffer): Buffer {
  const out = Buffer.from('ff0200000000000000000001ff000000', 'hex');
  ip.copy(out, 13, 13, 16);
  return out;
}

/** 33:33 + the group's last 32 bits (RFC 2464 §7). */
export function multicastMac(group: Buffer): Buffer {
  const out = Buffer.from([0x33, 0x33, 0, 0, 0, 0]);
  group.copy(out, 2, 12, 16);
  return out;
}

export function isMulticastIPv6(ip: Buffer): boolean {
  return ip[0] === 0xff;
}

/** The ICMPv6 checksum over the pseudo-header (RFC 8200 §8.1) and `message` with its checksum field zero. */
export function icmpv6Checksum(source: Buffer, destination: Buffer, message: Buffer): number {
  const pseudo = Buffer.alloc(40);
  source.copy(pseudo, 0);
  destination.copy(pseudo, 16);
  pseudo.writeUInt32BE(message.length, 32);
  pseudo.writeUInt8(nextHeaderIcmpv6, 39);
  let sum = 0;
  const add = (data: Buffer): void => {
    for (let i = 0; i + 1 < data.length; i += 2) sum += data.readUInt16BE(i);
    if (data.length % 2 === 1) sum += (data[data.length - 1] as number) << 8;
  };
  add(pseudo);
  add(message);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface NeighborMessageFields {
  readonly type: 'solicitation' | 'advertisement';
  readonly source: Buffer;
  readonly destination: Buffer;
  readonly target: Buffer;
  readonly solicited?: boolean;
  readonly override?: boolean;
  readonly sourceLinkLayer?: Buffer;
  readonly targetLinkLayer?: Buffer;
  /** Defaults to 255; tests set others to check that such messages are refused. */
  readonly hopLimit?: number;
}

/** The IPv6 packet (header + ICMPv6) carrying an NS or NA, checksum filled in. */
export function encodeNeighborMessage(fields: NeighborMessageFields): Buffer {
  const options: Buffer[] = [];
  const linkLayerOption = (type: number, mac: Buffer): Buffer => {
    const option = Buffer.alloc(8);
    option.writeUInt8(type, 0);
    option.writeUInt8(1, 1); // length in units of 8 bytes
    mac.copy(option, 2, 0, macLength);
    return option;
  };
  if (fields.sourceLinkLayer) options.push(linkLayerOption(optionSourceLinkLayer, fields.sourceLinkLayer));
  if (fields.targetLinkLayer) options.push(linkLayerOption(optionTargetLinkLayer, fields.targetLinkLayer));
  const message = Buffer.concat([Buffer.alloc(ndMessageLength), ...options]);
  message.writeUInt8(
    fields.type === 'solicitation' ? icmpNeighborSolicitation : icmpNeighborAdvertisement,
    0,
  );
  if (fields.type === 'advertisement') {
    message.writeUInt8((fields.solicited ? flagSolicited : 0) | (fields.override ? flagOverride : 0), 4);
  }
  fields.target.copy(message, 8);
  message.writeUInt16BE(icmpv6Checksum(fields.source, fields.destination, message), 2);

  const header = Buffer.alloc(ipv6HeaderLength);
  header.writeUInt32BE(0x60000000, 0);
  header.writeUInt16BE(message.length, 4);
  header.writeUInt8(nextHeaderIcmpv6, 6);
  header.writeUInt8(fields.hopLimit ?? ndpHopLimit, 7);
  fields.source.copy(header, 8);
  fields.destination.copy(header, 24);
  return Buffer.concat([header, message]);
}

export type NeighborDecode =
  | { readonly ok: true; readonly message: NeighborMessage }
  /** Not NDP at all (another ICMPv6 type, another next header): not an error, just not ours. */
  | { readonly ok: false; readonly malformed: false }
  | { readonly ok: false; readonly malformed: true; readonly reason: string };

const notNdp: NeighborDecode = { ok: false, malformed: false };
const malformed = (reason: string): NeighborDecode => ({ ok: false, malformed: true, reason });

/**
 * Reads an NS or NA from an IPv6 packet, applying RFC 4861's validity checks (§7.1.1, §7.1.2) that matter
 * for a responder: hop limit 255, code 0, a correct checksum, whole options of non-zero length.
 */
export function decodeNeighborMessage(packet: Buffer): NeighborDecode {
  if (packet.length < ipv6HeaderLength) return malformed('short IPv6 header');
  if (packet.readUInt8(0) >> 4 !== 6) return malformed('IP version is not 6');
  if (packet.readUInt8(6) !== nextHeaderIcmpv6) return notNdp;
  const payloadLength = packet.readUInt16BE(4);
  if (ipv6HeaderLength + payloadLength > packet.length) return malformed('truncated IPv6 payload');
  const message = packet.subarray(ipv6HeaderLength, ipv6HeaderLength + payloadLength);
  if (message.length < 4) return malformed('short ICMPv6 header');
  const typeNumber = message.readUInt8(0);
  if (typeNumber !== icmpNeighborSolicitation && typeNumber !== icmpNeighborAdvertisement) return notNdp;
  if (message.length < ndMessageLength) return malformed('short neighbor message');
  if (message.readUInt8(1) !== 0) return malformed('ICMPv6 code is not 0');
  const hopLimit = packet.readUInt8(7);
  if (hopLimit !== ndpHopLimit) return malformed(`hop limit ${hopLimit}, not 255`);
  const source = packet.subarray(8, 24);
  const destination = packet.subarray(24, 40);
  const zeroed = Buffer.from(message);
  zeroed.writeUInt16BE(0, 2);
  if (icmpv6Checksum(source, destination, zeroed) !== message.readUInt16BE(2))
    return malformed('bad ICMPv6 checksum');

  let sourceLinkLayer: Buffer | undefined;
  let targetLinkLayer: Buffer | undefined;
  for (let offset = ndMessageLength; offset < message.length;) {
    if (offset + 2 > message.length) return malformed('truncated option');
    const optionType = message.readUInt8(offset);
    const optionLength = message.readUInt8(offset + 1) * 8;
    if (optionLength === 0) return malformed('option of length 0');
    if (offset + optionLength > message.length) return malformed('truncated option');
    if (optionLength >= 2 + macLength) {
      const mac = message.subarray(offset + 2, offset + 2 + macLength);
      if (optionType === optionSourceLinkLayer) sourceLinkLayer = mac;
      if (optionType === optionTargetLinkLayer) targetLinkLayer = mac;
    }
    offset += optionLength;
  }
  const flags = message.readUInt8(4);
  const type = typeNumber === icmpNeighborSolicitation ? 'solicitation' : 'advertisement';
  const isAdvertisement = type === 'advertisement';
  // §7.1.1: a DAD solicitation (from ::) must go to a solicited-node group and carry no source link-layer option.
  if (type === 'solicitation' && source.equals(unspecifiedIPv6) && sourceLinkLayer) {
    return malformed('solicitation from :: with a source link-layer option');
  }
  return {
    ok: true,
    message: {
      type,
      source,
      destination,
      hopLimit,
      target: message.subarray(8, 24),
      router: isAdvertisement && (flags & flagRouter) !== 0,
      solicited: isAdvertisement && (flags & flagSolicited) !== 0,
      override: isAdvertisement && (flags & flagOverride) !== 0,
      ...(sourceLinkLayer ? { sourceLinkLayer } : {}),
      ...(targetLinkLayer ? { targetLinkLayer } : {}),
    },
  };
}

/**
 * The answer to solicitation `ns` for its target: unicast to the asker, Solicited and Override set. Override
 * because this node owns the address now: a client that cached the previous owner's MAC must replace it
 * (upstream leaves Override clear, which lets a REACHABLE entry keep the old MAC). Sent from the target
 * address, as Linux does for its own addresses. A DAD solicitation (from ::) is answered to all nodes instead.
 */
export function neighborAdvertisementReplyFrame(
  ourMac: Buffer,
  ns: NeighborMessage,
  askerMac: Buffer,
): Buffer {
  const isDad = ns.source.equals(unspecifiedIPv6);
  const destination = isDad ? allNodesIPv6 : ns.source;
  const packet = encodeNeighborMessage({
    type: 'advertisement',
    source: ns.target,
    destination,
    target: ns.target,
    solicited: !isDad,
    override: true,
    targetLinkLayer: ourMac,
  });
  const destinationMac = isDad ? multicastMac(allNodesIPv6) : (ns.sourceLinkLayer ?? askerMac);
  return encodeEthernet(destinationMac, ourMac, etherTypeIPv6, packet);
}

/** Unsolicited NA to all nodes with Override (RFC 4861 §7.2.6): every neighbour replaces its entry for `ip`. */
export function unsolicitedAdvertisementFrame(ourMac: Buffer, ip: Buffer): Buffer {
  const packet = encodeNeighborMessage({
    type: 'advertisement',
    source: ip,
    destination: allNodesIPv6,
    target: ip,
    solicited: false,
    override: true,
    targetLinkLayer: ourMac,
  });
  return encodeEthernet(multicastMac(allNodesIPv6), ourMac, etherTypeIPv6, packet);
}

/** Duplicate Address Detection NS for `ip` (RFC 4862 §5.4.2): from ::, to the solicited-node group. */
export function dadSolicitationFrame(ourMac: Buffer, ip: Buffer): Buffer {
  const group = solicitedNodeAddress(ip);
  const packet = encodeNeighborMessage({
    type: 'solicitation',
    source: unspecifiedIPv6,
    destination: group,
    target: ip,
  });
  return encodeEthernet(multicastMac(group), ourMac, etherTypeIPv6, packet);
}
