import type { LinkInfo } from '../../src/speaker/l2/interfaces.js';

/** An up Ethernet link with carrier and both families; the MAC defaults to one derived from the name. */
export function linkInfo(name: string, extra: Partial<LinkInfo> = {}): LinkInfo {
  return {
    name,
    mac: Buffer.from([2, 0, 0, 0, 0, name.length]),
    up: true,
    carrier: true,
    loopback: false,
    ethernet: true,
    hasMaster: false,
    ipv4: true,
    ipv6: true,
    ...extra,
  };
}
