/** IPAddressPool: addresses, defaults and serviceAllocation, each pool on its own (overlaps: overlaps.ts). */
import {
  familyBits,
  parsePoolEntry,
  summarizeRange,
  type AddressRange,
  type Cidr,
  type Family,
} from '../net/ip.js';
import { quote, readBoolean, readInteger, readList, readRecord, stringEntries } from './read.js';
import type { SourceObject } from './objects.js';
import { everything, parseSelectorList, selectsAll, type Labels } from './selectors.js';
import type { PoolEntry, ServiceAllocation } from './types.js';

export interface KnownObject {
  readonly name: string;
  readonly labels: Labels;
}

export interface IndexedEntry extends PoolEntry {
  /** Index in spec.addresses. */
  readonly index: number;
  /** The longest prefix an aggregation may use without announcing addresses outside this entry. */
  readonly shortestPrefix: number;
}

export interface ParsedPool {
  readonly source: SourceObject;
  readonly entries: readonly IndexedEntry[];
  readonly families: readonly Family[];
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  readonly serviceAllocation?: ServiceAllocation;
}

const addressHint =
  'a CIDR (192.0.2.0/24), a single address as /32 or /128 (192.0.2.7/32), or a range (192.0.2.10-192.0.2.20)';

/** The CIDR a CIDR entry's range came from. */
function cidrOf(range: AddressRange): Cidr {
  const hostBits = (range.last - range.first + 1n).toString(2).length - 1;
  return { family: range.family, network: range.first, prefixLength: familyBits(range.family) - hostBits };
}

/** The parser's reason, completed with what a right value looks like where it does not say so already. */
function entryMessage(reason: string): string {
  if (reason.includes(' is after end ')) return `${reason}; write the lower address first`;
  if (reason.includes('expected')) return reason;
  return `${reason}; each entry is ${addressHint}`;
}

export function parsePool(source: SourceObject, namespaces: readonly KnownObject[]): ParsedPool {
  const { spec, report } = source;
  const addresses = readList(spec, 'addresses');
  if (addresses.length === 0) {
    report.problem(
      'pool.empty',
      'spec.addresses',
      `the pool has no addresses; list at least one entry: ${addressHint}`,
    );
  }
  const entries: IndexedEntry[] = [];
  for (const { index, value } of stringEntries(addresses)) {
    const parsed = parsePoolEntry(value);
    if (!parsed.ok) {
      report.problem('pool.invalidAddress', `spec.addresses[${index}]`, entryMessage(parsed.reason));
      continue;
    }
    // A CIDR entry is its own summary; only ranges need splitting into blocks.
    const cidrs = parsed.kind === 'cidr' ? [cidrOf(parsed.range)] : summarizeRange(parsed.range);
    entries.push({
      index,
      text: value.trim(),
      kind: parsed.kind,
      range: parsed.range,
      cidrs,
      shortestPrefix: Math.min(...cidrs.map((cidr) => cidr.prefixLength)),
    });
  }
  const families = ([4, 6] as const).filter((family) =>
    entries.some((entry) => entry.range.family === family),
  );
  const allocation = readRecord(spec, 'serviceAllocation');
  return {
    source,
    entries,
    families,
    autoAssign: readBoolean(spec, 'autoAssign') ?? true,
    avoidBuggyIPs: readBoolean(spec, 'avoidBuggyIPs') ?? false,
    ...(allocation ? { serviceAllocation: parseServiceAllocation(source, namespaces) } : {}),
  };
}

function parseServiceAllocation(
  source: SourceObject,
  knownNamespaces: readonly KnownObject[],
): ServiceAllocation {
  const base = 'spec.serviceAllocation';
  const allocation = readRecord(source.spec, 'serviceAllocation');
  const rawNamespaces = readList(allocation, 'namespaces');
  const namespaces: string[] = [];
  const seen = new Map<string, number>();
  for (const { index, value } of stringEntries(rawNamespaces)) {
    const first = seen.get(value);
    if (first !== undefined) {
      source.report.problem(
        'list.duplicate',
        `${base}.namespaces[${index}]`,
        `namespace ${quote(value)} is already listed at namespaces[${first}]; list each namespace once`,
      );
      continue;
    }
    seen.set(value, index);
    namespaces.push(value);
  }
  const rawNamespaceSelectors = readList(allocation, 'namespaceSelectors');
  const rawServiceSelectors = readList(allocation, 'serviceSelectors');
  const namespaceSelectors = parseSelectorList(
    rawNamespaceSelectors,
    `${base}.namespaceSelectors`,
    source.report,
  ).selectors;
  const serviceSelectors = parseSelectorList(
    rawServiceSelectors,
    `${base}.serviceSelectors`,
    source.report,
  ).selectors;
  const resolved = new Set(namespaces);
  if (namespaceSelectors.length > 0) {
    for (const namespace of knownNamespaces) {
      if (selectsAll(namespaceSelectors, namespace.labels)) resolved.add(namespace.name);
    }
  }
  const restrictsNamespaces = rawNamespaces.length > 0 || rawNamespaceSelectors.length > 0;
  const onlyPriority = !restrictsNamespaces && rawServiceSelectors.length === 0;
  return {
    priority: readInteger(allocation, 'priority') ?? 0,
    namespaces,
    namespaceSelectors,
    resolvedNamespaces: [...resolved].sort(),
    restrictsNamespaces,
    serviceSelectors: onlyPriority ? [everything] : serviceSelectors,
  };
}
