/**
 * Time as a dependency: every runtime piece that waits (queue delays, backoff, lease renewals, resync) takes a
 * Clock, so unit tests drive time by hand instead of sleeping.
 */

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once after `delayMs` (negative counts as 0) unless cancelled first. */
  setTimer(delayMs: number, callback: () => void): Timer;
}

// setTimeout fires at once for delays above 2^31-1 ms; nothing here waits that long, but clamp anyway.
const maxTimerDelayMs = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs, callback) {
    const handle = setTimeout(callback, Math.min(Math.max(0, delayMs), maxTimerDelayMs));
    return { cancel: () => clearTimeout(handle) };
  },
};

/** Resolves after `delayMs`, or as soon as `signal` aborts (it never rejects: callers check the signal). */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      resolve();
    };
    const timer = clock.setTimer(delayMs, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
