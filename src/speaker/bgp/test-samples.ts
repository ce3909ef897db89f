/**
 * JSON that FRR 8.4.4 printed for a speaker instance with three neighbours: 192.0.2.254 established with BFD
 * and two prefixes sent, 192.0.2.253 with a password the router does not share, 192.0.2.250 with nobody
 * there. Variants: the router's bgpd killed (router-stopped) and the router refusing our ASN (notification).
 * Captured with `vtysh -N <ps> -c 'show bgp vrf all neighbors json'`, `show bfd peers json` and
 * `show bfd peers counters json` against FRR instances in two network namespaces joined by a veth pair.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const frrSampleDir = 'src/speaker/bgp/testdata/frr-json';

export function readFrrSample(name: string): unknown {
  return JSON.parse(readFileSync(join(frrSampleDir, name), 'utf8')) as unknown;
}
