/**
 * Durations as Kubernetes writes them (Go's time.ParseDuration: 90s, 1m30s, 1.5h, 500ms) and the BGP timer
 * rules: holdTime and keepaliveTime derive from each other when only one is set, the hold time is 0 or at
 * least 3 s, and keepalives come no slower than the hold time.
 */
import { quote } from './read.js';
import type { Reporter } from './report.js';
import type { PeerTimers } from './types.js';

const nanosPerUnit: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

// Go's time.Duration is an int64 of nanoseconds; doubles round its limit to 2^63.
const maxNanos = 2 ** 63;

/** Nanoseconds, or undefined when `text` is not a Go duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^([-+]?)(.*)$/s.exec(text);
  if (!match) return undefined;
  const sign = match[1] === '-' ? -1 : 1;
  const body = match[2] ?? '';
  if (body === '0') return 0;
  if (body === '') return undefined;
  const component = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
  let rest = body;
  let total = 0;
  while (rest.length > 0) {
    const part = component.exec(rest);
    if (!part) return undefined;
    const whole = part[1] ?? '';
    const fraction = part[2] ?? '';
    if (whole === '' && fraction === '') return undefined;
    const unit = nanosPerUnit[part[3] ?? ''] ?? 0;
    total += Number(whole || '0') * unit + (fraction ? Number(`0.${fraction}`) * unit : 0);
    if (total >= maxNanos) return undefined;
    rest = rest.slice(part[0].length);
  }
  return sign * Math.trunc(total);
}

/** 90000000000 → "1m30s": a duration as a person reads it, for messages. */
export function formatDuration(nanos: number): string {
  if (nanos === 0) return '0s';
  const sign = nanos < 0 ? '-' : '';
  let rest = Math.abs(nanos);
  if (rest < 1e9) return `${sign}${rest / 1e6}ms`;
  const hours = Math.floor(rest / 3600e9);
  rest -= hours * 3600e9;
  const minutes = Math.floor(rest / 60e9);
  rest -= minutes * 60e9;
  const seconds = rest / 1e9;
  return `${sign}${hours ? `${hours}h` : ''}${minutes ? `${minutes}m` : ''}${seconds ? `${Number(seconds.toFixed(9))}s` : ''}`;
}

const wholeSeconds = (nanos: number): number => Math.trunc(nanos / 1e9);

/**
 * Resolves holdTime and keepaliveTime (already-parsed nanoseconds, undefined when unset) into FRR's whole
 * seconds, reporting at spec.holdTime / spec.keepaliveTime when they cannot work.
 */
export function deriveTimers(
  holdText: string | undefined,
  keepaliveText: string | undefined,
  report: Reporter,
): PeerTimers | undefined {
  const hold = holdText === undefined ? undefined : parseDuration(holdText);
  const keepalive = keepaliveText === undefined ? undefined : parseDuration(keepaliveText);
  // An unparseable duration is the schema check's to report; without it the pair cannot be judged.
  if (
    (holdText !== undefined && hold === undefined) ||
    (keepaliveText !== undefined && keepalive === undefined)
  )
    return undefined;
  if (hold === undefined && keepalive === undefined) return undefined;
  if (keepalive !== undefined && keepalive < 0) {
    report.problem(
      'peer.negativeKeepalive',
      'spec.keepaliveTime',
      `${quote(keepaliveText as string)} is negative; use a positive duration such as 30s`,
    );
    return undefined;
  }
  const holdNanos = hold ?? (keepalive as number) * 3;
  const keepaliveNanos = keepalive ?? Math.trunc((hold as number) / 3);
  const roundedHold = wholeSeconds(holdNanos);
  if (roundedHold !== 0 && roundedHold < 3) {
    if (hold !== undefined) {
      report.problem(
        'peer.holdTooShort',
        'spec.holdTime',
        `${quote(holdText as string)} is too short: the hold time must be 0 (no keepalives) or at least 3s`,
      );
    } else {
      report.problem(
        'peer.holdTooShort',
        'spec.keepaliveTime',
        `${quote(keepaliveText as string)} implies a hold time of ${formatDuration(holdNanos)} (3 × keepaliveTime), but the hold time must be 0 or at least 3s; set keepaliveTime to at least 1s, or set holdTime too`,
      );
    }
    return undefined;
  }
  if (keepaliveNanos > holdNanos) {
    const holdSource =
      hold !== undefined
        ? `holdTime ${quote(holdText as string)}`
        : `the derived hold time ${formatDuration(holdNanos)}`;
    report.problem(
      'peer.keepaliveAboveHold',
      'spec.keepaliveTime',
      `${quote(keepaliveText as string)} is longer than ${holdSource}; keepalives must come at least once per hold time (a third of it is usual)`,
    );
    return undefined;
  }
  return { holdSeconds: roundedHold, keepaliveSeconds: wholeSeconds(keepaliveNanos) };
}
