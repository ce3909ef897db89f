/** Ethernet II framing (no FCS: the NIC adds and strips it). */
import { macLength } from './bytes.js';

export const etherTypeArp = 0x0806;
export const etherTypeIPv6 = 0x86dd;
export const etherTypeVlan = 0x8100;

export const ethernetHeaderLength = 14;
/** The minimum frame without FCS; shorter frames are padded so that no driver has to. */
export const minimumFrameLength = 60;

export interface EthernetFrame {
  readonly destination: Buffer;
  readonly source: Buffer;
  readonly etherType: number;
  /** Everything after the header, padding included (the payload's own length field says where it ends). */
  readonly payload: Buffer;
}

export function encodeEthernet(
  destination: Uint8Array,
  source: Uint8Array,
  etherType: number,
  payload: Uint8Array,
): Buffer {
  const length = Math.max(minimumFrameLength, ethernetHeaderLength + payload.length);
  const frame = Buffer.alloc(length);
  frame.set(destination.subarray(0, macLength), 0);
  frame.set(source.subarray(0, macLength), macLength);
  frame.writeUInt16BE(etherType, 12);
  frame.set(payload, ethernetHeaderLength);
  return frame;
}

/** Undefined when the frame is too short to hold a header. The returned buffers are views of `frame`. */
export function decodeEthernet(frame: Buffer): EthernetFrame | undefined {
  if (frame.length < ethernetHeaderLength) return undefined;
  return {
    destination: frame.subarray(0, macLength),
    source: frame.subarray(macLength, 2 * macLength),
    etherType: frame.readUInt16BE(12),
    payload: frame.subarray(ethernetHeaderLength),
  };
}
