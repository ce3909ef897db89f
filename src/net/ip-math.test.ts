import { describe, expect, it } from '@jest/globals';
import { cidrRange, parseCidr, parsePoolEntry } from './ip.js';
import type { AddressRange } from './ip.js';
import {
  INT64_MAX,
  compareAddresses,
  countBuggyIPv4,
  isBuggyIPv4,
  saturateToInt64,
  saturateToSafeInteger,
  skipBuggyIPv4,
  usableAddressCount,
} from './ip-math.js';

function cidr(text: string): AddressRange {
  const parsed = parseCidr(text);
  if (!parsed) throw new Error(`bad fixture ${text}`);
  return cidrRange(parsed);
}

function entry(text: string): AddressRange {
  const parsed = parsePoolEntry(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.range;
}

describe('IP range arithmetic', () => {
  it('recognises addresses ending in .0 and .255 as buggy', () => {
    expect(isBuggyIPv4(cidr('192.0.2.0/32').first)).toBe(true);
    expect(isBuggyIPv4(cidr('192.0.2.255/32').first)).toBe(true);
    expect(isBuggyIPv4(cidr('192.0.2.1/32').first)).toBe(false);
  });

  it('skips .0 and .255 to the next usable address', () => {
    const base = cidr('192.0.2.0/24').first;
    expect(skipBuggyIPv4(base)).toBe(base + 1n);
    expect(skipBuggyIPv4(base + 255n)).toBe(base + 257n);
    expect(skipBuggyIPv4(base + 7n)).toBe(base + 7n);
  });

  it('counts buggy addresses of any range in closed form', () => {
    expect(countBuggyIPv4(cidr('192.0.2.0/24'))).toBe(2n);
    expect(countBuggyIPv4(cidr('192.0.2.0/29'))).toBe(1n);
    expect(countBuggyIPv4(cidr('192.0.2.8/29'))).toBe(0n);
    expect(countBuggyIPv4(cidr('192.0.2.248/29'))).toBe(1n);
    // 192.0.2.255, 192.0.3.0, 192.0.3.255, 192.0.4.0
    expect(countBuggyIPv4(entry('192.0.2.255-192.0.4.0'))).toBe(4n);
    expect(countBuggyIPv4(cidr('10.0.0.0/8'))).toBe(2n * 65536n);
    expect(countBuggyIPv4(cidr('2001:db8::/64'))).toBe(0n);
  });

  it('agrees with counting address by address on small ranges', () => {
    const base = cidr('198.51.100.0/24').first - 512n;
    for (const [from, to] of [
      [0n, 0n],
      [0n, 255n],
      [3n, 700n],
      [255n, 256n],
      [254n, 1023n],
    ] as const) {
      const range: AddressRange = { family: 4, first: base + from, last: base + to };
      let brute = 0n;
      for (let v = range.first; v <= range.last; v += 1n) if (isBuggyIPv4(v)) brute += 1n;
      expect(countBuggyIPv4(range)).toBe(brute);
    }
  });

  it('counts usable addresses with and without avoidBuggyIPs', () => {
    expect(usableAddressCount(cidr('192.0.2.0/24'), false)).toBe(256n);
    expect(usableAddressCount(cidr('192.0.2.0/24'), true)).toBe(254n);
    expect(usableAddressCount(cidr('2001:db8::/64'), true)).toBe(1n << 64n);
  });

  it('saturates huge counts for int64 fields and JSON numbers', () => {
    expect(saturateToInt64(1n << 64n)).toBe(INT64_MAX);
    expect(saturateToInt64(-1n)).toBe(0n);
    expect(saturateToInt64(42n)).toBe(42n);
    expect(saturateToSafeInteger(1n << 64n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(saturateToSafeInteger(254n)).toBe(254);
  });

  it('orders IPv4 before IPv6 and then by value', () => {
    const v4 = { family: 4, value: 5n } as const;
    const v6 = { family: 6, value: 1n } as const;
    expect(compareAddresses(v4, v6)).toBeLessThan(0);
    expect(compareAddresses(v6, v4)).toBeGreaterThan(0);
    expect(compareAddresses(v4, { family: 4, value: 6n })).toBeLessThan(0);
    expect(compareAddresses(v4, v4)).toBe(0);
  });
});
