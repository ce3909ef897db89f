/**
 * One reconcile of one MetalLB resource, level-based from the caches:
 * - being deleted: delete everything rendered for it, wait until it is gone, release the finalizer;
 * - not the one MetalLB (singleton rule): Degraded with the reason, nothing deployed;
 * - invalid spec: Degraded with the problems, the workloads left as they run;
 * - otherwise: finalizer, apply what differs, delete what is no longer rendered, then conditions from the
 *   workloads' own status, polling every few seconds while a rollout is under way.
 * An idle pass sends no write at all.
 */
import { setMaxListeners } from 'node:events';
import { formatProblem } from '../api/problem.js';
import type { MetalLB } from '../api/types.generated.js';
import type { ReconcileContext, ReconcileResult } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import { keyOf, splitKey, type KubeObject } from '../runtime/kube-object.js';
import type { Logger } from '../runtime/logging.js';
import type { Applier } from '../runtime/ssa.js';
import { apiStatus, type RawClient } from '../runtime/raw-client.js';
import { collectionPath, resourceTypeOf } from '../runtime/resources.js';
import { clusterOwnedKinds, type OperatorCaches } from './caches.js';
import { Finalizer, hasFinalizer } from './cleanup.js';
import { assessDaemonSet, assessDeployment, type Assessment, type Finding } from './conditions.js';
import type { OperatorEnv } from './env.js';
import {
  controllerDeploymentName,
  metallbResourceName,
  ownedClusterObjectsSelector,
  renderMetalLB,
  speakerDaemonSetName,
  type ClusterCapabilities,
  type OwnerIdentity,
} from './render/index.js';
import { singletonDecision } from './singleton.js';
import { StatusWriter } from './status.js';
import { describeKubeObject, isTerminating, ObjectSyncer } from './sync.js';
import { validateMetalLB } from '../config/metallb.js';
import { storageApiVersion } from '../api/kinds.js';
import { controllerLeaseName } from '../controller/lease-name.js';
import { LIVENESS_SELECTOR } from '../speaker/l2/liveness.js';
import { referencedPasswordSecrets } from '../config/passwords.js';

