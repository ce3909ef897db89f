/** One captured frame → what the responder may act on. Never throws: a bad frame is a value. */
import { decodeArp, type ArpPacket } from './arp.js';
import { decodeEthernet, etherTypeArp, etherTypeIPv6 } from './ethernet.js';
import { decodeNeighborMessage, type NeighborMessage } from './ndp.js';

export type ReceivedFrame =
  | {
      readonly kind: 'arp';
      readonly source: Buffer;
      readonly destination: Buffer;
      readonly packet: ArpPacket;
    }
  | {
      readonly kind: 'ndp';
      readonly source: Buffer;
      readonly destination: Buffer;
      readonly message: NeighborMessage;
    }
  /** Well formed, but nothing a responder answers (IPv4, other ICMPv6, VLAN-tagged, ...). */
  | { readonly kind: 'other' }
  | { readonly kind: 'malformed'; readonly reason: string };

export function decodeFrame(frame: Buffer): ReceivedFrame {
  try {
    const ethernet = decodeEthernet(frame);
    if (!ethernet) return { kind: 'malformed', reason: 'short Ethernet header' };
    const { source, destination } = ethernet;
    if (ethernet.etherType === etherTypeArp) {
      const packet = decodeArp(ethernet.payload);
      return packet
        ? { kind: 'arp', source, destination, packet }
        : { kind: 'malformed', reason: 'not Ethernet/IPv4 ARP' };
    }
    if (ethernet.etherType === etherTypeIPv6) {
      const result = decodeNeighborMessage(ethernet.payload);
      if (result.ok) return { kind: 'ndp', source, destination, message: result.message };
      return result.malformed ? { kind: 'malformed', reason: result.reason } : { kind: 'other' };
    }
    return { kind: 'other' };
  } catch (err) {
    // The decoders check lengths before every read; this is the backstop that keeps the receive loop alive.
    return { kind: 'malformed', reason: `decoder error: ${(err as Error).message}` };
  }
}
