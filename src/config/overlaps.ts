/**
 * No address may belong to two pools, nor appear twice in one. Entries are sorted by start address and swept
 * once, so a thousand pools cost a sort, not a million comparisons.
 */
import { quote } from './read.js';
import type { IndexedEntry, ParsedPool } from './pools.js';

interface Placed {
  readonly pool: ParsedPool;
  readonly entry: IndexedEntry;
}

function inputOrder(a: Placed, b: Placed): number {
  return a.pool.source.order - b.pool.source.order || a.entry.index - b.entry.index;
}

function byStart(a: Placed, b: Placed): number {
  const x = a.entry.range;
  const y = b.entry.range;
  if (x.family !== y.family) return x.family - y.family;
  if (x.first !== y.first) return x.first < y.first ? -1 : 1;
  return inputOrder(a, b);
}

function describe(entry: IndexedEntry): string {
  return `${entry.kind === 'cidr' ? 'CIDR' : 'range'} ${entry.text}`;
}

function report(later: Placed, earlier: Placed): void {
  const { report: reporter } = later.pool.source;
  const field = `spec.addresses[${later.entry.index}]`;
  const same =
    later.entry.range.first === earlier.entry.range.first &&
    later.entry.range.last === earlier.entry.range.last;
  const verb = same ? 'covers the same addresses as' : 'overlaps';
  if (later.pool === earlier.pool) {
    reporter.problem(
      'pool.duplicateEntry',
      field,
      `${describe(later.entry)} ${verb} ${earlier.entry.text} at spec.addresses[${earlier.entry.index}]; list each address once`,
    );
    return;
  }
  reporter.problem(
    'pool.overlap',
    field,
    `${describe(later.entry)} ${verb} ${earlier.entry.text} of IPAddressPool ${quote(earlier.pool.source.name)} (spec.addresses[${earlier.entry.index}]); pools must not share addresses`,
  );
}

/** Reports each entry that overlaps an entry listed before it (in this or an earlier pool). */
export function checkOverlaps(pools: readonly ParsedPool[]): void {
  const placed: Placed[] = pools.flatMap((pool) => pool.entries.map((entry) => ({ pool, entry })));
  placed.sort(byStart);
  let reach: Placed | undefined; // of the entries so far in this family, the one that ends last
  for (const current of placed) {
    if (reach && reach.entry.range.family !== current.entry.range.family) reach = undefined;
    if (reach && current.entry.range.first <= reach.entry.range.last) {
      if (inputOrder(current, reach) > 0) report(current, reach);
      else report(reach, current);
    }
    if (!reach || current.entry.range.last > reach.entry.range.last) reach = current;
  }
}
