/**
 * Keeps FRR running the speaker's latest frr.conf: a desired-state loop, not a queue of reloads.
 *
 * - setDesired(text) hands over the whole configuration. Only a text that differs from the last one applied
 *   successfully is applied; intermediate texts are skipped.
 * - The text is written atomically with mode 0600 (it holds BGP passwords), then applied with FRR's reload
 *   tool, which computes and applies the difference to the running configuration.
 * - A failed apply is retried with exponential backoff, always with the full desired text, so a reload that
 *   stopped half-way converges on the next attempt. The last applied text is recorded only on success.
 * - After `failureThreshold` consecutive failures (a single failure is common: FRR 8.4 rejects the first
 *   reload that adds `neighbor X graceful-restart` and accepts the same one again), the applier is
 *   "failing": readiness fails and the hooks report it.
 * - Every `checkIntervalMs` it probes FRR. Daemons that went away (killed, restarting) are waited for; when
 *   they are back, when a daemon's PID changed (restarted between two checks), or when the running
 *   configuration differs from what it was right after the last apply, the desired configuration is applied
 *   again. Such a re-apply first replays the whole file (`vtysh -f`): frr-reload.py diffs against the merged
 *   configuration of all daemons, and would not send a restarted bgpd the route-maps zebra still shows.
 *   The first apply after start replays too, since FRR may have restarted while no speaker watched. After
 *   FRR came back, one more pass follows once the daemons have settled.
 * - Fast path: when the last applied text and the desired one differ only in what Service addresses change
 *   (prefix-list lines and `network` statements, see frr-incremental.ts) and the control can run commands,
 *   only those lines are run through one vtysh, in tens of milliseconds where frr-reload.py takes seconds.
 *   If that fails, the same attempt falls back to frr-reload.py, which converges from wherever it stopped.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Backoff, type BackoffOptions } from '../../runtime/backoff.js';
import { systemClock, type Clock, type Timer } from '../../runtime/clock.js';
import { silentLogger, type Logger } from '../../runtime/logging.js';
import type { ApplyOutcome, DaemonPids, FrrControl, FrrProbe } from './frr-control.js';
import { incrementalCommands } from './frr-incremental.js';
import { stagedPlan, type StagedPlan } from './frr-staged.js';

export interface FrrApplierHooks {
  /** The applier became failing, or the error changed while failing. */
  onFailing?(error: string, attempts: number): void;
  /** A successful apply ended a failing streak. */
  onRecovered?(): void;
}

export interface FrrApplierMetrics {
  reloadSucceeded(): void;
  reloadFailed(): void;
  setConfigApplied(applied: boolean): void;
}

export interface FrrApplierOptions {
  readonly control: FrrControl;
  /** Where the desired configuration is written. */
  readonly configFile: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Retry delays after failures; default 500 ms doubling to 30 s, with 20 % jitter. */
  readonly retryBackoff?: BackoffOptions;
  /** How often FRR is probed for restarts and drift; default 5 s. */
  readonly checkIntervalMs?: number;
  /** Consecutive failures before the applier reports itself failing; default 2. */
  readonly failureThreshold?: number;
  readonly hooks?: FrrApplierHooks;
  readonly metrics?: FrrApplierMetrics;
  readonly random?: () => number;
}

export interface FrrApplierStatus {
  /** The last probe reached FRR. */
  readonly reachable: boolean;
  /** FRR runs the latest desired text (as far as the applier knows). */
  readonly applied: boolean;
  /** Consecutive failures reached the threshold. */
  readonly failing: boolean;
  readonly consecutiveFailures: number;
  readonly lastError?: string;
}

