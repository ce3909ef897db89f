/**
 * The running operator: caches and the MetalLB controller, for one term of leadership at a time (the
 * component host runs the election, probes, metrics and shutdown). Only the leader watches and reconciles;
 * a standby only campaigns for the Lease, and a leader that loses it campaigns again.
 */
import type { Registry } from 'prom-client';
import type { MetalLB } from '../api/types.generated.js';
import type { StoredConfigObjects } from '../api/kinds.js';
import { referencedPasswordSecrets } from '../config/passwords.js';
import { Controller, generationChanged } from '../runtime/controller.js';
import { ApiEventSink, EventRecorder } from '../runtime/events.js';
import type { ComponentContext, LedComponent } from '../runtime/component-host.js';
import { InformerFactory } from '../runtime/informer-factory.js';
import { keyOf, splitKey } from '../runtime/kube-object.js';
import type { RawClient } from '../runtime/raw-client.js';
import { Applier } from '../runtime/ssa.js';
import { metallbOwner, OperatorCaches, ownerKeyFromLabel } from './caches.js';
import { detectCapabilities, sameCapabilities } from './capabilities.js';
import type { OperatorEnv } from './env.js';
import { MetalLBReconciler } from './reconciler.js';
import { metallbResourceName, noCapabilities, type ClusterCapabilities } from './render/index.js';

export const fieldManager = 'metallb-operator';
export const reportingController = 'metallb.io/operator';

/** The API client, the servers (for its metrics and readiness), the logger and its identity come from the host. */
export interface OperatorOptions extends Pick<ComponentContext, 'client' | 'servers' | 'log' | 'identity'> {
  readonly env: OperatorEnv;
  /** How often API discovery is asked again whether ServiceMonitors (or OpenShift) are served; default 60 s. */
  readonly capabilityCheckMs?: number;
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

  constructor(
    options: OperatorOptions,
    client: RawClient,
    recorder: EventRecorder,
    registry: Registry,
    readonly capabilities: ClusterCapabilities,
  ) {
    const { env, log } = options;
    this.factory = new InformerFactory({ client, logger: log });
    const caches = new OperatorCaches(this.factory, env.namespace, capabilities);
    const reconciler = new MetalLBReconciler({
      env,
      capabilities,
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
      (cr) =>
        cr.metadata.name === metallbResourceName && cr.metadata.namespace === env.namespace
          ? caches.metallbs.keys().filter((key) => splitKey(key).namespace === env.namespace)
          : [],
      () => false,
    );
    // The speaker's Role names the Secrets BGPPeers reference: render again when that set changes.
    const secretNamesOf = (peer: StoredConfigObjects['peers']): string =>
      referencedPasswordSecrets([peer], env.namespace).join('\n');
    controller.watches(
      caches.peers,
      () => [keyOf(env.namespace, metallbResourceName)],
      (oldPeer, newPeer) => secretNamesOf(oldPeer) !== secretNamesOf(newPeer),
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

/**
 * The operator as the component host runs it: nothing runs outside leadership; the leader watches and
 * reconciles. A standby is ready (it only waits for the Lease); a leader once its caches are filled.
 */
export class Operator implements LedComponent {
  private readonly recorder: EventRecorder;
  private leadership: Leadership | undefined;
  private recheck: NodeJS.Timeout | undefined;
  /** Serializes term starts and restarts, so a capability change never races stopLeading. */
  private transition: Promise<void> = Promise.resolve();

  constructor(private readonly options: OperatorOptions) {
    this.recorder = new EventRecorder({
      sink: new ApiEventSink(options.client),
      reportingController,
      reportingInstance: options.identity,
      logger: options.log,
      registry: options.servers.registry,
    });
    options.servers.addReadinessCheck(
      'caches-synced',
      () => this.leadership === undefined || this.leadership.factory.hasSynced(),
    );
  }

  async start(): Promise<void> {}

  async lead(signal?: AbortSignal): Promise<void> {
    const capabilities = await this.detectUntilKnown(signal);
    if (signal?.aborted) return;
    await this.serialized(() => this.startTerm(capabilities));
    // Installing prometheus-operator (or removing it) later changes what is rendered: look again now and
    // then, and start a fresh term (fresh caches) when the answer changes.
    this.recheck = setInterval(
      () => void this.recheckCapabilities(),
      this.options.capabilityCheckMs ?? 60_000,
    );
    this.recheck.unref();
  }

  async stopLeading(): Promise<void> {
    clearInterval(this.recheck);
    this.recheck = undefined;
    await this.serialized(async () => {
      const term = this.leadership;
      this.leadership = undefined;
      await term?.stop();
    });
  }

  private serialized(step: () => Promise<void>): Promise<void> {
    const next = this.transition.then(step);
    this.transition = next.catch(() => undefined);
    return next;
  }

  private async startTerm(capabilities: ClusterCapabilities): Promise<void> {
    const term = new Leadership(
      this.options,
      this.options.client,
      this.recorder,
      this.options.servers.registry,
      capabilities,
    );
    this.leadership = term;
    this.options.log.info(
      { namespace: this.options.env.namespace, ...capabilities },
      'watching MetalLB resources and what they deploy',
    );
    await term.start();
  }

  private async detectUntilKnown(signal: AbortSignal | undefined): Promise<ClusterCapabilities> {
    for (let delayMs = 500; ; delayMs = Math.min(delayMs * 2, 30_000)) {
      try {
        return await detectCapabilities(this.options.client);
      } catch (error) {
        this.options.log.warn({ err: error }, 'API discovery failed; retrying before rendering anything');
        if (signal?.aborted) return noCapabilities;
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  private async recheckCapabilities(): Promise<void> {
    let found: ClusterCapabilities;
    try {
      found = await detectCapabilities(this.options.client);
    } catch (error) {
      this.options.log.debug({ err: error }, 'API discovery failed; keeping what was found before');
      return;
    }
    await this.serialized(async () => {
      const term = this.leadership;
      if (!term || sameCapabilities(term.capabilities, found)) return;
      this.options.log.info({ ...found }, 'the cluster now serves different kinds; starting a fresh term');
      await term.stop();
      await this.startTerm(found);
    });
  }

  async stop(): Promise<void> {
    await this.recorder.stop();
  }
}
