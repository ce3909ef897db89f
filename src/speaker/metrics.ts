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
  private readonly layer2Addresses: Gauge<'node'>;
  private readonly layer2Conflicts: Gauge<'node'>;
  private readonly liveSpeakers: Gauge;
  /** The announced series each protocol set last, so one protocol's update leaves the other's alone. */
  private readonly announcedSeries = new Map<
    string,
    { node: string; service: string; protocol: string; ip: string }[]
  >();

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
    this.layer2Addresses = new Gauge({
      name: 'metallb_layer2_announced_addresses',
      help: 'Addresses this node answers ARP/NDP for.',
      labelNames: ['node'],
      registers,
    });
    this.layer2Conflicts = new Gauge({
      name: 'metallb_layer2_address_conflicts',
      help: 'Addresses this node should answer for but does not, because another host holds them.',
      labelNames: ['node'],
      registers,
    });
    this.liveSpeakers = new Gauge({
      name: 'metallb_layer2_live_speakers',
      help: 'Speakers whose heartbeat Lease this speaker sees current, itself included.',
      registers,
    });
  }

  setAnnounced(
    node: string,
    addresses: readonly AnnouncedAddress[],
    protocol: 'bgp' | 'layer2' = 'bgp',
  ): void {
    for (const series of this.announcedSeries.get(protocol) ?? []) this.announced.remove(series);
    // Label order as upstream prints it: node, service, protocol, ip.
    const series = addresses.map(({ service, ip }) => ({ node, service, protocol, ip }));
    for (const labels of series) this.announced.set(labels, 1);
    this.announcedSeries.set(protocol, series);
  }

  /** Layer 2: addresses this node answers for, addresses refused for a conflict, live speakers seen. */
  setLayer2(node: string, addresses: number, conflicts: number, liveSpeakers: number): void {
    this.layer2Addresses.reset();
    this.layer2Addresses.set({ node }, addresses);
    this.layer2Conflicts.reset();
    this.layer2Conflicts.set({ node }, conflicts);
    this.liveSpeakers.set(liveSpeakers);
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
