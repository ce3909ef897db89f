/**
 * The speaker's own metrics (FRR's BGP and BFD metrics are in bgp/frr-metrics.ts): what it announces, the
 * state of its configuration (upstream's k8s client metrics) and how reloading FRR goes.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FrrApplierMetrics } from './bgp/frr-applier.js';

export interface AnnouncedAddress {
  /** "namespace/name", as upstream labels it. */
  readonly service: string;
  readonly ip: string;
}

export class SpeakerMetrics {
  private readonly announced: Gauge<'node' | 'service' | 'protocol' | 'ip'>;
  private readonly configLoaded: Gauge;
  private readonly configStale: Gauge;
  private readonly updates: Counter;
  private readonly updateErrors: Counter;
  private readonly frrReloads: Counter;
  private readonly frrReloadErrors: Counter;
  private readonly frrConfigApplied: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.announced = new Gauge({
      name: 'metallb_speaker_announced',
      help: 'Services being announced from this node. This is desired state, it does not guarantee that the routing protocols have converged.',
      labelNames: ['node', 'service', 'protocol', 'ip'],
      registers,
    });
    this.configLoaded = new Gauge({
      name: 'metallb_k8s_client_config_loaded_bool',
      help: '1 if the MetalLB configuration was successfully loaded at least once.',
      registers,
    });
    this.configStale = new Gauge({
      name: 'metallb_k8s_client_config_stale_bool',
      help: '1 if running on a stale configuration, because the latest config failed to load.',
      registers,
    });
    this.updates = new Counter({
      name: 'metallb_k8s_client_updates_total',
      help: 'Number of k8s object updates that have been processed.',
      registers,
    });
    this.updateErrors = new Counter({
      name: 'metallb_k8s_client_update_errors_total',
      help: 'Number of k8s object updates that failed for some reason.',
      registers,
    });
    this.frrReloads = new Counter({
      name: 'metallb_frr_reloads_total',
      help: 'Number of times FRR took the configuration the speaker rendered.',
      registers,
    });
    this.frrReloadErrors = new Counter({
      name: 'metallb_frr_reload_errors_total',
      help: 'Number of failed attempts to apply the rendered configuration to FRR.',
      registers,
    });
    this.frrConfigApplied = new Gauge({
      name: 'metallb_frr_config_applied_bool',
      help: '1 if FRR runs the latest configuration the speaker rendered.',
      registers,
    });
  }

  setAnnounced(node: string, addresses: readonly AnnouncedAddress[]): void {
    this.announced.reset();
    for (const { service, ip } of addresses) this.announced.set({ node, service, protocol: 'bgp', ip }, 1);
  }

  configLoadedOnce(): void {
    this.configLoaded.set(1);
  }

  setConfigStale(stale: boolean): void {
    this.configStale.set(stale ? 1 : 0);
  }

  updateProcessed(ok: boolean): void {
    this.updates.inc();
    if (!ok) this.updateErrors.inc();
  }

  /** The hooks the FRR applier reports through. */
  frrApplierMetrics(): FrrApplierMetrics {
    return {
      reloadSucceeded: () => this.frrReloads.inc(),
      reloadFailed: () => this.frrReloadErrors.inc(),
      setConfigApplied: (applied) => this.frrConfigApplied.set(applied ? 1 : 0),
    };
  }
}
