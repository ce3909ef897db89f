/**
 * Reads the text of a legacy `config` key into a small tree that keeps, for every scalar, both the value the
 * old Go controller would have decoded and the text as written.
 *
 * Both matter: the legacy controller decoded with go-yaml v2, which follows YAML 1.1 (`auto-assign: no` is
 * false, `localpref: 0100` is octal), yet a scalar decoded into a Go string keeps its text (`password: 0123`
 * is "0123", not 83). Plain JSON-ish decoding would get one or the other wrong.
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';

export interface LegacyScalar {
  readonly kind: 'scalar';
  /** As YAML 1.1 resolves it; null for an empty value, `~` or `null`. */
  readonly value: string | number | boolean | null;
  /** The scalar as written (without quotes), which is what a Go string field received. */
  readonly text: string;
  readonly quoted: boolean;
}

export interface LegacyList {
  readonly kind: 'list';
  readonly items: readonly LegacyNode[];
}

export interface LegacyMap {
  readonly kind: 'map';
  /** In document order; `<<` merge keys are already applied. */
  readonly entries: ReadonlyMap<string, LegacyNode>;
}

export type LegacyNode = LegacyScalar | LegacyList | LegacyMap;

export type LegacyYaml =
  | { readonly ok: true; readonly root: LegacyNode | undefined; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly error: string };

// Aliases can make a small text expand without bound; a real MetalLB configuration is far below these.
const maxNodes = 100_000;
const maxDepth = 64;

class Unreadable {
  constructor(readonly message: string) {}
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/:\s*$/, '');
}

export function parseLegacyYaml(text: string): LegacyYaml {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { schema: 'yaml-1.1', merge: true, lineCounter, prettyErrors: true });
  const firstError = document.errors[0];
  if (firstError) return { ok: false, error: `invalid YAML: ${firstLine(firstError.message)}` };
  const warnings = document.warnings.map((warning) => `YAML: ${firstLine(warning.message)}`);
  const converted = new TreeBuilder(document, lineCounter).build(document.contents);
  if (converted instanceof Unreadable) return { ok: false, error: converted.message };
  return { ok: true, root: converted, warnings };
}

class TreeBuilder {
  private nodes = 0;

  constructor(
    private readonly document: Document,
    private readonly lines: LineCounter,
  ) {}

  build(node: unknown): LegacyNode | undefined | Unreadable {
    try {
      return this.convert(node, 0);
    } catch (error) {
      if (error instanceof Unreadable) return error;
      throw error;
    }
  }

  private where(node: unknown): string {
    const range = (node as { range?: readonly number[] } | null)?.range;
    if (!range || range[0] === undefined) return '';
    const { line, col } = this.lines.linePos(range[0]);
    return ` at line ${line}, column ${col}`;
  }

  private convert(node: unknown, depth: number): LegacyNode | undefined {
    if (node === null || node === undefined) return undefined;
    this.nodes += 1;
    if (this.nodes > maxNodes) {
      throw new Unreadable(`the configuration expands to more than ${maxNodes} YAML nodes (aliases?)`);
    }
    if (depth > maxDepth) throw new Unreadable(`the configuration nests deeper than ${maxDepth} levels`);
    if (isAlias(node)) return this.convert(node.resolve(this.document), depth + 1);
    if (isScalar(node)) return scalar(node.value, node.source, node.type);
    if (isSeq(node)) {
      const items = node.items.map(
        (item): LegacyNode => this.convert(item, depth + 1) ?? scalar(null, '', 'PLAIN'),
      );
      return { kind: 'list', items };
    }
    if (isMap(node)) return this.convertMap(node.items, depth);
    throw new Unreadable(`unsupported YAML node${this.where(node)}`);
  }

  private convertMap(
    pairs: readonly { readonly key: unknown; readonly value: unknown }[],
    depth: number,
  ): LegacyMap {
    const explicit = new Map<string, LegacyNode>();
    const merged = new Map<string, LegacyNode>();
    for (const pair of pairs) {
      if (isScalar(pair.key) && typeof pair.key.value === 'symbol') {
        for (const [key, value] of this.mergeSources(pair.value, depth)) {
          if (!merged.has(key)) merged.set(key, value);
        }
        continue;
      }
      const key = this.keyText(pair.key);
      explicit.set(key, this.convert(pair.value, depth + 1) ?? scalar(null, '', 'PLAIN'));
    }
    const entries = new Map(explicit);
    for (const [key, value] of merged) if (!entries.has(key)) entries.set(key, value);
    return { kind: 'map', entries };
  }

  /** The entries a `<<` key brings in: one mapping, or a list of them where earlier ones win. */
  private mergeSources(value: unknown, depth: number): [string, LegacyNode][] {
    const converted = this.convert(value, depth + 1);
    const sources = converted?.kind === 'list' ? converted.items : converted ? [converted] : [];
    return sources.flatMap((source) => (source.kind === 'map' ? [...source.entries] : []));
  }

  private keyText(key: unknown): string {
    if (isScalar(key)) {
      if (typeof key.value === 'string') return key.value;
      return key.source ?? String(key.value);
    }
    if (key === null || key === undefined) return '';
    throw new Unreadable(`a mapping key${this.where(key)} is a collection; keys must be plain text`);
  }
}

function scalar(value: unknown, source: string | undefined, type: string | undefined): LegacyScalar {
  const quoted = type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE';
  const text = typeof value === 'string' ? value : (source ?? String(value));
  if (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    typeof value === 'number'
  ) {
    return { kind: 'scalar', value, text, quoted };
  }
  // Timestamps, binary and other YAML 1.1 types: a Go string field would have taken the text.
  return { kind: 'scalar', value: text, text, quoted };
}
