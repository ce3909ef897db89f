import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { KubeConfig } from '@kubernetes/client-node';
import { runComponent, type ComponentHostOptions, type LedComponent } from './component-host.js';
import type { Lease, LeaseStore } from './leader-election.js';
import { waitFor } from '../../test/cluster/wait-for.js';

/** One Lease in memory; `holder` lets a test play another replica. */
class MemoryLeaseStore implements LeaseStore {
  readonly namespace = 'metallb-system';
  readonly name = 'test-lease';
  lease: Lease | undefined;
  constructor(private readonly journal: string[]) {}

  async get(): Promise<Lease | undefined> {
    return this.lease && structuredClone(this.lease);
  }

  async create(lease: Lease): Promise<Lease> {
    return this.keep(lease);
  }

  async update(lease: Lease): Promise<Lease> {
    if (lease.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) throw new Error('conflict');
    if (lease.spec?.holderIdentity === '') this.journal.push('lease released');
    return this.keep(lease);
  }

  /** Another replica takes the Lease over. */
  setHolder(holder: string): void {
    if (!this.lease) throw new Error('no lease yet');
    this.keep({
      ...this.lease,
      spec: { ...this.lease.spec, holderIdentity: holder, leaseDurationSeconds: 1 },
    });
  }

  private keep(lease: Lease): Lease {
    const version = Number(this.lease?.metadata.resourceVersion ?? 0) + 1;
    this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(version) } };
    return structuredClone(this.lease);
  }
}

class RecordingComponent implements LedComponent {
  leads = 0;
  constructor(
    private readonly journal: string[],
    private readonly failStart = false,
  ) {}

  async start(): Promise<void> {
    this.journal.push('start');
    if (this.failStart) throw new Error('cannot start');
  }

  async lead(): Promise<void> {
    this.leads += 1;
    this.journal.push('lead');
  }

  async stopLeading(): Promise<void> {
    this.journal.push('stop leading');
  }

  async stop(): Promise<void> {
    this.journal.push('stop');
  }
}

function credentials() {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u', token: 'unused' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return { kubeConfig, source: 'test' };
}

interface Run {
  readonly journal: string[];
  readonly signals: EventEmitter;
  readonly store: MemoryLeaseStore;
  readonly component: RecordingComponent;
  readonly logLines: Record<string, unknown>[];
  readonly exited: Promise<number>;
}

function run(overrides: Partial<ComponentHostOptions<RecordingComponent>> = {}, failStart = false): Run {
  const journal: string[] = [];
  const signals = new EventEmitter();
  const store = new MemoryLeaseStore(journal);
  const component = new RecordingComponent(journal, failStart);
  const logLines: Record<string, unknown>[] = [];
  const exited = runComponent<RecordingComponent>({
    name: 'tester',
    logLevel: 'info',
    healthBindAddress: '127.0.0.1:0',
    metricsBindAddress: '127.0.0.1:0',
    identity: 'replica-a',
    leaderElection: { leaseName: 'test-lease', namespace: 'metallb-system', whenLost: 'exit' },
    create: () => component,
    ready: { message: 'tester ready', fields: () => ({ extra: 1 }) },
    reportError: (line) => journal.push(`error: ${line}`),
    signals,
    exit: (code) => void journal.push(`exit ${code}`),
    logDestination: { write: (line: string) => void logLines.push(JSON.parse(line)) },
    leaseStore: () => store,
    leaseTimings: { leaseDurationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 50 },
    loadCredentials: credentials,
    ...overrides,
  });
  return { journal, signals, store, component, logLines, exited };
}

function readyLine(lines: readonly Record<string, unknown>[]): Record<string, unknown> | undefined {
  return lines.find((line) => line.msg === 'tester ready');
}

