/**
 * The MetalLB resource's status conditions (Available, Progressing, Degraded, Upgradeable), computed from what
 * the cluster shows: the controller Deployment's and the speaker DaemonSet's own status, never from what the
 * operator last did. Pure: the shell reads the caches, calls these, and writes the result only when it differs.
 */

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export const conditionTypes = ['Available', 'Progressing', 'Degraded', 'Upgradeable'] as const;
export type ConditionType = (typeof conditionTypes)[number];

/** metav1.Condition as it is stored. */
export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly observedGeneration?: number;
  /** metav1.Time: RFC 3339 in whole seconds. */
  readonly lastTransitionTime: string;
  readonly reason: string;
  readonly message: string;
}

/** What a condition says, before it gets a transition time and a generation. */
export interface ConditionState {
  readonly type: ConditionType;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

/** A reason (CamelCase) and a message a person can act on. */
export interface Finding {
  readonly reason: string;
  readonly message: string;
}

/** How far one workload is: ready, still rolling out, or stuck with a problem. */
export interface WorkloadReport {
  readonly ready: boolean;
  /** Not ready yet, but moving: the controllers are still creating, updating or starting pods. */
  readonly rollingOut: boolean;
  /** Not ready and not going to be without someone's help. */
  readonly problem?: Finding;
  /** One line for messages, e.g. "speaker: 2 of 3 pods ready, 3 updated". */
  readonly summary: string;
}

/** The fields of a Deployment the assessment reads; raw API JSON fits. */
export interface DeploymentLike {
  readonly metadata?: { readonly name?: string; readonly generation?: number };
  readonly spec?: { readonly replicas?: number };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly replicas?: number;
    readonly updatedReplicas?: number;
    readonly readyReplicas?: number;
    readonly availableReplicas?: number;
    readonly conditions?: readonly {
      readonly type?: string;
      readonly status?: string;
      readonly reason?: string;
      readonly message?: string;
    }[];
  };
}

/** The fields of a DaemonSet the assessment reads; raw API JSON fits. */
export interface DaemonSetLike {
  readonly metadata?: { readonly name?: string; readonly generation?: number };
  readonly spec?: {
    readonly template?: { readonly spec?: { readonly nodeSelector?: Readonly<Record<string, string>> } };
  };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly desiredNumberScheduled?: number;
    readonly currentNumberScheduled?: number;
    readonly updatedNumberScheduled?: number;
    readonly numberReady?: number;
    readonly numberAvailable?: number;
  };
}

export interface WorkloadContext {
  /** The operator's namespace, for the kubectl hints in messages. */
  readonly namespace: string;
}

function notObservedYet(
  what: string,
  generation: number | undefined,
  observed: number | undefined,
): string | undefined {
  if (generation === undefined || (observed !== undefined && observed >= generation)) return undefined;
  return `${what}: waiting for Kubernetes to act on the latest spec (generation ${generation}, observed ${observed ?? 'none'})`;
}

