/**
 * The two ways the speaker drives FRR:
 * - local: FRR runs on this machine (possibly in another network namespace, under a pathspace); the
 *   speaker runs frr-reload.py itself and reads state with vtysh, all through FRR's unix sockets;
 * - reloader: the pod layout. The speaker writes the file and sends SIGHUP to the reloader sidecar, which
 *   runs frr-reload.py and records "<epoch> success|failure" in `.status` next to the file.
 * Either way frr-reload.py computes the difference between the running and the desired configuration and
 * applies only that; if it fails part-way, applying the full desired file again converges. Where vtysh
 * reaches FRR, `execute` also runs a few lines directly: the applier's fast path for address changes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sleep, systemClock, type Clock } from '../../runtime/clock.js';
import { normalizeRunningConfig, parseDaemons } from './frr-state.js';
import { outputTail, runTool, type RunTool, type Vtysh } from './frr-tools.js';

export type ApplyOutcome = { readonly ok: true } | { readonly ok: false; readonly error: string };

export type RunningOutcome =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly error: string };

export interface FrrProbe {
  /** FRR (or, in reloader mode, the reloader) answered. */
  readonly reachable: boolean;
  /** Why not, when it did not. */
  readonly detail?: string;
  /** The daemons vtysh reached; undefined when this mode cannot see them. */
  readonly daemons?: readonly string[];
  /** A digest of the running configuration; undefined when this mode cannot read it. */
  readonly runningConfig?: string;
  /** The reloader's latest recorded outcome was a failure (reloader mode only). */
  readonly lastReloadFailed?: boolean;
}

/** Daemon name → PID, from the instance's PID files: a changed PID is a restarted daemon. */
export type DaemonPids = Readonly<Record<string, number>>;

export interface FrrControl {
  /** For logs: which FRR this drives and how. */
  readonly description: string;
  /** Makes FRR run the configuration in `file`. Never rejects. */
  apply(file: string): Promise<ApplyOutcome>;
  /**
   * Executes every line of `file` in every daemon, on top of what runs. Needed after a daemon restarted
   * without its configuration: frr-reload.py diffs against the merged running configuration of all
   * daemons, so route-maps and prefix-lists that zebra still shows are not sent again to a fresh bgpd,
   * which then filters every route away. Absent where FRR replays its configuration itself (the pod's
   * watchfrr). Never rejects.
   */
  replay?(file: string): Promise<ApplyOutcome>;
  /**
   * Runs the configuration commands in `file` (a few lines, not a whole configuration) on top of what
   * runs, through vtysh; fails when any line fails. Absent where this process cannot reach FRR's sockets.
   * Never rejects.
   */
  execute?(file: string): Promise<ApplyOutcome>;
  /**
   * bgpd's running configuration as text (`show running-config bgpd`), for the staged full apply
   * (frr-staged.ts). Absent where this process cannot reach FRR's sockets. Never rejects.
   */
  readRunning?(): Promise<RunningOutcome>;
  /** What FRR looks like now. Never rejects. */
  probe(): Promise<FrrProbe>;
  /** The daemons' PIDs, where this mode can see them; cheap (no vtysh). Never rejects. */
  pids?(): Promise<DaemonPids | undefined>;
}

