/**
 * The wire side of layer 2: answers ARP requests and Neighbor Solicitations for the addresses this node
 * claims, announces them when taken, probes before the first announcement and watches for other holders.
 * Everything with side effects (frames, membership, links, time) is injected, so the behaviour is unit-tested
 * with fakes and proven on a wire by test/e2e/l2-responder.e2e.ts.
 */
import type { Clock, Timer } from '../../runtime/clock.js';
import type { Logger } from '../../runtime/logging.js';
import { formatAddress, parseAddress, type Family } from '../../net/ip.js';
import type { L2Announcer, L2Claim, L2ClaimState, L2StateListener } from './announcer.js';
import {
  arpProbeFrame,
  arpReply,
  arpReplyFrame,
  arpRequest,
  gratuitousArpFrame,
  isArpAnnouncement,
  isArpProbe,
  type ArpPacket,
} from './frames/arp.js';
import { addressBytes, formatAddressBytes, formatMac } from './frames/bytes.js';
import { decodeFrame } from './frames/decode.js';
import {
  dadSolicitationFrame,
  neighborAdvertisementReplyFrame,
  solicitedNodeAddress,
  unsolicitedAdvertisementFrame,
  unspecifiedIPv6,
  type NeighborMessage,
} from './frames/ndp.js';
import { selectInterfaces, type LinkInfo } from './interfaces.js';
import type { GroupMembership } from './membership.js';
import type { L2Metrics } from './metrics.js';
import type { Wire, WireHandle } from './wire.js';

export interface ResponderTiming {
  /**
   * Probes sent before the first announcement, `probeIntervalMs` apart, and how long to listen after the
   * last one. RFC 5227 spends 1–2 s plus a random 0–1 s wait per address; that delay is paid by every new
   * Service before it works. 3 probes over 600 ms still survive one lost probe or reply, and a host that holds
   * the address answers an ARP request or a DAD NS within milliseconds.
   */
  readonly probeCount: number;
  readonly probeIntervalMs: number;
  readonly probeListenMs: number;
  /**
   * When the gratuitous ARP / unsolicited NA burst goes out after taking an address. The first frame goes at
   * once (it is what makes failover fast); the later two cover a lost frame, and are spread out because losses
   * come in bursts right after a topology change (a switch relearning, a bridge port still settling).
   * Upstream repeats every 1.1 s for 5 s; three frames are enough and keep the wire quiet with many addresses.
   */
  readonly announceDelaysMs: readonly number[];
  /** A refused address is probed again after this long, ± `retryJitter` so nodes do not probe in step. */
  readonly retryMs: number;
  readonly retryJitter: number;
  /**
   * After taking over an address without a probe, how long the previous owner's frames are expected (it
   * answers until it hears our announcement, at most its handover time of 1 s) and not reported as a conflict.
   */
  readonly takeoverGraceMs: number;
  /** Links are re-scanned this often (and on every reconcile), so interfaces that come and go are picked up. */
  readonly rescanMs: number;
}

export const defaultResponderTiming: ResponderTiming = {
  probeCount: 3,
  probeIntervalMs: 200,
  probeListenMs: 200,
  announceDelaysMs: [0, 250, 1000],
  retryMs: 30_000,
  retryJitter: 0.2,
  takeoverGraceMs: 2_000,
  rescanMs: 5_000,
};

export interface ResponderOptions {
  readonly wire: Wire;
  readonly membership: GroupMembership;
  readonly scanLinks: () => LinkInfo[];
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: L2Metrics;
  readonly timing?: Partial<ResponderTiming>;
  /** [0, 1); injectable for deterministic retry jitter in tests. */
  readonly random?: () => number;
}

interface Entry {
  readonly ip: string;
  readonly family: Family;
  readonly bytes: Buffer;
  /** Solicited-node group (IPv6 only). */
  readonly group?: string;
  claim: L2Claim;
  /** Interfaces the claim may use now (after the last scan). */
  interfaces: readonly string[];
  state: L2ClaimState;
  /** Interfaces we answer on; non-empty while announcing, and kept during a conflict seen while announcing. */
  answering: Set<string>;
  joined: Set<string>;
  phaseTimers: Timer[];
  burstTimers: Timer[];
  retryTimer?: Timer;
  /** Last time another host showed it holds the address while we answered for it. */
  lastConflictAt?: number;
  /**
   * Until when frames of another holder are the previous owner's last ones, not a conflict: set when we
   * take over an address another node announced (no probe), which keeps answering until it hears us.
   */
  takeoverUntil?: number;
}

