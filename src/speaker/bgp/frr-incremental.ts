/**
 * The commands that take FRR from one rendered frr.conf to the next when only Service addresses changed,
 * for `vtysh -f` to run in one go. frr-reload.py does the same in general, but it reads the running
 * configuration twice, checks the file, and removes each line with its own vtysh: seconds per change on a
 * busy node, which held every new address back for as long.
 *
 * Only changes of the two kinds a Service address makes are handled here: top-level prefix-list lines, and
 * `network` lines inside a `router bgp` / `address-family` block that exists in both texts. Anything else
 * (peers, route-map entries, BFD, a new address family) returns undefined, and the caller uses
 * frr-reload.py. Sequence numbers are stable (see frr-config.ts), so adding an address adds lines and
 * rewrites none.
 *
 * Order: networks leave first (their withdrawal does not wait for anything), then prefix-list lines go and
 * come, then new networks are added, so bgpd filters each new route against complete lists the moment it
 * originates it. Routes already advertised are re-evaluated after the route-map delay, by which time the
 * script has run to the end: the brief moment a list is incomplete is never seen by a peer.
 */

import { networkLine, walkBlocks } from './frr-blocks.js';

interface Parsed {
  /** Every line but prefix-lists and networks, in order: equal skeletons mean equal everything else. */
  readonly skeleton: string;
  readonly prefixLists: ReadonlySet<string>;
  /** Context (router line + address-family line) → network lines as written. */
  readonly networks: ReadonlyMap<string, ReadonlySet<string>>;
}

const prefixListLine = /^(?:ip|ipv6) prefix-list \S+ seq \d+ (?:permit|deny) \S+$/;
const contextSeparator = '\n';

function parse(text: string): Parsed | undefined {
  const skeleton: string[] = [];
  const prefixLists = new Set<string>();
  const networks = new Map<string, Set<string>>();
  let outsideFamily = false;
  walkBlocks(text, (line, { router, family }) => {
    if (prefixListLine.test(line)) {
      prefixLists.add(line);
      return;
    }
    if (!networkLine.test(line)) {
      skeleton.push(line);
      return;
    }
    // A network outside an address family is not something this renderer writes: leave it to the reload.
    if (router === undefined || family === undefined) {
      outsideFamily = true;
      return;
    }
    const context = `${router}${contextSeparator}${family}`;
    let set = networks.get(context);
    if (!set) {
      set = new Set();
      networks.set(context, set);
    }
    set.add(line);
  });
  if (outsideFamily) return undefined;
  return { skeleton: skeleton.join('\n'), prefixLists, networks };
}

function networkBlock(context: string, lines: readonly string[]): string[] {
  const [router, family] = context.split(contextSeparator) as [string, string];
  return [router, family, ...lines, ' exit-address-family', 'exit'];
}

function difference<T>(a: ReadonlySet<T>, b: ReadonlySet<T> | undefined): T[] {
  return [...a].filter((item) => !b?.has(item));
}

/**
 * The vtysh script (lines) that turns the configuration `applied` into `desired`; an empty list when they
 * match; undefined when the change is not one this fast path makes.
 */
export function incrementalCommands(applied: string, desired: string): string[] | undefined {
  const before = parse(applied);
  const after = parse(desired);
  if (!before || !after || before.skeleton !== after.skeleton) return undefined;
  const contexts = [...new Set([...before.networks.keys(), ...after.networks.keys()])];
  const withdrawn: string[] = [];
  const originated: string[] = [];
  for (const context of contexts) {
    const old = before.networks.get(context) ?? new Set<string>();
    const current = after.networks.get(context) ?? new Set<string>();
    const gone = difference(old, current).map((line) => `  no ${line.trimStart()}`);
    const come = difference(current, old);
    if (gone.length > 0) withdrawn.push(...networkBlock(context, gone));
    if (come.length > 0) originated.push(...networkBlock(context, come));
  }
  return [
    ...withdrawn,
    ...difference(before.prefixLists, after.prefixLists).map((line) => `no ${line}`),
    ...difference(after.prefixLists, before.prefixLists),
    ...originated,
  ];
}
