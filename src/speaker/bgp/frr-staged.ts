/**
 * A full apply in two stages, for configurations with many Service addresses.
 *
 * Why: at 1,000 addresses and 10 peers frr.conf holds ~11,000 lines, 10,000 of them prefix-list entries.
 * FRR 8.4 validates each new prefix-list entry against every entry of its list (quadratic per list) in
 * every daemon that takes prefix-lists (zebra and bgpd), so loading them into a fresh FRR costs minutes of
 * CPU on a busy 2-core node (measured: `vtysh -f` of the whole file ran for more than 10 minutes at load 20,
 * bgpd logging "command took 15 s (cpu 4.5 s)" for each peer's list). The applier's full apply replayed the
 * whole file and then ran frr-reload.py over it, inside one 120 s timeout: it was killed, retried from
 * scratch, killed again, and never converged.
 *
 * Staged apply:
 *  1. the base: the desired configuration without the address lines (prefix-list `permit` entries and
 *     `network` statements) that FRR does not run yet. It is small when FRR is fresh, and holds every
 *     address line that stays when FRR already runs them (speaker restart, a peer added): frr-reload.py on
 *     it removes only what is no longer desired, and never touches a route that stays (no flap).
 *  2. the missing address lines, added on top through `vtysh -f` in bounded chunks (prefix-list entries
 *     first, then `network` statements, so every new route is filtered against complete lists). Each chunk
 *     that went through stays in FRR: if a later chunk times out, the retry reads the running configuration
 *     again, its base holds what the earlier chunks added, and it continues from there instead of starting
 *     over.
 * "What runs" comes from bgpd's own running configuration (`show running-config bgpd`), so this needs no
 * record of earlier applies, and a bgpd that restarted without its configuration while zebra kept the
 * prefix-lists (which the merged `show running-config` would show) gets them back.
 * When FRR may have restarted, only the skeleton (no address lines) is replayed before the reload.
 */

import { networkLine, walkBlocks } from './frr-blocks.js';

/** Only `permit` entries carry addresses; a `seq 1 deny any` (an empty list) stays in the base. */
const addressEntryLine = /^(?:ip|ipv6) prefix-list \S+ seq \d+ permit \S+$/;

/** Address lines of a configuration: prefix-list entries, and networks keyed by their router and family. */
interface AddressLines {
  readonly entries: ReadonlySet<string>;
  /** `<router line>\n<address-family line>\n<network line>` */
  readonly networks: ReadonlySet<string>;
}

function networkKey(router: string, family: string, line: string): string {
  return `${router}\n${family}\n${line}`;
}

export function addressLines(text: string): AddressLines {
  const entries = new Set<string>();
  const networks = new Set<string>();
  walkBlocks(text, (line, { router, family }) => {
    if (addressEntryLine.test(line)) entries.add(line);
    else if (networkLine.test(line) && router !== undefined && family !== undefined)
      networks.add(networkKey(router, family, line));
  });
  return { entries, networks };
}

export interface StagedPlan {
  /**
   * The desired text without any address line: what is replayed (`vtysh -f`) when FRR may have restarted.
   * Replaying address lines FRR already runs costs as much as adding them (measured: 386 s for the
   * 11,000-line file into an FRR that ran all of it), so they are not replayed; a bgpd that lost them shows
   * them missing in its own running configuration, and stage 2 adds them.
   */
  readonly skeleton: string;
  /** Stage 1, for frr-reload.py: the desired text without the address lines FRR does not run yet. */
  readonly base: string;
  /** Stage 2: `vtysh -f` scripts that add the rest, to run in order; empty when FRR runs them all. */
  readonly chunks: readonly string[][];
  /** How many address lines stage 2 adds. */
  readonly added: number;
}

/**
 * Address lines per `vtysh -f`: bounded, so that one run stays well inside the 120 s tool timeout (1,000
 * prefix-list entries into a fresh FRR took 45 to 77 s at load 24 to 30 on 2 cores).
 */
export const defaultChunkLines = 500;

/**
 * Splits `desired` into a base that keeps only the address lines `running` already has, and chunks that
 * add the others. `running` is FRR's `show running-config` (or any text in the rendered format).
 */
export function stagedPlan(desired: string, running: string, chunkLines = defaultChunkLines): StagedPlan {
  const runs = addressLines(running);
  const base: string[] = [];
  const skeleton: string[] = [];
  const missingEntries: string[] = [];
  const missingNetworks = new Map<string, string[]>();
  walkBlocks(desired, (line, { router, family }) => {
    const entry = addressEntryLine.test(line);
    const network = networkLine.test(line) && router !== undefined && family !== undefined;
    if (!entry && !network) skeleton.push(line);
    if (entry && !runs.entries.has(line)) {
      missingEntries.push(line);
      return;
    }
    if (network) {
      if (!runs.networks.has(networkKey(router, family, line))) {
        const context = `${router}\n${family}`;
        const list = missingNetworks.get(context) ?? [];
        list.push(line);
        missingNetworks.set(context, list);
        return;
      }
    }
    base.push(line);
  });
  const size = Math.max(1, chunkLines);
  const chunks: string[][] = [];
  for (let index = 0; index < missingEntries.length; index += size)
    chunks.push(missingEntries.slice(index, index + size));
  let added = missingEntries.length;
  for (const [context, lines] of missingNetworks) {
    const [router, family] = context.split('\n') as [string, string];
    added += lines.length;
    for (let index = 0; index < lines.length; index += size)
      chunks.push([router, family, ...lines.slice(index, index + size), ' exit-address-family', 'exit']);
  }
  return { base: base.join('\n'), skeleton: skeleton.join('\n'), chunks, added };
}