describe('the component host', () => {
  it('stops the led work, then releases the Lease, then stops the component and closes the servers', async () => {
    const { journal, signals, logLines, exited } = run();
    await waitFor('the component to lead', () => journal.includes('lead'), 5_000);
    const ready = readyLine(logLines);
    expect(ready).toMatchObject({ component: 'tester', extra: 1 });
    const healthPort = ready?.healthPort as number;
    expect((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status).toBe(200);

    signals.emit('SIGTERM', 'SIGTERM');
    expect(await exited).toBe(0);
    expect(journal).toEqual(['start', 'lead', 'stop leading', 'lease released', 'stop', 'exit 0']);
    await expect(fetch(`http://127.0.0.1:${healthPort}/healthz`)).rejects.toThrow();
  });

  it('exits 1 when the Lease is lost under the exit policy, after stopping the led work', async () => {
    const { journal, store, exited } = run();
    await waitFor('the component to lead', () => journal.includes('lead'), 5_000);
    store.setHolder('replica-b');
    expect(await exited).toBe(1);
    expect(journal).toEqual(['start', 'lead', 'stop leading', 'stop', 'exit 1']);
  });

  it('campaigns again after losing the Lease under the campaign-again policy', async () => {
    const { journal, store, signals, component, exited } = run({
      leaderElection: { leaseName: 'test-lease', namespace: 'metallb-system', whenLost: 'campaign-again' },
    });
    await waitFor('the component to lead', () => journal.includes('lead'), 5_000);
    store.setHolder('replica-b');
    await waitFor('the term to end', () => journal.includes('stop leading'), 5_000);
    store.setHolder('');
    await waitFor('the component to lead again', () => component.leads === 2, 5_000);
    signals.emit('SIGINT', 'SIGINT');
    expect(await exited).toBe(0);
    expect(journal).toEqual([
      'start',
      'lead',
      'stop leading',
      'lead',
      'stop leading',
      'lease released',
      'stop',
      'exit 0',
    ]);
  });

  it('reports on /metrics whether it holds the Lease: 0 while another replica leads, 1 once it leads', async () => {
    // Plain HTTP: what is under test is the gauge, not who may read it (metrics-server.test.ts).
    const { journal, store, signals, logLines, exited } = run({
      leaderElection: { leaseName: 'test-lease', namespace: 'metallb-system', whenLost: 'campaign-again' },
      metricsInsecure: true,
    });
    const leaderSample = async (): Promise<string | undefined> => {
      const port = readyLine(logLines)?.metricsPort as number;
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return body.split('\n').find((line) => line.startsWith('leader_election_master_status{'));
    };
    try {
      await waitFor('the component to lead', () => journal.includes('lead'), 5_000);
      await waitFor('the ready line', () => readyLine(logLines) !== undefined, 5_000);
      expect(await leaderSample()).toBe('leader_election_master_status{name="test-lease"} 1');
      store.setHolder('replica-b');
      await waitFor('the term to end', () => journal.includes('stop leading'), 5_000);
      expect(await leaderSample()).toBe('leader_election_master_status{name="test-lease"} 0');
    } finally {
      signals.emit('SIGTERM', 'SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('leads at once without leader election, and ends that work on shutdown', async () => {
    const { journal, signals, exited } = run({ leaderElection: undefined });
    await waitFor('the component to lead', () => journal.includes('lead'), 5_000);
    signals.emit('SIGTERM', 'SIGTERM');
    expect(await exited).toBe(0);
    expect(journal).toEqual(['start', 'lead', 'stop leading', 'stop', 'exit 0']);
  });

  it('runs the same ordered stop and exits 1 when the component cannot start', async () => {
    const { journal, logLines, exited } = run({}, true);
    expect(await exited).toBe(1);
    expect(journal).toEqual(['start', 'stop', 'exit 1']);
    expect(logLines.find((line) => line.msg === 'could not start')).toBeDefined();
    expect(readyLine(logLines)).toBeUndefined();
  });

  it('says which credentials are missing, prefixed by the component, before logging anything', async () => {
    const { journal, logLines, exited } = run({
      loadCredentials: () => {
        throw new Error('kubeconfig /nonexistent (from --kubeconfig) does not exist');
      },
    });
    expect(await exited).toBe(1);
    expect(journal).toEqual(['error: tester: kubeconfig /nonexistent (from --kubeconfig) does not exist']);
    expect(logLines).toEqual([]);
  });
});