interface Port {
  readonly name: string;
  readonly mac: Buffer;
  readonly handle: WireHandle;
}

export interface ResponderStats {
  readonly malformedFrames: number;
}

export class FrameResponder implements L2Announcer {
  private readonly timing: ResponderTiming;
  private readonly random: () => number;
  private readonly entries = new Map<string, Entry>();
  private readonly ports = new Map<string, Port>();
  private readonly listeners: L2StateListener[] = [];
  private links: LinkInfo[] = [];
  private ownMacs = new Set<string>();
  /** Interfaces that failed to open, with the reason (retried on the next scan). */
  private openFailures = new Map<string, string>();
  private rescanTimer: Timer | undefined;
  private closed = false;
  private malformed = 0;

  constructor(private readonly options: ResponderOptions) {
    this.timing = { ...defaultResponderTiming, ...options.timing };
    this.random = options.random ?? Math.random;
  }

  reconcile(claims: readonly L2Claim[]): void {
    if (this.closed) return;
    const wanted = new Map<string, L2Claim>();
    for (const claim of claims) {
      const address = parseAddress(claim.ip);
      if (!address) {
        this.options.logger.warn({ ip: claim.ip }, 'ignoring a layer-2 claim that is not an IP address');
        continue;
      }
      wanted.set(formatAddress(address), claim);
    }
    for (const [ip, entry] of this.entries) if (!wanted.has(ip)) this.drop(entry);
    for (const [ip, claim] of wanted) {
      const existing = this.entries.get(ip);
      if (existing) existing.claim = claim;
      else this.entries.set(ip, this.newEntry(ip, claim));
    }
    this.refresh();
    if (!this.rescanTimer) this.scheduleRescan();
  }

  state(ip: string): L2ClaimState | undefined {
    const address = parseAddress(ip);
    return address ? this.entries.get(formatAddress(address))?.state : undefined;
  }

  onStateChange(listener: L2StateListener): void {
    this.listeners.push(listener);
  }

  stats(): ResponderStats {
    return { malformedFrames: this.malformed };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.rescanTimer?.cancel();
    for (const entry of [...this.entries.values()]) this.drop(entry);
    for (const port of this.ports.values()) port.handle.close();
    this.ports.clear();
    this.options.membership.close();
  }

  private newEntry(ip: string, claim: L2Claim): Entry {
    const address = parseAddress(ip);
    if (!address) throw new Error(`unreachable: ${ip} was parsed before`);
    const bytes = addressBytes(address);
    return {
      ip,
      family: address.family,
      bytes,
      ...(address.family === 6 ? { group: formatAddressBytes(solicitedNodeAddress(bytes)) } : {}),
      claim,
      interfaces: [],
      // Not reported: the first real state follows in the same reconcile.
      state: { phase: 'failed', reason: 'not started' },
      answering: new Set(),
      joined: new Set(),
      phaseTimers: [],
      burstTimers: [],
    };
  }

  private scheduleRescan(): void {
    this.rescanTimer = this.options.clock.setTimer(this.timing.rescanMs, () => {
      if (this.closed) return;
      this.refresh();
      this.scheduleRescan();
    });
  }

  /** Re-reads the links and brings every entry and capture in line with them. Idempotent. */
  private refresh(): void {
    this.links = this.options.scanLinks();
    this.ownMacs = new Set(this.links.map((l) => formatMac(l.mac)));
    const selections = new Map<Entry, ReturnType<typeof selectInterfaces>>();
    const needed = new Set<string>();
    for (const entry of this.entries.values()) {
      const selection = selectInterfaces(this.links, entry.claim.interfaces, entry.family);
      selections.set(entry, selection);
      if (selection.ok) for (const name of selection.interfaces) needed.add(name);
    }
    this.syncPorts(needed);
    for (const [entry, selection] of selections) {
      if (!selection.ok) {
        this.fail(entry, selection.reason);
        continue;
      }
      const open = selection.interfaces.filter((name) => this.ports.has(name));
      if (open.length === 0) {
        const reasons = selection.interfaces.map(
          (name) => this.openFailures.get(name) ?? `${name} is not open`,
        );
        this.fail(entry, reasons.join('; '));
        continue;
      }
      this.applyInterfaces(entry, open);
    }
  }

