/**
 * Solicited-node multicast membership. Answering NS from a capture needs no membership, but a switch or bridge
 * with MLD snooping only forwards a solicited-node group to ports that reported it, so the announcer joins the
 * group of each claimed IPv6 address: joining through a UDP socket makes the kernel send the MLD report and
 * answer the querier's queries for as long as the socket holds the membership.
 */
import { createSocket, type Socket } from 'node:dgram';

export interface GroupMembership {
  join(ifname: string, group: string): void;
  leave(ifname: string, group: string): void;
  close(): void;
}

type ErrorSink = (err: Error, ifname: string, group: string) => void;

/** One socket per interface; a group joined twice (two addresses share a group) is left after the second leave. */
export class UdpGroupMembership implements GroupMembership {
  private readonly sockets = new Map<
    string,
    { socket: Socket; ready: Promise<void>; groups: Map<string, number> }
  >();

  constructor(private readonly onError: ErrorSink) {}

  join(ifname: string, group: string): void {
    const entry = this.socketFor(ifname);
    const count = entry.groups.get(group) ?? 0;
    entry.groups.set(group, count + 1);
    if (count > 0) return;
    void entry.ready.then(() => {
      if (entry.groups.has(group))
        this.attempt(() => entry.socket.addMembership(group, `::%${ifname}`), ifname, group);
    });
  }

  leave(ifname: string, group: string): void {
    const entry = this.sockets.get(ifname);
    const count = entry?.groups.get(group);
    if (!entry || count === undefined) return;
    if (count > 1) {
      entry.groups.set(group, count - 1);
      return;
    }
    entry.groups.delete(group);
    void entry.ready.then(() => {
      if (!entry.groups.has(group))
        this.attempt(() => entry.socket.dropMembership(group, `::%${ifname}`), ifname, group);
    });
    if (entry.groups.size === 0) {
      this.sockets.delete(ifname);
      void entry.ready.then(() => entry.socket.close());
    }
  }

  close(): void {
    for (const entry of this.sockets.values()) void entry.ready.then(() => entry.socket.close());
    this.sockets.clear();
  }

  private socketFor(ifname: string): { socket: Socket; ready: Promise<void>; groups: Map<string, number> } {
    const existing = this.sockets.get(ifname);
    if (existing) return existing;
    const socket = createSocket({ type: 'udp6', reuseAddr: true });
    socket.on('error', (err) => this.onError(err, ifname, '*'));
    const ready = new Promise<void>((resolve) => socket.bind({ port: 0, address: '::' }, () => resolve()));
    const entry = { socket, ready, groups: new Map<string, number>() };
    this.sockets.set(ifname, entry);
    return entry;
  }

  private attempt(action: () => void, ifname: string, group: string): void {
    try {
      action();
    } catch (err) {
      this.onError(err as Error, ifname, group);
    }
  }
}
