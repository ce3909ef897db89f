/** Exponential backoff with jitter for reconnect loops (informer watches, lists). */

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  /** Each delay d becomes a random value in [d, d·(1+jitter)), capped at maxMs. */
  readonly jitter: number;
}

/** client-go's reflector backoff: 800 ms doubling to 30 s, jitter 1.0. */
export const reflectorBackoff: BackoffOptions = { initialMs: 800, maxMs: 30_000, factor: 2, jitter: 1 };

export class Backoff {
  private nextBaseMs: number;

  constructor(
    private readonly options: BackoffOptions = reflectorBackoff,
    private readonly random: () => number = Math.random,
  ) {
    this.nextBaseMs = options.initialMs;
  }

  /** The delay to wait before the next attempt; each call grows the following one. */
  next(): number {
    const base = this.nextBaseMs;
    this.nextBaseMs = Math.min(base * this.options.factor, this.options.maxMs);
    return Math.min(base * (1 + this.options.jitter * this.random()), this.options.maxMs);
  }

  /** Back to the initial delay, after the connection proved healthy. */
  reset(): void {
    this.nextBaseMs = this.options.initialMs;
  }
}
