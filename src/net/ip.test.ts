import { describe, expect, it } from '@jest/globals';
import {
  formatAddress,
  formatCidr,
  parseAddress,
  parseCidr,
  parsePoolEntry,
  rangeSize,
  rangesOverlap,
  summarizeRange,
  type AddressRange,
} from './ip.js';

function range(text: string): AddressRange {
  const parsed = parsePoolEntry(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.range;
}

describe('IP addresses', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::', '::'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['2001:db8:0:1:0:0:0:0', '2001:db8:0:1::'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
  ])('parses %s and prints it as %s', (text, printed) => {
    const address = parseAddress(text);
    expect(address && formatAddress(address)).toBe(printed);
  });

  it.each([
    '192.0.2',
    '192.0.2.256',
    '192.0.2.01',
    '2001:db8::1::2',
    '2001:db8:::1',
    'fe80::1%eth0',
    'x',
    '',
  ])('refuses %j', (text) => {
    expect(parseAddress(text)).toBeUndefined();
  });

  it('normalises a CIDR to its network address', () => {
    const cidr = parseCidr('192.0.2.77/24');
    expect(cidr && formatCidr(cidr)).toBe('192.0.2.0/24');
    expect(parseCidr('192.0.2.0/33')).toBeUndefined();
    expect(parseCidr('2001:db8::/129')).toBeUndefined();
  });

  it('counts a /64 without enumerating it', () => {
    expect(rangeSize(range('2001:db8::/64'))).toBe(1n << 64n);
  });

  it('parses ranges with spaces and refuses reversed or mixed ones', () => {
    expect(rangeSize(range('198.51.100.1 - 198.51.100.3'))).toBe(3n);
    expect(parsePoolEntry('198.51.100.3-198.51.100.1')).toEqual({
      ok: false,
      reason: 'invalid IP range "198.51.100.3-198.51.100.1": start 198.51.100.3 is after end 198.51.100.1',
    });
    expect(parsePoolEntry('198.51.100.1-2001:db8::1').ok).toBe(false);
    expect(parsePoolEntry('198.51.100.1').ok).toBe(false);
  });

  it('summarises a range into the fewest CIDRs', () => {
    expect(summarizeRange(range('198.51.100.1-198.51.100.3')).map(formatCidr)).toEqual([
      '198.51.100.1/32',
      '198.51.100.2/31',
    ]);
    expect(summarizeRange(range('192.0.2.0-192.0.2.255')).map(formatCidr)).toEqual(['192.0.2.0/24']);
    expect(summarizeRange(range('0.0.0.0-255.255.255.255')).map(formatCidr)).toEqual(['0.0.0.0/0']);
  });

  it('detects overlap only within a family', () => {
    expect(rangesOverlap(range('192.0.2.0/24'), range('192.0.2.255-192.0.3.1'))).toBe(true);
    expect(rangesOverlap(range('192.0.2.0/25'), range('192.0.2.128/25'))).toBe(false);
    expect(rangesOverlap(range('::/0'), range('0.0.0.0/0'))).toBe(false);
  });
});
