import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  arpProbeFrame,
  arpReply,
  arpReplyFrame,
  arpRequest,
  decodeArp,
  encodeArp,
  gratuitousArpFrame,
  isArpAnnouncement,
  isArpProbe,
} from './arp.js';
import {
  addressBytes,
  broadcastMac,
  formatAddressBytes,
  formatMac,
  parseAddressBytes,
  parseMac,
  zeroMac,
} from './bytes.js';
import { decodeFrame } from './decode.js';
import {
  decodeEthernet,
  encodeEthernet,
  etherTypeArp,
  etherTypeIPv6,
  minimumFrameLength,
} from './ethernet.js';
import {
  allNodesIPv6,
  dadSolicitationFrame,
  decodeNeighborMessage,
  encodeNeighborMessage,
  icmpv6Checksum,
  multicastMac,
  neighborAdvertisementReplyFrame,
  solicitedNodeAddress,
  unsolicitedAdvertisementFrame,
  unspecifiedIPv6,
} from './ndp.js';

const ourMac = parseMac('02:00:00:00:00:0a') as Buffer;
const clientMac = parseMac('02:00:00:00:00:c1') as Buffer;
const v4 = (text: string): Buffer => parseAddressBytes(text) as Buffer;
const v6 = v4;

/** Independent check of an ICMPv6 checksum: pseudo-header + message (checksum included) sums to 0xffff. */
function onesComplementSumIsAllOnes(packet: Buffer): boolean {
  const message = packet.subarray(40);
  const words: number[] = [];
  const push = (data: Buffer): void => {
    const padded = data.length % 2 ? Buffer.concat([data, Buffer.alloc(1)]) : data;
    for (let i = 0; i < padded.length; i += 2) words.push(padded.readUInt16BE(i));
  };
  push(packet.subarray(8, 40));
  words.push(message.length >>> 16, message.length & 0xffff, 0, 58);
  push(message);
  let sum = words.reduce((a, b) => a + b, 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

describe('MAC and address bytes', () => {
  it('parses and prints MACs in ip-link form, refusing anything else', () => {
    expect(formatMac(parseMac('02-AB-cd-00-00-01') as Buffer)).toBe('02:ab:cd:00:00:01');
    for (const bad of ['', '02:00:00:00:00', '02:00:00:00:00:00:00', 'zz:00:00:00:00:00', '2:0:0:0:0:0']) {
      expect(parseMac(bad)).toBeUndefined();
    }
  });

  it('round-trips IPv4 and IPv6 addresses through their wire bytes', () => {
    expect(v4('198.51.100.7').toString('hex')).toBe('c6336407');
    expect(formatAddressBytes(v4('198.51.100.7'))).toBe('198.51.100.7');
    expect(formatAddressBytes(v6('2001:db8::1:2'))).toBe('2001:db8::1:2');
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (value) => {
        const bytes = addressBytes({ family: 6, value });
        expect(bytes).toHaveLength(16);
        expect(parseAddressBytes(formatAddressBytes(bytes))?.equals(bytes)).toBe(true);
      }),
    );
    expect(formatAddressBytes(Buffer.alloc(5))).toBe('?');
  });
});

describe('Ethernet', () => {
  it('pads short frames to the 60-byte minimum and keeps the header fields', () => {
    const frame = encodeEthernet(broadcastMac, ourMac, etherTypeArp, Buffer.from([1, 2, 3]));
    expect(frame).toHaveLength(minimumFrameLength);
    const decoded = decodeEthernet(frame);
    expect(decoded && formatMac(decoded.destination)).toBe('ff:ff:ff:ff:ff:ff');
    expect(decoded && formatMac(decoded.source)).toBe('02:00:00:00:00:0a');
    expect(decoded?.etherType).toBe(etherTypeArp);
    expect([...(decoded?.payload.subarray(0, 3) ?? [])]).toEqual([1, 2, 3]);
  });

  it('refuses a frame shorter than its header', () => {
    expect(decodeEthernet(Buffer.alloc(13))).toBeUndefined();
  });
});