/** What the operands write at run time in the namespace, which uninstalling removes too. */
const operandWrittenKinds: readonly {
  readonly apiVersion: string;
  readonly kind: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}[] = [
  { apiVersion: storageApiVersion('ServiceBGPStatus'), kind: 'ServiceBGPStatus' },
  { apiVersion: storageApiVersion('ServiceL2Status'), kind: 'ServiceL2Status' },
  { apiVersion: storageApiVersion('BGPSessionState'), kind: 'BGPSessionState' },
  { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', labelSelector: LIVENESS_SELECTOR },
  {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    fieldSelector: `metadata.name=${controllerLeaseName}`,
  },
];

/** How often a rollout in progress is looked at again, besides the workloads' own watch events. */
export const rolloutPollMs = 5_000;
/** How often deletion checks whether everything rendered is gone. */
const cleanupPollMs = 1_000;

export interface ReconcilerOptions {
  readonly env: OperatorEnv;
  /** What the cluster serves (ServiceMonitors, OpenShift); default neither. */
  readonly capabilities?: ClusterCapabilities;
  readonly caches: OperatorCaches;
  readonly client: Pick<RawClient, 'patch' | 'list' | 'get'>;
  readonly applier: Pick<Applier, 'apply' | 'applyStatus' | 'deleteIfExists'>;
  readonly recorder: Pick<EventRecorder, 'normal' | 'warning'>;
  readonly now?: () => number;
}

function ownerOf(cr: MetalLB): OwnerIdentity {
  return { namespace: cr.metadata.namespace ?? '', name: cr.metadata.name ?? '', uid: cr.metadata.uid };
}

/**
 * Whether an error is the API server refusing what we sent (forbidden, invalid, …), which retrying will not
 * fix and a person should hear about. Outages, conflicts and throttling pass with the retries, so they do
 * not make the resource Degraded.
 */
function needsAPerson(error: unknown): boolean {
  const status = apiStatus(error);
  return status !== undefined && status >= 400 && status < 500 && status !== 409 && status !== 429;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class MetalLBReconciler {
  private readonly syncer: ObjectSyncer;
  private readonly status: StatusWriter;
  private readonly finalizer: Finalizer;

  constructor(private readonly options: ReconcilerOptions) {
    this.syncer = new ObjectSyncer(options.applier, options.caches);
    this.status = new StatusWriter({
      applier: options.applier,
      recorder: options.recorder,
      ...(options.now ? { now: options.now } : {}),
    });
    this.finalizer = new Finalizer(options.client);
  }

  readonly reconcile = async (key: string, context: ReconcileContext): Promise<ReconcileResult> => {
    // Every request of a pass listens on the signal until its socket is released; give the pass a signal of
    // its own (a dependent one: no listener on the controller's) so they neither pile up nor trip Node's
    // leak warning.
    const signal = AbortSignal.any([context.signal]);
    setMaxListeners(64, signal);
    return this.reconcileOne(key, signal, context.log);
  };

  private async reconcileOne(key: string, signal: AbortSignal, log: Logger): Promise<ReconcileResult> {
    const { caches, env } = this.options;
    const cr = caches.metallbs.get(key);
    if (!cr) {
      const { namespace, name } = splitKey(key);
      this.status.forget(namespace, name);
      if (namespace === env.namespace) await this.removeOrphans({ namespace, name }, log, signal);
      return undefined;
    }
    // Outside the operator's namespace nothing is ever deployed or deleted, whatever the resource's state.
    if (cr.metadata.namespace !== env.namespace) return this.answerElsewhere(cr, log, signal);
    if (isTerminating(cr)) return this.finalize(cr, log, signal);

    const decision = singletonDecision({
      name: cr.metadata.name ?? '',
      namespace: cr.metadata.namespace ?? '',
      operatorNamespace: env.namespace,
      theOneExists: caches.metallbs.get(keyOf(env.namespace, metallbResourceName)) !== undefined,
    });
    if (decision.kind === 'reject') {
      await this.status.update(cr, { kind: 'rejected', finding: decision.finding }, log, signal);
      log.debug({ reason: decision.finding.reason }, 'not the one MetalLB resource; nothing deployed');
      return undefined;
    }

    const rendered = this.render(cr);
    if (!rendered.ok) {
      log.warn({ problems: rendered.finding.message }, 'the spec cannot be applied');
      return this.report(cr, rendered.finding, new Map(), log, signal);
    }

    let applied: ReadonlyMap<string, KubeObject>;
    let current = cr;
    try {
      current = await this.finalizer.ensure(cr, signal);
      // Read from the server after a conflict, the resource may hold a newer spec than the cache had.
      const objects = current === cr ? rendered.objects : this.renderOrThrow(current);
      ({ applied } = await this.syncer.apply(objects, log, signal));
      const deleted = await this.syncer.prune(objects, caches.ownedObjects(ownerOf(current)), signal);
      this.announceChanges(current, [...applied.values()].map(describeKubeObject), deleted, log);
    } catch (error) {
      if (signal.aborted || !needsAPerson(error)) throw error;
      const finding = {
        reason: 'ApplyFailed',
        message: `the API server refused the rendered objects (${errorText(error)}); the operator keeps retrying with backoff`,
      };
      await this.report(current, finding, new Map(), log, signal).catch((statusError: unknown) =>
        log.debug({ err: statusError }, 'could not report the failure in the status either'),
      );
      throw error;
    }
    return this.report(current, undefined, applied, log, signal);
  }

  /**
   * A MetalLB in another namespace: Degraded with the reason WrongNamespace and a Warning event, nothing
   * deployed. Unless it carries the cleanup finalizer: then the operator of its own namespace (another
   * install) manages it, and it is not this operator's to judge.
   */
  private async answerElsewhere(cr: MetalLB, log: Logger, signal: AbortSignal): Promise<ReconcileResult> {
    if (isTerminating(cr) || hasFinalizer(cr)) return undefined;
    const decision = singletonDecision({
      name: cr.metadata.name ?? '',
      namespace: cr.metadata.namespace ?? '',
      operatorNamespace: this.options.env.namespace,
      theOneExists: false,
    });
    if (decision.kind !== 'reject') return undefined;
    await this.status.update(cr, { kind: 'rejected', finding: decision.finding }, log, signal);
    log.debug(
      { reason: decision.finding.reason },
      'a MetalLB outside the operator namespace; nothing deployed',
    );
    return undefined;
  }

  /** Conditions from the workloads (the stored versions we just applied, else the cache), then the requeue. */
  private async report(
    cr: MetalLB,
    problem: Finding | undefined,
    applied: ReadonlyMap<string, KubeObject>,
    log: Logger,
    signal: AbortSignal,
  ): Promise<ReconcileResult> {
    const { caches, env } = this.options;
    const workload = (apiVersion: string, kind: string, name: string): KubeObject | undefined => {
      const target = { apiVersion, kind, metadata: { name, namespace: env.namespace } };
      return applied.get(ObjectSyncer.keyOf(target)) ?? caches.live(target);
    };
    const context = { namespace: env.namespace };
    const assessment: Assessment = {
      kind: 'managed',
      controller: assessDeployment(workload('apps/v1', 'Deployment', controllerDeploymentName), context),
      speaker: assessDaemonSet(workload('apps/v1', 'DaemonSet', speakerDaemonSetName)),
      ...(problem ? { problem } : {}),
    };
    await this.status.update(cr, assessment, log, signal);
    const rollingOut = assessment.controller.rollingOut || assessment.speaker.rollingOut;
    log.debug(
      {
        applied: applied.size,
        controller: assessment.controller.summary,
        speaker: assessment.speaker.summary,
      },
      'reconciled',
    );
    return rollingOut ? { requeueAfter: rolloutPollMs } : undefined;
  }

  private render(
    cr: MetalLB,
  ):
    | { readonly ok: true; readonly objects: KubeObject[] }
    | { readonly ok: false; readonly finding: Finding } {
    const problems = validateMetalLB(cr as unknown as Record<string, unknown>);
    const result =
      problems.length === 0
        ? renderMetalLB(
            cr,
            this.options.env,
            this.options.capabilities,
            referencedPasswordSecrets(this.options.caches.peers.list(), this.options.env.namespace),
          )
        : undefined;
    if (result?.ok) return { ok: true, objects: result.objects };
    const all = result && !result.ok ? result.problems : problems;
    return {
      ok: false,
      finding: {
        reason: 'InvalidSpec',
        message: `fix the MetalLB resource: ${all.map(formatProblem).join('; ')}; until then the workloads keep their previous settings`,
      },
    };
  }

  private renderOrThrow(cr: MetalLB): KubeObject[] {
    const rendered = this.render(cr);
    if (!rendered.ok) throw new Error(rendered.finding.message);
    return rendered.objects;
  }

  private announceChanges(
    cr: MetalLB,
    applied: readonly string[],
    deleted: readonly string[],
    log: Logger,
  ): void {
    if (applied.length > 0) {
      this.options.recorder.normal(cr, 'Applied', 'Apply', `applied ${applied.join(', ')}`);
      log.info({ applied }, 'applied objects that differed from the desired state');
    }
    if (deleted.length > 0) {
      this.options.recorder.normal(
        cr,
        'Pruned',
        'Delete',
        `deleted ${deleted.join(', ')}: no longer rendered`,
      );
      log.info({ deleted }, 'deleted objects no longer rendered');
    }
  }

  /** Deletion: everything rendered for the resource goes first, then the finalizer. */
  private async finalize(cr: MetalLB, log: Logger, signal: AbortSignal): Promise<ReconcileResult> {
    if (!hasFinalizer(cr)) return undefined;
    const remaining = this.options.caches.ownedObjects(ownerOf(cr));
    const deleting = remaining.filter((object) => !isTerminating(object));
    for (const object of deleting) await this.syncer.delete(object, signal);
    if (deleting.length > 0) {
      log.info({ deleting: deleting.map(describeKubeObject) }, 'deleting what this MetalLB deployed');
    }
    if (remaining.length > 0) {
      log.debug({ remaining: remaining.length }, 'waiting for deployed objects to be gone');
      return { requeueAfter: cleanupPollMs };
    }
    // Garbage collection catches namespaced objects the cache has not seen yet, through their ownerReference;
    // nothing would catch such a cluster-scoped one, so ask the API server before letting go.
    const unseen = await this.clusterObjectsOnServer(cr, signal);
    if (unseen.length > 0) {
      for (const object of unseen) await this.syncer.delete(object, signal);
      log.info(
        { deleting: unseen.map(describeKubeObject) },
        'deleting cluster objects the cache had not seen',
      );
      return { requeueAfter: cleanupPollMs };
    }
    // What the operands wrote themselves outlives them: status objects (owned by Nodes, which stay) and
    // Leases (speakers leave theirs on a graceful stop, so a restart keeps its place in the layer-2
    // placement). The workloads are gone by now (deleted in the foreground), so nothing writes them again.
    const written = await this.operandWrittenObjects(signal);
    if (written.length > 0) {
      // Deleted in the foreground, they stay (terminating) until garbage collection lets them go: wait.
      const deleting = written.filter((object) => !isTerminating(object));
      for (const object of deleting) await this.syncer.delete(object, signal);
      if (deleting.length > 0) {
        log.info({ deleting: deleting.map(describeKubeObject) }, 'deleting what the operands wrote');
      }
      return { requeueAfter: cleanupPollMs };
    }
    await this.finalizer.release(cr, signal);
    this.status.forget(cr.metadata.namespace, cr.metadata.name ?? '');
    log.info('everything this MetalLB deployed is gone; released the finalizer');
    return undefined;
  }

  /**
   * Cluster objects labelled for a MetalLB that no longer exists (its finalizer was removed by hand, say):
   * garbage collection takes care of the namespaced ones through their ownerReference; these are ours to
   * delete.
   */
  private async removeOrphans(owner: OwnerIdentity, log: Logger, signal: AbortSignal): Promise<void> {
    const orphans = this.options.caches
      .ownedObjects(owner)
      .filter((object) => !object.metadata?.namespace && !isTerminating(object));
    if (orphans.length === 0) return;
    for (const object of orphans) await this.syncer.delete(object, signal);
    log.info(
      { deleted: orphans.map(describeKubeObject) },
      'deleted cluster objects left by a MetalLB that is gone',
    );
  }

  /**
   * Objects the controller and the speakers create at run time in the namespace: announcement and session
   * status, the speakers' liveness Leases and the controller's leader-election Lease. A kind the cluster does
   * not serve (an older install's CRDs) has none.
   */
  private async operandWrittenObjects(signal: AbortSignal): Promise<KubeObject[]> {
    const namespace = this.options.env.namespace;
    const lists = await Promise.all(
      operandWrittenKinds.map(async ({ apiVersion, kind, labelSelector, fieldSelector }) => {
        try {
          const list = await this.options.client.list<KubeObject>(
            collectionPath(resourceTypeOf(apiVersion, kind), namespace),
            {
              signal,
              ...(labelSelector ? { labelSelector } : {}),
              ...(fieldSelector ? { fieldSelector } : {}),
            },
          );
          // List items carry no kind; deleting needs it.
          return list.items.map((item) => ({ ...item, apiVersion, kind }));
        } catch (error) {
          if (apiStatus(error) === 404) return [];
          throw error;
        }
      }),
    );
    return lists.flat();
  }

  private async clusterObjectsOnServer(cr: MetalLB, signal: AbortSignal): Promise<KubeObject[]> {
    const labelSelector = ownedClusterObjectsSelector(ownerOf(cr));
    const lists = await Promise.all(
      clusterOwnedKinds.map((kind) =>
        this.options.client.list<KubeObject>(collectionPath(resourceTypeOf(kind.apiVersion, kind.kind)), {
          labelSelector,
          signal,
        }),
      ),
    );
    return lists.flatMap((list) => list.items);
  }
}
