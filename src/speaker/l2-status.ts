/**
 * ServiceL2Status: one object per Service answered for in layer 2, written by the node that answers, with
 * the interfaces its gratuitous announcements went out on. Modelled on ServiceBGPStatus (status.ts):
 * deterministic names `l2-<node>-<hash of namespace/name>`, owned by the Node, server-side applied only when
 * something changed, this node's objects that are no longer true removed (also after a restart).
 *
 * Two annotations carry what the schema has no field for: the addresses announced (other speakers read it
 * to know an address was announced before, so taking it over skips the duplicate-address probe), and a
 * duplicate-address conflict when another host holds one of the Service's addresses.
 *
 * The answering node also removes the objects of nodes that are no longer live for the Services it took
 * over: a dead speaker cannot remove its own.
 */
import type { ServiceL2Status } from '../api/types.generated.js';
import { deepEqual } from '../runtime/controller.js';
import { silentLogger, type Logger } from '../runtime/logging.js';
import type { L2ClaimState } from './l2/announcer.js';
import type { L2Plan, ServiceRef } from './plan/index.js';
import { serviceKey } from './plan/index.js';
import {
  STATUS_NODE_LABEL,
  STATUS_SERVICE_NAMESPACE_LABEL,
  STATUS_SERVICE_NAME_LABEL,
  type StatusOwner,
} from './status.js';
import {
  hashedObjectName,
  writeStatusChanges,
  type StatusChanges,
  type StatusWriterOptions,
} from './status-writes.js';

export const ANNOUNCED_IPS_ANNOTATION = 'metallb.io/announced-ips';
export const CONFLICT_ANNOTATION = 'metallb.io/address-conflict';

const apiVersion = 'metallb.io/v1beta1';
const kind = 'ServiceL2Status';

export function serviceL2StatusName(node: string, service: ServiceRef): string {
  return hashedObjectName(`l2-${node}`, `${service.namespace}/${service.name}`);
}

/** Addresses any node's ServiceL2Status says were announced. */
export function announcedAddresses(statuses: readonly ServiceL2Status[]): Set<string> {
  const addresses = new Set<string>();
  for (const status of statuses) {
    for (const ip of (status.metadata?.annotations?.[ANNOUNCED_IPS_ANNOTATION] ?? '').split(',')) {
      if (ip.trim()) addresses.add(ip.trim());
    }
  }
  return addresses;
}

export function describeConflict(ip: string, state: Extract<L2ClaimState, { phase: 'conflict' }>): string {
  return `${ip} is already held by ${state.holderMac} on ${state.interface}`;
}

/** What this node should have, from the plan and what the announcer reports for each address. */
export function desiredServiceL2Statuses(
  plan: L2Plan,
  states: (ip: string) => L2ClaimState | undefined,
  namespace: string,
  owner?: StatusOwner,
): Map<string, ServiceL2Status> {
  const desired = new Map<string, ServiceL2Status>();
  for (const { service, ips } of plan.announced) {
    const announcing: string[] = [];
    const interfaces = new Set<string>();
    const conflicts: string[] = [];
    for (const ip of ips) {
      const state = states(ip);
      if (state?.phase === 'announcing') {
        announcing.push(ip);
        for (const name of state.interfaces) interfaces.add(name);
      } else if (state?.phase === 'conflict') {
        conflicts.push(describeConflict(ip, state));
      }
    }
    if (announcing.length === 0 && conflicts.length === 0) continue;
    const name = serviceL2StatusName(plan.node, service);
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
        annotations: {
          [ANNOUNCED_IPS_ANNOTATION]: announcing.join(','),
          ...(conflicts.length > 0 ? { [CONFLICT_ANNOTATION]: conflicts.join('; ') } : {}),
        },
        ...(owner
          ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: owner.name, uid: owner.uid }] }
          : {}),
      },
      status: {
        node: plan.node,
        serviceName: service.name,
        serviceNamespace: service.namespace,
        interfaces: [...interfaces].sort().map((interfaceName) => ({ name: interfaceName })),
      },
    });
  }
  return desired;
}

function metadataMatches(want: ServiceL2Status, have: ServiceL2Status): boolean {
  const labels = have.metadata?.labels ?? {};
  const annotations = have.metadata?.annotations ?? {};
  const owners = have.metadata?.ownerReferences ?? [];
  return (
    Object.entries(want.metadata.labels ?? {}).every(([key, value]) => labels[key] === value) &&
    Object.entries(want.metadata.annotations ?? {}).every(([key, value]) => annotations[key] === value) &&
    // An annotation this node no longer wants (a resolved conflict) must go.
    (want.metadata.annotations?.[CONFLICT_ANNOTATION] !== undefined ||
      annotations[CONFLICT_ANNOTATION] === undefined) &&
    (want.metadata.ownerReferences ?? []).every((ref) =>
      owners.some((present) => present.uid === ref.uid && present.kind === ref.kind),
    )
  );
}

function normalizedStatus(object: ServiceL2Status): unknown {
  const status = object.status ?? {};
  return {
    node: status.node,
    serviceName: status.serviceName,
    serviceNamespace: status.serviceNamespace,
    interfaces: [...(status.interfaces ?? [])].map((entry) => entry.name).sort(),
  };
}

/**
 * What to write. `existing` is every ServiceL2Status in the namespace; `live` the live nodes. This node's
 * objects that are not desired go, and so do other nodes' objects for Services this node now answers for
 * when those nodes are not live.
 */
export function l2StatusChanges(
  node: string,
  desired: ReadonlyMap<string, ServiceL2Status>,
  existing: readonly ServiceL2Status[],
  live: ReadonlySet<string>,
): StatusChanges<ServiceL2Status> {
  const byName = new Map(existing.map((object) => [object.metadata?.name ?? '', object]));
  const applyMetadata: ServiceL2Status[] = [];
  const applyStatus: ServiceL2Status[] = [];
  const ours = new Set<string>();
  for (const [name, want] of desired) {
    ours.add(
      serviceKey({ namespace: want.status?.serviceNamespace ?? '', name: want.status?.serviceName ?? '' }),
    );
    const have = byName.get(name);
    if (!have || !metadataMatches(want, have)) applyMetadata.push(want);
    if (!have || !deepEqual(normalizedStatus(want), normalizedStatus(have))) applyStatus.push(want);
  }
  const remove = existing.filter((object) => {
    const owner = object.metadata?.labels?.[STATUS_NODE_LABEL] ?? object.status?.node;
    if (owner === node) return !desired.has(object.metadata?.name ?? '');
    const service = serviceKey({
      namespace: object.status?.serviceNamespace ?? '',
      name: object.status?.serviceName ?? '',
    });
    return owner !== undefined && !live.has(owner) && ours.has(service);
  });
  return { applyMetadata, applyStatus, remove };
}

export class ServiceL2StatusWriter {
  private readonly log: Logger;

  /** `cache`: every ServiceL2Status in the MetalLB namespace. */
  constructor(private readonly options: StatusWriterOptions<ServiceL2Status>) {
    this.log = (options.logger ?? silentLogger()).child({ subsystem: 'l2-status' });
  }

  /** Brings the objects in line; throws if any write failed. */
  async sync(desired: ReadonlyMap<string, ServiceL2Status>, live: ReadonlySet<string>): Promise<void> {
    // Apply replaces the annotations this manager owns, so a resolved conflict disappears.
    await writeStatusChanges(
      this.options.applier,
      { apiVersion, kind },
      l2StatusChanges(this.options.node, desired, this.options.cache.list(), live),
      this.log,
    );
  }
}