describe('ARP', () => {
  const request = {
    operation: arpRequest,
    senderMac: clientMac,
    senderIp: v4('198.51.100.20'),
    targetMac: zeroMac,
    targetIp: v4('198.51.100.100'),
  } as const;

  it('encodes a request exactly as RFC 826 lays it out', () => {
    expect(encodeArp(request).toString('hex')).toBe(
      '0001' + '0800' + '06' + '04' + '0001' + '0200000000c1' + 'c6336414' + '000000000000' + 'c6336464',
    );
  });

  it('decodes what it encodes, ignoring Ethernet padding', () => {
    const decoded = decodeArp(Buffer.concat([encodeArp(request), Buffer.alloc(18)]));
    expect(decoded && formatAddressBytes(decoded.targetIp)).toBe('198.51.100.100');
    expect(decoded && formatMac(decoded.senderMac)).toBe('02:00:00:00:00:c1');
    expect(decoded?.operation).toBe(arpRequest);
  });

  it('refuses short packets, other hardware or protocol types and unknown operations', () => {
    const good = encodeArp(request);
    expect(decodeArp(good.subarray(0, 27))).toBeUndefined();
    const mutate = (offset: number, value: number): Buffer => {
      const copy = Buffer.from(good);
      copy.writeUInt8(value, offset);
      return copy;
    };
    expect(decodeArp(mutate(1, 6))).toBeUndefined(); // hardware type 6 (IEEE 802)
    expect(decodeArp(mutate(2, 0x86))).toBeUndefined(); // protocol 0x8600
    expect(decodeArp(mutate(4, 8))).toBeUndefined(); // hardware length 8
    expect(decodeArp(mutate(5, 16))).toBeUndefined(); // protocol length 16
    expect(decodeArp(mutate(7, 3))).toBeUndefined(); // RARP request
  });

  it('answers a request unicast to the asker with our MAC for the asked address', () => {
    const frame = arpReplyFrame(ourMac, request);
    const decoded = decodeFrame(frame);
    expect(decoded.kind).toBe('arp');
    if (decoded.kind !== 'arp') return;
    expect(formatMac(decoded.destination)).toBe('02:00:00:00:00:c1');
    expect(formatMac(decoded.source)).toBe('02:00:00:00:00:0a');
    expect(decoded.packet.operation).toBe(arpReply);
    expect(formatMac(decoded.packet.senderMac)).toBe('02:00:00:00:00:0a');
    expect(formatAddressBytes(decoded.packet.senderIp)).toBe('198.51.100.100');
    expect(formatMac(decoded.packet.targetMac)).toBe('02:00:00:00:00:c1');
    expect(formatAddressBytes(decoded.packet.targetIp)).toBe('198.51.100.20');
  });

  it('probes with sender IP 0.0.0.0 and a zero target MAC, broadcast (RFC 5227)', () => {
    const decoded = decodeFrame(arpProbeFrame(ourMac, v4('198.51.100.100')));
    if (decoded.kind !== 'arp') throw new Error('not ARP');
    expect(formatMac(decoded.destination)).toBe('ff:ff:ff:ff:ff:ff');
    expect(formatAddressBytes(decoded.packet.senderIp)).toBe('0.0.0.0');
    expect(decoded.packet.targetMac.equals(zeroMac)).toBe(true);
    expect(isArpProbe(decoded.packet)).toBe(true);
    expect(isArpAnnouncement(decoded.packet)).toBe(false);
  });

  it('announces with sender IP = target IP, in request and reply form, broadcast', () => {
    for (const operation of [arpRequest, arpReply] as const) {
      const decoded = decodeFrame(gratuitousArpFrame(ourMac, v4('198.51.100.100'), operation));
      if (decoded.kind !== 'arp') throw new Error('not ARP');
      expect(formatMac(decoded.destination)).toBe('ff:ff:ff:ff:ff:ff');
      expect(decoded.packet.operation).toBe(operation);
      expect(formatAddressBytes(decoded.packet.senderIp)).toBe('198.51.100.100');
      expect(isArpAnnouncement(decoded.packet)).toBe(true);
      expect(isArpProbe(decoded.packet)).toBe(false);
    }
    expect(isArpAnnouncement(request)).toBe(false);
  });
});

