/**
 * A trailing debounce with a ceiling: `fire` runs once `quietMs` have passed without a poke, but never
 * later than `maxWaitMs` after the first poke of a burst. A Service created together with its endpoints
 * and status updates costs one reconcile instead of five, while a steady trickle of changes (endpoint
 * churn in a big cluster) still gets through at least once per `maxWaitMs`.
 */
import { systemClock, type Clock, type Timer } from '../runtime/clock.js';

export interface DebouncerOptions {
  readonly quietMs: number;
  readonly maxWaitMs: number;
  readonly fire: () => void;
  readonly clock?: Clock;
}

export class Debouncer {
  private readonly clock: Clock;
  private timer: Timer | undefined;
  private burstStartedAt: number | undefined;
  private stopped = false;

  constructor(private readonly options: DebouncerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  poke(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    this.burstStartedAt ??= now;
    const deadline = this.burstStartedAt + this.options.maxWaitMs;
    const due = Math.min(now + this.options.quietMs, deadline);
    this.timer?.cancel();
    this.timer = this.clock.setTimer(due - now, () => {
      this.timer = undefined;
      this.burstStartedAt = undefined;
      this.options.fire();
    });
  }

  /** Whether a fire is pending. */
  pending(): boolean {
    return this.timer !== undefined;
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }
}
