import { describe, expect, it } from '@jest/globals';
import {
  assessDaemonSet,
  assessDeployment,
  changedConditions,
  computeConditions,
  conditionsUpToDate,
  conditionTime,
  mergeConditions,
  type Condition,
  type ConditionState,
  type DaemonSetLike,
  type DeploymentLike,
  type WorkloadReport,
} from './conditions.js';

const context = { namespace: 'metallb-system' };

function deployment(status: NonNullable<DeploymentLike['status']>, generation = 2): DeploymentLike {
  return { metadata: { name: 'controller', generation }, spec: { replicas: 1 }, status };
}

function daemonSet(status: NonNullable<DaemonSetLike['status']>, generation = 2): DaemonSetLike {
  return {
    metadata: { name: 'speaker', generation },
    spec: {
      template: {
        spec: { nodeSelector: { 'node-role.kubernetes.io/worker': '', 'kubernetes.io/os': 'linux' } },
      },
    },
    status,
  };
}

const readyDeployment = deployment({
  observedGeneration: 2,
  replicas: 1,
  updatedReplicas: 1,
  readyReplicas: 1,
  availableReplicas: 1,
});
const readyDaemonSet = daemonSet({
  observedGeneration: 2,
  desiredNumberScheduled: 3,
  currentNumberScheduled: 3,
  updatedNumberScheduled: 3,
  numberReady: 3,
  numberAvailable: 3,
});

function byType(states: ConditionState[]): Record<string, string> {
  return Object.fromEntries(states.map((s) => [s.type, `${s.status}/${s.reason}`]));
}

describe('judging the controller Deployment', () => {
  it('is ready when every replica is updated, ready and available for the latest generation', () => {
    expect(assessDeployment(readyDeployment, context)).toMatchObject({ ready: true, rollingOut: false });
  });

  it('is rolling out while the Deployment controller has not observed the latest generation', () => {
    const report = assessDeployment({ ...readyDeployment, metadata: { generation: 3 } }, context);
    expect(report).toMatchObject({ ready: false, rollingOut: true });
    expect(report.summary).toMatch(/generation 3, observed 2/);
  });

  it('is rolling out while a replica is not ready, or an old one is still around', () => {
    expect(
      assessDeployment(deployment({ observedGeneration: 2, replicas: 1, updatedReplicas: 1 }), context),
    ).toMatchObject({
      ready: false,
      rollingOut: true,
    });
    const surge = deployment({
      observedGeneration: 2,
      replicas: 2,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
    });
    expect(assessDeployment(surge, context).ready).toBe(false);
  });

  it('counts a missing replica count as one, as the API server defaults it', () => {
    expect(assessDeployment({ ...readyDeployment, spec: {} }, context).ready).toBe(true);
  });

  it('is stuck, with a hint about scheduling, once the rollout passed its progress deadline', () => {
    const stuck = deployment({
      observedGeneration: 2,
      replicas: 1,
      updatedReplicas: 1,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "controller-1" has timed out progressing.',
        },
      ],
    });
    const report = assessDeployment(stuck, context);
    expect(report).toMatchObject({
      ready: false,
      rollingOut: false,
      problem: { reason: 'ControllerRolloutStuck' },
    });
    expect(report.problem?.message).toMatch(/controllerNodeSelector/);
    expect(report.problem?.message).toMatch(
      /kubectl -n metallb-system describe pods -l component=controller/,
    );
  });

  it('is rolling out when it does not exist yet', () => {
    expect(assessDeployment(undefined, context)).toMatchObject({ ready: false, rollingOut: true });
  });
});

describe('judging the speaker DaemonSet', () => {
  it('is ready when every selected node runs an updated, ready and available speaker', () => {
    expect(assessDaemonSet(readyDaemonSet)).toMatchObject({
      ready: true,
      summary: 'speaker: 3 of 3 pods ready, 3 updated',
    });
  });

  it('is rolling out while pods are not ready or not yet updated', () => {
    const status = readyDaemonSet.status ?? {};
    expect(assessDaemonSet(daemonSet({ ...status, numberReady: 2, numberAvailable: 2 })).rollingOut).toBe(
      true,
    );
    expect(assessDaemonSet(daemonSet({ ...status, updatedNumberScheduled: 1 })).rollingOut).toBe(true);
    expect(assessDaemonSet(daemonSet({ ...status, currentNumberScheduled: 2 })).rollingOut).toBe(true);
  });

  it('is rolling out while the DaemonSet controller has not observed the latest generation', () => {
    expect(assessDaemonSet(daemonSet({ ...readyDaemonSet.status, observedGeneration: 1 })).rollingOut).toBe(
      true,
    );
  });

  it('reports a problem naming the node selector when no node is selected', () => {
    const report = assessDaemonSet(daemonSet({ observedGeneration: 2, desiredNumberScheduled: 0 }));
    expect(report).toMatchObject({ ready: false, rollingOut: false, problem: { reason: 'NoSpeakerNodes' } });
    expect(report.problem?.message).toMatch(/node-role\.kubernetes\.io\/worker, kubernetes\.io\/os=linux/);
    expect(report.problem?.message).toMatch(/spec\.nodeSelector/);
  });
});

