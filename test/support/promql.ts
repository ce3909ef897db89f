/**
 * The metric names a PromQL expression selects, and promtool runs, for the checks of alerts and dashboards.
 * The name extraction is deliberately small (it knows our expressions' shapes: selectors, aggregations with
 * by/without, binary operators, functions, ranges); promtool itself is the parser that rejects bad syntax.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const keywords = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** Metric names in `expr`: identifiers outside label matchers, ranges and strings that are not functions. */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0];
    const after = stripped.slice((match.index ?? 0) + name.length).trimStart();
    if (after.startsWith('(') || keywords.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Debian's prometheus package installs it (scripts/system-deps.sh). */
export const promtoolPath = '/usr/bin/promtool';

export interface PromtoolRun {
  readonly status: number | null;
  readonly output: string;
}

export function promtool(args: readonly string[], cwd?: string): PromtoolRun {
  if (!existsSync(promtoolPath)) {
    throw new Error(`${promtoolPath} is missing: run make system-deps (Debian package prometheus)`);
  }
  const run = spawnSync(promtoolPath, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
