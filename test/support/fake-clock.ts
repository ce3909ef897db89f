/** A hand-driven Clock for unit tests (here and in other packages): time moves only when a test says so. */
import type { Clock, Timer } from '../../src/runtime/clock.js';

interface PendingTimer {
  readonly at: number;
  readonly sequence: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/** Lets promise chains started by a timer callback run to their next real wait. */
export async function flushMicrotasks(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private current: number;
  private sequence = 0;
  private timers: PendingTimer[] = [];

  constructor(start = Date.UTC(2026, 10, 25, 8, 0, 0)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    const timer: PendingTimer = {
      at: this.current + Math.max(0, delayMs),
      sequence: this.sequence++,
      callback,
      cancelled: false,
    };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Timers waiting to fire. */
  pendingTimers(): number {
    this.timers = this.timers.filter((t) => !t.cancelled);
    return this.timers.length;
  }

  /** Delays (from now) of the timers waiting to fire, soonest first. */
  pendingDelays(): number[] {
    return this.live().map((t) => t.at - this.current);
  }

  /** Moves time forward, firing due timers in order; callbacks run synchronously. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (let next = this.nextDue(target); next; next = this.nextDue(target)) this.fire(next);
    this.current = target;
  }

  /**
   * Like advance, but lets promise chains settle after each timer, so async loops (sleep → request → sleep)
   * get to schedule their next timer before time moves on.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.current + ms;
    await flushMicrotasks();
    for (let next = this.nextDue(target); next; next = this.nextDue(target)) {
      this.fire(next);
      await flushMicrotasks();
    }
    this.current = target;
  }

  private live(): PendingTimer[] {
    return this.timers.filter((t) => !t.cancelled).sort((a, b) => a.at - b.at || a.sequence - b.sequence);
  }

  private nextDue(target: number): PendingTimer | undefined {
    const next = this.live()[0];
    return next && next.at <= target ? next : undefined;
  }

  private fire(timer: PendingTimer): void {
    this.current = Math.max(this.current, timer.at);
    timer.cancelled = true;
    this.timers = this.timers.filter((t) => t !== timer);
    timer.callback();
  }
}
