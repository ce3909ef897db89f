/**
 * L2Advertisement and BGPAdvertisement, each on its own: which pools, nodes and Services they cover, and for
 * BGP the route attributes. Rules between advertisements live in advertisement-checks.ts.
 */
import { asRecord, quote, readField, readInteger, readList, stringEntries } from './read.js';
import type { SourceObject } from './objects.js';
import type { NodeIndex } from './nodes.js';
import type { ParsedPool } from './pools.js';
import type { Reporter } from './report.js';
import { parseCommunity, type CommunityAlias } from './communities.js';
import { parseSelector, parseSelectorList, selectsAny, type Selector } from './selectors.js';
import type { BgpAdvertisement, BgpCommunity, L2Advertisement, PreferredNodes } from './types.js';

/** FRR's limit on communities attached to one route. */
export const maxCommunities = 63;

export interface AdContext {
  readonly pools: readonly ParsedPool[];
  readonly poolsByName: ReadonlyMap<string, ParsedPool>;
  readonly peerNames: ReadonlySet<string>;
  readonly aliases: ReadonlyMap<string, CommunityAlias>;
  readonly nodes: NodeIndex;
}

interface Selection {
  readonly pools: readonly ParsedPool[];
  readonly nodeSelectors: readonly Selector[];
  readonly nodes: readonly string[];
  /** False when a node selector could not be read, so node-set rules cannot judge the advertisement. */
  readonly nodesComplete: boolean;
  readonly serviceSelectors: readonly Selector[];
}

export interface ParsedL2Ad extends Selection {
  readonly source: SourceObject;
  readonly ad: L2Advertisement;
}

export interface ParsedBgpAd extends Selection {
  readonly source: SourceObject;
  readonly ad: BgpAdvertisement;
}

/** Distinct names from a list of names, reporting repeats at their index. */
function distinctNames(list: readonly unknown[], field: string, what: string, report: Reporter): string[] {
  const seen = new Map<string, number>();
  for (const { index, value } of stringEntries(list)) {
    const first = seen.get(value);
    if (first !== undefined) {
      const listName = field.slice(field.lastIndexOf('.') + 1);
      report.problem(
        'list.duplicate',
        `${field}[${index}]`,
        `${what} ${quote(value)} is already listed at ${listName}[${first}]; list it once`,
      );
      continue;
    }
    seen.set(value, index);
  }
  return [...seen.keys()];
}

function parseSelection(source: SourceObject, context: AdContext, kind: string): Selection {
  const { spec, report } = source;
  const rawPoolNames = readList(spec, 'ipAddressPools');
  const rawPoolSelectors = readList(spec, 'ipAddressPoolSelectors');
  const poolNames = distinctNames(rawPoolNames, 'spec.ipAddressPools', 'IPAddressPool', report);
  const poolSelectors = parseSelectorList(rawPoolSelectors, 'spec.ipAddressPoolSelectors', report).selectors;
  stringEntries(rawPoolNames).forEach(({ index, value }) => {
    if (!context.poolsByName.has(value)) {
      report.warning(
        'ad.poolMissing',
        `spec.ipAddressPools[${index}]`,
        `IPAddressPool ${quote(value)} does not exist (yet); this ${kind} announces nothing for it until it does`,
      );
    }
  });
  const everyPool = rawPoolNames.length === 0 && rawPoolSelectors.length === 0;
  const selected = new Set<ParsedPool>();
  for (const name of poolNames) {
    const pool = context.poolsByName.get(name);
    if (pool) selected.add(pool);
  }
  if (everyPool || poolSelectors.length > 0) {
    for (const pool of context.pools) {
      if (everyPool || selectsAny(poolSelectors, pool.source.labels)) selected.add(pool);
    }
  }
  const pools = [...selected];
  const nodeList = parseSelectorList(readList(spec, 'nodeSelectors'), 'spec.nodeSelectors', report);
  const serviceSelectors = parseSelectorList(
    readList(spec, 'serviceSelectors'),
    'spec.serviceSelectors',
    report,
  ).selectors;
  return {
    pools: [...pools].sort((a, b) => (a.source.name < b.source.name ? -1 : 1)),
    nodeSelectors: nodeList.selectors,
    nodes: context.nodes.select(nodeList.selectors),
    nodesComplete: nodeList.complete,
    serviceSelectors,
  };
}

