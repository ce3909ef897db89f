/**
 * Defensive readers for decoded objects. The validator's input comes from YAML files and admission requests,
 * so nothing in it is trusted to match its declared type: a field of the wrong type reads as absent (the
 * schema check has already said what is wrong with it) and nothing here ever throws.
 */

export type Fields = Readonly<Record<string, unknown>>;

export function asRecord(value: unknown): Fields | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : undefined;
}

/**
 * Own properties only: a key such as "constructor" must not find Object.prototype's. A "record" that is
 * null or not an object at all (a caller handed over whatever it decoded) has no fields.
 */
export function readField(record: Fields | null | undefined, key: string): unknown {
  return record !== null && typeof record === 'object' && Object.hasOwn(record, key)
    ? record[key]
    : undefined;
}

export function readString(record: Fields | undefined, key: string): string | undefined {
  const value = readField(record, key);
  return typeof value === 'string' ? value : undefined;
}

/** A string field where the empty string means unset, as Go's zero value does upstream. */
export function readNonEmptyString(record: Fields | undefined, key: string): string | undefined {
  const value = readString(record, key);
  return value ? value : undefined;
}

export function readInteger(record: Fields | undefined, key: string): number | undefined {
  const value = readField(record, key);
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

export function readBoolean(record: Fields | undefined, key: string): boolean | undefined {
  const value = readField(record, key);
  return typeof value === 'boolean' ? value : undefined;
}

export function readList(record: Fields | undefined, key: string): readonly unknown[] {
  const value = readField(record, key);
  return Array.isArray(value) ? value : [];
}

export function readRecord(record: Fields | undefined, key: string): Fields | undefined {
  return asRecord(readField(record, key));
}

/** A string→string map such as metadata.labels; entries of other types are dropped. */
export function readStringMap(record: Fields | undefined, key: string): Readonly<Record<string, string>> {
  const map = readRecord(record, key);
  const out: Record<string, string> = {};
  if (!map) return out;
  for (const [name, value] of Object.entries(map)) {
    if (typeof value === 'string') Object.defineProperty(out, name, { value, enumerable: true });
  }
  return out;
}

/** Entries of a list that are strings, with their index in the original list. */
export function stringEntries(list: readonly unknown[]): { index: number; value: string }[] {
  const out: { index: number; value: string }[] = [];
  list.forEach((value, index) => {
    if (typeof value === 'string') out.push({ index, value });
  });
  return out;
}

/** Quotes a user's value for a message, cut short so a huge junk string cannot flood the output. */
export function quote(value: string): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 76)}..."` : text;
}

/**
 * JSON with object keys sorted, so two values that say the same thing compare equal as text. Nesting beyond
 * `depth` is cut off rather than recursed into, which keeps hostile input from exhausting the stack.
 */
export function canonicalJson(value: unknown, depth = 32): string {
  if (depth <= 0) return '"…"';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item, depth - 1)).join(',')}]`;
  const record = asRecord(value);
  if (record) {
    const keys = Object.keys(record).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key], depth - 1)}`).join(',')}}`;
  }
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return 'null';
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value) ?? 'null';
}
