/**
 * BGP community values (standard 64512:100, large large:64512:1:2) and the aliases Community objects define
 * for them, resolved the way advertisements use them.
 */
import { quote, readList, readNonEmptyString, asRecord } from './read.js';
import type { SourceObject } from './objects.js';
import type { BgpCommunity } from './types.js';

export type CommunityParse =
  | { readonly ok: true; readonly community: BgpCommunity }
  /** format: not shaped like a community at all, so possibly an alias; value: shaped like one, but wrong. */
  | { readonly ok: false; readonly error: 'format' | 'value'; readonly reason: string };

const standardHint = 'a standard community is two numbers 0-65535 (64512:100)';
const largeHint = 'a large community is large: and three numbers 0-4294967295 (large:64512:1:2)';

function parseNumber(text: string, max: number): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return value <= max ? value : undefined;
}

export function parseCommunity(text: string): CommunityParse {
  const parts = text.split(':');
  if (parts.length === 2) {
    const [asnText, valueText] = parts as [string, string];
    const asn = parseNumber(asnText, 0xffff);
    const value = parseNumber(valueText, 0xffff);
    if (asn === undefined || value === undefined) {
      const bad = asn === undefined ? asnText : valueText;
      return {
        ok: false,
        error: 'value',
        reason: `${quote(bad)} in ${quote(text)} is not a number 0-65535; ${standardHint}`,
      };
    }
    return { ok: true, community: { kind: 'standard', text: `${asn}:${value}`, asn, value } };
  }
  if (parts.length === 4) {
    const [marker, ...numbers] = parts as [string, string, string, string];
    if (marker !== 'large') {
      return {
        ok: false,
        error: 'value',
        reason: `${quote(text)} has four parts but does not start with large:; ${largeHint}`,
      };
    }
    const parsed = numbers.map((n) => parseNumber(n, 0xffffffff));
    const badIndex = parsed.findIndex((n) => n === undefined);
    if (badIndex >= 0) {
      return {
        ok: false,
        error: 'value',
        reason: `${quote(numbers[badIndex] as string)} in ${quote(text)} is not a number 0-4294967295; ${largeHint}`,
      };
    }
    const [globalAdministrator, localData1, localData2] = parsed as [number, number, number];
    return {
      ok: true,
      community: {
        kind: 'large',
        text: `large:${globalAdministrator}:${localData1}:${localData2}`,
        globalAdministrator,
        localData1,
        localData2,
      },
    };
  }
  return {
    ok: false,
    error: 'format',
    reason: `${quote(text)} is not a community: ${standardHint}; ${largeHint}`,
  };
}

export interface CommunityAlias {
  /** Undefined when the alias's value is invalid: reported on the Community, not on every user of it. */
  readonly community: BgpCommunity | undefined;
  readonly definedBy: SourceObject;
  readonly field: string;
}

/** Reads the aliases of every Community object, rejecting bad values and names defined twice. */
export function parseCommunityAliases(sources: readonly SourceObject[]): Map<string, CommunityAlias> {
  const aliases = new Map<string, CommunityAlias>();
  for (const source of sources) {
    readList(source.spec, 'communities').forEach((item, index) => {
      const entry = asRecord(item);
      if (!entry) return;
      const field = `spec.communities[${index}]`;
      const name = readNonEmptyString(entry, 'name');
      const value = readNonEmptyString(entry, 'value');
      if (name === undefined) {
        source.report.problem(
          'field.required',
          `${field}.name`,
          'missing; an alias needs the name advertisements will refer to it by',
        );
      }
      let community: BgpCommunity | undefined;
      if (value === undefined) {
        source.report.problem(
          'field.required',
          `${field}.value`,
          `missing; give the community the alias stands for: ${standardHint}, ${largeHint}`,
        );
      } else {
        const parsed = parseCommunity(value);
        if (parsed.ok) community = parsed.community;
        else source.report.problem('community.invalid', `${field}.value`, parsed.reason);
      }
      if (name === undefined) return;
      if (name.includes(':')) {
        source.report.warning(
          'community.aliasNameHasColon',
          `${field}.name`,
          `${quote(name)} contains ':', so advertisements will read it as a community value, never as this alias; choose a name without ':'`,
        );
      }
      const earlier = aliases.get(name);
      if (earlier) {
        const where =
          earlier.definedBy === source
            ? earlier.field
            : `${earlier.field} of Community ${quote(earlier.definedBy.name)}`;
        source.report.problem(
          'community.duplicateAlias',
          `${field}.name`,
          `alias ${quote(name)} is already defined at ${where}; define each alias once`,
        );
        return;
      }
      aliases.set(name, { community, definedBy: source, field });
    });
  }
  return aliases;
}
