/**
 * Every metric the components serve, by registering each component's metrics the way it does at start-up
 * (controller: process metrics, allocator, leader election, the runtime's reconcile metrics; speaker: the
 * same process and reconcile metrics, its own, layer 2 and FRR's) on one registry per component. Dashboards
 * and alerts are checked against this, so they cannot name a metric the code does not serve, and the e2e
 * suites split the dashboard's queries by which component answers them.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import { ControllerMetrics } from '../../src/controller/metrics.js';
import type { Component } from '../../src/operator/render/labels.js';
import { Controller } from '../../src/runtime/controller.js';
import { LeaderMetrics } from '../../src/runtime/leader-metrics.js';
import { silentLogger } from '../../src/runtime/logging.js';
import { emptySnapshot, registerFrrMetrics } from '../../src/speaker/bgp/frr-metrics.js';
import { L2Metrics } from '../../src/speaker/l2/metrics.js';
import { SpeakerMetrics } from '../../src/speaker/metrics.js';

function reconcileMetrics(registry: Registry, name: string): void {
  new Controller({ name, reconcile: async () => undefined, metrics: registry, logger: silentLogger() });
}

function namesOf(registry: Registry): Set<string> {
  const names = new Set<string>();
  for (const metric of registry.getMetricsAsArray()) {
    // prom-client's typings say enum, its objects carry the text type ('histogram').
    const { name } = metric;
    const type = String(metric.type);
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

/** Prometheus names per component: histograms and summaries appear as their _bucket/_sum/_count (and bare) series. */
export function servedMetricNamesByComponent(): Readonly<Record<Component, ReadonlySet<string>>> {
  const controllerRegistry = new Registry();
  collectDefaultMetrics({ register: controllerRegistry });
  new ControllerMetrics(controllerRegistry);
  new LeaderMetrics(controllerRegistry, 'metallb-controller');
  reconcileMetrics(controllerRegistry, 'service');

  const speakerRegistry = new Registry();
  collectDefaultMetrics({ register: speakerRegistry });
  new SpeakerMetrics(speakerRegistry);
  new L2Metrics(speakerRegistry);
  registerFrrMetrics({
    registry: speakerRegistry,
    reader: { read: async () => emptySnapshot },
    sessions: () => [],
  });
  reconcileMetrics(speakerRegistry, 'speaker');

  return { controller: namesOf(controllerRegistry), speaker: namesOf(speakerRegistry) };
}

/** Every metric any component serves. */
export function servedMetricNames(): ReadonlySet<string> {
  const { controller, speaker } = servedMetricNamesByComponent();
  return new Set([...controller, ...speaker]);
}
