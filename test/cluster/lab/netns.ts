/**
 * What every lab of network namespaces needs (the BGP topology, the L2 lab): `ip` and `ip netns exec`
 * wrappers, unique name prefixes, and a janitor that takes the lab down however the test process ends.
 *
 * Cleanup is layered: cleanUp() (labs call it from destroy(), tests from afterAll), a process 'exit' hook
 * (effective in plain Node, e.g. benchmarks: Jest hands tests a copy of `process` whose 'exit' never
 * fires), and a detached watchdog shell that removes everything within a second of this process being gone,
 * however it died.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);

/** `ip [-n NAMESPACE] COMMAND…`; every word is the caller's (validated names, fixed addresses), no quoting. */
export async function ip(namespace: string | undefined, command: string): Promise<string> {
  const args = [...(namespace ? ['-n', namespace] : []), ...command.split(' ')];
  try {
    const { stdout } = await run('ip', args, { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')} failed: ${failure.stderr?.trim() || failure.message}`);
  }
}

/** Several `ip` commands in one process (`ip -batch`): building a lab takes few processes, not hundreds. */
export async function ipBatch(namespace: string | undefined, commands: readonly string[]): Promise<void> {
  const args = [...(namespace ? ['-n', namespace] : []), '-batch', '-'];
  const pending = run('ip', args, { timeout: 30_000 });
  pending.child.stdin?.end(`${commands.join('\n')}\n`);
  try {
    await pending;
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    throw new Error(
      `ip ${args.join(' ')} failed: ${failure.stderr?.trim() || failure.message}\n${commands.join('\n')}`,
    );
  }
}

/** Runs a command inside a namespace and returns its stdout; rejects with its stderr on a non-zero exit. */
export async function inNamespace(
  namespace: string,
  command: readonly string[],
  timeoutMs = 30_000,
): Promise<string> {
  try {
    const { stdout } = await run('ip', ['netns', 'exec', namespace, ...command], { timeout: timeoutMs });
    return stdout;
  } catch (error) {
    const failure = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(
      `in ${namespace}: ${command.join(' ')} failed: ${failure.stderr?.trim() || failure.stdout?.trim() || failure.message}`,
    );
  }
}

/** Writes sysctls inside a namespace (`net.ipv6.conf.all.forwarding` style keys), in one process. */
export async function sysctl(
  namespace: string,
  settings: Readonly<Record<string, string | number>>,
): Promise<void> {
  const pairs = Object.entries(settings).map(([key, value]) => `${key}=${value}`);
  await inNamespace(namespace, ['sysctl', '-q', '-w', ...pairs]);
}

const counters = new Map<string, number>();

/**
 * `<base>-<pid>-<n>`: Jest gives every test file a fresh copy of this module in the same process, so a
 * counter alone repeats; skipping prefixes for which `taken` says something exists keeps them unique.
 */
export function nextFreePrefix(base: string, taken: (prefix: string) => boolean): string {
  for (;;) {
    const next = (counters.get(base) ?? 0) + 1;
    counters.set(base, next);
    const prefix = `${base}-${process.pid}-${next}`;
    if (!existsSync(`/run/netns/${prefix}-lan`) && !taken(prefix)) return prefix;
  }
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers signal 0 until its parent (init, for daemons) reaps it.
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !/^\d+ \(.*\) Z/.test(stat);
}

export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface JanitorOptions {
  /** Every name the lab's processes carry on their command line starts with `${prefix}-`. */
  readonly prefix: string;
  readonly namespaces: readonly string[];
  /** Private folder for the janitor's marker and adopted-pid files (usually the lab's log folder). */
  readonly stateDir: string;
  /** Files and folders removed after the namespaces are gone. */
  readonly paths?: readonly string[];
  /** Also remove stateDir at the end (default true). */
  readonly removeStateDir?: boolean;
}

/**
 * Takes a lab down: adopted processes (started outside its namespaces), every process inside its
 * namespaces, the namespaces, then its files. One shell script serves cleanUp(), the exit hook and the
 * watchdog, so all three do the same.
 */
export class NamespaceJanitor {
  private done = false;
  private watchdogPid: number | undefined;
  private readonly exitHook = (): void => this.cleanUpSync();

  constructor(private readonly options: JanitorOptions) {}

  /** Installs the exit hook and starts the watchdog; call before building anything. */
  arm(): void {
    process.on('exit', this.exitHook);
    const marker = this.markerFile;
    writeFileSync(marker, String(process.pid));
    const script = [
      `while kill -0 ${process.pid} 2>/dev/null && [ -e ${shellQuote(marker)} ]; do sleep 1; done`,
      `[ -e ${shellQuote(marker)} ] || exit 0`,
      this.script(),
      `rm -rf ${shellQuote(this.options.stateDir)}`,
    ].join('\n');
    const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
    child.unref();
    this.watchdogPid = child.pid;
  }

  get cleanedUp(): boolean {
    return this.done;
  }

  /**
   * Puts a process started for this lab outside its namespaces under the janitor: cleanup stops it too.
   * Only a process whose command line names the lab's prefix is signalled, so a recycled pid is safe.
   */
  adoptProcess(pid: number | undefined): void {
    if (pid !== undefined && !this.done) appendFileSync(this.adoptedFile, `${pid}\n`);
  }

  async cleanUp(): Promise<void> {
    if (this.done) return;
    this.done = true;
    process.removeListener('exit', this.exitHook);
    await run('sh', ['-c', this.script()], { timeout: 60_000 }).catch(() => undefined);
    this.finish();
  }

  /** The 'exit' hook's variant: nothing asynchronous runs any more at that point. */
  cleanUpSync(): void {
    if (this.done) return;
    this.done = true;
    process.removeListener('exit', this.exitHook);
    try {
      execFileSync('sh', ['-c', this.script()], { stdio: 'ignore', timeout: 30_000 });
    } catch {
      // the watchdog retries once this process is gone
    }
    this.finish();
  }

  private get markerFile(): string {
    return join(this.options.stateDir, 'alive');
  }

  private get adoptedFile(): string {
    return join(this.options.stateDir, 'adopted-pids');
  }

  private finish(): void {
    if (this.watchdogPid !== undefined) signalProcess(this.watchdogPid, 'SIGTERM');
    rmSync(this.markerFile, { force: true });
    if (this.options.removeStateDir ?? true) rmSync(this.options.stateDir, { recursive: true, force: true });
  }

  private script(): string {
    // Namespace names are built from the pid and validated names: no quoting needed inside the loop.
    const namespaces = this.options.namespaces.join(' ');
    const paths = (this.options.paths ?? []).map(shellQuote).join(' ');
    return [
      `adopted=${shellQuote(this.adoptedFile)}`,
      '[ -f "$adopted" ] && for pid in $(cat "$adopted"); do',
      `  tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null | grep -q -- ${shellQuote(`${this.options.prefix}-`)} && kill -TERM $pid`,
      'done',
      `namespaces="${namespaces}"`,
      'pids() { for ns in $namespaces; do ip netns pids "$ns" 2>/dev/null; done; }',
      'p=$(pids); [ -n "$p" ] && kill -TERM $p 2>/dev/null',
      'for i in 1 2 3 4 5 6 7 8 9 10; do [ -z "$(pids)" ] && break; sleep 0.2; done',
      'p=$(pids); [ -n "$p" ] && kill -KILL $p 2>/dev/null',
      'for ns in $namespaces; do ip netns del "$ns" 2>/dev/null; done',
      ...(paths ? [`rm -rf ${paths}`] : []),
      'true',
    ].join('\n');
  }
}
