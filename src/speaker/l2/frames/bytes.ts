/**
 * Addresses as the bytes a frame carries. Frames are built and read as Buffers; these helpers convert
 * between them and the project's textual and bigint forms, and never throw on bad input.
 */
import { formatAddress, parseAddress, type Address } from '../../../net/ip.js';

export const macLength = 6;
export const broadcastMac: Buffer = Buffer.alloc(macLength, 0xff);
export const zeroMac: Buffer = Buffer.alloc(macLength, 0);

/** "aa:bb:cc:dd:ee:ff" (also with dashes, any case) → 6 bytes; undefined when not a MAC. */
export function parseMac(text: string): Buffer | undefined {
  const parts = text.trim().split(/[:-]/);
  if (parts.length !== macLength || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) return undefined;
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

/** Lower-case, colon-separated, as `ip link` prints it. */
export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, macLength), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The 4 (IPv4) or 16 (IPv6) bytes of an address, network order. */
export function addressBytes(address: Address): Buffer {
  const length = address.family === 4 ? 4 : 16;
  const out = Buffer.alloc(length);
  let value = address.value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

/** 4 or 16 bytes → the address; undefined for any other length. */
export function bytesAddress(bytes: Uint8Array): Address | undefined {
  if (bytes.length !== 4 && bytes.length !== 16) return undefined;
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return { family: bytes.length === 4 ? 4 : 6, value };
}

/** Canonical text of 4 or 16 address bytes ("?" for any other length, which callers never pass). */
export function formatAddressBytes(bytes: Uint8Array): string {
  const address = bytesAddress(bytes);
  return address ? formatAddress(address) : '?';
}

/** Address text → bytes; undefined when not an address. */
export function parseAddressBytes(text: string): Buffer | undefined {
  const address = parseAddress(text);
  return address ? addressBytes(address) : undefined;
}
