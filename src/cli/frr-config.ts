/**
 * `metallb frr-config`: prints, offline, the frr.conf the speaker of one node would apply, from the same
 * YAML a cluster would hold: MetalLB objects plus, optionally, the Services, EndpointSlices, Nodes and
 * Secrets they work with. Services are taken with the status.loadBalancer the controller wrote.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { Command } from './command.js';
import { readManifests } from '../manifests/documents.js';
import { formatProblem } from '../api/problem.js';
import { buildConfig, type ConfigInput } from '../config/index.js';
import { planBgp, planNodeFromObject, type PlanNode, type ServiceNotice } from '../speaker/plan/index.js';
import { renderFrrConfig } from '../speaker/bgp/frr-config.js';

const defaultNamespace = 'metallb-system';

type ConfigLists = Exclude<keyof ConfigInput, 'metallbNamespace'>;

/** kind → where it goes, for the kinds this command reads; apiVersion prefix (group) must match too. */
const readKinds: Readonly<
  Record<string, { group: string; list: ConfigLists | 'services' | 'endpointSlices' }>
> = {
  IPAddressPool: { group: 'metallb.io/', list: 'pools' },
  L2Advertisement: { group: 'metallb.io/', list: 'l2Advertisements' },
  BGPAdvertisement: { group: 'metallb.io/', list: 'bgpAdvertisements' },
  BGPPeer: { group: 'metallb.io/', list: 'peers' },
  BFDProfile: { group: 'metallb.io/', list: 'bfdProfiles' },
  Community: { group: 'metallb.io/', list: 'communities' },
  Secret: { group: 'v1', list: 'secrets' },
  Node: { group: 'v1', list: 'nodes' },
  Namespace: { group: 'v1', list: 'namespaces' },
  Service: { group: 'v1', list: 'services' },
  EndpointSlice: { group: 'discovery.k8s.io/', list: 'endpointSlices' },
};

/** Namespaced kinds without a namespace land in the command's namespace, as with kubectl apply -n. */
const namespaced = new Set([
  'pools',
  'l2Advertisements',
  'bgpAdvertisements',
  'peers',
  'bfdProfiles',
  'communities',
  'secrets',
]);

function groupMatches(apiVersion: unknown, group: string): boolean {
  if (typeof apiVersion !== 'string') return false;
  return group === 'v1' ? apiVersion === 'v1' : apiVersion.startsWith(group);
}

function inNamespace(object: Record<string, unknown>, namespace: string): Record<string, unknown> {
  const metadata = object.metadata;
  if (metadata === undefined) return { ...object, metadata: { namespace } };
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return object;
  const current = (metadata as Record<string, unknown>).namespace;
  if (current !== undefined && current !== '') return object;
  return { ...object, metadata: { ...metadata, namespace } };
}

/** Services and slices without a namespace are in "default", as kubectl would put them. */
function inDefaultNamespace(object: Record<string, unknown>): Record<string, unknown> {
  return inNamespace(object, 'default');
}

function describeNotice(notice: ServiceNotice): string {
  return `Service/${notice.service.namespace}/${notice.service.name}`;
}

