/**
 * The configuration of MetalLB before v0.13 — one ConfigMap whose `config` key holds peers, pools, BGP
 * community aliases and BFD profiles — turned into the custom resources that replaced it. Pure: the
 * ConfigMap (or its `config` text) in, objects plus problems and warnings out; nothing throws.
 *
 * Only the translation is judged here (shapes, types, names, keys nobody reads). Whether the result is a
 * valid configuration (overlapping pools, bad CIDRs, unknown community aliases) is for buildConfig, which the
 * CLI runs on the output, so each rule keeps living in one place.
 */
import { sortIntoConfigLists, type ConfigKind, type StoredApiObjects } from '../api/kinds.js';
import type { ObjectRef, Problem } from '../api/problem.js';
import type { ConfigInput } from '../config/index.js';
import type {
  BFDProfile,
  BFDProfileSpec,
  BGPAdvertisement,
  BGPAdvertisementSpec,
  BGPPeer,
  BGPPeerSpec,
  Community,
  IPAddressPool,
  IPAddressPoolSpec,
  L2Advertisement,
  LabelSelector,
} from '../api/types.generated.js';
import {
  Findings,
  LegacyReader,
  childPath,
  isNullValue,
  itemPath,
  type LegacyObject,
} from './legacy-reader.js';
import { parseLegacyYaml, type LegacyNode } from './legacy-yaml.js';
import { PeerNamer, bgpAdvertisementName, l2AdvertisementName, objectNameProblem } from './names.js';

export const defaultNamespace = 'metallb-system';
/** The one Community that holds every legacy bgp-communities alias. */
export const migratedCommunityName = 'migrated-communities';

/** An object of any configuration kind, in its storage version. */
export type MigratedObject = StoredApiObjects[ConfigKind];

export interface Migration {
  /** The ConfigMap (or file) the problems and warnings are about. */
  readonly source: ObjectRef;
  readonly namespace: string;
  /**
   * In an order `kubectl apply` can take in one pass: BFDProfiles and the Community before the peers and
   * advertisements that name them, pools before their advertisements. Incomplete whenever there are
   * problems: whatever could not be read is missing, so such output must not be applied.
   */
  readonly objects: readonly MigratedObject[];
  /** Input the legacy controller would have refused, or that has no equivalent; each with its path. */
  readonly problems: readonly Problem[];
  /** Keys that were not migrated, and advice (inline passwords). */
  readonly warnings: readonly Problem[];
}

export interface MigrateOptions {
  /** Where the objects go; default: the ConfigMap's namespace, then metallb-system. */
  readonly namespace?: string | undefined;
}

export interface MigrateTextOptions extends MigrateOptions {
  /** What problems are reported against, e.g. the file the text came from. */
  readonly source?: ObjectRef;
}

type Fields = Readonly<Record<string, unknown>>;

function asRecord(value: unknown): Fields | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : undefined;
}