  private syncPorts(needed: Set<string>): void {
    for (const [name, port] of this.ports) {
      const link = this.links.find((l) => l.name === name);
      // A link that vanished, or was re-created with another MAC, needs a fresh capture. A capture that is
      // merely idle stays open: closing libpcap handles while the speaker runs has taken the process down
      // with it (no error, no log line) in the L2 e2e, and an idle capture answers nothing anyway.
      if (!link || !link.mac.equals(port.mac)) {
        port.handle.close();
        this.ports.delete(name);
      }
    }
    this.openFailures = new Map([...this.openFailures].filter(([name]) => needed.has(name)));
    for (const name of needed) {
      if (this.ports.has(name)) continue;
      const link = this.links.find((l) => l.name === name);
      if (!link) continue;
      const opened = this.options.wire.open(name, (frame) => this.receive(name, frame));
      if (!opened.ok) {
        if (this.openFailures.get(name) !== opened.reason) {
          this.options.logger.error(
            { interface: name, err: opened.reason },
            'cannot answer ARP/NDP on this interface',
          );
        }
        this.openFailures.set(name, opened.reason);
        continue;
      }
      this.openFailures.delete(name);
      this.ports.set(name, { name, mac: link.mac, handle: opened.handle });
    }
  }

  private applyInterfaces(entry: Entry, interfaces: readonly string[]): void {
    const previous = entry.interfaces;
    entry.interfaces = interfaces;
    this.syncMembership(entry);
    const phase = entry.state.phase;
    if (phase === 'failed') {
      this.start(entry, entry.claim.probe);
      return;
    }
    if (entry.answering.size === 0) return; // probing, or refused after a probe: the next probe uses the new list
    const added = interfaces.filter((name) => !entry.answering.has(name));
    for (const name of [...entry.answering]) if (!interfaces.includes(name)) entry.answering.delete(name);
    for (const name of added) {
      entry.answering.add(name);
      this.sendBurst(entry, name);
    }
    if (phase === 'announcing' && (added.length > 0 || previous.length !== interfaces.length)) {
      this.setState(entry, { phase: 'announcing', interfaces: [...entry.answering] });
    }
  }

  private syncMembership(entry: Entry): void {
    if (!entry.group) return;
    const keep = entry.state.phase === 'failed' && entry.answering.size === 0 ? [] : entry.interfaces;
    for (const name of keep) {
      if (entry.joined.has(name)) continue;
      entry.joined.add(name);
      this.options.membership.join(name, entry.group);
    }
    for (const name of [...entry.joined]) {
      if (keep.includes(name)) continue;
      entry.joined.delete(name);
      this.options.membership.leave(name, entry.group);
    }
  }

  private start(entry: Entry, probe: boolean): void {
    this.cancel(entry.phaseTimers);
    if (!probe) {
      entry.takeoverUntil = this.options.clock.now() + this.timing.takeoverGraceMs;
      this.announce(entry);
      return;
    }
    this.setState(entry, { phase: 'probing' });
    this.syncMembership(entry);
    const { probeCount, probeIntervalMs, probeListenMs } = this.timing;
    this.sendProbe(entry);
    for (let i = 1; i < probeCount; i++) {
      entry.phaseTimers.push(this.options.clock.setTimer(i * probeIntervalMs, () => this.sendProbe(entry)));
    }
    const decideAt = (probeCount - 1) * probeIntervalMs + probeListenMs;
    entry.phaseTimers.push(
      this.options.clock.setTimer(decideAt, () => {
        if (entry.state.phase === 'probing') this.announce(entry);
      }),
    );
  }

  private sendProbe(entry: Entry): void {
    if (entry.state.phase !== 'probing') return;
    for (const name of entry.interfaces) {
      const port = this.ports.get(name);
      if (!port) continue;
      this.send(
        port,
        entry.family === 4
          ? arpProbeFrame(port.mac, entry.bytes)
          : dadSolicitationFrame(port.mac, entry.bytes),
      );
    }
  }

  private announce(entry: Entry): void {
    this.cancel(entry.phaseTimers);
    entry.retryTimer?.cancel();
    entry.answering = new Set(entry.interfaces.filter((name) => this.ports.has(name)));
    entry.lastConflictAt = undefined;
    this.setState(entry, { phase: 'announcing', interfaces: [...entry.answering] });
    this.syncMembership(entry);
    for (const name of entry.answering) this.sendBurst(entry, name);
  }

