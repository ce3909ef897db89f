/**
 * Names of migrated objects. They are derived, never random, so migrating the same ConfigMap twice gives the
 * same objects and `kubectl apply` of the second run changes nothing.
 */

const maxNameLength = 253;
const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Whether Kubernetes accepts `name` as metadata.name of a custom resource (a DNS-1123 subdomain). */
export function isObjectName(name: string): boolean {
  return name.length <= maxNameLength && subdomain.test(name);
}

/** Why `name` cannot be an object name, phrased for a message; undefined when it can. */
export function objectNameProblem(name: string): string | undefined {
  if (isObjectName(name)) return undefined;
  if (name.length > maxNameLength) return `is longer than ${maxNameLength} characters`;
  return 'must consist of lowercase letters, digits, "-" and ".", and start and end with a letter or digit';
}

/** `<pool>-l2`: the L2Advertisement of a layer2 pool. */
export function l2AdvertisementName(pool: string): string {
  return `${pool}-l2`;
}

/** `<pool>-bgp` for a pool's only advertisement, `<pool>-bgp-1`, `<pool>-bgp-2`, … when it has several. */
export function bgpAdvertisementName(pool: string, index: number, count: number): string {
  return count === 1 ? `${pool}-bgp` : `${pool}-bgp-${index + 1}`;
}

/**
 * Hands out peer names: `peer-192-0-2-1` from the address, `peer-<n>` (1-based position) when there is no
 * usable address, and a numeric suffix when two peers would share a name (same router, other port or nodes).
 */
export class PeerNamer {
  private readonly taken = new Set<string>();

  name(address: string | undefined, position: number): string {
    const fromAddress = address
      ?.toLowerCase()
      .replace(/[^a-z0-9]/g, '-')
      .replace(/^-+|-+$/g, '');
    const base = fromAddress ? `peer-${fromAddress}`.slice(0, maxNameLength - 4) : `peer-${position}`;
    let candidate = base.replace(/-+$/, '');
    for (let suffix = 2; this.taken.has(candidate); suffix += 1) candidate = `${base}-${suffix}`;
    this.taken.add(candidate);
    return candidate;
  }
}
