/**
 * Lets a process inside a network namespace reach the API server on the host's loopback, without giving
 * the namespace any route or address to the host:
 *
 *   [namespace] client → 127.0.0.1:6443 → relay (tcp-to-unix) ─┐
 *                                                               socket file (filesystems cross namespaces)
 *   [host]      API server 127.0.0.1:PORT ← relay (unix-to-tcp) ┘
 *
 * TLS passes through untouched, so the namespace's kubeconfig is the cluster's with the server changed to
 * https://127.0.0.1:6443; the API server's certificate names 127.0.0.1 (test/cluster/local-cluster.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { repoRoot } from '../../cluster/local-cluster.js';
import { ip, signalProcess } from './netns.js';

/** The port the API server appears on inside every namespace (each has its own loopback). */
export const NAMESPACE_API_PORT = 6443;

/**
 * The relay as a command line: the compiled relay-process.js when `make build` produced it (plain node
 * starts in tens of milliseconds), else the .ts through tsx (seconds on a busy machine).
 */
function relayCommand(): string[] {
  const here = new URL(import.meta.url).pathname;
  if (here.endsWith('.js'))
    return [process.execPath, fileURLToPath(new URL('./relay-process.js', import.meta.url))];
  const built = join(repoRoot, 'dist/test/cluster/lab/relay-process.js');
  const source = fileURLToPath(new URL('./relay-process.ts', import.meta.url));
  if (existsSync(built) && statSync(built).mtimeMs >= statSync(source).mtimeMs)
    return [process.execPath, built];
  return [process.execPath, '--import', 'tsx', source];
}

interface RelayChild {
  readonly child: ChildProcess;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts one relay process and resolves when it listens; rejects with its stderr if it exits first. */
async function startRelay(wrapper: readonly string[], args: readonly string[]): Promise<RelayChild> {
  const [command, ...rest] = [...wrapper, ...relayCommand(), ...args, `--parent-pid=${process.pid}`];
  const child = spawn(command as string, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`relay ${args.join(' ')} did not start in 15 s: ${stderr}`));
    }, 15_000);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('relay listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`relay ${args.join(' ')} exited (${signal ?? code}) before listening: ${stderr}`));
    });
  });
  child.stdout?.resume();
  const pid = child.pid as number;
  return {
    child,
    pid,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalProcess(pid, 'SIGTERM');
      const killed = setTimeout(() => signalProcess(pid, 'SIGKILL'), 3000);
      await exited;
      clearTimeout(killed);
    },
  };
}

export interface NamespaceApiAccess {
  readonly namespace: string;
  /** The relay inside the namespace. */
  readonly pid: number;
  /** A kubeconfig for processes inside the namespace: server https://127.0.0.1:6443. */
  readonly kubeconfigPath: string;
  stop(): Promise<void>;
}

/** The host side: one socket file any number of namespaces connect through. */
export class ApiRelay {
  private readonly namespaceRelays: RelayChild[] = [];
  private stopped = false;

  private constructor(
    private readonly host: RelayChild,
    readonly socketPath: string,
    private readonly workDir: string,
    private readonly kubeconfig: Record<string, unknown>,
  ) {}

  /**
   * Starts the host side for the cluster of `kubeconfigPath` (its server must be on loopback). Files go to
   * `workDir` (a new temp folder by default); the socket path must stay short (108 bytes).
   */
  static async start(kubeconfigPath: string, workDir?: string): Promise<ApiRelay> {
    const kubeconfig = parse(readFileSync(kubeconfigPath, 'utf8')) as Record<string, unknown>;
    const clusters = kubeconfig.clusters as { cluster: { server: string } }[] | undefined;
    const server = new URL(clusters?.[0]?.cluster.server ?? '');
    const hostname = server.hostname.replace(/^\[|\]$/g, '');
    if (hostname !== '127.0.0.1' && hostname !== '::1') {
      throw new Error(`the API server ${server.href} is not on loopback; the relay serves loopback only`);
    }
    const dir = workDir ?? mkdtempSync(join(tmpdir(), 'mlb-relay-'));
    const socketPath = join(dir, 'api.sock');
    const host = await startRelay([], ['unix-to-tcp', socketPath, `${hostname}:${server.port}`]);
    return new ApiRelay(host, socketPath, dir, kubeconfig);
  }

  /** PIDs of every relay process (the host side first), for janitors that adopt them. */
  get pids(): number[] {
    return [this.host.pid, ...this.namespaceRelays.map((relay) => relay.pid)];
  }

  /**
   * Brings `lo` up in `namespace`, starts a relay there on 127.0.0.1:6443 and writes the kubeconfig that
   * points at it.
   */
  async enterNamespace(namespace: string): Promise<NamespaceApiAccess> {
    if (this.stopped) throw new Error('the relay is stopped');
    await ip(namespace, 'link set lo up');
    const relay = await startRelay(
      ['ip', 'netns', 'exec', namespace],
      ['tcp-to-unix', `127.0.0.1:${NAMESPACE_API_PORT}`, this.socketPath],
    );
    this.namespaceRelays.push(relay);
    const kubeconfigPath = join(this.workDir, `kubeconfig-${namespace}`);
    const clusters = (this.kubeconfig.clusters as { name: string; cluster: Record<string, unknown> }[]).map(
      (entry) => ({
        ...entry,
        cluster: { ...entry.cluster, server: `https://127.0.0.1:${NAMESPACE_API_PORT}` },
      }),
    );
    writeFileSync(kubeconfigPath, stringify({ ...this.kubeconfig, clusters }), { mode: 0o600 });
    return {
      namespace,
      pid: relay.pid,
      kubeconfigPath,
      stop: async () => {
        await relay.stop();
        this.namespaceRelays.splice(this.namespaceRelays.indexOf(relay), 1);
      },
    };
  }

  /** Stops every relay and removes the socket file and kubeconfigs; safe to call repeatedly. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.namespaceRelays.splice(0).map((relay) => relay.stop()));
    await this.host.stop();
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
