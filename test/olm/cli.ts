/**
 * `make olm-up | olm-down`: a real OLM (test/olm/local-olm.ts) next to the control plane of `make cluster-up`,
 * in a background process that stops with that cluster. It serves catalog/ behind the CatalogSource
 * olm/metallb-operators, so the product installs by Subscription as on OpenShift.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { repoRoot } from '../cluster/local-cluster.js';
import { sleep } from '../cluster/processes.js';
import { isAlive, readState as readClusterState } from '../cluster/supervisor.js';
import { LocalOlm, catalogSourceName, olmNamespace } from './local-olm.js';

interface OlmState {
  readonly pid: number;
  readonly workDir: string;
  readonly pids: readonly number[];
}

const stateDir = join(repoRoot, '.local/olm');
const stateFile = join(stateDir, 'state.json');
const clusterStateDir = join(repoRoot, '.local/cluster');

function readState(): OlmState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8')) as OlmState;
  } catch {
    return undefined;
  }
}

async function serve(): Promise<void> {
  const cluster = readClusterState(clusterStateDir);
  if (!cluster) throw new Error('no local cluster: run `make cluster-up` first');
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const workDir = mkdtempSync(join(tmpdir(), 'metallb-olm-'));
  const olm = await LocalOlm.start({
    kubeconfig: cluster.kubeconfig,
    clusterBinDir: cluster.binDir,
    workDir,
    log,
  });
  writeFileSync(stateFile, JSON.stringify({ pid: process.pid, workDir, pids: olm.pids }, null, 2));
  log(`OLM running; logs in ${join(workDir, 'logs')}`);
  let stopping = false;
  const shutdown = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping: ${why}`);
    await olm.stop();
    rmSync(stateFile, { force: true });
    rmSync(workDir, { recursive: true, force: true });
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
    process.on(signal, () => void shutdown(signal));
  setInterval(() => {
    if (!isAlive(cluster.supervisorPid)) void shutdown('the local cluster stopped');
  }, 1000);
  await new Promise<never>(() => undefined);
}

async function up(): Promise<void> {
  const existing = readState();
  if (existing && isAlive(existing.pid)) {
    console.log('OLM already running');
    return;
  }
  const cluster = readClusterState(clusterStateDir);
  if (!cluster || !isAlive(cluster.supervisorPid))
    throw new Error('no local cluster: run `make cluster-up` first');
  mkdirSync(stateDir, { recursive: true });
  rmSync(stateFile, { force: true });
  const self = fileURLToPath(import.meta.url);
  const logFile = join(stateDir, 'olm-up.log');
  const fd = openSync(logFile, 'w');
  const child = spawn(
    process.execPath,
    [...(self.endsWith('.ts') ? ['--import', 'tsx'] : []), self, 'serve'],
    {
      detached: true,
      stdio: ['ignore', fd, fd],
    },
  );
  closeSync(fd);
  child.unref();
  const deadline = Date.now() + 180_000;
  while (!readState()) {
    if (
      child.exitCode !== null ||
      (child.pid !== undefined && !isAlive(child.pid)) ||
      Date.now() > deadline
    ) {
      if (child.pid && isAlive(child.pid)) process.kill(child.pid, 'SIGTERM');
      throw new Error(
        `OLM failed to start:\n${readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')}`,
      );
    }
    await sleep(300);
  }
  console.log(
    [
      `OLM running; CatalogSource ${olmNamespace}/${catalogSourceName} serves catalog/ (log: ${relative(process.cwd(), logFile)})`,
      'Install MetalLB the OpenShift way: a Namespace metallb-system, an OperatorGroup, and a Subscription',
      `  (channel stable, name metallb-operator, source ${catalogSourceName}, sourceNamespace ${olmNamespace}).`,
      'Stop it with: make olm-down (make cluster-down stops it too)',
    ].join('\n'),
  );
}

async function down(): Promise<void> {
  const state = readState();
  if (!state) {
    console.log('OLM was not running');
    return;
  }
  if (isAlive(state.pid)) process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (isAlive(state.pid) && Date.now() < deadline) await sleep(200);
  for (const pid of [state.pid, ...state.pids]) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(stateFile, { force: true });
  if (existsSync(state.workDir) && state.workDir.includes('metallb-olm-'))
    rmSync(state.workDir, { recursive: true, force: true });
  console.log('OLM stopped');
}

const { positionals } = parseArgs({ allowPositionals: true, options: {} });
const commands: Record<string, () => Promise<void>> = { up, down, serve };
const command = commands[positionals[0] ?? ''];
if (!command) {
  console.error('Usage: olm-cli up|down|serve');
  process.exit(2);
}
command().then(
  () => {
    if (positionals[0] !== 'serve') process.exit(0);
  },
  (error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  },
);