export function parseL2Advertisement(source: SourceObject, context: AdContext): ParsedL2Ad {
  const selection = parseSelection(source, context, 'L2Advertisement');
  const interfaces = stringEntries(readList(source.spec, 'interfaces')).map(({ value }) => value);
  const preferredNodes: PreferredNodes[] = [];
  readList(source.spec, 'preferredNodeSelectors').forEach((item, index) => {
    const entry = asRecord(item);
    const weight = readInteger(entry, 'weight');
    const field = `spec.preferredNodeSelectors[${index}]`;
    const selector = parseSelector(readField(entry, 'preference'), `${field}.preference`, source.report);
    if (weight === undefined || weight < 1 || weight > 100) {
      if (weight !== undefined)
        source.report.problem(
          'ad.weightRange',
          `${field}.weight`,
          `must be between 1 and 100, got ${weight}`,
        );
      return;
    }
    if (selector) preferredNodes.push({ weight, selector });
  });
  return {
    ...selection,
    source,
    ad: {
      name: source.name,
      pools: selection.pools.map((pool) => pool.source.name),
      nodeSelectors: selection.nodeSelectors,
      nodes: selection.nodes,
      interfaces,
      serviceSelectors: selection.serviceSelectors,
      preferredNodes,
    },
  };
}

function parseAggregation(
  source: SourceObject,
  field: 'aggregationLength' | 'aggregationLengthV6',
  bits: 32 | 128,
): number {
  const value = readInteger(source.spec, field);
  if (value === undefined) return bits;
  if (value < 1 || value > bits) {
    source.report.problem(
      'ad.aggregationLengthRange',
      `spec.${field}`,
      `must be between 1 and ${bits} (the IPv${bits === 32 ? 4 : 6} prefix length announced), got ${value}`,
    );
    return bits;
  }
  return value;
}

function resolveCommunities(
  source: SourceObject,
  aliases: ReadonlyMap<string, CommunityAlias>,
): BgpCommunity[] {
  const { report } = source;
  const raw = readList(source.spec, 'communities');
  const communities: BgpCommunity[] = [];
  const seen = new Map<string, number>();
  for (const { index, value } of stringEntries(raw)) {
    const field = `spec.communities[${index}]`;
    const first = seen.get(value);
    if (first !== undefined) {
      report.problem(
        'list.duplicate',
        field,
        `${quote(value)} is already listed at communities[${first}]; list each community once`,
      );
      continue;
    }
    seen.set(value, index);
    const parsed = parseCommunity(value);
    if (parsed.ok) {
      communities.push(parsed.community);
      continue;
    }
    if (parsed.error === 'value') {
      report.problem('community.invalid', field, parsed.reason);
      continue;
    }
    const alias = aliases.get(value);
    if (alias) {
      if (alias.community) communities.push(alias.community);
      continue;
    }
    report.problem(
      'community.unknownAlias',
      field,
      `${quote(value)} is neither a community value nor an alias defined by a Community object; define the alias in a Community, or write the value itself (64512:100 or large:64512:1:2)`,
      { transient: true },
    );
  }
  if (raw.length > maxCommunities) {
    report.problem(
      'ad.tooManyCommunities',
      'spec.communities',
      `${raw.length} communities listed; FRR attaches at most ${maxCommunities} to a route, so split them across advertisements or drop some`,
    );
  }
  return communities;
}

export function parseBgpAdvertisement(source: SourceObject, context: AdContext): ParsedBgpAd {
  const { spec, report } = source;
  const selection = parseSelection(source, context, 'BGPAdvertisement');
  const aggregationLength = parseAggregation(source, 'aggregationLength', 32);
  const aggregationLengthV6 = parseAggregation(source, 'aggregationLengthV6', 128);
  if (selection.serviceSelectors.length > 0 && (aggregationLength !== 32 || aggregationLengthV6 !== 128)) {
    report.problem(
      'ad.aggregationWithServiceSelectors',
      'spec.serviceSelectors',
      `cannot be combined with aggregation (aggregationLength ${aggregationLength}, aggregationLengthV6 ${aggregationLengthV6}): an aggregated route covers Services the selectors leave out; remove serviceSelectors, or keep aggregationLength at 32 and aggregationLengthV6 at 128`,
    );
  }
  const rawPeers = readList(spec, 'peers');
  const peers = distinctNames(rawPeers, 'spec.peers', 'BGPPeer', report);
  stringEntries(rawPeers).forEach(({ index, value }) => {
    if (!context.peerNames.has(value)) {
      report.warning(
        'ad.peerMissing',
        `spec.peers[${index}]`,
        `BGPPeer ${quote(value)} does not exist (yet); nothing is announced to it until it does`,
      );
    }
  });
  const localPref = readInteger(spec, 'localPref') || undefined;
  return {
    ...selection,
    source,
    ad: {
      name: source.name,
      pools: selection.pools.map((pool) => pool.source.name),
      aggregationLength,
      aggregationLengthV6,
      ...(localPref !== undefined ? { localPref } : {}),
      communities: resolveCommunities(source, context.aliases),
      peers: [...peers].sort(),
      nodeSelectors: selection.nodeSelectors,
      nodes: selection.nodes,
      serviceSelectors: selection.serviceSelectors,
    },
  };
}