export const frrConfigCommand: Command = {
  name: 'frr-config',
  summary: "Print the frr.conf a node's speaker would apply, computed offline from YAML files.",
  usage: 'metallb frr-config -f PATH [-f PATH ...] --node NAME [--namespace NAMESPACE]',
  options: {
    filename: {
      type: 'string',
      short: 'f',
      multiple: true,
      valueName: 'PATH',
      description:
        'A YAML or JSON file, or a folder searched recursively: metallb.io objects, and optionally Services, EndpointSlices, Nodes and Secrets',
    },
    node: {
      type: 'string',
      valueName: 'NAME',
      description: 'The node to render for; taken from a Node in the files, or as a node without labels',
    },
    namespace: {
      type: 'string',
      short: 'n',
      valueName: 'NAMESPACE',
      defaultText: defaultNamespace,
      description:
        'The namespace MetalLB runs in; MetalLB objects and Secrets without a namespace are taken to be in it',
    },
    'load-balancer-class': {
      type: 'string',
      valueName: 'CLASS',
      description: 'Announce Services of this spec.loadBalancerClass; by default only Services without one',
    },
    'ignore-exclude-lb': {
      type: 'boolean',
      description:
        'Announce even if the node has the label node.kubernetes.io/exclude-from-external-load-balancers',
    },
    quiet: {
      type: 'boolean',
      short: 'q',
      description: 'Do not explain on stderr which Services and peers are left out',
    },
  },
  async run(values, positionals, io) {
    const paths = [...((values.filename as string[] | undefined) ?? []), ...positionals];
    const nodeName = typeof values.node === 'string' ? values.node.trim() : '';
    const namespace =
      typeof values.namespace === 'string' && values.namespace ? values.namespace : defaultNamespace;
    const lbClass =
      typeof values['load-balancer-class'] === 'string' ? values['load-balancer-class'] : undefined;
    if (paths.length === 0) {
      io.err('frr-config: give at least one file or folder with -f');
      return 2;
    }
    if (!nodeName) {
      io.err('frr-config: give the node to render for with --node NAME');
      return 2;
    }
    const { documents, unreadable } = readManifests(paths);
    if (unreadable.length > 0) {
      for (const message of unreadable) io.err(`unreadable: ${message}`);
      return 2;
    }

    const lists: Record<ConfigLists | 'services' | 'endpointSlices', unknown[]> = {
      pools: [],
      l2Advertisements: [],
      bgpAdvertisements: [],
      peers: [],
      bfdProfiles: [],
      communities: [],
      secrets: [],
      nodes: [],
      namespaces: [],
      services: [],
      endpointSlices: [],
    };
    for (const { object } of documents) {
      const target = typeof object.kind === 'string' ? readKinds[object.kind] : undefined;
      if (!target || !groupMatches(object.apiVersion, target.group)) continue;
      const placed = namespaced.has(target.list)
        ? inNamespace(object, namespace)
        : target.list === 'services' || target.list === 'endpointSlices'
          ? inDefaultNamespace(object)
          : object;
      lists[target.list].push(placed);
    }
    const { services, endpointSlices, ...configLists } = lists;
    const result = buildConfig({
      ...(configLists as unknown as Omit<ConfigInput, 'metallbNamespace'>),
      metallbNamespace: namespace,
    });
    if (!result.ok) {
      for (const problem of result.problems) io.err(formatProblem(problem));
      return 1;
    }
    if (!values.quiet) for (const warning of result.warnings) io.err(`warning: ${formatProblem(warning)}`);

    const nodeObject = (lists.nodes as V1Node[]).find((node) => node.metadata?.name === nodeName);
    const node: PlanNode = nodeObject
      ? planNodeFromObject(nodeObject)
      : { name: nodeName, labels: {}, networkUnavailable: false };
    // Which loadBalancerClass a speaker serves is its own setting, so the caller filters (here, the flag).
    const ours = (services as V1Service[]).filter((service) => {
      const serviceClass = service.spec?.loadBalancerClass;
      return lbClass === undefined ? !serviceClass : serviceClass === lbClass;
    });
    const plan = planBgp({
      config: result.config,
      node,
      services: ours,
      endpointSlices: endpointSlices as V1EndpointSlice[],
      ignoreExcludeLabel: values['ignore-exclude-lb'] === true,
    });
    if (!values.quiet) {
      if (!nodeObject)
        io.err(`note: Node ${nodeName} is not in the files; rendering for a node without labels`);
      if (plan.excluded) io.err(`note: announcing nothing: ${plan.excluded.reason}`);
      for (const skipped of plan.skippedPeers)
        io.err(`note: BGPPeer/${namespace}/${skipped.peer}: left out: ${skipped.reason}`);
      for (const notice of plan.refused)
        io.err(`note: ${describeNotice(notice)}: refused (${notice.code}): ${notice.reason}`);
      for (const notice of plan.withheld)
        io.err(`note: ${describeNotice(notice)}: not announced (${notice.code}): ${notice.reason}`);
    }
    io.out(renderFrrConfig(plan, result.config).replace(/\n$/, ''));
    return 0;
  },
};
