/**
 * `metallb frr-config`: prints, offline, the frr.conf the speaker of one node would apply, from the same
 * YAML a cluster would hold: MetalLB objects plus, optionally, the Services, EndpointSlices, Nodes and
 * Secrets they work with. Services are taken with the status.loadBalancer the controller wrote.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { Command } from './command.js';
import { manifestInput, manifestInputOptions } from './manifest-input.js';
import { readManifests } from '../manifests/documents.js';
import { formatProblem } from '../api/problem.js';
import { buildConfig } from '../config/index.js';
import { planBgp, planNodeFromObject, type PlanNode, type ServiceNotice } from '../speaker/plan/index.js';
import { renderFrrConfig } from '../speaker/bgp/frr-config.js';
import {
  configListOf,
  emptyConfigLists,
  inNamespace,
  namespacedConfigLists,
} from '../manifests/config-documents.js';

/** What frr-config reads beyond the configuration: the Services to announce and their endpoints. */
function workloadListOf(object: Record<string, unknown>): 'services' | 'endpointSlices' | undefined {
  if (object.apiVersion === 'v1' && object.kind === 'Service') return 'services';
  if (typeof object.apiVersion === 'string' && object.apiVersion.startsWith('discovery.k8s.io/')) {
    return object.kind === 'EndpointSlice' ? 'endpointSlices' : undefined;
  }
  return undefined;
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
    ...manifestInputOptions(
      ': metallb.io objects, and optionally Services, EndpointSlices, Nodes and Secrets',
      'MetalLB objects and Secrets',
    ),
    node: {
      type: 'string',
      valueName: 'NAME',
      description: 'The node to render for; taken from a Node in the files, or as a node without labels',
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
    const { paths, namespace } = manifestInput(values, positionals);
    const nodeName = typeof values.node === 'string' ? values.node.trim() : '';
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

    const configLists = emptyConfigLists<Record<string, unknown>>();
    const workloads: Record<'services' | 'endpointSlices', unknown[]> = { services: [], endpointSlices: [] };
    for (const { object } of documents) {
      const configList = configListOf(object);
      if (configList) {
        configLists[configList].push(
          namespacedConfigLists.has(configList) ? inNamespace(object, namespace) : object,
        );
        continue;
      }
      const workloadList = workloadListOf(object);
      if (workloadList) workloads[workloadList].push(inDefaultNamespace(object));
    }
    const { services, endpointSlices } = workloads;
    const result = buildConfig({ ...configLists, metallbNamespace: namespace });
    if (!result.ok) {
      for (const problem of result.problems) io.err(formatProblem(problem));
      return 1;
    }
    if (!values.quiet) for (const warning of result.warnings) io.err(`warning: ${formatProblem(warning)}`);

    const nodeObject = (configLists.nodes as V1Node[]).find((node) => node.metadata?.name === nodeName);
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
