/**
 * Reading the blocks of an frr.conf (rendered, or FRR's `show running-config`; both write them alike): which
 * `router bgp` and `address-family` each line sits in. The incremental and the staged apply both split a
 * configuration into its address lines and the rest by this.
 */

/** A `network` statement, as written inside an address family. */
export const networkLine = /^ {2}network \S+$/;

export interface BlockContext {
  readonly router?: string;
  readonly family?: string;
}

/** Calls `visit` for each line (without a trailing CR) with the router and address family it is in. */
export function walkBlocks(text: string, visit: (line: string, context: BlockContext) => void): void {
  let router: string | undefined;
  let family: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('router bgp ')) {
      router = line;
      family = undefined;
    } else if (line.startsWith(' address-family ')) {
      family = line;
    } else if (line === ' exit-address-family') {
      family = undefined;
    } else if (line === 'exit') {
      router = undefined;
      family = undefined;
    }
    visit(line, { router, family });
  }
}
