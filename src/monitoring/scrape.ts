/**
 * Scrape configuration for a Prometheus without the Prometheus Operator (the operator's users get
 * ServiceMonitors instead): one job per component with static targets, the alert rules loaded from the
 * plain rule file. Static, not Kubernetes discovery: Debian's Prometheus is built without it, and a
 * Prometheus outside the cluster reaches speakers at their node addresses anyway. The e2e builds its
 * Prometheus configuration with this same function.
 */
import type { Component } from '../operator/render/labels.js';
import { RULE_FILE } from './alerts.js';

export interface StaticScrapeOptions {
  /** HOST:PORT of each component's metrics endpoint. */
  readonly targets: Readonly<Record<Component, readonly string[]>>;
  /** Added to every series of the job, as Kubernetes discovery would. */
  readonly namespace: string;
  /** Prometheus durations; default 30s. */
  readonly scrapeInterval?: string;
  readonly evaluationInterval?: string;
  /** Rule files to load; default the plain rule file next to the configuration. */
  readonly ruleFiles?: readonly string[];
  /**
   * A file holding the bearer token of an identity bound to the metallb-metrics-reader ClusterRole; the
   * endpoints answer 401/403 without one. Default: the in-cluster ServiceAccount token.
   */
  readonly tokenFile?: string;
  /** The CA that signed the endpoints' certificates; without one the certificate is not verified. */
  readonly caFile?: string;
}

const inClusterToken = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function scrapeJob(component: Component, options: StaticScrapeOptions): Record<string, unknown> {
  return {
    job_name: `metallb-${component}`,
    // The endpoints serve HTTPS only and authorize every scrape (TokenReview + SubjectAccessReview).
    scheme: 'https',
    authorization: { type: 'Bearer', credentials_file: options.tokenFile ?? inClusterToken },
    tls_config: options.caFile ? { ca_file: options.caFile } : { insecure_skip_verify: true },
    static_configs: [
      { targets: [...options.targets[component]], labels: { namespace: options.namespace, component } },
    ],
  };
}

/** A prometheus.yml: both components' jobs and the alert rules file. */
export function staticScrapeConfig(options: StaticScrapeOptions): Record<string, unknown> {
  return {
    global: {
      scrape_interval: options.scrapeInterval ?? '30s',
      evaluation_interval: options.evaluationInterval ?? options.scrapeInterval ?? '30s',
    },
    rule_files: [...(options.ruleFiles ?? [RULE_FILE])],
    scrape_configs: [scrapeJob('controller', options), scrapeJob('speaker', options)],
  };
}
