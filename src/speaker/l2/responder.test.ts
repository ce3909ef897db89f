import { beforeEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { FakeClock } from '../../../test/support/fake-clock.js';
import { linkInfo } from '../../../test/support/l2.js';
import { silentLogger } from '../../runtime/logging.js';
import type { L2ClaimState } from './announcer.js';
import {
  arpProbeFrame,
  arpReply,
  arpReplyFrame,
  arpRequest,
  encodeArp,
  gratuitousArpFrame,
} from './frames/arp.js';
import {
  broadcastMac,
  formatAddressBytes,
  formatMac,
  parseAddressBytes,
  parseMac,
  zeroMac,
} from './frames/bytes.js';
import { decodeFrame, type ReceivedFrame } from './frames/decode.js';
import { encodeEthernet, etherTypeArp, etherTypeIPv6 } from './frames/ethernet.js';
import {
  dadSolicitationFrame,
  encodeNeighborMessage,
  multicastMac,
  solicitedNodeAddress,
  unsolicitedAdvertisementFrame,
} from './frames/ndp.js';
import type { LinkInfo } from './interfaces.js';
import type { GroupMembership } from './membership.js';
import { L2Metrics } from './metrics.js';
import { FrameResponder } from './responder.js';
import type { Wire } from './wire.js';

const mac = (text: string): Buffer => parseMac(text) as Buffer;
const ip = (text: string): Buffer => parseAddressBytes(text) as Buffer;
const eth0Mac = mac('02:00:00:00:00:01');
const eth1Mac = mac('02:00:00:00:00:02');
const clientMac = mac('02:00:00:00:00:c1');
const otherMac = mac('02:00:00:00:00:99');

function link(name: string, mac: Buffer, extra: Partial<LinkInfo> = {}): LinkInfo {
  return linkInfo(name, { mac, ...extra });
}

class FakeWire implements Wire {
  readonly sent = new Map<string, Buffer[]>();
  readonly receivers = new Map<string, (frame: Buffer) => void>();
  failing = new Map<string, string>();
  open(ifname: string, onFrame: (frame: Buffer) => void): ReturnType<Wire['open']> {
    const reason = this.failing.get(ifname);
    if (reason) return { ok: false, reason };
    this.receivers.set(ifname, onFrame);
    this.sent.set(ifname, this.sent.get(ifname) ?? []);
    return {
      ok: true,
      handle: {
        send: (frame) => this.sent.get(ifname)?.push(Buffer.from(frame)),
        close: () => this.receivers.delete(ifname),
      },
    };
  }
  deliver(ifname: string, frame: Buffer): void {
    this.receivers.get(ifname)?.(frame);
  }
  /** Frames sent on `ifname` since the last call, decoded. */
  take(ifname: string): ReceivedFrame[] {
    const frames = this.sent.get(ifname) ?? [];
    return frames.splice(0).map(decodeFrame);
  }
}

class FakeMembership implements GroupMembership {
  readonly joined = new Set<string>();
  join(ifname: string, group: string): void {
    this.joined.add(`${ifname} ${group}`);
  }
  leave(ifname: string, group: string): void {
    this.joined.delete(`${ifname} ${group}`);
  }
  close(): void {
    this.joined.clear();
  }
}

function arpRequestFrame(from: Buffer, fromIp: string, forIp: string): Buffer {
  const packet = encodeArp({
    operation: arpRequest,
    senderMac: from,
    senderIp: ip(fromIp),
    targetMac: zeroMac,
    targetIp: ip(forIp),
  });
  return encodeEthernet(broadcastMac, from, etherTypeArp, packet);
}

/** `from` answering `to`'s request for `forIp`, as another holder of the address would. */
function arpReplyFrameFrom(from: Buffer, forIp: string, to: Buffer, toIp: string): Buffer {
  return arpReplyFrame(from, decodeArpRequest(arpRequestFrame(to, toIp, forIp)));
}

function decodeArpRequest(frame: Buffer) {
  const decoded = decodeFrame(frame);
  if (decoded.kind !== 'arp') throw new Error('not an ARP frame');
  return decoded.packet;
}

function neighborSolicitationFrame(from: Buffer, fromIp: string, forIp: string): Buffer {
  const group = solicitedNodeAddress(ip(forIp));
  const packet = encodeNeighborMessage({
    type: 'solicitation',
    source: ip(fromIp),
    destination: group,
    target: ip(forIp),
    sourceLinkLayer: from,
  });
  return encodeEthernet(multicastMac(group), from, etherTypeIPv6, packet);
}

describe('FrameResponder', () => {
  let clock: FakeClock;
  let wire: FakeWire;
  let membership: FakeMembership;
  let links: LinkInfo[];
  let registry: Registry;
  let responder: FrameResponder;
  let changes: Array<[string, L2ClaimState]>;

  beforeEach(() => {
    clock = new FakeClock();
    wire = new FakeWire();
    membership = new FakeMembership();
    links = [
      link('lo', Buffer.alloc(6), { loopback: true, ethernet: false }),
      link('eth0', eth0Mac),
      link('eth1', eth1Mac),
    ];
    registry = new Registry();
    responder = new FrameResponder({
      wire,
      membership,
      scanLinks: () => links,
      clock,
      logger: silentLogger(),
      metrics: new L2Metrics(registry),
      random: () => 0.5,
    });
    changes = [];
    responder.onStateChange((address, state) => changes.push([address, state]));
  });

  const metric = async (name: string, address: string): Promise<number | undefined> => {
    const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
    return values.find((v) => v.labels.ip === address)?.value;
  };

  it('answers an ARP request for a claimed address with the MAC of the interface it came in on', () => {
    responder.reconcile([{ ip: '198.51.100.100', interfaces: ['eth0'], probe: false }]);
    wire.take('eth0');
    wire.deliver('eth0', arpRequestFrame(clientMac, '198.51.100.20', '198.51.100.100'));
    const [reply] = wire.take('eth0');
    if (reply?.kind !== 'arp') throw new Error('no ARP reply');
    expect(reply.packet.operation).toBe(arpReply);
    expect(formatMac(reply.destination)).toBe('02:00:00:00:00:c1');
    expect(formatMac(reply.packet.senderMac)).toBe('02:00:00:00:00:01');
    expect(formatAddressBytes(reply.packet.senderIp)).toBe('198.51.100.100');
  });

  it('does not answer on an interface the claim does not list, nor for addresses it does not claim', () => {
    responder.reconcile([{ ip: '198.51.100.100', interfaces: ['eth0'], probe: false }]);
    expect(wire.receivers.has('eth1')).toBe(false);
    wire.take('eth0');
    wire.deliver('eth0', arpRequestFrame(clientMac, '198.51.100.20', '198.51.100.101'));
    expect(wire.take('eth0')).toEqual([]);
  });

  it('announces a taken-over address at once with a gratuitous ARP burst in both forms', async () => {
    responder.reconcile([{ ip: '198.51.100.100', interfaces: [], probe: false }]);
    expect(responder.state('198.51.100.100')).toEqual({ phase: 'announcing', interfaces: ['eth0', 'eth1'] });
    const now = wire.take('eth0');
    expect(now.map((f) => f.kind === 'arp' && f.packet.operation)).toEqual([arpRequest, arpReply]);
    for (const frame of now) {
      if (frame.kind !== 'arp') throw new Error('not ARP');
      expect(formatMac(frame.destination)).toBe('ff:ff:ff:ff:ff:ff');
      expect(formatAddressBytes(frame.packet.senderIp)).toBe('198.51.100.100');
      expect(formatAddressBytes(frame.packet.targetIp)).toBe('198.51.100.100');
    }
    clock.advance(250);
    expect(wire.take('eth0')).toHaveLength(2);
    clock.advance(750);
    expect(wire.take('eth0')).toHaveLength(2);
    clock.advance(10_000);
    expect(wire.take('eth0')).toHaveLength(0);
    expect(await metric('metallb_layer2_gratuitous_sent', '198.51.100.100')).toBe(12); // 3 × 2 forms × 2 interfaces
  });

  it('changes nothing and sends nothing when the same claims come again', () => {
    const claims = [{ ip: '198.51.100.100', interfaces: [], probe: false }];
    responder.reconcile(claims);
    clock.advance(2000);
    wire.take('eth0');
    changes = [];
    responder.reconcile(claims);
    clock.advance(2000);
    expect(wire.take('eth0')).toEqual([]);
    expect(changes).toEqual([]);
  });

  it('probes three times with sender 0.0.0.0 and announces when nobody answers', () => {
    responder.reconcile([{ ip: '198.51.100.100', interfaces: ['eth0'], probe: true }]);
    expect(responder.state('198.51.100.100')).toEqual({ phase: 'probing' });
    wire.deliver('eth0', arpRequestFrame(clientMac, '198.51.100.20', '198.51.100.100'));
    clock.advance(599);
    const probes = wire.take('eth0');
    expect(probes).toHaveLength(3);
    for (const probe of probes) {
      if (probe.kind !== 'arp') throw new Error('not ARP');
      expect(formatAddressBytes(probe.packet.senderIp)).toBe('0.0.0.0');
    }
    clock.advance(1);
    expect(responder.state('198.51.100.100')).toEqual({ phase: 'announcing', interfaces: ['eth0'] });
    expect(changes.map(([, s]) => s.phase)).toEqual(['probing', 'announcing']);
  });

  it('refuses an address another host answers the probe for, and takes it when that host is gone', () => {
    responder.reconcile([{ ip: '198.51.100.100', interfaces: ['eth0'], probe: true }]);
    const probe = decodeFrame(arpProbeFrame(eth0Mac, ip('198.51.100.100')));
    if (probe.kind !== 'arp') throw new Error('not ARP');
    wire.deliver('eth0', arpReplyFrame(otherMac, probe.packet));
    expect(responder.state('198.51.100.100')).toEqual({
      phase: 'conflict',
      holderMac: '02:00:00:00:00:99',
      interface: 'eth0',
    });
    clock.advance(1000);
    wire.take('eth0');
    wire.deliver('eth0', arpRequestFrame(clientMac, '198.51.100.20', '198.51.100.100'));
    expect(wire.take('eth0')).toEqual([]); // not ours: no answer
    clock.advance(29_000); // the retry, 30 s after the conflict (no jitter with random 0.5): probing again
    expect(responder.state('198.51.100.100')).toEqual({ phase: 'probing' });
    clock.advance(600);
    expect(responder.state('198.51.100.100')).toEqual({ phase: 'announcing', interfaces: ['eth0'] });
  });

  it('treats another host probing for the same address at the same time as a conflict', () => {
    responder.reconcile([{ ip: '198.51.100.100', interfaces: ['eth0'], probe: true }]);
    wire.deliver('eth0', arpProbeFrame(otherMac, ip('198.51.100.100')));
    expect(responder.state('198.51.100.100')).toMatchObject({
      phase: 'conflict',
      holderMac: '02:00:00:00:00:99',
    });
  });

  it("does not call the previous owner's last frames right after a takeover a conflict", () => {
    responder.reconcile([{ ip: '198.51.100.100', interfaces: ['eth0'], probe: false }]);
    clock.advance(1_000);
    wire.deliver('eth0', arpReplyFrameFrom(otherMac, '198.51.100.100', clientMac, '198.51.100.20'));
    expect(responder.state('198.51.100.100')).toEqual({ phase: 'announcing', interfaces: ['eth0'] });
    clock.advance(1_500);
    wire.deliver('eth0', arpReplyFrameFrom(otherMac, '198.51.100.100', clientMac, '198.51.100.20'));
    expect(responder.state('198.51.100.100')?.phase).toBe('conflict');
  });

  it('reports another host announcing our address but keeps answering, and recovers when it is quiet', () => {
    responder.reconcile([{ ip: '198.51.100.100', interfaces: ['eth0'], probe: false }]);
    clock.advance(2_500); // past the takeover grace
    wire.deliver('eth0', gratuitousArpFrame(otherMac, ip('198.51.100.100'), arpRequest));
    expect(responder.state('198.51.100.100')).toEqual({
      phase: 'conflict',
      holderMac: '02:00:00:00:00:99',
      interface: 'eth0',
    });
    wire.take('eth0');
    wire.deliver('eth0', arpRequestFrame(clientMac, '198.51.100.20', '198.51.100.100'));
    expect(wire.take('eth0')).toHaveLength(1);
    clock.advance(20_000);
    wire.deliver('eth0', gratuitousArpFrame(otherMac, ip('198.51.100.100'), arpReply));
    clock.advance(20_000); // 30 s after the first sighting, but only 20 s after the last
    expect(responder.state('198.51.100.100')?.phase).toBe('conflict');
    clock.advance(40_000);
    expect(responder.state('198.51.100.100')).toEqual({ phase: 'announcing', interfaces: ['eth0'] });
  });

  it('answers a probe for an announced address (RFC 5227 defence) instead of calling it a conflict', () => {
    responder.reconcile([{ ip: '198.51.100.100', interfaces: ['eth0'], probe: false }]);
    wire.take('eth0');
    wire.deliver('eth0', arpProbeFrame(otherMac, ip('198.51.100.100')));
    const [reply] = wire.take('eth0');
    if (reply?.kind !== 'arp') throw new Error('no reply');
    expect(formatAddressBytes(reply.packet.targetIp)).toBe('0.0.0.0');
    expect(responder.state('198.51.100.100')?.phase).toBe('announcing');
  });

  it('stops answering at once when a claim is released, and drops its metric series', async () => {
    responder.reconcile([{ ip: '198.51.100.100', interfaces: ['eth0'], probe: false }]);
    wire.deliver('eth0', arpRequestFrame(clientMac, '198.51.100.20', '198.51.100.100'));
    expect(await metric('metallb_layer2_requests_received', '198.51.100.100')).toBe(1);
    expect(await metric('metallb_layer2_responses_sent', '198.51.100.100')).toBe(1);
    responder.reconcile([]);
    wire.take('eth0');
    wire.deliver('eth0', arpRequestFrame(clientMac, '198.51.100.20', '198.51.100.100'));
    clock.advance(5000);
    expect(wire.take('eth0')).toEqual([]);
    expect(responder.state('198.51.100.100')).toBeUndefined();
    expect(await metric('metallb_layer2_requests_received', '198.51.100.100')).toBeUndefined();
    expect(await metric('metallb_layer2_gratuitous_sent', '198.51.100.100')).toBeUndefined();
  });

  it('ignores frames from its own MACs and counts malformed ones without stopping', () => {
    responder.reconcile([{ ip: '198.51.100.100', interfaces: ['eth0'], probe: false }]);
    wire.take('eth0');
    wire.deliver('eth0', gratuitousArpFrame(eth1Mac, ip('198.51.100.100'), arpRequest));
    expect(responder.state('198.51.100.100')?.phase).toBe('announcing');
    wire.deliver('eth0', Buffer.alloc(5));
    wire.deliver('eth0', encodeEthernet(broadcastMac, clientMac, etherTypeArp, Buffer.alloc(10)));
    expect(responder.stats().malformedFrames).toBe(2);
    wire.deliver('eth0', arpRequestFrame(clientMac, '198.51.100.20', '198.51.100.100'));
    expect(wire.take('eth0')).toHaveLength(1);
  });

  describe('IPv6', () => {
    it('joins the solicited-node group on each interface and answers a solicitation with a solicited override NA', () => {
      responder.reconcile([{ ip: '2001:db8::100', interfaces: [], probe: false }]);
      expect([...membership.joined].sort()).toEqual(['eth0 ff02::1:ff00:100', 'eth1 ff02::1:ff00:100']);
      const [announcement] = wire.take('eth1');
      if (announcement?.kind !== 'ndp') throw new Error('no unsolicited NA');
      expect(formatAddressBytes(announcement.message.destination)).toBe('ff02::1');
      expect(announcement.message.override).toBe(true);
      wire.deliver('eth1', neighborSolicitationFrame(clientMac, '2001:db8::20', '2001:db8::100'));
      const [reply] = wire.take('eth1');
      if (reply?.kind !== 'ndp') throw new Error('no NA');
      expect(reply.message).toMatchObject({ type: 'advertisement', solicited: true, override: true });
      expect(formatMac(reply.message.targetLinkLayer ?? Buffer.alloc(0))).toBe('02:00:00:00:00:02');
      expect(formatAddressBytes(reply.message.destination)).toBe('2001:db8::20');
      responder.reconcile([]);
      expect(membership.joined.size).toBe(0);
    });

    it('probes with DAD solicitations and refuses the address when its holder defends it', () => {
      responder.reconcile([{ ip: '2001:db8::100', interfaces: ['eth0'], probe: true }]);
      const [dad] = wire.take('eth0');
      if (dad?.kind !== 'ndp') throw new Error('no DAD NS');
      expect(formatAddressBytes(dad.message.source)).toBe('::');
      wire.deliver('eth0', unsolicitedAdvertisementFrame(otherMac, ip('2001:db8::100')));
      expect(responder.state('2001:db8::100')).toEqual({
        phase: 'conflict',
        holderMac: '02:00:00:00:00:99',
        interface: 'eth0',
      });
    });

    it('defends an announced address against another host DAD with an NA to all nodes', () => {
      responder.reconcile([{ ip: '2001:db8::100', interfaces: ['eth0'], probe: false }]);
      wire.take('eth0');
      wire.deliver('eth0', dadSolicitationFrame(otherMac, ip('2001:db8::100')));
      const [reply] = wire.take('eth0');
      if (reply?.kind !== 'ndp') throw new Error('no NA');
      expect(formatAddressBytes(reply.message.destination)).toBe('ff02::1');
    });

    it('uses only interfaces that carry IPv6 for an IPv6 address', () => {
      links = [link('eth0', eth0Mac, { ipv6: false }), link('eth1', eth1Mac)];
      responder.reconcile([{ ip: '2001:db8::100', interfaces: [], probe: false }]);
      expect(responder.state('2001:db8::100')).toEqual({ phase: 'announcing', interfaces: ['eth1'] });
    });
  });

  describe('interfaces', () => {
    it('fails a claim with no usable interface and announces it when one appears on a rescan', () => {
      links = [link('eth0', eth0Mac, { carrier: false }), link('br0-port', eth1Mac, { hasMaster: true })];
      responder.reconcile([{ ip: '198.51.100.100', interfaces: [], probe: false }]);
      expect(responder.state('198.51.100.100')?.phase).toBe('failed');
      links = [link('eth0', eth0Mac)];
      clock.advance(5000);
      expect(responder.state('198.51.100.100')).toEqual({ phase: 'announcing', interfaces: ['eth0'] });
      expect(wire.take('eth0').length).toBeGreaterThan(0);
    });

    it('announces again on an interface added to the claim', () => {
      responder.reconcile([{ ip: '198.51.100.100', interfaces: ['eth0'], probe: false }]);
      wire.take('eth1');
      responder.reconcile([{ ip: '198.51.100.100', interfaces: ['eth0', 'eth1'], probe: false }]);
      expect(responder.state('198.51.100.100')).toEqual({
        phase: 'announcing',
        interfaces: ['eth0', 'eth1'],
      });
      expect(wire.take('eth1').map((f) => f.kind)).toEqual(['arp', 'arp']);
    });

    it('reports the reason when frames cannot be captured on an interface', () => {
      wire.failing.set('eth0', 'the raw-frame binding (npm package cap) could not be loaded');
      responder.reconcile([{ ip: '198.51.100.100', interfaces: ['eth0'], probe: false }]);
      expect(responder.state('198.51.100.100')).toEqual({
        phase: 'failed',
        reason: 'the raw-frame binding (npm package cap) could not be loaded',
      });
    });
  });

  it('closes every capture and membership on close', async () => {
    responder.reconcile([{ ip: '2001:db8::100', interfaces: [], probe: false }]);
    await responder.close();
    expect(wire.receivers.size).toBe(0);
    expect(membership.joined.size).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });
});
