/**
 * IP addresses as bigints, so IPv4 and IPv6 share one arithmetic and a /64 costs no more than a /29.
 * Parsing never throws: it returns undefined, and callers turn that into a Problem with context.
 */

export type Family = 4 | 6;

export interface Address {
  readonly family: Family;
  readonly value: bigint;
}

/** An inclusive range of addresses of one family. */
export interface AddressRange {
  readonly family: Family;
  readonly first: bigint;
  readonly last: bigint;
}

export interface Cidr {
  readonly family: Family;
  /** The network address (host bits zero). */
  readonly network: bigint;
  readonly prefixLength: number;
}

export function familyBits(family: Family): number {
  return family === 4 ? 32 : 128;
}

export function parseAddress(text: string): Address | undefined {
  const trimmed = text.trim();
  if (trimmed.includes(':')) {
    const value = parseIPv6(trimmed);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseIPv4(trimmed);
  return value === undefined ? undefined : { family: 4, value };
}

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // Leading zeros are rejected: Go's parser (and so upstream) refuses them as ambiguous octal.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  if (text.includes('%')) return undefined; // zones have no place in a pool or a peer address
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  const maybeV4 = text.slice(lastColon + 1);
  if (maybeV4.includes('.')) {
    tailV4 = parseIPv4(maybeV4);
    if (tailV4 === undefined) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (const group of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
      out.push(parseInt(group, 16));
    }
    return out;
  };
  const left = parseGroups(halves[0] as string);
  const right = halves.length === 2 ? parseGroups(halves[1] as string) : [];
  if (!left || !right) return undefined;
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...left, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...right];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(group);
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

export function formatAddress(address: Address): string {
  return address.family === 4 ? formatIPv4(address.value) : formatIPv6(address.value);
}

function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/** RFC 5952 form: lower case, longest run of two or more zero groups shortened to ::. */
function formatIPv6(value: bigint): string {
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseAddress(text.slice(0, slash));
  const lengthText = text.slice(slash + 1).trim();
  if (!address || !/^\d{1,3}$/.test(lengthText)) return undefined;
  const prefixLength = Number(lengthText);
  if (prefixLength > familyBits(address.family)) return undefined;
  return {
    family: address.family,
    network: address.value & prefixMask(address.family, prefixLength),
    prefixLength,
  };
}

export function prefixMask(family: Family, prefixLength: number): bigint {
  const bits = BigInt(familyBits(family));
  const hostBits = bits - BigInt(prefixLength);
  return ((1n << bits) - 1n) ^ ((1n << hostBits) - 1n);
}

export function cidrRange(cidr: Cidr): AddressRange {
  const hostBits = BigInt(familyBits(cidr.family) - cidr.prefixLength);
  return { family: cidr.family, first: cidr.network, last: cidr.network + (1n << hostBits) - 1n };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatAddress({ family: cidr.family, value: cidr.network })}/${cidr.prefixLength}`;
}

export function formatRange(range: AddressRange): string {
  const first = formatAddress({ family: range.family, value: range.first });
  if (range.first === range.last) return first;
  return `${first}-${formatAddress({ family: range.family, value: range.last })}`;
}

export function rangeSize(range: AddressRange): bigint {
  return range.last - range.first + 1n;
}

export function rangesOverlap(a: AddressRange, b: AddressRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

export function rangeContains(range: AddressRange, address: Address): boolean {
  return range.family === address.family && range.first <= address.value && address.value <= range.last;
}

/** The smallest list of CIDRs that covers exactly the range, in address order. */
export function summarizeRange(range: AddressRange): Cidr[] {
  const bits = familyBits(range.family);
  const out: Cidr[] = [];
  let start = range.first;
  while (start <= range.last) {
    let hostBits = 0;
    while (hostBits < bits) {
      const size = 1n << BigInt(hostBits + 1);
      if ((start & (size - 1n)) !== 0n || start + size - 1n > range.last) break;
      hostBits += 1;
    }
    out.push({ family: range.family, network: start, prefixLength: bits - hostBits });
    start += 1n << BigInt(hostBits);
  }
  return out;
}

export type PoolEntryParse =
  { ok: true; range: AddressRange; kind: 'cidr' | 'range' } | { ok: false; reason: string };

/**
 * Parses one entry of IPAddressPool.spec.addresses: a CIDR, or two addresses of one family joined by a
 * dash (spaces around the ends are allowed). The reason, when it fails, says what a right value looks like.
 */
export function parsePoolEntry(text: string): PoolEntryParse {
  if (text.includes('/')) {
    const cidr = parseCidr(text.trim());
    if (!cidr)
      return {
        ok: false,
        reason: `invalid CIDR "${text}": expected an address and prefix length such as 192.0.2.0/24 or 2001:db8::/64`,
      };
    return { ok: true, range: cidrRange(cidr), kind: 'cidr' };
  }
  const parts = text.split('-');
  if (parts.length !== 2) {
    return {
      ok: false,
      reason: `invalid address "${text}": expected a CIDR (192.0.2.0/24) or a range (192.0.2.10-192.0.2.20)`,
    };
  }
  const first = parseAddress(parts[0] as string);
  const last = parseAddress(parts[1] as string);
  if (!first)
    return {
      ok: false,
      reason: `invalid IP range "${text}": start "${(parts[0] as string).trim()}" is not an IP address`,
    };
  if (!last)
    return {
      ok: false,
      reason: `invalid IP range "${text}": end "${(parts[1] as string).trim()}" is not an IP address`,
    };
  if (first.family !== last.family)
    return { ok: false, reason: `invalid IP range "${text}": start and end are of different IP families` };
  if (first.value > last.value) {
    return {
      ok: false,
      reason: `invalid IP range "${text}": start ${formatAddress(first)} is after end ${formatAddress(last)}`,
    };
  }
  return { ok: true, range: { family: first.family, first: first.value, last: last.value }, kind: 'range' };
}
