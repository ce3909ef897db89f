/**
 * Debian's Prometheus as a process on loopback, configured the way the product tells a Prometheus without the
 * operator to be (src/monitoring/scrape.ts: HTTPS, a bearer token file) with the alert rules of the test
 * profile (short `for:`), evaluating every second and scraping every second unless told otherwise (Prometheus
 * gives up on a scrape after one interval). Used by the monitoring e2e suites; `stop`
 * ends the process and removes its working folder.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ruleGroups } from '../../../src/monitoring/alerts.js';
import { staticScrapeConfig } from '../../../src/monitoring/scrape.js';
import type { Component } from '../../../src/operator/render/labels.js';
import { ManagedProcess, freePort } from '../processes.js';

export const prometheusBinary = '/usr/bin/prometheus';

export interface PrometheusAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly state: string;
}

export interface PromSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: readonly [number, string];
}

export interface PrometheusOptions {
  /** HOST:PORT of each component's metrics endpoint. */
  readonly targets: Readonly<Record<Component, readonly string[]>>;
  /** Bearer token for every scrape: a ServiceAccount's, bound to the metrics-reader ClusterRole or not. */
  readonly token: string;
  /** The `namespace` label the scrape configuration adds. */
  readonly namespace: string;
  /** Also the scrape timeout; default 1s. */
  readonly scrapeInterval?: string;
}

export class LocalPrometheus {
  private constructor(
    readonly url: string,
    private readonly process: ManagedProcess,
    private readonly workDir: string,
  ) {}

  static async start(options: PrometheusOptions): Promise<LocalPrometheus> {
    const workDir = mkdtempSync(join(tmpdir(), 'metallb-prometheus-'));
    try {
      writeFileSync(join(workDir, 'token'), options.token, { mode: 0o600 });
      writeFileSync(join(workDir, 'rules.yaml'), stringify(ruleGroups('test')));
      writeFileSync(
        join(workDir, 'prometheus.yml'),
        stringify(
          staticScrapeConfig({
            namespace: options.namespace,
            targets: options.targets,
            scrapeInterval: options.scrapeInterval ?? '1s',
            evaluationInterval: '1s',
            ruleFiles: [join(workDir, 'rules.yaml')],
            tokenFile: join(workDir, 'token'),
          }),
        ),
      );
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const process = ManagedProcess.start(
        'prometheus',
        prometheusBinary,
        [
          `--config.file=${join(workDir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(workDir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        join(workDir, 'prometheus.log'),
      );
      const prometheus = new LocalPrometheus(url, process, workDir);
      try {
        await process.waitUntilReady(async () => (await fetch(`${url}/-/ready`)).ok, 60_000);
      } catch (error) {
        await prometheus.stop();
        throw error;
      }
      return prometheus;
    } catch (error) {
      rmSync(workDir, { recursive: true, force: true });
      throw error;
    }
  }

  private async api<T>(path: string): Promise<T> {
    const response = await fetch(`${this.url}${path}`);
    const body = (await response.json()) as { status: string; data: T };
    if (body.status !== 'success') throw new Error(`${path}: ${JSON.stringify(body)}`);
    return body.data;
  }

  /** An instant query's result vector. */
  async query(expr: string): Promise<PromSeries[]> {
    const data = await this.api<{ result: PromSeries[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    return data.result;
  }

  async firingAlerts(): Promise<PrometheusAlert[]> {
    const data = await this.api<{ alerts: PrometheusAlert[] }>('/api/v1/alerts');
    return data.alerts.filter((alert) => alert.state === 'firing');
  }

  /** Each scrape target's job, instance, health and last error: what a timed-out wait should show. */
  async targets(): Promise<string> {
    const data = await this.api<{
      activeTargets: { labels: Record<string, string>; health: string; lastError: string }[];
    }>('/api/v1/targets');
    return data.activeTargets
      .map((t) => `${t.labels.job} ${t.labels.instance}: ${t.health} ${t.lastError}`)
      .join('\n');
  }

  async stop(): Promise<void> {
    try {
      await this.process.stop();
    } finally {
      rmSync(this.workDir, { recursive: true, force: true });
    }
  }
}
