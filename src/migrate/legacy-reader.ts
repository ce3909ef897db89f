/**
 * Typed reads from a legacy configuration tree that never throw: every value of the wrong shape becomes a
 * problem at its path (data.config.address-pools[0].protocol), every key nobody reads becomes a warning.
 * The rules follow what the legacy controller's decoder accepted, so a configuration that used to load
 * migrates, and one it refused is reported rather than guessed at.
 */
import type { ObjectRef, Problem, ProblemCode } from '../api/problem.js';
import type { LegacyList, LegacyMap, LegacyNode } from './legacy-yaml.js';

const plainKey = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/** `data.config` + `address-pools` → `data.config.address-pools`; odd keys are quoted in brackets. */
export function childPath(path: string, key: string): string {
  if (!plainKey.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path ? `${path}.${key}` : key;
}

export function itemPath(path: string, index: number): string {
  return `${path}[${index}]`;
}

export class Findings {
  readonly problems: Problem[] = [];
  readonly warnings: Problem[] = [];

  constructor(readonly source: ObjectRef) {}

  problem(code: ProblemCode, field: string, message: string): void {
    this.problems.push({ code, object: this.source, field, message });
  }

  warning(code: ProblemCode, field: string, message: string): void {
    this.warnings.push({ code, object: this.source, field, message });
  }
}

/** Absent, empty, `~` or `null`: what Go left at its zero value. */
export function isNullValue(node: LegacyNode): boolean {
  return node.kind === 'scalar' && node.value === null;
}

/** What a node is, for messages; a secret's text is never repeated. */
function describe(node: LegacyNode, secret: boolean): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'list') return 'a list';
  if (secret) return typeof node.value === 'string' ? 'a string' : `a ${typeof node.value}`;
  const shown = node.text.length > 40 ? `${node.text.slice(0, 37)}...` : node.text;
  if (typeof node.value === 'string') return `the string ${JSON.stringify(shown)}`;
  return `${shown}`;
}

/** Lowercased without dashes or underscores, so peerAddress and peer_address both find peer-address. */
function normalizedKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Keys that older releases spelled differently, with the spelling the legacy format settled on. */
const formerNames: Readonly<Record<string, string>> = { cidr: 'addresses' };

