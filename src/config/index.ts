/**
 * One validator for every semantic rule of MetalLB's configuration: CRs in, a typed Config or the list of
 * problems out. The admission webhook, the controller, the speaker and `metallb validate` all call
 * buildConfig, so a rule lives in exactly one place. It never throws, whatever the input.
 */
import type { V1Namespace, V1Node, V1Secret } from '@kubernetes/client-node';
import { apiKinds, perConfigInput, type ConfigInputKey, type ServedConfigObjects } from '../api/kinds.js';
import type { ObjectRef, Problem } from '../api/problem.js';
import {
  checkEchoWithIPv6,
  checkAggregation,
  checkIdenticalAdvertisements,
  checkLocalPreferences,
} from './advertisement-checks.js';
import {
  parseBgpAdvertisement,
  parseL2Advertisement,
  type AdContext,
  type ParsedBgpAd,
  type ParsedL2Ad,
} from './advertisements.js';
import { parseBfdProfile } from './bfd.js';
import { parseCommunityAliases, type CommunityAlias } from './communities.js';
import { checkFrrPeers } from './frr-cross-checks.js';
import { admitObjects, withoutSchemaRepeats, type SchemaFields, type SourceObject } from './objects.js';
import { NodeIndex } from './nodes.js';
import { checkOverlaps } from './overlaps.js';
import { indexSecrets } from './passwords.js';
import { parsePeer, type ParsedPeer } from './peers.js';
import { parsePool, type KnownObject, type ParsedPool } from './pools.js';
import { asRecord, readRecord, readString, readStringMap } from './read.js';
import { ProblemLog } from './report.js';
import type {
  BfdProfile,
  BgpAdvertisement,
  BgpCommunity,
  Config,
  L2Advertisement,
  Peer,
  Pool,
} from './types.js';

export type * from './types.js';
export { SecretText } from './secret-text.js';
export { checkStandalone } from './objects.js';

/**
 * An object as the caller has it: typed if it came through a client, a plain record if it came from an
 * admission request or a YAML file. Either way it is read defensively.
 */
export type Untrusted<T> = T | Readonly<Record<string, unknown>>;

/**
 * The objects of each configuration kind, keyed as the registry generated from api/ says (pools, peers, ...),
 * in any served version: an object in an older version (a v1beta1 BGPPeer) is read as its storage-version
 * equivalent.
 */
export type ConfigLists = {
  readonly [K in ConfigInputKey]?: readonly Untrusted<ServedConfigObjects[K]>[];
};

/**
 * Everything the rules look at. The lists are whatever the caller has (an informer cache, an admission
 * request plus fresh lists from the API server, YAML files); nothing in them is trusted to match its
 * declared type. Objects must carry metadata.namespace: callers fill it in from the admission request or a CLI default.
 */
export interface ConfigInput extends ConfigLists {
  /** Only those in metallbNamespace are used (BGP passwords). */
  readonly secrets?: readonly Untrusted<V1Secret>[];
  /** For nodeSelectors. Without any, node sets are judged from the selectors alone. */
  readonly nodes?: readonly Untrusted<V1Node>[];
  /** For serviceAllocation.namespaceSelectors. */
  readonly namespaces?: readonly Untrusted<V1Namespace>[];
  readonly metallbNamespace: string;
}

export type BuildResult =
  | { readonly ok: true; readonly config: Config; readonly warnings: readonly Problem[] }
  | {
      readonly ok: false;
      /** Each with its object and field; transient ones may resolve once referenced objects exist. */
      readonly problems: readonly Problem[];
      readonly warnings: readonly Problem[];
    };

