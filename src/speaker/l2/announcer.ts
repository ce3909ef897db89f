/**
 * The contract between the speaker's layer-2 plan and the code that puts frames on the wire. The speaker
 * decides which addresses this node owns and on which interfaces; the announcer answers ARP requests and
 * Neighbor Solicitations for exactly those, and tells how each address is doing.
 *
 * Two sides, so that the plan, liveness and status code is unit-tested against a fake announcer, and the
 * raw-frame code is tested on a wire without a control plane.
 */

/** One address this node should answer for. */
export interface L2Claim {
  /** Canonical text of an IPv4 or IPv6 address, as `formatAddress` prints it. */
  readonly ip: string;
  /** Interfaces to answer on; empty means every up, non-loopback interface that can carry ARP/NDP. */
  readonly interfaces: readonly string[];
  /**
   * Probe the wire before the first announcement (RFC 5227 ARP probe, IPv6 DAD-style NS) and refuse the
   * address if another host holds it. False when the address is taken over from another speaker of this
   * cluster (failover, handover): that speaker may still answer for a moment, and waiting would slow the move.
   */
  readonly probe: boolean;
}

/** How one claimed address is doing on this node. */
export type L2ClaimState =
  | { readonly phase: 'probing' }
  /** Answering, and a gratuitous ARP / unsolicited NA went out on each of these interfaces. */
  | { readonly phase: 'announcing'; readonly interfaces: readonly string[] }
  /** Another host answered the probe: not announced; the announcer probes again later by itself. */
  | { readonly phase: 'conflict'; readonly holderMac: string; readonly interface: string }
  /** Nothing to announce on: no allowed interface exists, is up, or carries the address's family. */
  | { readonly phase: 'failed'; readonly reason: string };

export type L2StateListener = (ip: string, state: L2ClaimState) => void;

export interface L2Announcer {
  /**
   * The complete set of addresses this node owns now. Addresses not in it stop being answered at once;
   * new ones are probed (when `probe`) and then announced; an address whose interfaces changed is
   * announced again on the new ones. Idempotent: the same set again changes nothing and sends nothing.
   */
  reconcile(claims: readonly L2Claim[]): void;
  /** The current state of one claimed address; undefined when it is not claimed. */
  state(ip: string): L2ClaimState | undefined;
  /** Called on every state change of a claimed address (not for addresses dropped by reconcile). */
  onStateChange(listener: L2StateListener): void;
  /** Stops answering everything and releases the wire. */
  close(): Promise<void>;
}