describe('IPv6 Neighbor Discovery', () => {
  const vip = v6('2001:db8::100');
  const clientIp = v6('2001:db8::20');

  it('derives the solicited-node group and its 33:33:ff multicast MAC', () => {
    const group = solicitedNodeAddress(v6('2001:db8::12:3456'));
    expect(formatAddressBytes(group)).toBe('ff02::1:ff12:3456');
    expect(formatMac(multicastMac(group))).toBe('33:33:ff:12:34:56');
    expect(formatMac(multicastMac(allNodesIPv6))).toBe('33:33:00:00:00:01');
  });

  it('fills in a checksum over the pseudo-header that an independent sum accepts', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (src, dst) => {
          const packet = encodeNeighborMessage({
            type: 'solicitation',
            source: Buffer.from(src),
            destination: Buffer.from(dst),
            target: vip,
            sourceLinkLayer: clientMac,
          });
          expect(onesComplementSumIsAllOnes(packet)).toBe(true);
        },
      ),
    );
  });

  it('reads back a solicitation with its source link-layer option', () => {
    const packet = encodeNeighborMessage({
      type: 'solicitation',
      source: clientIp,
      destination: solicitedNodeAddress(vip),
      target: vip,
      sourceLinkLayer: clientMac,
    });
    const result = decodeNeighborMessage(packet);
    if (!result.ok) throw new Error('not decoded');
    expect(result.message.type).toBe('solicitation');
    expect(formatAddressBytes(result.message.target)).toBe('2001:db8::100');
    expect(result.message.sourceLinkLayer && formatMac(result.message.sourceLinkLayer)).toBe(
      '02:00:00:00:00:c1',
    );
    expect(result.message.targetLinkLayer).toBeUndefined();
  });

  it('answers a solicitation unicast, solicited and override, with our MAC as target link-layer address', () => {
    const ns = decodeNeighborMessage(
      encodeNeighborMessage({
        type: 'solicitation',
        source: clientIp,
        destination: solicitedNodeAddress(vip),
        target: vip,
        sourceLinkLayer: clientMac,
      }),
    );
    if (!ns.ok) throw new Error('not decoded');
    const reply = decodeFrame(
      neighborAdvertisementReplyFrame(ourMac, ns.message, parseMac('02:00:00:00:00:ee') as Buffer),
    );
    if (reply.kind !== 'ndp') throw new Error(`not NDP: ${reply.kind}`);
    expect(formatMac(reply.destination)).toBe('02:00:00:00:00:c1'); // from the option, not the Ethernet source
    expect(reply.message.type).toBe('advertisement');
    expect(formatAddressBytes(reply.message.source)).toBe('2001:db8::100');
    expect(formatAddressBytes(reply.message.destination)).toBe('2001:db8::20');
    expect(reply.message).toMatchObject({ solicited: true, override: true, router: false, hopLimit: 255 });
    expect(reply.message.targetLinkLayer && formatMac(reply.message.targetLinkLayer)).toBe(
      '02:00:00:00:00:0a',
    );
  });

  it('answers a solicitation without a source option to the Ethernet source', () => {
    const ns = decodeNeighborMessage(
      encodeNeighborMessage({ type: 'solicitation', source: clientIp, destination: vip, target: vip }),
    );
    if (!ns.ok) throw new Error('not decoded');
    const reply = decodeFrame(neighborAdvertisementReplyFrame(ourMac, ns.message, clientMac));
    if (reply.kind !== 'ndp') throw new Error('not NDP');
    expect(formatMac(reply.destination)).toBe('02:00:00:00:00:c1');
  });

  it('defends against a DAD solicitation with an advertisement to all nodes', () => {
    const dad = decodeFrame(dadSolicitationFrame(clientMac, vip));
    if (dad.kind !== 'ndp') throw new Error('not NDP');
    const reply = decodeFrame(neighborAdvertisementReplyFrame(ourMac, dad.message, clientMac));
    if (reply.kind !== 'ndp') throw new Error('not NDP');
    expect(formatMac(reply.destination)).toBe('33:33:00:00:00:01');
    expect(formatAddressBytes(reply.message.destination)).toBe('ff02::1');
    expect(reply.message).toMatchObject({ solicited: false, override: true });
  });

  it('sends DAD solicitations from :: to the solicited-node group, without a source option', () => {
    const frame = decodeFrame(dadSolicitationFrame(ourMac, v6('2001:db8::12:3456')));
    if (frame.kind !== 'ndp') throw new Error('not NDP');
    expect(formatMac(frame.destination)).toBe('33:33:ff:12:34:56');
    expect(frame.message.source.equals(unspecifiedIPv6)).toBe(true);
    expect(formatAddressBytes(frame.message.destination)).toBe('ff02::1:ff12:3456');
    expect(frame.message.sourceLinkLayer).toBeUndefined();
    expect(frame.message.type).toBe('solicitation');
  });

  it('sends unsolicited advertisements to ff02::1 with override and our MAC', () => {
    const frame = decodeFrame(unsolicitedAdvertisementFrame(ourMac, vip));
    if (frame.kind !== 'ndp') throw new Error('not NDP');
    expect(formatMac(frame.destination)).toBe('33:33:00:00:00:01');
    expect(formatMac(frame.source)).toBe('02:00:00:00:00:0a');
    expect(formatAddressBytes(frame.message.destination)).toBe('ff02::1');
    expect(frame.message).toMatchObject({ type: 'advertisement', solicited: false, override: true });
    expect(frame.message.targetLinkLayer && formatMac(frame.message.targetLinkLayer)).toBe(
      '02:00:00:00:00:0a',
    );
  });

  it('refuses routed messages, bad checksums, non-zero codes, bad options and truncation', () => {
    const good = encodeNeighborMessage({
      type: 'solicitation',
      source: clientIp,
      destination: vip,
      target: vip,
      sourceLinkLayer: clientMac,
    });
    const reason = (packet: Buffer): string | undefined => {
      const result = decodeNeighborMessage(packet);
      return !result.ok && result.malformed ? result.reason : undefined;
    };
    const mutate = (offset: number, value: number): Buffer => {
      const copy = Buffer.from(good);
      copy.writeUInt8(value, offset);
      return copy;
    };
    expect(
      reason(
        encodeNeighborMessage({
          type: 'solicitation',
          source: clientIp,
          destination: vip,
          target: vip,
          hopLimit: 64,
        }),
      ),
    ).toMatch(/hop limit/);
    expect(reason(mutate(40 + 8 + 15, 0x99))).toMatch(/checksum/); // last byte of the target
    expect(reason(mutate(41, 1))).toMatch(/code/);
    expect(reason(good.subarray(0, 39))).toMatch(/short IPv6/);
    expect(reason(good.subarray(0, 60))).toMatch(/truncated/);
    expect(reason(mutate(0, 0x40))).toMatch(/version/);
    const dadWithOption = encodeNeighborMessage({
      type: 'solicitation',
      source: unspecifiedIPv6,
      destination: solicitedNodeAddress(vip),
      target: vip,
      sourceLinkLayer: clientMac,
    });
    expect(reason(dadWithOption)).toMatch(/source link-layer/);
  });

  it('refuses an option of length 0 even with a correct checksum', () => {
    const packet = encodeNeighborMessage({
      type: 'solicitation',
      source: clientIp,
      destination: vip,
      target: vip,
      sourceLinkLayer: clientMac,
    });
    const message = packet.subarray(40);
    message.writeUInt8(0, 25); // the option's length byte
    message.writeUInt16BE(0, 2);
    message.writeUInt16BE(icmpv6Checksum(clientIp, vip, message), 2);
    const result = decodeNeighborMessage(packet);
    expect(!result.ok && result.malformed && result.reason).toBe('option of length 0');
  });

  it('passes over ICMPv6 that is not neighbour discovery and IPv6 that is not ICMPv6', () => {
    const echo = encodeNeighborMessage({
      type: 'solicitation',
      source: clientIp,
      destination: vip,
      target: vip,
    });
    echo.writeUInt8(128, 40);
    expect(decodeNeighborMessage(echo)).toEqual({ ok: false, malformed: false });
    const udp = Buffer.from(echo);
    udp.writeUInt8(17, 6);
    expect(decodeNeighborMessage(udp)).toEqual({ ok: false, malformed: false });
  });
});

describe('decodeFrame', () => {
  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 120 }),
        fc.constantFrom(etherTypeArp, etherTypeIPv6, 0x0800),
        (bytes, type) => {
          const frame = Buffer.from(bytes);
          if (frame.length >= 14) frame.writeUInt16BE(type, 12);
          const decoded = decodeFrame(frame);
          expect(['arp', 'ndp', 'other', 'malformed']).toContain(decoded.kind);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('calls a frame too short for Ethernet, or ARP that is not Ethernet/IPv4, malformed', () => {
    expect(decodeFrame(Buffer.alloc(10)).kind).toBe('malformed');
    expect(decodeFrame(encodeEthernet(broadcastMac, clientMac, etherTypeArp, Buffer.alloc(28))).kind).toBe(
      'malformed',
    );
    expect(decodeFrame(encodeEthernet(broadcastMac, clientMac, 0x0800, Buffer.alloc(28))).kind).toBe('other');
  });
});