export function assessDeployment(
  deployment: DeploymentLike | undefined,
  context: WorkloadContext,
): WorkloadReport {
  if (!deployment) {
    return { ready: false, rollingOut: true, summary: 'controller: the Deployment does not exist yet' };
  }
  const pending = notObservedYet(
    'controller',
    deployment.metadata?.generation,
    deployment.status?.observedGeneration,
  );
  if (pending) return { ready: false, rollingOut: true, summary: pending };
  const status = deployment.status ?? {};
  const wanted = deployment.spec?.replicas ?? 1;
  const ready = status.readyReplicas ?? 0;
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const total = status.replicas ?? 0;
  const summary = `controller: ${ready} of ${wanted} pods ready, ${updated} updated`;
  if (ready === wanted && updated === wanted && available === wanted && total === wanted) {
    return { ready: true, rollingOut: false, summary };
  }
  const stuck = status.conditions?.find(
    (c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded',
  );
  if (stuck) {
    return {
      ready: false,
      rollingOut: false,
      summary,
      problem: {
        reason: 'ControllerRolloutStuck',
        message:
          `${summary}; the rollout made no progress within its deadline (${stuck.message ?? 'ProgressDeadlineExceeded'}). ` +
          `Pods stay Pending when no node matches spec.controllerNodeSelector and spec.controllerTolerations: ` +
          `see kubectl -n ${context.namespace} describe pods -l component=controller`,
      },
    };
  }
  return { ready: false, rollingOut: true, summary };
}

export function assessDaemonSet(daemonSet: DaemonSetLike | undefined): WorkloadReport {
  if (!daemonSet) {
    return { ready: false, rollingOut: true, summary: 'speaker: the DaemonSet does not exist yet' };
  }
  const pending = notObservedYet(
    'speaker',
    daemonSet.metadata?.generation,
    daemonSet.status?.observedGeneration,
  );
  if (pending) return { ready: false, rollingOut: true, summary: pending };
  const status = daemonSet.status ?? {};
  const desired = status.desiredNumberScheduled ?? 0;
  const current = status.currentNumberScheduled ?? 0;
  const ready = status.numberReady ?? 0;
  const updated = status.updatedNumberScheduled ?? 0;
  const available = status.numberAvailable ?? 0;
  const summary = `speaker: ${ready} of ${desired} pods ready, ${updated} updated`;
  if (desired === 0) {
    const selector = Object.entries(daemonSet.spec?.template?.spec?.nodeSelector ?? {})
      .map(([key, value]) => (value ? `${key}=${value}` : key))
      .join(', ');
    return {
      ready: false,
      rollingOut: false,
      summary: 'speaker: no node selected',
      problem: {
        reason: 'NoSpeakerNodes',
        message:
          `no node can run the speaker, so no address will be announced: no node matches the speaker's node ` +
          `selector (${selector || 'none'}) and tolerates its taints. Label nodes to match spec.nodeSelector, ` +
          `or change spec.nodeSelector or spec.speakerTolerations`,
      },
    };
  }
  if (current === desired && ready === desired && updated === desired && available === desired) {
    return { ready: true, rollingOut: false, summary };
  }
  return { ready: false, rollingOut: true, summary };
}

/** What the reconcile found, as the input of the conditions. */
export type Assessment =
  /** The resource is not the one MetalLB (wrong name, a second one): nothing is deployed for it. */
  | { readonly kind: 'rejected'; readonly finding: Finding }
  /**
   * The one MetalLB: conditions follow its workloads. `problem` is what stopped the operator from applying
   * the spec (invalid spec, a failed apply); the workloads keep running as they were.
   */
  | {
      readonly kind: 'managed';
      readonly controller: WorkloadReport;
      readonly speaker: WorkloadReport;
      readonly problem?: Finding;
    };

function state(type: ConditionType, status: ConditionStatus, finding: Finding): ConditionState {
  return { type, status, reason: finding.reason, message: finding.message };
}

/** The four conditions, in a fixed order, for an assessment. */
export function computeConditions(assessment: Assessment): ConditionState[] {
  if (assessment.kind === 'rejected') {
    const { finding } = assessment;
    const nothing = {
      reason: finding.reason,
      message: `nothing is deployed for this resource: ${finding.message}`,
    };
    return [
      state('Available', 'False', nothing),
      state('Progressing', 'False', nothing),
      state('Degraded', 'True', finding),
      state('Upgradeable', 'False', nothing),
    ];
  }
  const workloads = [assessment.controller, assessment.speaker];
  const problems = [assessment.problem, ...workloads.map((w) => w.problem)].filter(
    (problem): problem is Finding => problem !== undefined,
  );
  const allReady = workloads.every((w) => w.ready);
  const summaries = workloads.map((w) => w.summary).join('; ');
  const rollingOut = workloads.filter((w) => w.rollingOut);

  const available = allReady
    ? { reason: 'AllPodsReady', message: summaries }
    : { reason: 'PodsNotReady', message: summaries };
  const progressing =
    rollingOut.length > 0
      ? { reason: 'RollingOut', message: rollingOut.map((w) => w.summary).join('; ') }
      : allReady
        ? { reason: 'RolloutComplete', message: 'the controller and the speakers run the latest spec' }
        : {
            reason: 'RolloutStalled',
            message: 'the rollout cannot finish on its own: see the Degraded condition',
          };
  const degraded =
    problems.length > 0
      ? { reason: (problems[0] as Finding).reason, message: problems.map((p) => p.message).join('; ') }
      : { reason: 'AsExpected', message: 'no problem found' };
  const upgradeable =
    allReady && problems.length === 0
      ? { reason: 'AsExpected', message: 'MetalLB is available; the operator can be upgraded' }
      : {
          reason: problems.length > 0 ? 'Degraded' : 'NotAvailable',
          message: 'upgrade the operator once MetalLB is Available and not Degraded',
        };
  return [
    state('Available', allReady ? 'True' : 'False', available),
    state('Progressing', rollingOut.length > 0 ? 'True' : 'False', progressing),
    state('Degraded', problems.length > 0 ? 'True' : 'False', degraded),
    state('Upgradeable', allReady && problems.length === 0 ? 'True' : 'False', upgradeable),
  ];
}

/** metav1.Time has whole seconds; a millisecond timestamp would look like a change on every comparison. */
export function conditionTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Whether the stored conditions already say what `computed` says for `generation`. Conditions of other types
 * (another manager's) are left out of the comparison.
 */
export function conditionsUpToDate(
  existing: readonly Condition[] | undefined,
  computed: readonly ConditionState[],
  generation: number | undefined,
): boolean {
  return computed.every((wanted) => {
    const current = existing?.find((c) => c.type === wanted.type);
    return (
      current !== undefined &&
      current.status === wanted.status &&
      current.reason === wanted.reason &&
      current.message === wanted.message &&
      current.observedGeneration === generation
    );
  });
}

/**
 * The conditions to store: `computed`, each keeping its lastTransitionTime while its status stays the same,
 * so the time says when the state changed, not when the operator last looked.
 */
export function mergeConditions(
  existing: readonly Condition[] | undefined,
  computed: readonly ConditionState[],
  generation: number | undefined,
  now: string,
): Condition[] {
  return computed.map((wanted) => {
    const current = existing?.find((c) => c.type === wanted.type);
    const lastTransitionTime =
      current && current.status === wanted.status && current.lastTransitionTime
        ? current.lastTransitionTime
        : now;
    return {
      type: wanted.type,
      status: wanted.status,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
      lastTransitionTime,
      reason: wanted.reason,
      message: wanted.message,
    };
  });
}

/** Conditions whose status or reason changed: what events report. */
export function changedConditions(
  existing: readonly Condition[] | undefined,
  computed: readonly ConditionState[],
): ConditionState[] {
  return computed.filter((wanted) => {
    const current = existing?.find((c) => c.type === wanted.type);
    return current?.status !== wanted.status || current.reason !== wanted.reason;
  });
}
