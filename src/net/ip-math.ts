/**
 * Arithmetic on address ranges that allocation and pool statistics need, done in closed form so that a /64
 * costs the same as a /29: nothing here walks a range address by address.
 */
import type { Address, AddressRange, Family } from './ip.js';

/** 2^63 − 1: what Kubernetes int64 fields and upstream MetalLB's counters saturate at. */
export const INT64_MAX = (1n << 63n) - 1n;

/** Whether an IPv4 address ends in .0 or .255, which some client firmware mistakes for broadcast. */
export function isBuggyIPv4(value: bigint): boolean {
  const lastOctet = value & 0xffn;
  return lastOctet === 0n || lastOctet === 0xffn;
}

/**
 * The smallest address at or after `value` that does not end in .0 or .255. May step past the range the
 * caller cares about (x.255 → (x+1).1); the caller bounds it.
 */
export function skipBuggyIPv4(value: bigint): bigint {
  const lastOctet = value & 0xffn;
  if (lastOctet === 0n) return value + 1n;
  if (lastOctet === 0xffn) return value + 2n;
  return value;
}

/** How many values v in [first, last] have v mod m === r (0 ≤ r < m), counted without walking. */
function countResidue(first: bigint, last: bigint, modulus: bigint, residue: bigint): bigint {
  if (last < first) return 0n;
  // Number of such values in [0, x] is floor((x - r) / m) + 1 when x ≥ r.
  const upTo = (x: bigint): bigint => (x < residue ? 0n : (x - residue) / modulus + 1n);
  return upTo(last) - (first === 0n ? 0n : upTo(first - 1n));
}

/** How many IPv4 addresses in the range end in .0 or .255; 0 for IPv6. */
export function countBuggyIPv4(range: AddressRange): bigint {
  if (range.family !== 4) return 0n;
  return countResidue(range.first, range.last, 256n, 0n) + countResidue(range.first, range.last, 256n, 255n);
}

/** How many addresses of the range a pool may hand out. */
export function usableAddressCount(range: AddressRange, avoidBuggyIPs: boolean): bigint {
  const size = range.last - range.first + 1n;
  return avoidBuggyIPs ? size - countBuggyIPv4(range) : size;
}

/** Clamps a count to 0..INT64_MAX, for int64 status fields and metrics. */
export function saturateToInt64(value: bigint): bigint {
  if (value < 0n) return 0n;
  return value > INT64_MAX ? INT64_MAX : value;
}

/**
 * Clamps a count to 0..Number.MAX_SAFE_INTEGER, the largest count a JSON number carries exactly. Use it where a
 * plain number is written: Number(INT64_MAX) rounds up to 2^63, which overflows an int64 field.
 */
export function saturateToSafeInteger(value: bigint): number {
  if (value < 0n) return 0;
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

/** Kubernetes' spelling of a family, as in spec.ipFamilies. */
export function familyName(family: Family): 'IPv4' | 'IPv6' {
  return family === 4 ? 'IPv4' : 'IPv6';
}

export function parseFamilyName(name: string): Family | undefined {
  if (name === 'IPv4') return 4;
  if (name === 'IPv6') return 6;
  return undefined;
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.family === b.family && a.value === b.value;
}

/** Orders IPv4 before IPv6, then by value. */
export function compareAddresses(a: Address, b: Address): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}
