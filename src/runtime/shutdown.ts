/**
 * Graceful shutdown on SIGTERM/SIGINT: run the registered stop hooks in reverse order of registration (what
 * started last stops first: informers, then queues drain, then the Lease is released, then the HTTP server
 * closes), bounded by a timeout, then exit. A second signal exits at once. The signal source and the exit
 * function are injectable so tests drive it without touching the test process.
 */
import type { EventEmitter } from 'node:events';
import { silentLogger, type Logger } from './logging.js';

export type StopHook = () => void | Promise<void>;

export interface ShutdownOptions {
  /** Where signals come from; default the process. */
  readonly signals?: Pick<EventEmitter, 'on' | 'off'>;
  readonly signalNames?: readonly NodeJS.Signals[];
  /** How long all hooks together may take; default 25 s, inside a pod's default 30 s grace period. */
  readonly timeoutMs?: number;
  /** Default process.exit. */
  readonly exit?: (code: number) => void;
  readonly logger?: Logger;
}

export class Shutdown {
  private readonly hooks: { readonly name: string; readonly hook: StopHook }[] = [];
  private readonly controller = new AbortController();
  private readonly signals: Pick<EventEmitter, 'on' | 'off'>;
  private readonly signalNames: readonly NodeJS.Signals[];
  private readonly exit: (code: number) => void;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private running: Promise<number> | undefined;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.running) {
      this.log.warn({ signal }, 'second signal during shutdown; exiting now');
      this.exit(1);
      return;
    }
    void this.shutdown(`received ${signal}`);
  };

  constructor(options: ShutdownOptions = {}) {
    this.signals = options.signals ?? process;
    this.signalNames = options.signalNames ?? ['SIGTERM', 'SIGINT'];
    this.exit = options.exit ?? ((code) => process.exit(code));
    this.log = options.logger ?? silentLogger();
    this.timeoutMs = options.timeoutMs ?? 25_000;
  }

  /** Aborted as soon as shutdown begins: long-running loops can watch it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Adds a hook; hooks run last-registered first. */
  register(name: string, hook: StopHook): this {
    this.hooks.push({ name, hook });
    return this;
  }

  /** Starts listening for the signals. */
  install(): this {
    for (const name of this.signalNames) this.signals.on(name, this.onSignal);
    return this;
  }

  uninstall(): void {
    for (const name of this.signalNames) this.signals.off(name, this.onSignal);
  }

  /**
   * Runs the hooks (once, however often called) and exits: 0 if they all finished in time, 1 if one failed
   * or the timeout hit. Resolves with that code after calling exit (which normally doesn't return).
   */
  shutdown(reason: string): Promise<number> {
    this.running ??= this.runHooks(reason).then((code) => {
      this.uninstall();
      this.exit(code);
      return code;
    });
    return this.running;
  }

  private async runHooks(reason: string): Promise<number> {
    this.log.info({ reason }, 'shutting down');
    this.controller.abort();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
    });
    const all = (async () => {
      let failed = false;
      for (const { name, hook } of [...this.hooks].reverse()) {
        try {
          await hook();
          this.log.debug({ hook: name }, 'stopped');
        } catch (error) {
          failed = true;
          this.log.error({ err: error, hook: name }, 'stop hook failed');
        }
      }
      return failed ? 'failed' : 'done';
    })();
    const outcome = await Promise.race([all, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.log.error({ timeoutMs: this.timeoutMs }, 'shutdown timed out; exiting anyway');
      return 1;
    }
    this.log.info('shutdown complete');
    return outcome === 'done' ? 0 : 1;
  }
}