describe('the MetalLB conditions', () => {
  const ready: WorkloadReport = { ready: true, rollingOut: false, summary: 'ready' };
  const rolling: WorkloadReport = {
    ready: false,
    rollingOut: true,
    summary: 'speaker: 1 of 3 pods ready, 3 updated',
  };

  it('are Available and Upgradeable, not Progressing nor Degraded, when every pod is ready', () => {
    expect(byType(computeConditions({ kind: 'managed', controller: ready, speaker: ready }))).toEqual({
      Available: 'True/AllPodsReady',
      Progressing: 'False/RolloutComplete',
      Degraded: 'False/AsExpected',
      Upgradeable: 'True/AsExpected',
    });
  });

  it('are Progressing, naming what is still rolling out, and not Available meanwhile', () => {
    const states = computeConditions({ kind: 'managed', controller: ready, speaker: rolling });
    expect(byType(states)).toEqual({
      Available: 'False/PodsNotReady',
      Progressing: 'True/RollingOut',
      Degraded: 'False/AsExpected',
      Upgradeable: 'False/NotAvailable',
    });
    expect(states.find((s) => s.type === 'Progressing')?.message).toBe(
      'speaker: 1 of 3 pods ready, 3 updated',
    );
  });

  it('are Degraded with the first problem as reason and every problem in the message', () => {
    const stuck: WorkloadReport = {
      ready: false,
      rollingOut: false,
      summary: 'speaker: no node selected',
      problem: { reason: 'NoSpeakerNodes', message: 'no node can run the speaker' },
    };
    const states = computeConditions({
      kind: 'managed',
      controller: ready,
      speaker: stuck,
      problem: { reason: 'InvalidSpec', message: 'fix spec.x' },
    });
    expect(byType(states)).toEqual({
      Available: 'False/PodsNotReady',
      Progressing: 'False/RolloutStalled',
      Degraded: 'True/InvalidSpec',
      Upgradeable: 'False/Degraded',
    });
    expect(states.find((s) => s.type === 'Degraded')?.message).toBe(
      'fix spec.x; no node can run the speaker',
    );
  });

  it('stay Available while a spec problem keeps the running workloads as they are', () => {
    const states = computeConditions({
      kind: 'managed',
      controller: ready,
      speaker: ready,
      problem: { reason: 'InvalidSpec', message: 'fix spec.x' },
    });
    expect(byType(states)).toMatchObject({ Available: 'True/AllPodsReady', Degraded: 'True/InvalidSpec' });
  });

  it('say a rejected resource deploys nothing, with its reason on every condition', () => {
    const states = computeConditions({
      kind: 'rejected',
      finding: { reason: 'IncorrectMetalLBResourceName', message: 'name it metallb' },
    });
    expect(byType(states)).toEqual({
      Available: 'False/IncorrectMetalLBResourceName',
      Progressing: 'False/IncorrectMetalLBResourceName',
      Degraded: 'True/IncorrectMetalLBResourceName',
      Upgradeable: 'False/IncorrectMetalLBResourceName',
    });
    expect(states.find((s) => s.type === 'Available')?.message).toBe(
      'nothing is deployed for this resource: name it metallb',
    );
  });

  it('always have a reason and a message, as the CRD requires', () => {
    for (const states of [
      computeConditions({ kind: 'managed', controller: ready, speaker: ready }),
      computeConditions({ kind: 'managed', controller: rolling, speaker: rolling }),
    ]) {
      for (const state of states) {
        expect(state.reason).toMatch(/^[A-Z][A-Za-z]+$/);
        expect(state.message.length).toBeGreaterThan(0);
      }
    }
  });
});

describe('storing conditions', () => {
  const computed = computeConditions({
    kind: 'managed',
    controller: { ready: true, rollingOut: false, summary: 'a' },
    speaker: { ready: true, rollingOut: false, summary: 'b' },
  });
  const stored = mergeConditions(undefined, computed, 4, '2026-01-01T00:00:00Z');

  it('formats times as metav1.Time, in whole seconds', () => {
    expect(conditionTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('2026-01-02T03:04:05Z');
  });

  it('is up to date only when status, reason, message and generation all match', () => {
    expect(conditionsUpToDate(stored, computed, 4)).toBe(true);
    expect(conditionsUpToDate(stored, computed, 5)).toBe(false);
    expect(conditionsUpToDate(undefined, computed, 4)).toBe(false);
    const otherMessage = stored.map((c) => (c.type === 'Available' ? { ...c, message: 'old' } : c));
    expect(conditionsUpToDate(otherMessage, computed, 4)).toBe(false);
  });

  it('ignores conditions of other types set by someone else', () => {
    const withForeign: Condition[] = [
      ...stored,
      { type: 'example.com/Audited', status: 'True', lastTransitionTime: 'x', reason: 'Done', message: '' },
    ];
    expect(conditionsUpToDate(withForeign, computed, 4)).toBe(true);
  });

  it('keeps the transition time while the status stays, and moves it when the status changes', () => {
    const progressing = computeConditions({
      kind: 'managed',
      controller: { ready: true, rollingOut: false, summary: 'a' },
      speaker: { ready: false, rollingOut: true, summary: 'c' },
    });
    const next = mergeConditions(stored, progressing, 5, '2026-01-01T00:05:00Z');
    const time = (type: string) => next.find((c) => c.type === type)?.lastTransitionTime;
    expect(time('Degraded')).toBe('2026-01-01T00:00:00Z');
    expect(time('Available')).toBe('2026-01-01T00:05:00Z');
    expect(time('Progressing')).toBe('2026-01-01T00:05:00Z');
    expect(next.every((c) => c.observedGeneration === 5)).toBe(true);
  });

  it('reports which conditions changed status or reason, for events', () => {
    const degraded = computeConditions({
      kind: 'rejected',
      finding: { reason: 'IncorrectMetalLBResourceName', message: 'x' },
    });
    expect(changedConditions(stored, degraded).map((c) => c.type)).toEqual([
      'Available',
      'Progressing',
      'Degraded',
      'Upgradeable',
    ]);
    expect(changedConditions(stored, computed)).toEqual([]);
  });
});
