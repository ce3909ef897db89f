/**
 * Every metric the components serve, by registering each component's metrics the way it does at start-up
 * (controller, speaker with FRR and layer 2, the runtime's reconcile and leader metrics, the process
 * metrics) on one registry. Dashboards and alerts are checked against this, so they cannot name a metric
 * the code does not serve.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import { ControllerMetrics } from '../../src/controller/metrics.js';
import { Controller } from '../../src/runtime/controller.js';
import { LeaderMetrics } from '../../src/runtime/leader-metrics.js';
import { silentLogger } from '../../src/runtime/logging.js';
import { emptySnapshot, registerFrrMetrics } from '../../src/speaker/bgp/frr-metrics.js';
import { L2Metrics } from '../../src/speaker/l2/metrics.js';
import { SpeakerMetrics } from '../../src/speaker/metrics.js';

/** Prometheus names: histograms and summaries appear as their _bucket/_sum/_count (and bare) series. */
export function servedMetricNames(): ReadonlySet<string> {
  const controllerRegistry = new Registry();
  collectDefaultMetrics({ register: controllerRegistry });
  new ControllerMetrics(controllerRegistry);
  new LeaderMetrics(controllerRegistry, 'metallb-controller');
  new Controller({
    name: 'service',
    reconcile: async () => undefined,
    metrics: controllerRegistry,
    logger: silentLogger(),
  });

  const speakerRegistry = new Registry();
  new SpeakerMetrics(speakerRegistry);
  new L2Metrics(speakerRegistry);
  registerFrrMetrics({
    registry: speakerRegistry,
    reader: { read: async () => emptySnapshot },
    sessions: () => [],
  });

  const names = new Set<string>();
  for (const registry of [controllerRegistry, speakerRegistry]) {
    for (const metric of registry.getMetricsAsArray()) {
      // prom-client's typings say enum, its objects carry the text type ('histogram').
      const { name } = metric;
      const type = String(metric.type);
      names.add(name);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
      if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
    }
  }
  return names;
}