/** Reads `<daemon>.pid` files (watchfrr's own left out: its restart loses no configuration). */
export async function readDaemonPids(runDir: string): Promise<DaemonPids | undefined> {
  let names: string[];
  try {
    names = await readdir(runDir);
  } catch {
    return undefined;
  }
  const pids: Record<string, number> = {};
  for (const name of names.sort()) {
    const match = /^([a-z0-9]+)\.pid$/.exec(name);
    if (!match || match[1] === 'watchfrr') continue;
    try {
      const pid = Number((await readFile(join(runDir, name), 'utf8')).trim());
      if (Number.isInteger(pid) && pid > 0) pids[match[1] as string] = pid;
    } catch {
      // removed while we looked: the daemon is stopping
    }
  }
  return pids;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Daemons and running configuration through vtysh, shared by both modes. */
async function probeWithVtysh(vtysh: Vtysh): Promise<FrrProbe> {
  let daemons: string[];
  try {
    daemons = parseDaemons(await vtysh.show('show daemons'));
  } catch (error) {
    return { reachable: false, detail: (error as Error).message };
  }
  if (daemons.length === 0) return { reachable: false, detail: 'vtysh reaches no FRR daemon' };
  try {
    const running = await vtysh.show('show running-config');
    return { reachable: true, daemons, runningConfig: digest(normalizeRunningConfig(running)) };
  } catch (error) {
    return { reachable: true, daemons, detail: (error as Error).message };
  }
}

/**
 * 11,000 lines take 2 s to print on a busy 2-core node, and longer while the daemons digest a large
 * change: more than the 10 s meant for quick show commands.
 */
const runningConfigTimeoutMs = 60_000;

async function readRunningWithVtysh(vtysh: Vtysh): Promise<RunningOutcome> {
  try {
    // bgpd's own: the merged view would count prefix-lists only zebra kept as running.
    return { ok: true, text: await vtysh.show('show running-config bgpd', runningConfigTimeoutMs) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

async function executeWithVtysh(vtysh: Vtysh, file: string, timeoutMs = 120_000): Promise<ApplyOutcome> {
  const result = await vtysh.execFile(file, timeoutMs);
  if (result.code === 0) return { ok: true };
  return { ok: false, error: `vtysh -f exited with ${result.code ?? 'no code'}: ${outputTail(result)}` };
}

export interface LocalFrrOptions {
  readonly vtysh: Vtysh;
  /** Where vtysh lives: frr-reload.py's --bindir. */
  readonly vtyshDir: string;
  /** FRR's frr-reload.py. */
  readonly reloadScript: string;
  /** FRR's configuration folder (frr-reload.py's --confdir); the instance's is `<confDir>/<pathspace>`. */
  readonly confDir: string;
  /** A private folder for frr-reload.py's scratch files, which hold configuration lines (passwords). */
  readonly scratchDir: string;
  /** frr-reload.py's own log level. */
  readonly toolLogLevel?: 'error' | 'warning' | 'info' | 'debug';
  readonly timeoutMs?: number;
  readonly python?: string;
  readonly run?: RunTool;
  /** Where the instance keeps sockets and PID files; default /var/run/frr[/<pathspace>]. */
  readonly runDir?: string;
}

export class LocalFrr implements FrrControl {
  readonly description: string;
  private readonly run: RunTool;

  constructor(private readonly options: LocalFrrOptions) {
    this.run = options.run ?? runTool;
    const pathspace = options.vtysh.pathspace;
    this.description = pathspace ? `local FRR instance "${pathspace}"` : 'local FRR instance';
  }

  /**
   * The instance's configuration folder. With --overwrite, frr-reload.py saves the running configuration
   * there, so daemons that restart on their own come back configured; without that folder, saving would
   * fail the whole reload, so it is skipped.
   */
  private instanceConfDir(): string {
    const pathspace = this.options.vtysh.pathspace;
    return pathspace ? join(this.options.confDir, pathspace) : this.options.confDir;
  }

  async apply(file: string): Promise<ApplyOutcome> {
    const pathspace = this.options.vtysh.pathspace;
    const args = [
      this.options.reloadScript,
      '--reload',
      ...(existsSync(this.instanceConfDir()) ? ['--overwrite'] : []),
      '--stdout',
      '--log-level',
      this.options.toolLogLevel ?? 'warning',
      ...(pathspace ? ['--pathspace', pathspace] : []),
      '--confdir',
      this.options.confDir,
      '--rundir',
      this.options.scratchDir,
      '--bindir',
      this.options.vtyshDir,
      file,
    ];
    const result = await this.run(this.options.python ?? 'python3', args, {
      timeoutMs: this.options.timeoutMs ?? 120_000,
    });
    if (result.code === 0) return { ok: true };
    return {
      ok: false,
      error: `frr-reload.py exited with ${result.code ?? 'no code'}: ${outputTail(result) || '(no output)'}`,
    };
  }

  replay(file: string): Promise<ApplyOutcome> {
    return executeWithVtysh(this.options.vtysh, file, this.options.timeoutMs);
  }

  execute(file: string): Promise<ApplyOutcome> {
    return executeWithVtysh(this.options.vtysh, file, this.options.timeoutMs);
  }

  readRunning(): Promise<RunningOutcome> {
    return readRunningWithVtysh(this.options.vtysh);
  }

  probe(): Promise<FrrProbe> {
    return probeWithVtysh(this.options.vtysh);
  }

  pids(): Promise<DaemonPids | undefined> {
    const pathspace = this.options.vtysh.pathspace;
    return readDaemonPids(this.options.runDir ?? (pathspace ? `/var/run/frr/${pathspace}` : '/var/run/frr'));
  }
}

export interface ReloaderFrrOptions {
  /** The file the reloader applies; its `.status` sits next to it. */
  readonly configFile: string;
  readonly pidFile: string;
  /** Reads daemons and running configuration too when FRR's sockets are reachable from here. */
  readonly vtysh?: Vtysh;
  /** How long to wait for the reloader's verdict. Default 2 min. */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  readonly clock?: Clock;
  /** Default process.kill. */
  readonly sendSignal?: (pid: number, signal: NodeJS.Signals | 0) => void;
}

interface StatusStamp {
  readonly ino: number;
  readonly mtimeMs: number;
  readonly size: number;
}

export class ReloaderFrr implements FrrControl {
  readonly description: string;
  /** Small changes go straight to FRR through vtysh when its sockets are shared with this container. */
  readonly execute?: (file: string) => Promise<ApplyOutcome>;
  readonly readRunning?: () => Promise<RunningOutcome>;
  private readonly statusFile: string;
  private readonly clock: Clock;
  private readonly sendSignal: (pid: number, signal: NodeJS.Signals | 0) => void;

  constructor(private readonly options: ReloaderFrrOptions) {
    this.statusFile = join(dirname(options.configFile), '.status');
    this.clock = options.clock ?? systemClock;
    this.sendSignal = options.sendSignal ?? ((pid, signal) => process.kill(pid, signal));
    this.description = `FRR reloader (PID file ${options.pidFile})`;
    const vtysh = options.vtysh;
    if (vtysh) {
      this.execute = (file) => executeWithVtysh(vtysh, file, options.timeoutMs);
      this.readRunning = () => readRunningWithVtysh(vtysh);
    }
  }

  private stamp(): StatusStamp | undefined {
    try {
      const stats = statSync(this.statusFile);
      return { ino: stats.ino, mtimeMs: stats.mtimeMs, size: stats.size };
    } catch {
      return undefined;
    }
  }

  private readPid(): number | string {
    let text: string;
    try {
      text = readFileSync(this.options.pidFile, 'utf8').trim();
    } catch (error) {
      return `cannot read the reloader's PID from ${this.options.pidFile}: ${(error as Error).message}`;
    }
    const pid = Number(text);
    return Number.isInteger(pid) && pid > 0 ? pid : `${this.options.pidFile} holds no PID ("${text}")`;
  }

  private readOutcome(): string {
    try {
      return readFileSync(this.statusFile, 'utf8').trim();
    } catch {
      return '';
    }
  }

  async apply(_file: string): Promise<ApplyOutcome> {
    const before = this.stamp();
    const pid = this.readPid();
    if (typeof pid === 'string') return { ok: false, error: pid };
    try {
      this.sendSignal(pid, 'SIGHUP');
    } catch (error) {
      return { ok: false, error: `cannot signal the reloader (PID ${pid}): ${(error as Error).message}` };
    }
    const timeoutMs = this.options.timeoutMs ?? 120_000;
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      const now = this.stamp();
      const changed =
        now !== undefined &&
        (before === undefined ||
          now.ino !== before.ino ||
          now.mtimeMs !== before.mtimeMs ||
          now.size !== before.size);
      if (changed) {
        const outcome = this.readOutcome();
        if (/\bsuccess$/.test(outcome)) return { ok: true };
        return {
          ok: false,
          error: `the FRR reloader reported "${outcome}"; its log holds FRR's reason`,
        };
      }
      if (this.clock.now() >= deadline) {
        return { ok: false, error: `the FRR reloader (PID ${pid}) gave no verdict within ${timeoutMs} ms` };
      }
      await sleep(this.clock, this.options.pollMs ?? 100);
    }
  }

  async probe(): Promise<FrrProbe> {
    const pid = this.readPid();
    if (typeof pid === 'string') return { reachable: false, detail: pid };
    try {
      this.sendSignal(pid, 0);
    } catch (error) {
      return {
        reachable: false,
        detail: `the reloader (PID ${pid}) is not running: ${(error as Error).message}`,
      };
    }
    const lastReloadFailed = /\bfailure$/.test(this.readOutcome());
    if (!this.options.vtysh) return { reachable: true, lastReloadFailed };
    const seen = await probeWithVtysh(this.options.vtysh);
    // Sockets not shared with this container: the reloader's word is all there is.
    if (!seen.reachable) return { reachable: true, lastReloadFailed };
    return { ...seen, lastReloadFailed };
  }
}