function suggestion(key: string, known: readonly string[]): string | undefined {
  const former = formerNames[key];
  if (former && known.includes(former)) return former;
  const normalized = normalizedKey(key);
  const sameWords = known.find((candidate) => normalizedKey(candidate) === normalized);
  if (sameWords) return sameWords;
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate);
    if (distance <= 2 && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

export type ScalarKind = 'string' | 'integer' | 'boolean';

export class LegacyReader {
  constructor(readonly findings: Findings) {}

  /** The node as a mapping; undefined (with a problem unless it is absent or null) otherwise. */
  map(node: LegacyNode | undefined, path: string, what = 'a mapping'): LegacyMap | undefined {
    if (node === undefined || isNullValue(node)) return undefined;
    if (node.kind === 'map') return node;
    this.findings.problem('legacy.type', path, `must be ${what}, not ${describe(node, false)}`);
    return undefined;
  }

  /** The items of a list; an absent or null list reads as empty. */
  list(node: LegacyNode | undefined, path: string, what = 'a list'): LegacyList['items'] {
    if (node === undefined || isNullValue(node)) return [];
    if (node.kind === 'list') return node.items;
    this.findings.problem('legacy.type', path, `must be ${what}, not ${describe(node, false)}`);
    return [];
  }

  /**
   * A string as a Go string field received it: quoted or not, a plain scalar's text counts (rack: 1 is the
   * label value "1"). Empty strings read as unset, as Go's zero value did.
   */
  string(node: LegacyNode | undefined, path: string, options: { secret?: boolean } = {}): string | undefined {
    if (node === undefined || isNullValue(node)) return undefined;
    if (node.kind !== 'scalar') {
      this.findings.problem(
        'legacy.type',
        path,
        `must be a string, not ${describe(node, options.secret ?? false)}`,
      );
      return undefined;
    }
    return node.text === '' ? undefined : node.text;
  }

  integer(node: LegacyNode | undefined, path: string): number | undefined {
    if (node === undefined || isNullValue(node)) return undefined;
    if (
      node.kind === 'scalar' &&
      !node.quoted &&
      typeof node.value === 'number' &&
      Number.isSafeInteger(node.value) &&
      // YAML 1.1 sexagesimal (1:30) was never an integer to the legacy decoder.
      !node.text.includes(':')
    ) {
      return node.value;
    }
    this.findings.problem('legacy.type', path, `must be a whole number, not ${describe(node, false)}`);
    return undefined;
  }

  boolean(node: LegacyNode | undefined, path: string): boolean | undefined {
    if (node === undefined || isNullValue(node)) return undefined;
    if (node.kind === 'scalar' && !node.quoted && typeof node.value === 'boolean') return node.value;
    this.findings.problem('legacy.type', path, `must be true or false, not ${describe(node, false)}`);
    return undefined;
  }

  /** A list of strings; non-string items are problems at their own index. */
  strings(node: LegacyNode | undefined, path: string): string[] | undefined {
    if (node === undefined || isNullValue(node)) return undefined;
    if (node.kind !== 'list') {
      this.findings.problem('legacy.type', path, `must be a list of strings, not ${describe(node, false)}`);
      return undefined;
    }
    const out: string[] = [];
    node.items.forEach((item, index) => {
      const value = this.string(item, itemPath(path, index));
      if (value !== undefined) out.push(value);
      else if (isNullValue(item))
        this.findings.problem('legacy.emptyValue', itemPath(path, index), 'must not be empty');
    });
    return out;
  }

  /** A mapping of strings to strings, such as match-labels. */
  stringMap(node: LegacyNode | undefined, path: string): Record<string, string> | undefined {
    const map = this.map(node, path);
    if (!map) return undefined;
    const out: Record<string, string> = {};
    for (const [key, value] of map.entries) {
      // Go's zero value: `rack:` with nothing after it matched the empty label value.
      const text = this.string(value, childPath(path, key)) ?? '';
      Object.defineProperty(out, key, { value: text, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  /** The node as a mapping whose keys are all in `known` (others are warned about). */
  object(node: LegacyNode | undefined, path: string, known: readonly string[]): LegacyObject | undefined {
    const map = this.map(node, path);
    if (!map) return undefined;
    this.unknownKeys(map, path, known);
    return new LegacyObject(this, map, path);
  }

  /** A list item that must be a mapping: unlike a missing field, an empty item is a problem. */
  item(node: LegacyNode, path: string, known: readonly string[]): LegacyObject | undefined {
    if (isNullValue(node)) {
      this.findings.problem('legacy.emptyValue', path, 'must not be empty');
      return undefined;
    }
    return this.object(node, path, known);
  }

  /** Whether a problem was already reported at exactly this path, so "is required" does not pile on. */
  reportedAt(path: string): boolean {
    return this.findings.problems.some((problem) => problem.field === path);
  }

  /** Warns once per key the migration does not read, so nothing is dropped silently. */
  unknownKeys(map: LegacyMap | undefined, path: string, known: readonly string[]): void {
    if (!map) return;
    for (const key of map.entries.keys()) {
      if (known.includes(key)) continue;
      const close = suggestion(key, known);
      this.findings.warning(
        'legacy.unknownKey',
        childPath(path, key),
        `unknown key ${JSON.stringify(key)} is not part of the legacy configuration format and was not migrated` +
          (close ? `; did you mean ${JSON.stringify(close)}?` : ''),
      );
    }
  }
}

/** One legacy mapping with its path: reads its fields by key, each reported at its own path. */
export class LegacyObject {
  constructor(
    private readonly reader: LegacyReader,
    readonly map: LegacyMap,
    readonly path: string,
  ) {}

  has(key: string): boolean {
    const node = this.map.entries.get(key);
    return node !== undefined && !isNullValue(node);
  }

  node(key: string): LegacyNode | undefined {
    return this.map.entries.get(key);
  }

  pathOf(key: string): string {
    return childPath(this.path, key);
  }

  string(key: string, options: { required?: boolean; secret?: boolean } = {}): string | undefined {
    const value = this.reader.string(this.node(key), this.pathOf(key), options);
    if (value === undefined && options.required && !this.reader.reportedAt(this.pathOf(key))) {
      this.reader.findings.problem('field.required', this.pathOf(key), 'is required');
    }
    return value;
  }

  integer(key: string, options: { required?: boolean } = {}): number | undefined {
    const value = this.reader.integer(this.node(key), this.pathOf(key));
    if (value === undefined && options.required && !this.reader.reportedAt(this.pathOf(key))) {
      this.reader.findings.problem('field.required', this.pathOf(key), 'is required');
    }
    return value;
  }

  boolean(key: string): boolean | undefined {
    return this.reader.boolean(this.node(key), this.pathOf(key));
  }

  strings(key: string): string[] | undefined {
    return this.reader.strings(this.node(key), this.pathOf(key));
  }

  stringMap(key: string): Record<string, string> | undefined {
    return this.reader.stringMap(this.node(key), this.pathOf(key));
  }

  list(key: string): readonly LegacyNode[] {
    return this.reader.list(this.node(key), this.pathOf(key));
  }
}