  private sendBurst(entry: Entry, name: string): void {
    for (const delay of this.timing.announceDelaysMs) {
      const fire = (): void => {
        const port = this.ports.get(name);
        if (!port || !entry.answering.has(name) || this.entries.get(entry.ip) !== entry) return;
        if (entry.family === 4) {
          for (const operation of [arpRequest, arpReply] as const) {
            this.send(port, gratuitousArpFrame(port.mac, entry.bytes, operation));
            this.options.metrics?.gratuitousSent(entry.ip);
          }
        } else {
          this.send(port, unsolicitedAdvertisementFrame(port.mac, entry.bytes));
          this.options.metrics?.gratuitousSent(entry.ip);
        }
      };
      // The first frame goes out synchronously: a takeover should not wait for the event loop.
      if (delay <= 0) fire();
      else entry.burstTimers.push(this.options.clock.setTimer(delay, fire));
    }
  }

  private fail(entry: Entry, reason: string): void {
    this.cancel(entry.phaseTimers);
    this.cancel(entry.burstTimers);
    entry.retryTimer?.cancel();
    entry.answering.clear();
    entry.interfaces = [];
    this.setState(entry, { phase: 'failed', reason });
    this.syncMembership(entry);
  }

  private drop(entry: Entry): void {
    this.cancel(entry.phaseTimers);
    this.cancel(entry.burstTimers);
    entry.retryTimer?.cancel();
    entry.answering.clear();
    entry.interfaces = [];
    this.entries.delete(entry.ip);
    if (entry.group) for (const name of entry.joined) this.options.membership.leave(name, entry.group);
    entry.joined.clear();
    this.options.metrics?.forget(entry.ip);
  }

  private cancel(timers: Timer[]): void {
    for (const timer of timers.splice(0)) timer.cancel();
  }

  private setState(entry: Entry, state: L2ClaimState): void {
    const same = JSON.stringify(entry.state) === JSON.stringify(state);
    entry.state = state;
    if (same) return;
    this.options.logger.info({ ip: entry.ip, ...state }, 'layer-2 claim state');
    for (const listener of this.listeners) {
      try {
        listener(entry.ip, state);
      } catch (err) {
        this.options.logger.error({ ip: entry.ip, err }, 'layer-2 state listener failed');
      }
    }
  }

  private send(port: Port, frame: Buffer): void {
    try {
      port.handle.send(frame);
    } catch (err) {
      this.options.logger.warn(
        { interface: port.name, err: (err as Error).message },
        'sending a frame failed',
      );
    }
  }

  /** The receive loop's entry point: never throws, whatever arrives. */
  private receive(name: string, frame: Buffer): void {
    try {
      const port = this.ports.get(name);
      if (!port) return;
      const decoded = decodeFrame(frame);
      if (decoded.kind === 'malformed') {
        this.malformed += 1;
        this.options.metrics?.malformedFrame();
        this.options.logger.debug({ interface: name, reason: decoded.reason }, 'ignored a malformed frame');
        return;
      }
      if (decoded.kind === 'other') return;
      // Our own frames come back through the capture; frames of this node's other links are not a conflict.
      if (this.ownMacs.has(formatMac(decoded.source))) return;
      if (decoded.kind === 'arp') this.receiveArp(port, decoded.packet);
      else this.receiveNdp(port, decoded.message, decoded.source);
    } catch (err) {
      this.options.logger.error({ interface: name, err: (err as Error).message }, 'handling a frame failed');
    }
  }

  private entryOn(port: Port, ip: Buffer): Entry | undefined {
    const entry = this.entries.get(formatAddressBytes(ip));
    return entry && entry.interfaces.includes(port.name) ? entry : undefined;
  }