export const defaultRetryBackoff: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** Writes `text` to `path` so readers see the old or the new file, never a partial one. */
export async function writeFileAtomically(path: string, text: string, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, text, { mode });
    // The umask may have narrowed the mode; make it exact.
    await chmod(temporary, mode);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export class FrrApplier {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly checkIntervalMs: number;
  private readonly failureThreshold: number;
  private desired: string | undefined;
  private written: string | undefined;
  private appliedText: string | undefined;
  /** FRR as probed right after the last successful apply: the reference for drift. */
  private appliedProbe: FrrProbe | undefined;
  /**
   * The fast path changed the running configuration without probing it afterwards (two more vtysh runs per
   * change, and the next change waits for them): the next quiet check takes its probe as the reference.
   */
  private referenceStale = false;
  /**
   * The daemons' PIDs taken just before the last successful apply: the reference for restarts. Taken
   * before, so that a daemon restarting while or right after the configuration is applied still counts.
   */
  private appliedPids: DaemonPids | undefined;
  private reapplyNeeded = false;
  /** Replay the whole file before the next diff: FRR (re)started, or may have, since the last apply. */
  private replayNeeded = true;
  /** Counts attempts, so a probe that overlapped one is not mistaken for drift. */
  private attempts = 0;
  private missingDaemons: readonly string[] = [];
  private reachable = false;
  private probedOnce = false;
  private failures = 0;
  private lastError: string | undefined;
  private reportedError: string | undefined;
  private busy = false;
  private rerun = false;
  private loop: Promise<void> = Promise.resolve();
  private retryTimer: Timer | undefined;
  /** After FRR came back: one more pass once daemons have settled, in case one was not ready to listen. */
  private confirmAfterSuccess = false;
  private confirmTimer: Timer | undefined;
  private checkTimer: Timer | undefined;
  private checking: Promise<void> | undefined;
  private started = false;
  private stopped = false;

  constructor(private readonly options: FrrApplierOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({ subsystem: 'frr' });
    this.backoff = new Backoff(options.retryBackoff ?? defaultRetryBackoff, options.random ?? Math.random);
    this.checkIntervalMs = options.checkIntervalMs ?? 5000;
    this.failureThreshold = Math.max(1, options.failureThreshold ?? 2);
  }

  /** Starts probing FRR; applies as soon as there is a desired configuration. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.log.info({ frr: this.options.control.description, file: this.options.configFile }, 'driving FRR');
    this.runCheck();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.checkTimer?.cancel();
    this.confirmTimer?.cancel();
    await Promise.all([this.loop, this.checking]);
  }

  /** The complete configuration FRR should run. */
  setDesired(text: string): void {
    if (text === this.desired) return;
    this.desired = text;
    // A new text may fix what FRR rejected: try it now rather than after the backoff.
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.backoff.reset();
    this.options.metrics?.setConfigApplied(this.isApplied());
    this.kick();
  }

  status(): FrrApplierStatus {
    return {
      reachable: this.reachable,
      applied: this.isApplied(),
      failing: this.failures >= this.failureThreshold,
      consecutiveFailures: this.failures,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /**
   * For readiness: FRR answers, something was applied once there was something to apply, and the latest
   * attempts are not failing.
   */
  isHealthy(): boolean {
    const status = this.status();
    const neverApplied = this.desired !== undefined && this.appliedText === undefined && this.failures > 0;
    return status.reachable && !status.failing && !neverApplied;
  }

  /** Resolves once no apply is running or due right now (for tests and shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const current = this.loop;
      await current;
      if (current === this.loop && !this.busy) return;
    }
  }

  private isApplied(): boolean {
    return this.desired !== undefined && this.desired === this.appliedText && !this.reapplyNeeded;
  }

  private needsApply(): boolean {
    return this.desired !== undefined && (this.desired !== this.appliedText || this.reapplyNeeded);
  }

  private kick(): void {
    if (!this.started || this.stopped) return;
    this.rerun = true;
    if (this.busy) return;
    this.busy = true;
    this.loop = this.drain();
  }

  /** Applies until nothing is due; kicks while it awaits set `rerun`, so none is lost. */
  private async drain(): Promise<void> {
    try {
      while (this.rerun && !this.stopped) {
        this.rerun = false;
        if (this.retryTimer || !this.needsApply()) continue;
        await this.attempt(this.desired as string);
      }
    } finally {
      this.busy = false;
    }
  }

  private async attempt(text: string): Promise<void> {
    const file = this.options.configFile;
    const startedAt = this.clock.now();
    this.attempts += 1;
    let outcome: { ok: true } | { ok: false; error: string };
    let incremental = false;
    const pidsBefore = await this.options.control.pids?.();
    try {
      if (this.written !== text) {
        await writeFileAtomically(file, text);
        this.written = text;
      }
      const fast = await this.applyIncrementally(text);
      incremental = fast?.ok === true;
      if (fast?.ok) {
        outcome = fast;
      } else {
        outcome = await this.applyFully(text);
      }
    } catch (error) {
      outcome = { ok: false, error: `cannot write ${file}: ${(error as Error).message}` };
    }
    const durationMs = this.clock.now() - startedAt;
    if (outcome.ok) {
      await this.succeeded(text, pidsBefore, durationMs, incremental);
    } else {
      this.failed(outcome.error, durationMs);
    }
  }

  /**
   * The whole configuration: frr-reload.py (after a replay when FRR may have restarted). Where the control
   * can read the running configuration and run lines, staged (frr-staged.ts): frr-reload.py gets the
   * desired text without the address lines FRR does not run yet, and those are added afterwards in
   * bounded `vtysh -f` chunks. At 1,000 addresses and 10 peers this keeps frr-reload.py and the replay
   * small on a fresh FRR, and lets a retry continue from what earlier chunks added.
   */
  private async applyFully(text: string): Promise<ApplyOutcome> {
    const control = this.options.control;
    const file = this.options.configFile;
    const execute = control.execute?.bind(control);
    let plan: StagedPlan | undefined;
    if (execute && control.readRunning) {
      const running = await control.readRunning();
      if (running.ok) plan = stagedPlan(text, running.text);
      else
        this.log.debug(
          { err: { message: running.error } },
          'cannot read the running configuration; applying the whole file at once',
        );
    }
    const staged = plan !== undefined && plan.added > 0 ? plan : undefined;
    if (plan) this.log.debug({ missing: plan.added, chunks: plan.chunks.length }, 'applying in stages');
    try {
      if (staged) {
        // The reloader (pod layout) applies the configuration file itself, so stage 1 goes there too.
        await writeFileAtomically(file, staged.base);
        this.written = staged.base;
      }
      if (this.replayNeeded && control.replay) {
        // Its verdict does not matter: the reload that follows decides, and retries. Staged, only the
        // skeleton: replaying 10,000 address lines FRR already runs takes minutes (see frr-staged.ts).
        let replayFile = file;
        if (plan) {
          replayFile = this.commandsFile();
          await writeFileAtomically(replayFile, plan.skeleton);
        }
        const replayed = await control.replay(replayFile);
        if (!replayed.ok)
          this.log.debug({ err: { message: replayed.error } }, 'replaying the configuration complained');
      }
      let outcome = await control.apply(file);
      if (!outcome.ok || !staged || !execute) return outcome;
      const commands = this.commandsFile();
      for (const chunk of staged.chunks) {
        await writeFileAtomically(commands, `${chunk.join('\n')}\n`);
        outcome = await execute(commands);
        if (!outcome.ok) return outcome;
      }
      this.log.info(
        { added: staged.added, chunks: staged.chunks.length },
        'applied the configuration in two stages (reload without new addresses, then the addresses)',
      );
      return outcome;
    } finally {
      // The file holds the desired text again: a reloader that re-applies it on its own converges there.
      if (this.written !== text) {
        await writeFileAtomically(file, text);
        this.written = text;
      }
    }
  }

  /**
   * Runs only the lines that differ, when FRR is known to run the last applied text and the difference is
   * one the fast path makes; undefined when it does not apply, a failure when vtysh refused a line.
   */
  private async applyIncrementally(text: string): Promise<ApplyOutcome | undefined> {
    const execute = this.options.control.execute?.bind(this.options.control);
    const applied = this.appliedText;
    if (!execute || applied === undefined || this.replayNeeded || this.reapplyNeeded) return undefined;
    const commands = incrementalCommands(applied, text);
    if (!commands) return undefined;
    if (commands.length === 0) return { ok: true };
    const file = this.commandsFile();
    await writeFileAtomically(file, `${commands.join('\n')}\n`);
    const outcome = await execute(file);
    if (!outcome.ok) {
      this.log.warn(
        { err: { message: outcome.error } },
        'FRR refused the changed lines; applying the whole configuration instead',
      );
    } else {
      this.log.debug({ lines: commands.length }, 'applied the changed lines only');
    }
    return outcome;
  }

  /** Next to the configuration file, private like it. */
  private commandsFile(): string {
    const file = this.options.configFile;
    return join(dirname(file), `.${basename(file)}.changes`);
  }

  private async succeeded(
    text: string,
    pidsBefore: DaemonPids | undefined,
    durationMs: number,
    incremental: boolean,
  ): Promise<void> {
    const wasFailing = this.failures >= this.failureThreshold;
    const attempts = this.failures + 1;
    this.appliedText = text;
    this.appliedPids = pidsBefore;
    this.reapplyNeeded = false;
    this.replayNeeded = false;
    this.failures = 0;
    this.lastError = undefined;
    this.reportedError = undefined;
    this.backoff.reset();
    if (incremental) {
      this.referenceStale = true;
    } else {
      const probe = await this.options.control.probe();
      this.recordProbe(probe);
      if (probe.reachable) this.appliedProbe = probe;
      this.referenceStale = false;
    }
    this.options.metrics?.reloadSucceeded();
    this.options.metrics?.setConfigApplied(this.isApplied());
    this.log.info(
      { bytes: Buffer.byteLength(text), attempts, durationMs, incremental },
      'FRR runs the desired configuration',
    );
    if (wasFailing) this.options.hooks?.onRecovered?.();
    if (this.confirmAfterSuccess) {
      this.confirmAfterSuccess = false;
      this.confirmTimer?.cancel();
      this.confirmTimer = this.clock.setTimer(Math.max(1000, 2 * this.checkIntervalMs), () => {
        this.confirmTimer = undefined;
        this.requestReapply('confirming the configuration once restarted daemons have settled');
      });
    }
  }

  private failed(error: string, durationMs: number): void {
    this.failures += 1;
    this.lastError = error;
    this.options.metrics?.reloadFailed();
    this.options.metrics?.setConfigApplied(false);
    const delayMs = Math.round(this.backoff.next());
    const fields = { err: { message: error }, attempts: this.failures, durationMs, retryInMs: delayMs };
    if (this.failures < this.failureThreshold) {
      this.log.warn(fields, 'FRR did not take the configuration; retrying');
    } else {
      this.log.error(fields, 'FRR rejects the configuration; retrying with backoff');
      // The same complaint with another timestamp is the same complaint.
      const gist = error.replace(/\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.]?\d*/g, '');
      if (this.reportedError !== gist) {
        this.reportedError = gist;
        this.options.hooks?.onFailing?.(error, this.failures);
      }
    }
    this.retryTimer = this.clock.setTimer(delayMs, () => {
      this.retryTimer = undefined;
      this.kick();
    });
  }

  private recordProbe(probe: FrrProbe): void {
    if (probe.reachable !== this.reachable || !this.probedOnce) {
      if (probe.reachable) this.log.info('FRR is reachable');
      else this.log.warn({ detail: probe.detail }, 'FRR is not reachable');
    }
    this.probedOnce = true;
    this.reachable = probe.reachable;
  }

  private runCheck(): void {
    if (this.stopped) return;
    this.checking = this.check()
      .catch((error: unknown) => this.log.error({ err: error }, 'checking FRR failed'))
      .finally(() => {
        if (this.stopped) return;
        this.checkTimer = this.clock.setTimer(this.checkIntervalMs, () => this.runCheck());
      });
  }

  private async check(): Promise<void> {
    // While an apply runs, its own outcome says whether FRR answers. Probing then only measures how busy
    // the daemons are: at 1,000 addresses a large change keeps bgpd and zebra from answering `show daemons`
    // within its 10 s for minutes, and an "unreachable" followed by "reachable again" asked for a second
    // full apply (replay and all) on top of the one still running.
    if (this.busy && this.probedOnce) return;
    const cameBack = this.probedOnce && !this.reachable;
    const attemptsBefore = this.attempts;
    const busyBefore = this.busy;
    const probe = await this.options.control.probe();
    this.recordProbe(probe);
    if (!probe.reachable) return;
    if (cameBack && this.appliedText === undefined) {
      // FRR started after the speaker: the first apply need not wait out the backoff its absence grew.
      this.retryNow();
      return;
    }
    if (this.appliedText === undefined) return;
    if (cameBack) {
      this.requestReapply('FRR is reachable again', true);
      return;
    }
    const reference = this.appliedProbe;
    if (reference?.daemons && probe.daemons) {
      const missing = reference.daemons.filter((daemon) => !probe.daemons?.includes(daemon));
      if (missing.length > 0) {
        if (missing.join() !== this.missingDaemons.join())
          this.log.warn({ missing }, 'FRR daemons are down; re-applying once they are back');
        this.missingDaemons = missing;
        return;
      }
      if (this.missingDaemons.length > 0) {
        this.missingDaemons = [];
        this.requestReapply('FRR daemons are back', true);
        return;
      }
    }
    // A probe that overlapped an apply saw a configuration in motion; while applies fail, the running
    // configuration is whatever the failed attempt left. The next check, or the retry, sees clearly.
    const overlapped = busyBefore || this.busy || attemptsBefore !== this.attempts;
    if (overlapped) return;
    const restarted = await this.restartedDaemons();
    if (restarted.length > 0 && attemptsBefore === this.attempts && !this.busy) {
      this.requestReapply(`FRR daemons restarted: ${restarted.join(', ')}`, true);
      return;
    }
    if (this.failures > 0) return;
    if (this.referenceStale) {
      this.appliedProbe = probe;
      this.referenceStale = false;
    } else if (
      reference?.runningConfig &&
      probe.runningConfig &&
      reference.runningConfig !== probe.runningConfig
    ) {
      this.requestReapply(
        'the running configuration no longer matches what was applied (a daemon restarted?)',
      );
    } else if (probe.lastReloadFailed) {
      this.requestReapply('the reloader recorded a failed reload');
    }
  }

  /**
   * Daemons whose PID changed, or that started, since the reference. The reference moves to the current
   * PIDs, so one restart asks for one re-apply, not one per check while retries back off.
   */
  private async restartedDaemons(): Promise<string[]> {
    const reference = this.appliedPids;
    if (!reference) return [];
    const current = await this.options.control.pids?.();
    if (!current) return [];
    const restarted = Object.entries(current)
      .filter(([daemon, pid]) => reference[daemon] !== pid)
      .map(([daemon]) => daemon);
    if (restarted.length > 0) this.appliedPids = current;
    return restarted;
  }

  /** `now`: FRR just came back, so waiting out a backoff grown while it was away would only delay. */
  private requestReapply(reason: string, now = false): void {
    if (this.appliedText === undefined) return;
    this.log.info({ reason }, 'applying the configuration to FRR again');
    this.reapplyNeeded = true;
    this.replayNeeded = true;
    this.options.metrics?.setConfigApplied(false);
    if (now) this.confirmAfterSuccess = true;
    if (now) this.retryNow();
    else {
      if (!this.retryTimer) this.backoff.reset();
      this.kick();
    }
  }

  private retryNow(): void {
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.backoff.reset();
    this.kick();
  }
}
