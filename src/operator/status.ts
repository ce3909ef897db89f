/**
 * Writes the MetalLB resource's conditions through the status subresource, only when they say something new,
 * and records an event when a condition changes in a way a person should hear about. An unchanged status is
 * never written, so the operator's own status writes cannot wake it up in a loop (the MetalLB watch also
 * ignores updates that leave the generation alone).
 */
import type { MetalLB } from '../api/types.generated.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Logger } from '../runtime/logging.js';
import type { Applier } from '../runtime/ssa.js';
import {
  changedConditions,
  computeConditions,
  conditionsUpToDate,
  conditionTime,
  mergeConditions,
  type Assessment,
  type Condition,
  type ConditionState,
} from './conditions.js';

interface WrittenStatus {
  /** The resourceVersion the resource had when we wrote; a cache still showing it has not seen our write. */
  readonly before: string | undefined;
  readonly conditions: readonly Condition[];
}

export interface StatusWriterOptions {
  readonly applier: Pick<Applier, 'applyStatus'>;
  readonly recorder: Pick<EventRecorder, 'normal' | 'warning'>;
  readonly now?: () => number;
}

export class StatusWriter {
  private readonly written = new Map<string, WrittenStatus>();
  private readonly now: () => number;

  constructor(private readonly options: StatusWriterOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Brings the resource's conditions in line with `assessment`; true if it wrote. */
  async update(cr: MetalLB, assessment: Assessment, log: Logger, signal: AbortSignal): Promise<boolean> {
    const computed = computeConditions(assessment);
    const generation = cr.metadata.generation;
    const existing = this.currentConditions(cr);
    if (conditionsUpToDate(existing, computed, generation)) return false;
    const conditions = mergeConditions(existing, computed, generation, conditionTime(this.now()));
    await this.options.applier.applyStatus(
      {
        apiVersion: cr.apiVersion,
        kind: cr.kind,
        metadata: { name: cr.metadata.name, namespace: cr.metadata.namespace },
        status: { conditions },
      },
      { signal },
    );
    this.written.set(this.keyOf(cr), { before: cr.metadata.resourceVersion, conditions });
    const changes = changedConditions(existing, computed);
    for (const change of changes) this.announce(cr, change);
    log.info(
      { conditions: Object.fromEntries(computed.map((c) => [c.type, `${c.status}/${c.reason}`])) },
      'status updated',
    );
    return true;
  }

  /** Forgets what was written for a resource that is gone. */
  forget(namespace: string | undefined, name: string): void {
    this.written.delete(`${namespace ?? ''}/${name}`);
  }

  private keyOf(cr: MetalLB): string {
    return `${cr.metadata.namespace ?? ''}/${cr.metadata.name ?? ''}`;
  }

  /** The stored conditions, or what we wrote if the cache has not caught up with that write yet. */
  private currentConditions(cr: MetalLB): readonly Condition[] | undefined {
    const written = this.written.get(this.keyOf(cr));
    if (written && written.before !== undefined && written.before === cr.metadata.resourceVersion) {
      return written.conditions;
    }
    return cr.status?.conditions as readonly Condition[] | undefined;
  }

  private announce(cr: MetalLB, change: ConditionState): void {
    if (change.type === 'Degraded' && change.status === 'True') {
      this.options.recorder.warning(cr, change.reason, 'Reconcile', change.message);
    } else if (change.type === 'Available' && change.status === 'True') {
      this.options.recorder.normal(cr, change.reason, 'Reconcile', change.message);
    } else if (change.type === 'Progressing' && change.status === 'True') {
      this.options.recorder.normal(cr, change.reason, 'Reconcile', change.message);
    }
  }
}