  private receiveArp(port: Port, packet: ArpPacket): void {
    // RFC 5227 §2.1.1: any ARP packet whose sender IP is the address shows another holder (a reply to our
    // probe, its own gratuitous ARP, or one of its requests); a probe for it from another host while we probe
    // means a simultaneous claim.
    const senderEntry = isArpProbe(packet) ? undefined : this.entryOn(port, packet.senderIp);
    if (senderEntry) this.conflictSeen(senderEntry, formatMac(packet.senderMac), port.name);
    const targetEntry = this.entryOn(port, packet.targetIp);
    if (!targetEntry || packet.operation !== arpRequest || isArpAnnouncement(packet)) return;
    if (isArpProbe(packet) && targetEntry.state.phase === 'probing') {
      this.conflictSeen(targetEntry, formatMac(packet.senderMac), port.name);
      return;
    }
    this.options.metrics?.requestReceived(targetEntry.ip);
    if (!targetEntry.answering.has(port.name)) return;
    this.send(port, arpReplyFrame(port.mac, packet));
    this.options.metrics?.responseSent(targetEntry.ip);
  }

  private receiveNdp(port: Port, message: NeighborMessage, ethernetSource: Buffer): void {
    const entry = this.entryOn(port, message.target);
    if (!entry) return;
    if (message.type === 'advertisement') {
      this.conflictSeen(entry, formatMac(message.targetLinkLayer ?? ethernetSource), port.name);
      return;
    }
    const isDad = message.source.equals(unspecifiedIPv6);
    // RFC 4861 §7.1.1: a solicitation goes to the target's solicited-node group, or unicast to the target.
    const toGroup = message.destination.equals(solicitedNodeAddress(entry.bytes));
    if (!toGroup && !message.destination.equals(entry.bytes)) return;
    if (isDad && entry.state.phase === 'probing') {
      // RFC 4862 §5.4.3: another host runs DAD for the same address at the same time.
      this.conflictSeen(entry, formatMac(ethernetSource), port.name);
      return;
    }
    this.options.metrics?.requestReceived(entry.ip);
    if (!entry.answering.has(port.name)) return;
    this.send(port, neighborAdvertisementReplyFrame(port.mac, message, ethernetSource));
    this.options.metrics?.responseSent(entry.ip);
  }

  /**
   * Another MAC holds the address. While probing: refuse it, and probe again later. While answering: report
   * the conflict but keep answering. Going quiet would not give the address to the other host cleanly either
   * (clients that cached us stay stale until their entries expire), and a host that briefly grabs the address
   * — or the previous owner of a handover sending its last frames — would make us flap; the operator sees the
   * conflict in the state, and we return to 'announcing' once the other host has been quiet for a retry period.
   */
  private conflictSeen(entry: Entry, holderMac: string, ifname: string): void {
    if (this.ownMacs.has(holderMac)) return;
    const state = entry.state;
    if (state.phase === 'probing') {
      this.cancel(entry.phaseTimers);
      this.options.logger.warn(
        { ip: entry.ip, holderMac, interface: ifname },
        'address already in use on the link; not announcing it',
      );
      this.setState(entry, { phase: 'conflict', holderMac, interface: ifname });
      this.scheduleRetry(entry, () => this.start(entry, true));
      return;
    }
    if (entry.answering.size === 0) return;
    if (entry.takeoverUntil !== undefined && this.options.clock.now() < entry.takeoverUntil) {
      this.options.logger.debug(
        { ip: entry.ip, holderMac, interface: ifname },
        'the previous owner still answered for an address just taken over',
      );
      return;
    }
    const first = entry.lastConflictAt === undefined;
    entry.lastConflictAt = this.options.clock.now();
    if (state.phase === 'conflict' && state.holderMac === holderMac && state.interface === ifname) return;
    this.options.logger.warn(
      { ip: entry.ip, holderMac, interface: ifname },
      'another host claims an address this node announces; still answering for it',
    );
    this.setState(entry, { phase: 'conflict', holderMac, interface: ifname });
    if (first) this.scheduleRetry(entry, () => this.recheckConflict(entry));
  }

  private recheckConflict(entry: Entry): void {
    if (entry.answering.size === 0 || entry.lastConflictAt === undefined) return;
    if (this.options.clock.now() - entry.lastConflictAt >= this.timing.retryMs) {
      this.announce(entry);
      return;
    }
    this.scheduleRetry(entry, () => this.recheckConflict(entry));
  }

  private scheduleRetry(entry: Entry, action: () => void): void {
    entry.retryTimer?.cancel();
    const jitter = 1 + this.timing.retryJitter * (2 * this.random() - 1);
    entry.retryTimer = this.options.clock.setTimer(this.timing.retryMs * jitter, () => {
      if (this.entries.get(entry.ip) === entry) action();
    });
  }
}
