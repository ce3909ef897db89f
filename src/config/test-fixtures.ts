/** Builders for the config tests: small, typed objects in documentation ranges and private ASNs. */
import { expect } from '@jest/globals';
import type { V1Namespace, V1Node, V1Secret } from '@kubernetes/client-node';
import type {
  BFDProfile,
  BFDProfileSpec,
  BGPAdvertisement,
  BGPAdvertisementSpec,
  BGPPeer,
  BGPPeerSpec,
  Community,
  CommunitySpec,
  IPAddressPool,
  IPAddressPoolSpec,
  L2Advertisement,
  L2AdvertisementSpec,
} from '../api/types.generated.js';
import { describeObject, formatProblem, type Problem } from '../api/problem.js';
import { buildConfig, type Config, type ConfigInput } from './index.js';

export const ns = 'metallb-system';

interface Meta {
  readonly labels?: Record<string, string>;
  readonly namespace?: string;
}

function metadata(name: string, meta: Meta = {}) {
  return { name, namespace: meta.namespace ?? ns, ...(meta.labels ? { labels: meta.labels } : {}) };
}

export function pool(name: string, spec: Partial<IPAddressPoolSpec>, meta?: Meta): IPAddressPool {
  return {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: metadata(name, meta),
    spec: { addresses: [], ...spec },
  };
}

export function peer(name: string, spec: Partial<BGPPeerSpec>, meta?: Meta): BGPPeer {
  return {
    apiVersion: 'metallb.io/v1beta2',
    kind: 'BGPPeer',
    metadata: metadata(name, meta),
    spec: { myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.1', ...spec },
  };
}

export function bgpAd(name: string, spec: BGPAdvertisementSpec, meta?: Meta): BGPAdvertisement {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'BGPAdvertisement', metadata: metadata(name, meta), spec };
}

export function l2Ad(name: string, spec: L2AdvertisementSpec, meta?: Meta): L2Advertisement {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: metadata(name, meta), spec };
}

export function bfd(name: string, spec: BFDProfileSpec, meta?: Meta): BFDProfile {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'BFDProfile', metadata: metadata(name, meta), spec };
}

export function community(name: string, spec: CommunitySpec, meta?: Meta): Community {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'Community', metadata: metadata(name, meta), spec };
}

export function secret(name: string, fields: Partial<V1Secret>, meta?: Meta): V1Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: metadata(name, meta), ...fields };
}

export function node(name: string, labels: Record<string, string> = {}): V1Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } };
}

export function namespace(name: string, labels: Record<string, string> = {}): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export type Input = Omit<ConfigInput, 'metallbNamespace'>;

/** Problems as the CLI prints them: Kind/namespace/name: field: message. For the wording tests. */
export function problemsOf(input: Input): string[] {
  const result = buildConfig({ metallbNamespace: ns, ...input });
  return result.ok ? [] : result.problems.map(formatProblem);
}

export function warningsOf(input: Input): string[] {
  return buildConfig({ metallbNamespace: ns, ...input }).warnings.map(formatProblem);
}

/** A problem as the rule tests pin it: code, object and field path (the wording is pinned separately). */
export function findingOf(problem: Problem): string {
  return `${problem.code} ${describeObject(problem.object)} ${problem.field}`.trimEnd();
}

/** The problems of an input as findings: code, object, field path. */
export function findingsOf(input: Input): string[] {
  const result = buildConfig({ metallbNamespace: ns, ...input });
  return result.ok ? [] : result.problems.map(findingOf);
}

export function warningFindingsOf(input: Input): string[] {
  return buildConfig({ metallbNamespace: ns, ...input }).warnings.map(findingOf);
}

export function transientOf(input: Input): boolean[] {
  const result = buildConfig({ metallbNamespace: ns, ...input });
  return result.ok ? [] : result.problems.map((problem) => problem.transient === true);
}

/** The config of an input that must be valid; fails the test with the problems otherwise. */
export function configOf(input: Input): Config {
  const result = buildConfig({ metallbNamespace: ns, ...input });
  if (!result.ok) expect(result.problems.map(formatProblem)).toEqual([]);
  if (!result.ok) throw new Error('unreachable');
  return result.config;
}