function ownString(record: Fields | undefined, key: string): string | undefined {
  const value = record && Object.hasOwn(record, key) ? record[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** A v1 ConfigMap whose data has a `config` key: what MetalLB before v0.13 read its configuration from. */
export function isLegacyConfigMap(object: unknown): boolean {
  const record = asRecord(object);
  const data = asRecord(record?.data);
  return (
    record?.apiVersion === 'v1' &&
    record.kind === 'ConfigMap' &&
    data !== undefined &&
    Object.hasOwn(data, 'config')
  );
}

/** The keys of the legacy `config` document, for telling a bare config file from other YAML. */
export const legacyTopLevelKeys = ['peers', 'bgp-communities', 'address-pools', 'bfd-profiles'] as const;

export function migrateLegacyConfigMap(configMap: unknown, options: MigrateOptions = {}): Migration {
  const record = asRecord(configMap);
  const metadata = asRecord(record?.metadata);
  const ownNamespace = ownString(metadata, 'namespace');
  const source: ObjectRef = { kind: 'ConfigMap', namespace: ownNamespace, name: ownString(metadata, 'name') };
  const namespace = options.namespace || ownNamespace || defaultNamespace;
  const findings = new Findings(source);
  const done = (objects: readonly MigratedObject[] = []): Migration => ({
    source,
    namespace,
    objects,
    problems: findings.problems,
    warnings: findings.warnings,
  });

  if (!record) {
    findings.problem('legacy.notConfigMap', '', 'must be a ConfigMap object');
    return done();
  }
  if (record.apiVersion !== 'v1' || record.kind !== 'ConfigMap') {
    findings.problem(
      'legacy.notConfigMap',
      'kind',
      'must be a v1 ConfigMap holding the legacy configuration in data.config',
    );
    return done();
  }
  const data = asRecord(record.data);
  const text = data && Object.hasOwn(data, 'config') ? data.config : undefined;
  for (const key of Object.keys(data ?? {})) {
    if (key !== 'config') {
      findings.warning(
        'legacy.ignoredKey',
        childPath('data', key),
        'MetalLB read only data.config; this key was not migrated',
      );
    }
  }
  if (typeof text !== 'string') {
    findings.problem(
      'legacy.configMissing',
      'data.config',
      text === undefined ? 'is required: it holds the legacy configuration' : 'must be a string of YAML',
    );
    return done();
  }
  return done(migrateText(text, 'data.config', namespace, findings));
}

/** The text of a `config` key on its own (paths are then relative to it: address-pools[0].name). */
export function migrateLegacyConfig(text: string, options: MigrateTextOptions = {}): Migration {
  const source = options.source ?? { kind: 'legacy config' };
  const namespace = options.namespace || defaultNamespace;
  const findings = new Findings(source);
  const objects = migrateText(text, '', namespace, findings);
  return { source, namespace, objects, problems: findings.problems, warnings: findings.warnings };
}

function migrateText(text: string, base: string, namespace: string, findings: Findings): MigratedObject[] {
  const parsed = parseLegacyYaml(text);
  if (!parsed.ok) {
    findings.problem('legacy.yaml', base, parsed.error);
    return [];
  }
  for (const warning of parsed.warnings) findings.warning('legacy.yaml', base, warning);
  return new Translation(new LegacyReader(findings), namespace).run(parsed.root, base);
}

const keys = {
  pool: ['name', 'protocol', 'addresses', 'auto-assign', 'avoid-buggy-ips', 'bgp-advertisements'],
  bgpAdvertisement: ['aggregation-length', 'aggregation-length-v6', 'localpref', 'communities'],
  peer: [
    'my-asn',
    'peer-asn',
    'peer-address',
    'peer-port',
    'source-address',
    'hold-time',
    'keepalive-time',
    'router-id',
    'password',
    'bfd-profile',
    'ebgp-multihop',
    'node-selectors',
  ],
  nodeSelector: ['match-labels', 'match-expressions'],
  requirement: ['key', 'operator', 'values'],
  bfdProfile: [
    'name',
    'receive-interval',
    'transmit-interval',
    'detect-multiplier',
    'echo-interval',
    'echo-mode',
    'passive-mode',
    'minimum-ttl',
  ],
} as const;

/** Legacy selectors went through Kubernetes' label parser, which took operators in any case. */
const operators: Readonly<Record<string, string>> = {
  in: 'In',
  notin: 'NotIn',
  exists: 'Exists',
  doesnotexist: 'DoesNotExist',
};

const protocols = ['layer2', 'bgp'] as const;
type Protocol = (typeof protocols)[number];

class Translation {
  private readonly bfdProfiles: BFDProfile[] = [];
  private readonly communities: Community[] = [];
  private readonly pools: IPAddressPool[] = [];
  private readonly peers: BGPPeer[] = [];
  private readonly l2Advertisements: L2Advertisement[] = [];
  private readonly bgpAdvertisements: BGPAdvertisement[] = [];

  constructor(
    private readonly reader: LegacyReader,
    private readonly namespace: string,
  ) {}

  private get findings(): Findings {
    return this.reader.findings;
  }

  run(root: LegacyNode | undefined, base: string): MigratedObject[] {
    const config = this.reader.object(root, base, legacyTopLevelKeys);
    if (config) {
      this.migrateBfdProfiles(config);
      this.migrateCommunities(config);
      this.migratePools(config);
      this.migratePeers(config);
    }
    const objects = [
      ...this.bfdProfiles,
      ...this.communities,
      ...this.pools,
      ...this.peers,
      ...this.l2Advertisements,
      ...this.bgpAdvertisements,
    ];
    if (objects.length === 0 && this.findings.problems.length === 0) {
      this.findings.warning(
        'legacy.empty',
        base,
        'holds no address pools, peers or BFD profiles; there is nothing to migrate',
      );
    }
    return objects;
  }

  private metadata(name: string): { name: string; namespace: string } {
    return { name, namespace: this.namespace };
  }

  /** A name the legacy config gave (pool, BFD profile): kept as is, so references to it keep working. */
  private checkGivenName(name: string, path: string, seen: Map<string, string>, what: string): boolean {
    const problem = objectNameProblem(name);
    if (problem) {
      this.findings.problem(
        'legacy.invalidName',
        path,
        `${JSON.stringify(name)} cannot be the name of a Kubernetes object: it ${problem}; rename the ${what} ` +
          '(and whatever refers to it) before migrating',
      );
      return false;
    }
    const first = seen.get(name);
    if (first !== undefined) {
      this.findings.problem(
        'legacy.duplicateName',
        path,
        `${what} ${JSON.stringify(name)} is already defined at ${first}`,
      );
      return false;
    }
    seen.set(name, path);
    return true;
  }

  private checkDerivedName(name: string, path: string): boolean {
    const problem = objectNameProblem(name);
    if (!problem) return true;
    this.findings.problem(
      'legacy.invalidName',
      path,
      `the derived object name ${JSON.stringify(name)} ${problem}; shorten the name`,
    );
    return false;
  }

  private migrateBfdProfiles(config: LegacyObject): void {
    const seen = new Map<string, string>();
    config.list('bfd-profiles').forEach((node, index) => {
      const path = itemPath(config.pathOf('bfd-profiles'), index);
      const profile = this.reader.item(node, path, keys.bfdProfile);
      if (!profile) return;
      const name = profile.string('name', { required: true });
      const spec: BFDProfileSpec = {};
      const integers = [
        ['receive-interval', 'receiveInterval'],
        ['transmit-interval', 'transmitInterval'],
        ['detect-multiplier', 'detectMultiplier'],
        ['echo-interval', 'echoInterval'],
      ] as const;
      for (const [legacy, key] of integers) {
        const value = profile.integer(legacy);
        if (value !== undefined) spec[key] = value;
      }
      const echoMode = profile.boolean('echo-mode');
      if (echoMode !== undefined) spec.echoMode = echoMode;
      const passiveMode = profile.boolean('passive-mode');
      if (passiveMode !== undefined) spec.passiveMode = passiveMode;
      const minimumTtl = profile.integer('minimum-ttl');
      if (minimumTtl !== undefined) spec.minimumTtl = minimumTtl;
      if (name === undefined || !this.checkGivenName(name, profile.pathOf('name'), seen, 'BFD profile'))
        return;
      this.bfdProfiles.push({
        apiVersion: 'metallb.io/v1beta1',
        kind: 'BFDProfile',
        metadata: this.metadata(name),
        spec,
      });
    });
  }

  private migrateCommunities(config: LegacyObject): void {
    const path = config.pathOf('bgp-communities');
    const aliases = this.reader.map(
      config.node('bgp-communities'),
      path,
      'a mapping of alias names to communities',
    );
    if (!aliases) return;
    const entries: { name: string; value: string }[] = [];
    for (const [name, node] of aliases.entries) {
      const value = this.reader.string(node, childPath(path, name));
      if (value === undefined) {
        if (!this.reader.reportedAt(childPath(path, name))) {
          this.findings.problem(
            'legacy.invalidCommunity',
            childPath(path, name),
            'must be a community value such as 65535:65282',
          );
        }
        continue;
      }
      entries.push({ name, value });
    }
    if (entries.length === 0) return;
    this.communities.push({
      apiVersion: 'metallb.io/v1beta1',
      kind: 'Community',
      metadata: this.metadata(migratedCommunityName),
      spec: { communities: entries },
    });
  }

  private migratePools(config: LegacyObject): void {
    const seen = new Map<string, string>();
    config.list('address-pools').forEach((node, index) => {
      const path = itemPath(config.pathOf('address-pools'), index);
      const pool = this.reader.item(node, path, keys.pool);
      if (!pool) return;
      const name = pool.string('name', { required: true });
      const protocol = this.protocol(pool);
      const addresses = pool.strings('addresses');
      if (addresses === undefined && !this.reader.reportedAt(pool.pathOf('addresses'))) {
        this.findings.problem(
          'field.required',
          pool.pathOf('addresses'),
          'is required: the CIDRs and ranges of the pool',
        );
      }
      const autoAssign = pool.boolean('auto-assign');
      const avoidBuggyIPs = pool.boolean('avoid-buggy-ips');
      const advertisements = this.bgpAdvertisementSpecs(pool);
      if (protocol === 'layer2' && pool.has('bgp-advertisements') && advertisements.length > 0) {
        this.findings.problem(
          'legacy.bgpAdsOnLayer2',
          pool.pathOf('bgp-advertisements'),
          'only bgp pools have BGP advertisements; remove them or set protocol: bgp',
        );
      }
      if (name === undefined || !this.checkGivenName(name, pool.pathOf('name'), seen, 'address pool')) return;

      const spec: IPAddressPoolSpec = { addresses: addresses ?? [] };
      if (autoAssign !== undefined) spec.autoAssign = autoAssign;
      if (avoidBuggyIPs !== undefined) spec.avoidBuggyIPs = avoidBuggyIPs;
      this.pools.push({
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: this.metadata(name),
        spec,
      });

      if (protocol === 'layer2') {
        const adName = l2AdvertisementName(name);
        if (!this.checkDerivedName(adName, pool.pathOf('name'))) return;
        this.l2Advertisements.push({
          apiVersion: 'metallb.io/v1beta1',
          kind: 'L2Advertisement',
          metadata: this.metadata(adName),
          spec: { ipAddressPools: [name] },
        });
      } else if (protocol === 'bgp') {
        // Without advertisements the legacy controller announced each address as a /32 or /128 with no
        // attributes, which is exactly what an advertisement with only the pool says today.
        const specs = advertisements.length > 0 ? advertisements : [{}];
        specs.forEach((attributes, adIndex) => {
          const adName = bgpAdvertisementName(name, adIndex, specs.length);
          if (!this.checkDerivedName(adName, pool.pathOf('name'))) return;
          this.bgpAdvertisements.push({
            apiVersion: 'metallb.io/v1beta1',
            kind: 'BGPAdvertisement',
            metadata: this.metadata(adName),
            spec: { ipAddressPools: [name], ...attributes },
          });
        });
      }
    });
  }

  private protocol(pool: LegacyObject): Protocol | undefined {
    const protocol = pool.string('protocol', { required: true });
    if (protocol === undefined) return undefined;
    if ((protocols as readonly string[]).includes(protocol)) return protocol as Protocol;
    const hint = protocol === 'arp' || protocol === 'ndp' ? ' (layer2 replaced arp and ndp)' : '';
    this.findings.problem(
      'legacy.invalidProtocol',
      pool.pathOf('protocol'),
      `${JSON.stringify(protocol)} is not a protocol; use layer2 or bgp${hint}`,
    );
    return undefined;
  }

  private bgpAdvertisementSpecs(pool: LegacyObject): Omit<BGPAdvertisementSpec, 'ipAddressPools'>[] {
    const specs: Omit<BGPAdvertisementSpec, 'ipAddressPools'>[] = [];
    pool.list('bgp-advertisements').forEach((node, index) => {
      const path = itemPath(pool.pathOf('bgp-advertisements'), index);
      const ad = this.reader.object(node, path, keys.bgpAdvertisement);
      const spec: Omit<BGPAdvertisementSpec, 'ipAddressPools'> = {};
      if (ad) {
        const aggregationLength = ad.integer('aggregation-length');
        if (aggregationLength !== undefined) spec.aggregationLength = aggregationLength;
        const aggregationLengthV6 = ad.integer('aggregation-length-v6');
        if (aggregationLengthV6 !== undefined) spec.aggregationLengthV6 = aggregationLengthV6;
        const localPref = ad.integer('localpref');
        if (localPref !== undefined) spec.localPref = localPref;
        // Aliases stay names: the Community holding them is migrated too, and literals pass as they are.
        const communities = ad.strings('communities');
        if (communities !== undefined && communities.length > 0) spec.communities = communities;
      } else if (!isNullValue(node)) {
        return;
      }
      // `- {}` and an empty item were legal: an advertisement with every default.
      specs.push(spec);
    });
    return specs;
  }

  private migratePeers(config: LegacyObject): void {
    const namer = new PeerNamer();
    config.list('peers').forEach((node, index) => {
      const path = itemPath(config.pathOf('peers'), index);
      const peer = this.reader.item(node, path, keys.peer);
      if (!peer) return;
      const myASN = peer.integer('my-asn', { required: true });
      const peerASN = peer.integer('peer-asn', { required: true });
      const peerAddress = peer.string('peer-address', { required: true });
      const peerPort = peer.integer('peer-port');
      const sourceAddress = peer.string('source-address');
      const holdTime = this.duration(peer, 'hold-time');
      const keepaliveTime = this.duration(peer, 'keepalive-time');
      const routerID = peer.string('router-id');
      const password = peer.string('password', { secret: true });
      const bfdProfile = peer.string('bfd-profile');
      const ebgpMultiHop = peer.boolean('ebgp-multihop');
      const nodeSelectors = this.nodeSelectors(peer);
      const name = namer.name(peerAddress, index + 1);
      if (myASN === undefined || peerASN === undefined || peerAddress === undefined) return;

      const spec: BGPPeerSpec = { myASN, peerASN, peerAddress };
      if (peerPort !== undefined) spec.peerPort = peerPort;
      if (sourceAddress !== undefined) spec.sourceAddress = sourceAddress;
      if (holdTime !== undefined) spec.holdTime = holdTime;
      if (keepaliveTime !== undefined) spec.keepaliveTime = keepaliveTime;
      if (routerID !== undefined) spec.routerID = routerID;
      if (password !== undefined) {
        spec.password = password;
        this.findings.warning(
          'legacy.inlinePassword',
          peer.pathOf('password'),
          `the password stays inline in BGPPeer ${this.namespace}/${name} spec.password, readable by anyone ` +
            'who can read BGPPeers; put it in a Secret of type kubernetes.io/basic-auth (key "password") and ' +
            'set spec.passwordSecret instead',
        );
      }
      if (bfdProfile !== undefined) spec.bfdProfile = bfdProfile;
      if (ebgpMultiHop !== undefined) spec.ebgpMultiHop = ebgpMultiHop;
      if (nodeSelectors.length > 0) spec.nodeSelectors = nodeSelectors;
      this.peers.push({
        apiVersion: 'metallb.io/v1beta2',
        kind: 'BGPPeer',
        metadata: this.metadata(name),
        spec,
      });
    });
  }

  /** A Go duration string; a bare number, which older examples used, is taken as seconds with a warning. */
  private duration(peer: LegacyObject, key: string): string | undefined {
    const node = peer.node(key);
    if (
      node?.kind === 'scalar' &&
      !node.quoted &&
      typeof node.value === 'number' &&
      /^\d+$/.test(node.text)
    ) {
      const converted = `${node.value}s`;
      this.findings.warning(
        'legacy.durationUnit',
        peer.pathOf(key),
        `${node.text} has no unit; migrated as ${converted} (durations are written like 90s or 1m30s)`,
      );
      return converted;
    }
    return peer.string(key);
  }

  private nodeSelectors(peer: LegacyObject): LabelSelector[] {
    const selectors: LabelSelector[] = [];
    peer.list('node-selectors').forEach((node, index) => {
      const path = itemPath(peer.pathOf('node-selectors'), index);
      const selector = this.reader.object(node, path, keys.nodeSelector);
      const out: LabelSelector = {};
      if (selector) {
        const matchLabels = selector.stringMap('match-labels');
        if (matchLabels && Object.keys(matchLabels).length > 0) out.matchLabels = matchLabels;
        const matchExpressions = selector
          .list('match-expressions')
          .map((item, requirementIndex) =>
            this.requirement(item, itemPath(selector.pathOf('match-expressions'), requirementIndex)),
          )
          .filter((requirement) => requirement !== undefined);
        if (matchExpressions.length > 0) out.matchExpressions = matchExpressions;
      } else if (!isNullValue(node)) {
        return;
      }
      // An empty selector matched every node, and still does.
      selectors.push(out);
    });
    return selectors;
  }

  private requirement(
    node: LegacyNode,
    path: string,
  ): NonNullable<LabelSelector['matchExpressions']>[number] | undefined {
    const requirement = this.reader.item(node, path, keys.requirement);
    if (!requirement) return undefined;
    const key = requirement.string('key', { required: true });
    const operatorText = requirement.string('operator', { required: true });
    const values = requirement.strings('values');
    const operator = operatorText === undefined ? undefined : operators[operatorText.toLowerCase()];
    if (operatorText !== undefined && operator === undefined) {
      this.findings.problem(
        'legacy.invalidOperator',
        requirement.pathOf('operator'),
        `${JSON.stringify(operatorText)} has no label selector equivalent; use In, NotIn, Exists or DoesNotExist`,
      );
    }
    if (key === undefined || operator === undefined) return undefined;
    return { key, operator, ...(values && values.length > 0 ? { values } : {}) };
  }
}

/** The migrated objects as buildConfig takes them, judged in the namespace they were placed in. */
export function configInputOf(migration: Pick<Migration, 'objects' | 'namespace'>): ConfigInput {
  return {
    ...sortIntoConfigLists(migration.objects),
    metallbNamespace: migration.namespace,
  };
}
