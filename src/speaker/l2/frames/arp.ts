/**
 * ARP for IPv4 over Ethernet (RFC 826), with the RFC 5227 forms: a probe (sender IP 0.0.0.0) asks whether an
 * address is in use without claiming it; an announcement (gratuitous ARP, sender IP = target IP) tells every
 * host on the link which MAC now holds an address.
 */
import { broadcastMac, macLength, zeroMac } from './bytes.js';
import { encodeEthernet, etherTypeArp } from './ethernet.js';

export const arpRequest = 1;
export const arpReply = 2;
const arpLength = 28;
const hardwareEthernet = 1;
const protocolIPv4 = 0x0800;
const unspecifiedIPv4 = Buffer.alloc(4, 0);

export interface ArpPacket {
  readonly operation: typeof arpRequest | typeof arpReply;
  readonly senderMac: Buffer;
  readonly senderIp: Buffer;
  readonly targetMac: Buffer;
  readonly targetIp: Buffer;
}

export function encodeArp(packet: ArpPacket): Buffer {
  const out = Buffer.alloc(arpLength);
  out.writeUInt16BE(hardwareEthernet, 0);
  out.writeUInt16BE(protocolIPv4, 2);
  out.writeUInt8(macLength, 4);
  out.writeUInt8(4, 5);
  out.writeUInt16BE(packet.operation, 6);
  out.set(packet.senderMac.subarray(0, 6), 8);
  out.set(packet.senderIp.subarray(0, 4), 14);
  out.set(packet.targetMac.subarray(0, 6), 18);
  out.set(packet.targetIp.subarray(0, 4), 24);
  return out;
}

/** Undefined unless this is Ethernet/IPv4 ARP with a known operation; trailing padding is ignored. */
export function decodeArp(payload: Buffer): ArpPacket | undefined {
  if (payload.length < arpLength) return undefined;
  if (payload.readUInt16BE(0) !== hardwareEthernet || payload.readUInt16BE(2) !== protocolIPv4)
    return undefined;
  if (payload.readUInt8(4) !== macLength || payload.readUInt8(5) !== 4) return undefined;
  const operation = payload.readUInt16BE(6);
  if (operation !== arpRequest && operation !== arpReply) return undefined;
  return {
    operation,
    senderMac: payload.subarray(8, 14),
    senderIp: payload.subarray(14, 18),
    targetMac: payload.subarray(18, 24),
    targetIp: payload.subarray(24, 28),
  };
}

/** RFC 5227 probe: who has `ip`? asked without an address of our own, so no host caches us. */
export function isArpProbe(packet: ArpPacket): boolean {
  return packet.operation === arpRequest && packet.senderIp.equals(unspecifiedIPv4);
}

/** Gratuitous ARP (request or reply form): the sender announces its own address. */
export function isArpAnnouncement(packet: ArpPacket): boolean {
  return packet.senderIp.equals(packet.targetIp) && !packet.senderIp.equals(unspecifiedIPv4);
}

/** The answer to `request` on behalf of `ip`: unicast back to the asker (for a probe, to 0.0.0.0 as Linux does). */
export function arpReplyFrame(ourMac: Buffer, request: ArpPacket): Buffer {
  const reply = encodeArp({
    operation: arpReply,
    senderMac: ourMac,
    senderIp: request.targetIp,
    targetMac: request.senderMac,
    targetIp: request.senderIp,
  });
  return encodeEthernet(request.senderMac, ourMac, etherTypeArp, reply);
}

/** RFC 5227 probe for `ip`, broadcast. */
export function arpProbeFrame(ourMac: Buffer, ip: Buffer): Buffer {
  const probe = encodeArp({
    operation: arpRequest,
    senderMac: ourMac,
    senderIp: unspecifiedIPv4,
    targetMac: zeroMac,
    targetIp: ip,
  });
  return encodeEthernet(broadcastMac, ourMac, etherTypeArp, probe);
}

/**
 * Gratuitous ARP for `ip`, broadcast. The request form is RFC 5227's announcement; some hosts and switches
 * only act on the reply form, so the announcer sends both (as upstream does).
 */
export function gratuitousArpFrame(
  ourMac: Buffer,
  ip: Buffer,
  operation: typeof arpRequest | typeof arpReply,
): Buffer {
  const packet = encodeArp({
    operation,
    senderMac: ourMac,
    senderIp: ip,
    targetMac: operation === arpRequest ? zeroMac : broadcastMac,
    targetIp: ip,
  });
  return encodeEthernet(broadcastMac, ourMac, etherTypeArp, packet);
}
