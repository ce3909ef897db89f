/**
 * The running operator: caches, the MetalLB controller, leader election, probes and metrics, and the order
 * they stop in. Only the leader watches and reconciles; a standby only campaigns for the Lease.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import type { MetalLB } from '../api/types.generated.js';
import { Controller, generationChanged } from '../runtime/controller.js';
import { ApiEventSink, EventRecorder } from '../runtime/events.js';
import { HealthServer } from '../runtime/http-server.js';
import { InformerFactory } from '../runtime/informer-factory.js';
import { ApiLeaseStore, LeaderElector } from '../runtime/leader-election.js';
import { splitKey } from '../runtime/kube-object.js';
import type { Logger } from '../runtime/logging.js';
import { RawClient } from '../runtime/raw-client.js';
import type { Shutdown } from '../runtime/shutdown.js';
import { Applier } from '../runtime/ssa.js';
import { metallbOwner, OperatorCaches, ownerKeyFromLabel } from './caches.js';
import type { OperatorEnv } from './env.js';
import { MetalLBReconciler } from './reconciler.js';
import { metallbResourceName } from './render/index.js';

export const fieldManager = 'metallb-operator';
export const leaseName = 'metallb-operator';
export const reportingController = 'metallb.io/operator';

export interface OperatorOptions {
  readonly kubeConfig: KubeConfig;
  readonly env: OperatorEnv;
  readonly log: Logger;
  readonly shutdown: Shutdown;
  /** HOST:PORT for /healthz and /readyz. */
  readonly healthBindAddress: string;
  /** HOST:PORT for /metrics; "0" turns metrics off. */
  readonly metricsBindAddress: string;
  readonly leaderElect: boolean;
  /** Unique per replica; default "<hostname>_<random>". */
  readonly identity?: string;
}

/**
 * Status-only updates of the MetalLB resource (the operator's own writes among them) are not worth a pass;
 * spec changes are (they bump the generation), and so are the start of deletion and finalizer edits.
 */
export function metallbChangeWorthReconciling(oldObject: MetalLB, newObject: MetalLB): boolean {
  const deleting = (cr: MetalLB): boolean => Boolean(cr.metadata.deletionTimestamp);
  const finalizers = (cr: MetalLB): string => JSON.stringify(cr.metadata.finalizers ?? []);
  return (
    generationChanged(oldObject, newObject) ||
    deleting(oldObject) !== deleting(newObject) ||
    finalizers(oldObject) !== finalizers(newObject)
  );
}

/** What one term of leadership runs; stopping it ends the watches and waits for reconciles in flight. */
class Leadership {
  readonly factory: InformerFactory;
  readonly controller: Controller;

  constructor(options: OperatorOptions, client: RawClient, recorder: EventRecorder, registry: Registry) {
    const { env, log } = options;
    this.factory = new InformerFactory({ client, logger: log });
    const caches = new OperatorCaches(this.factory, env.namespace);
    const reconciler = new MetalLBReconciler({
      env,
      caches,
      client,
      applier: new Applier({ client, fieldManager }),
      recorder,
    });
    const controller = new Controller({
      name: 'metallb',
      reconcile: reconciler.reconcile,
      logger: log,
      metrics: registry,
    });
    controller.primary(caches.metallbs, metallbChangeWorthReconciling);
    // Whether "metallb" exists changes what a second resource is told: revisit every one when it comes or goes.
    controller.watches(
      caches.metallbs,
      (cr) => (cr.metadata.name === metallbResourceName ? caches.metallbs.keys() : []),
      () => false,
    );
    for (const { cache, clusterScoped } of caches.owned) {
      if (clusterScoped) {
        controller.watches(cache, (object) => {
          const key = ownerKeyFromLabel(object);
          // Another install's objects (its MetalLB lives in another namespace) are not ours to judge.
          return key && splitKey(key).namespace === env.namespace ? [key] : [];
        });
      } else {
        controller.owns(cache, metallbOwner);
      }
    }
    this.controller = controller;
  }

  async start(): Promise<void> {
    this.factory.startAll();
    await this.controller.start();
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    await this.factory.stopAll();
  }
}

export interface RunningOperator {
  readonly healthPort: number;
  readonly metricsPort: number | undefined;
}

/** Starts serving probes, then leads (or campaigns to lead) until the shutdown runs. */
export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const { env, log, shutdown } = options;
  const identity = options.identity ?? `${hostname()}_${randomUUID()}`;
  const client = new RawClient(options.kubeConfig);
  const registry = new Registry();
  const recorder = new EventRecorder({
    sink: new ApiEventSink(client),
    reportingController,
    reportingInstance: identity,
    logger: log,
  });

  let leadership: Leadership | undefined;
  const lead = async (): Promise<void> => {
    const term = new Leadership(options, client, recorder, registry);
    leadership = term;
    log.info({ namespace: env.namespace }, 'watching MetalLB resources and what they deploy');
    await term.start();
  };
  const stopLeading = async (): Promise<void> => {
    const term = leadership;
    leadership = undefined;
    await term?.stop();
  };

  const health = new HealthServer({ bindAddress: options.healthBindAddress, logger: log });
  let elector: LeaderElector | undefined;
  health.addLivenessCheck('leader-election', () => elector === undefined || elector.isRunning());
  // A standby is ready: it only waits for the Lease. A leader is ready once its caches are filled.
  health.addReadinessCheck('caches-synced', () => leadership === undefined || leadership.factory.hasSynced());
  await health.start();
  shutdown.register('health server', () => health.close());

  let metrics: HealthServer | undefined;
  if (options.metricsBindAddress !== '0') {
    metrics = new HealthServer({ bindAddress: options.metricsBindAddress, registry, logger: log });
    await metrics.start();
    shutdown.register('metrics server', () => metrics?.close());
  }
  shutdown.register('api client', () => client.close());
  shutdown.register('event recorder', () => recorder.stop());

  if (options.leaderElect) {
    let stopped = false;
    // A lost Lease (an API server outage longer than the renew deadline, say) ends this term's work; the
    // operator then campaigns again, with fresh caches, rather than exit.
    const campaign = (): void => {
      const current = new LeaderElector({
        store: new ApiLeaseStore(client, env.namespace, leaseName),
        identity,
        logger: log,
        onStartedLeading: lead,
        onStoppedLeading: stopLeading,
      });
      elector = current;
      void current.run().then((end) => {
        if (end !== 'lost' || stopped) return;
        log.warn('lost the leader Lease; campaigning again');
        campaign();
      });
    };
    campaign();
    shutdown.register('leader election', async () => {
      stopped = true;
      await elector?.stop();
    });
  } else {
    shutdown.register('controller', stopLeading);
    // Not awaited: the caches may take a while to fill (API server down), and a SIGTERM meanwhile must work.
    lead().catch((error: unknown) => log.error({ err: error }, 'the controller did not start'));
  }
  return { healthPort: health.port, metricsPort: metrics?.port };
}