/** Name and labels of cluster objects (Nodes, Namespaces), sorted by name, each name once. */
function knownObjects(list: unknown): KnownObject[] {
  const byName = new Map<string, KnownObject>();
  for (const item of Array.isArray(list) ? (list as unknown[]) : []) {
    const metadata = readRecord(asRecord(item), 'metadata');
    const name = readString(metadata, 'name');
    if (name && !byName.has(name)) byName.set(name, { name, labels: readStringMap(metadata, 'labels') });
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function byName<T extends { readonly name: string }>(items: Iterable<T>): Map<string, T> {
  return new Map(
    [...items]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((item) => [item.name, item]),
  );
}

export function buildConfig(input: ConfigInput): BuildResult {
  const given = (asRecord(input) ?? {}) as Partial<Record<keyof ConfigInput, unknown>>;
  const metallbNamespace = typeof given.metallbNamespace === 'string' ? given.metallbNamespace : '';
  const log = new ProblemLog();
  const schemaFields: SchemaFields = new Map();
  const refOrder = new Map<ObjectRef, number>();
  // In the registry's order, which is the order problems come out in.
  const sources = perConfigInput<Record<ConfigInputKey, SourceObject[]>>((key, kind) =>
    admitObjects(given[key], apiKinds[kind], metallbNamespace, log, schemaFields, refOrder),
  );
  const schemaProblems = new Set(log.problems);
  const nodes = new NodeIndex(knownObjects(given.nodes));
  const namespaces = knownObjects(given.namespaces);

  const bfdProfiles = byName(
    sources.bfdProfiles
      .map(parseBfdProfile)
      .filter((profile): profile is BfdProfile => profile !== undefined),
  );
  const bfdProfileNames = new Set(sources.bfdProfiles.map((source) => source.name));
  const aliases = parseCommunityAliases(sources.communities);
  const secrets = indexSecrets(given.secrets, metallbNamespace);
  const peers = sources.peers
    .map((source) => parsePeer(source, { bfdProfileNames, secrets, nodes, metallbNamespace }))
    .filter((parsed): parsed is ParsedPeer => parsed !== undefined);
  const pools = sources.pools.map((source) => parsePool(source, namespaces));
  checkOverlaps(pools);

  const adContext: AdContext = {
    pools,
    poolsByName: new Map(pools.map((pool) => [pool.source.name, pool])),
    peerNames: new Set(sources.peers.map((source) => source.name)),
    aliases,
    nodes,
  };
  const l2Ads = sources.l2Advertisements.map((source) => parseL2Advertisement(source, adContext));
  const bgpAds = sources.bgpAdvertisements.map((source) => parseBgpAdvertisement(source, adContext));
  checkAggregation(bgpAds);
  checkIdenticalAdvertisements(bgpAds);
  checkLocalPreferences(bgpAds, { nodesKnown: nodes.known });
  checkEchoWithIPv6(bgpAds, peers, bfdProfiles);
  checkFrrPeers(peers, nodes.known);

  // Grouped by object in input order; within an object, schema problems first, then rules in the order run.
  const rank = (problem: Problem): number => refOrder.get(problem.object) ?? refOrder.size;
  const byObject = (a: Problem, b: Problem): number => rank(a) - rank(b);
  const problems = withoutSchemaRepeats(log.problems, schemaFields, schemaProblems).sort(byObject);
  const warnings = withoutSchemaRepeats(log.warnings, schemaFields, schemaProblems).sort(byObject);
  if (problems.length > 0) return { ok: false, problems, warnings };
  return {
    ok: true,
    config: assemble(pools, peers, bfdProfiles, aliases, l2Ads, bgpAds),
    warnings,
  };
}

/** For each pool, the names of the advertisements that select it. */
function namesByPool(ads: readonly (ParsedL2Ad | ParsedBgpAd)[]): Map<ParsedPool, string[]> {
  const names = new Map<ParsedPool, string[]>();
  for (const parsed of ads) {
    for (const pool of parsed.pools) {
      const list = names.get(pool);
      if (list) list.push(parsed.ad.name);
      else names.set(pool, [parsed.ad.name]);
    }
  }
  return names;
}

function assemble(
  pools: readonly ParsedPool[],
  peers: readonly ParsedPeer[],
  bfdProfiles: ReadonlyMap<string, BfdProfile>,
  aliases: ReturnType<typeof parseCommunityAliases>,
  l2Ads: readonly ParsedL2Ad[],
  bgpAds: readonly ParsedBgpAd[],
): Config {
  const l2ByPool = namesByPool(l2Ads);
  const bgpByPool = namesByPool(bgpAds);
  const assembledPools: Pool[] = pools.map((parsed) => ({
    name: parsed.source.name,
    labels: parsed.source.labels,
    entries: parsed.entries.map(({ text, kind, range, cidrs }) => ({ text, kind, range, cidrs })),
    families: parsed.families,
    autoAssign: parsed.autoAssign,
    avoidBuggyIPs: parsed.avoidBuggyIPs,
    ...(parsed.serviceAllocation ? { serviceAllocation: parsed.serviceAllocation } : {}),
    l2Advertisements: (l2ByPool.get(parsed) ?? []).sort(),
    bgpAdvertisements: (bgpByPool.get(parsed) ?? []).sort(),
  }));
  const communityAliases = new Map<string, BgpCommunity>(
    [...aliases.entries()]
      .filter(
        (entry): entry is [string, CommunityAlias & { community: BgpCommunity }] =>
          entry[1].community !== undefined,
      )
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, alias]) => [name, alias.community]),
  );
  return {
    pools: byName(assembledPools),
    peers: byName<Peer>(peers.map((parsed) => parsed.peer)),
    bfdProfiles,
    communityAliases,
    l2Advertisements: byName<L2Advertisement>(l2Ads.map((parsed) => parsed.ad)),
    bgpAdvertisements: byName<BgpAdvertisement>(bgpAds.map((parsed) => parsed.ad)),
  };
}
