/**
 * metav1.MicroTime on the wire: RFC 3339 with exactly six fractional digits. The API server rejects
 * Date.toISOString()'s three digits on Lease and events.k8s.io fields.
 */

/** Formats epoch milliseconds (fractions keep microseconds) as "2026-11-25T08:00:00.123456Z". */
export function formatMicroTime(epochMs: number): string {
  const micros = Math.round(epochMs * 1000);
  const wholeMs = Math.floor(micros / 1000);
  const seconds = new Date(wholeMs).toISOString().slice(0, 19);
  const fraction = String(((micros % 1_000_000) + 1_000_000) % 1_000_000).padStart(6, '0');
  return `${seconds}.${fraction}Z`;
}

/** Parses a MicroTime (or any RFC 3339 time) to epoch milliseconds, keeping microseconds as a fraction. */
export function parseMicroTime(text: string): number {
  const match = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!match) return Number.NaN;
  const whole = Date.parse(`${match[1]}${match[3]}`);
  const fraction = match[2] ? Number(`0.${match[2]}`) * 1000 : 0;
  return whole + fraction;
}
