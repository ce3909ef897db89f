/**
 * ServiceBGPStatus: one object per announcing node per Service, saying to which BGPPeers this node sends
 * the Service's addresses (`oc get servicebgpstatus` answers "who announces my IP, to whom").
 *
 * Names are deterministic, `bgp-<node>-<hash of namespace/name>`, rather than upstream's generateName, so
 * writing is an idempotent server-side apply and a restarted speaker finds its own objects. Only nodes that
 * send a Service to at least one peer write one. Objects are owned by the Node (a namespaced object may
 * have a cluster-scoped owner), so deleting the Node collects them.
 */
import type { ServiceBGPStatus } from '../api/types.generated.js';
import { deepEqual } from '../runtime/controller.js';
import { silentLogger, type Logger } from '../runtime/logging.js';
import type { BgpPlan, ServiceRef } from './plan/index.js';
import {
  hashedObjectName,
  writeStatusChanges,
  type StatusChanges,
  type StatusWriterOptions,
} from './status-writes.js';

export const STATUS_NODE_LABEL = 'metallb.io/node';
export const STATUS_SERVICE_NAME_LABEL = 'metallb.io/service-name';
export const STATUS_SERVICE_NAMESPACE_LABEL = 'metallb.io/service-namespace';

const apiVersion = 'metallb.io/v1beta1';
const kind = 'ServiceBGPStatus';

/** `bgp-<node>-<10 hex of sha256("namespace/name")>`, shortened on the node part to fit a DNS subdomain. */
export function serviceBgpStatusName(node: string, service: ServiceRef): string {
  return hashedObjectName(`bgp-${node}`, `${service.namespace}/${service.name}`);
}

export interface StatusOwner {
  readonly name: string;
  readonly uid: string;
}

/** The ServiceBGPStatus objects this node should have, by name. */
export function desiredServiceBgpStatuses(
  plan: BgpPlan,
  namespace: string,
  owner?: StatusOwner,
): Map<string, ServiceBGPStatus> {
  const desired = new Map<string, ServiceBGPStatus>();
  for (const { service, peers } of plan.announced) {
    if (peers.length === 0) continue;
    const name = serviceBgpStatusName(plan.node, service);
    desired.set(name, {
      apiVersion,
      kind,
      metadata: {
        name,
        namespace,
        labels: {
          [STATUS_NODE_LABEL]: plan.node,
          [STATUS_SERVICE_NAME_LABEL]: service.name,
          [STATUS_SERVICE_NAMESPACE_LABEL]: service.namespace,
        },
        ...(owner
          ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: owner.name, uid: owner.uid }] }
          : {}),
      },
      status: {
        node: plan.node,
        serviceName: service.name,
        serviceNamespace: service.namespace,
        peers: [...peers],
      },
    });
  }
  return desired;
}

function labelsMatch(want: ServiceBGPStatus, have: ServiceBGPStatus): boolean {
  const wanted = want.metadata.labels ?? {};
  const present = have.metadata?.labels ?? {};
  return Object.entries(wanted).every(([key, value]) => present[key] === value);
}

function ownerMatches(want: ServiceBGPStatus, have: ServiceBGPStatus): boolean {
  const wanted = want.metadata.ownerReferences ?? [];
  const present = have.metadata?.ownerReferences ?? [];
  return wanted.every((ref) => present.some((p) => p.uid === ref.uid && p.kind === ref.kind));
}

function normalizedStatus(object: ServiceBGPStatus): unknown {
  const status = object.status ?? {};
  return { ...status, peers: [...(status.peers ?? [])].sort() };
}

/** What to write, given what this node should have and what the cache holds for this node. */
export function statusChanges(
  desired: ReadonlyMap<string, ServiceBGPStatus>,
  existing: readonly ServiceBGPStatus[],
): StatusChanges<ServiceBGPStatus> {
  const byName = new Map(existing.map((object) => [object.metadata?.name ?? '', object]));
  const applyMetadata: ServiceBGPStatus[] = [];
  const applyStatus: ServiceBGPStatus[] = [];
  for (const [name, want] of desired) {
    const have = byName.get(name);
    if (!have || !labelsMatch(want, have) || !ownerMatches(want, have)) applyMetadata.push(want);
    if (!have || !deepEqual(normalizedStatus(want), normalizedStatus(have))) applyStatus.push(want);
  }
  const remove = existing.filter((object) => !desired.has(object.metadata?.name ?? ''));
  return { applyMetadata, applyStatus, remove };
}

/** Brings this node's ServiceBGPStatus objects in line with the plan; throws if any write failed. */
export class ServiceBgpStatusWriter {
  private readonly log: Logger;

  /** `cache`: the ServiceBGPStatus objects in the MetalLB namespace labelled with this node. */
  constructor(private readonly options: StatusWriterOptions<ServiceBGPStatus>) {
    this.log = (options.logger ?? silentLogger()).child({ subsystem: 'status' });
  }

  async sync(desired: ReadonlyMap<string, ServiceBGPStatus>): Promise<void> {
    const ours = this.options.cache
      .list()
      .filter((object) => object.metadata?.labels?.[STATUS_NODE_LABEL] === this.options.node);
    await writeStatusChanges(
      this.options.applier,
      { apiVersion, kind },
      statusChanges(desired, ours),
      this.log,
    );
  }
}
