/**
 * Runs a LocalCluster in a process of its own that outlives whoever started it (make cluster-up) or dies
 * with it (the e2e suites pass --parent-pid). Its state file says where the cluster is and who owns it;
 * `down` asks the supervisor to stop, which takes every control-plane process and temp folder with it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalCluster, defaultNodes, type SimulatedNode } from './local-cluster.js';
import { sleep } from './processes.js';

export interface ClusterState {
  readonly supervisorPid: number;
  readonly server: string;
  readonly kubeconfig: string;
  readonly workDir: string;
  readonly binDir: string;
  readonly pids: readonly number[];
  /** With a service proxy: the file its routes are added to (service-proxy.ts addRoute). */
  readonly serviceRoutesFile?: string;
}

export function stateFile(stateDir: string): string {
  return join(stateDir, 'state.json');
}

export function readState(stateDir: string): ClusterState | undefined {
  const file = stateFile(stateDir);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ServeOptions {
  readonly stateDir: string;
  readonly parentPid?: number;
  readonly audit?: boolean;
  readonly address?: string;
  readonly nodes?: readonly SimulatedNode[];
  /** Install the product's CRDs (default true); false when an installer (OLM) brings them. */
  readonly crds?: boolean;
  /** Route the API server's calls to Services through a proxy, its routes in <stateDir>/service-routes.json. */
  readonly serviceProxy?: boolean;
}

/** The supervisor's body: start, publish the state, wait for a signal (or the parent's death), stop. */
export async function serve(options: ServeOptions): Promise<void> {
  mkdirSync(options.stateDir, { recursive: true });
  const kubeconfig = join(options.stateDir, 'kubeconfig');
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const serviceRoutesFile = options.serviceProxy ? join(options.stateDir, 'service-routes.json') : undefined;
  if (serviceRoutesFile) writeFileSync(serviceRoutesFile, '{}');
  const cluster = await LocalCluster.start({
    kubeconfigPath: kubeconfig,
    audit: options.audit ?? false,
    log,
    ...(options.crds === false ? { crdsDir: null } : {}),
    ...(serviceRoutesFile ? { serviceProxy: { routesFile: serviceRoutesFile } } : {}),
    ...(options.address ? { address: options.address } : {}),
    ...(options.nodes ? { nodes: options.nodes } : {}),
  });
  const state: ClusterState = {
    supervisorPid: process.pid,
    server: cluster.server,
    kubeconfig,
    workDir: cluster.workDir,
    binDir: cluster.binDir,
    pids: cluster.pids,
    ...(serviceRoutesFile ? { serviceRoutesFile } : {}),
  };
  writeFileSync(stateFile(options.stateDir), JSON.stringify(state, null, 2));
  log(`cluster ready at ${cluster.server}`);

  let stopping: Promise<void> | undefined;
  const shutdown = (why: string) => {
    stopping ??= (async () => {
      log(`stopping: ${why}`);
      await cluster.stop();
      rmSync(stateFile(options.stateDir), { force: true });
      rmSync(kubeconfig, { force: true });
      if (serviceRoutesFile) rmSync(serviceRoutesFile, { force: true });
      log('stopped');
      process.exit(0);
    })();
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));
  if (options.parentPid) {
    const parentPid = options.parentPid;
    setInterval(() => {
      if (!isAlive(parentPid)) shutdown(`parent ${parentPid} is gone`);
    }, 1000);
  }
  await new Promise<never>(() => undefined);
}

export interface StartOptions extends Omit<ServeOptions, 'nodes'> {
  readonly timeoutMs?: number;
}

/** Starts a supervisor in the background and waits until its cluster is ready. */
export async function startSupervised(options: StartOptions): Promise<ClusterState> {
  const stateDir = resolve(options.stateDir);
  mkdirSync(stateDir, { recursive: true });
  rmSync(stateFile(stateDir), { force: true });
  // From source (tsx, ts-jest) run cli.ts through tsx; from the build in dist/, run cli.js.
  const fromSource = new URL(import.meta.url).pathname.endsWith('.ts');
  const cliFile = fileURLToPath(new URL(`./cli${fromSource ? '.ts' : '.js'}`, import.meta.url));
  const nodeArgs = cliFile.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const args = [...nodeArgs, cliFile, 'serve', `--state-dir=${stateDir}`];
  if (options.parentPid) args.push(`--parent-pid=${options.parentPid}`);
  if (options.audit) args.push('--audit');
  if (options.address) args.push(`--address=${options.address}`);
  if (options.crds === false) args.push('--without-crds');
  if (options.serviceProxy) args.push('--service-proxy');
  const logFile = join(stateDir, 'supervisor.log');
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    const state = readState(stateDir);
    if (state) return state;
    if (child.exitCode !== null || (child.pid !== undefined && !isAlive(child.pid))) {
      throw new Error(
        `local cluster failed to start:\n${readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')}`,
      );
    }
    if (Date.now() > deadline) {
      if (child.pid) process.kill(child.pid, 'SIGTERM');
      throw new Error(`local cluster not ready in time; see ${logFile}`);
    }
    await sleep(200);
  }
}

/** Stops the supervised cluster of `stateDir`; true if one was running. */
export async function stopSupervised(stateDir: string, timeoutMs = 60_000): Promise<boolean> {
  const state = readState(stateDir);
  if (!state) return false;
  if (isAlive(state.supervisorPid)) process.kill(state.supervisorPid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(state.supervisorPid) && Date.now() < deadline) await sleep(200);
  // A supervisor that did not finish in time leaves its children: end them rather than leak them.
  for (const pid of [state.supervisorPid, ...state.pids]) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(stateFile(stateDir), { force: true });
  if (existsSync(state.workDir) && state.workDir.includes('metallb-cluster-')) {
    rmSync(state.workDir, { recursive: true, force: true });
  }
  return true;
}

export { defaultNodes };
