/**
 * Which links this node has, and which of them a claim may use. The scan reads /sys/class/net (every link,
 * even one without addresses) and node's os.networkInterfaces() (which families it carries); the selection is
 * pure, so the rules are unit-tested without a kernel.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { parseMac } from './frames/bytes.js';
import type { Family } from '../../net/ip.js';

export interface LinkInfo {
  readonly name: string;
  readonly mac: Buffer;
  /** Administratively up (IFF_UP). */
  readonly up: boolean;
  /** The lower layer has carrier; a link that is up without carrier reaches nobody. */
  readonly carrier: boolean;
  readonly loopback: boolean;
  /** ARPHRD_ETHER (type 1): the only link type ARP and NDP over Ethernet make sense on. */
  readonly ethernet: boolean;
  /** Enslaved to a bridge or bond: the master carries the addresses, as upstream assumes. */
  readonly hasMaster: boolean;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
}

const iffUp = 0x1;
const arphrdEther = 1;
const arphrdLoopback = 772;

function readSys(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), 'utf8').trim();
  } catch {
    // carrier reads fail with EINVAL on a down link; a link can also vanish between readdir and read.
    return undefined;
  }
}

/** Every link of this network namespace. Never throws: an unreadable link is left out. */
export function scanLinks(sysClassNet = '/sys/class/net'): LinkInfo[] {
  let names: string[];
  try {
    names = readdirSync(sysClassNet);
  } catch {
    return [];
  }
  const addresses = networkInterfaces();
  const links: LinkInfo[] = [];
  for (const name of names.sort()) {
    const dir = join(sysClassNet, name);
    const mac = parseMac(readSys(dir, 'address') ?? '');
    const flags = Number.parseInt(readSys(dir, 'flags') ?? '', 16);
    const type = Number(readSys(dir, 'type'));
    if (!mac || Number.isNaN(flags)) continue;
    const families = new Set((addresses[name] ?? []).map((a) => a.family));
    links.push({
      name,
      mac,
      up: (flags & iffUp) !== 0,
      carrier: readSys(dir, 'carrier') === '1',
      loopback: type === arphrdLoopback,
      ethernet: type === arphrdEther,
      hasMaster: existsSync(join(dir, 'master')),
      ipv4: families.has('IPv4'),
      ipv6: families.has('IPv6'),
    });
  }
  return links;
}

export type InterfaceSelection =
  | { readonly ok: true; readonly interfaces: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/**
 * The interfaces a claim answers on. Listed interfaces are used when they exist, are up with carrier, are
 * Ethernet and carry the address's family (a bridge or bond slave is allowed when named explicitly). No list
 * means every such interface that is not loopback and not enslaved.
 */
export function selectInterfaces(
  links: readonly LinkInfo[],
  wanted: readonly string[],
  family: Family,
): InterfaceSelection {
  const usable = (link: LinkInfo): boolean =>
    link.up && link.carrier && link.ethernet && !link.loopback && (family === 4 ? link.ipv4 : link.ipv6);
  const chosen =
    wanted.length === 0
      ? links.filter((l) => usable(l) && !l.hasMaster)
      : links.filter((l) => wanted.includes(l.name) && usable(l));
  if (chosen.length > 0) return { ok: true, interfaces: chosen.map((l) => l.name) };
  const familyText = family === 4 ? 'IPv4' : 'IPv6';
  const which = wanted.length === 0 ? 'no interface' : `none of ${wanted.join(', ')}`;
  return {
    ok: false,
    reason: `${which} is an up Ethernet interface with carrier that carries ${familyText}`,
  };
}
