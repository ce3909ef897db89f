/**
 * Does a live object already hold what the operator would apply? Server-side apply of an unchanged object is
 * not stored, but it is still a write request, and an idle operator should send none. The live object has
 * more than we send (defaults, status, other managers' fields), so the question is whether the desired
 * fields are a subset of the live ones:
 * - objects: every desired field is present in live with a matching value; extra live fields are fine;
 * - lists: same length, item by item (our lists are atomic or keyed, and the server keeps their order), so a
 *   removed or added list item is drift;
 * - scalars: equal; resource quantities compare by value, because the server rewrites "0.5" as "500m".
 */

/** The path of the first desired field the live object does not hold, or undefined when it holds them all. */
export function firstDifference(desired: unknown, live: unknown, path = ''): string | undefined {
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return path || '.';
    for (const [index, item] of desired.entries()) {
      const difference = firstDifference(item, live[index], `${path}[${index}]`);
      if (difference !== undefined) return difference;
    }
    return undefined;
  }
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return path || '.';
    const liveRecord = live as Record<string, unknown>;
    for (const [key, value] of Object.entries(desired as Record<string, unknown>)) {
      if (value === undefined) continue;
      const difference = firstDifference(value, liveRecord[key], path ? `${path}.${key}` : key);
      if (difference !== undefined) return difference;
    }
    return undefined;
  }
  if (desired === live) return undefined;
  if (
    typeof desired === 'string' &&
    typeof live === 'string' &&
    /(^|\.)resources\.(limits|requests)\./.test(path) &&
    sameQuantity(desired, live)
  ) {
    return undefined;
  }
  return path || '.';
}

const binarySuffixes: Readonly<Record<string, number>> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const decimalSuffixes: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** A Kubernetes quantity ("500m", "0.5", "128Mi", "1e3") as a number, or undefined if it is not one. */
export function parseQuantity(text: string): number | undefined {
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(
    text.trim(),
  );
  if (!match) return undefined;
  const base = Number(match[1]);
  if (match[2]) return Number(`${match[1]}${match[2]}`);
  const suffix = match[3] ?? '';
  const scale = binarySuffixes[suffix] ?? decimalSuffixes[suffix];
  return scale === undefined ? undefined : base * scale;
}

function sameQuantity(a: string, b: string): boolean {
  const left = parseQuantity(a);
  const right = parseQuantity(b);
  if (left === undefined || right === undefined) return false;
  return Math.abs(left - right) <= Math.abs(left) * 1e-12;
}
