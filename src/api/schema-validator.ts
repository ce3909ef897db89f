/**
 * Checks objects against the generated schemas of our kinds, the way the API server would: types, enums,
 * ranges, patterns, required fields, unknown fields (kubectl's strict field validation) and the CEL rules
 * in x-kubernetes-validations. Only the schema: cross-object rules live in src/config.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { DataValidateFunction } from 'ajv/dist/types/index.js';
import * as ajvFormats from 'ajv-formats';
import { parse as parseCel } from '@marcbachmann/cel-js';
import { apiSchemas } from './schemas.generated.js';
import type { ApiSchemaEntry } from './schema-entry.js';
import { joinPath, pointerToPath, type ProblemCode } from './problem.js';

/** A schema violation at a field path of the checked object. */
export interface SchemaViolation {
  readonly code: ProblemCode;
  readonly field: string;
  readonly message: string;
}

interface CelRule {
  rule: string;
  message?: string;
  fieldPath?: string;
}

type SchemaNode = Record<string, unknown>;

// ajv-formats is CommonJS with an ES-style default export, which NodeNext leaves on .default.
const addFormats = (ajvFormats as unknown as { default: (ajv: Ajv) => Ajv }).default;

const durationPattern = '^[-+]?(0|([0-9]*(\\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+)$';

export function schemaEntry(apiVersion: string, kind: string): ApiSchemaEntry | undefined {
  return apiSchemas.find((entry) => entry.apiVersion === apiVersion && entry.kind === kind);
}

export function knownKinds(): string[] {
  return [...new Set(apiSchemas.map((entry) => entry.kind))];
}

export function versionsOf(kind: string): string[] {
  return apiSchemas.filter((entry) => entry.kind === kind).map((entry) => entry.apiVersion);
}

let ajv: Ajv | undefined;
const validators = new Map<ApiSchemaEntry, ValidateFunction>();

function compiler(): Ajv {
  if (ajv) return ajv;
  ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, verbose: true });
  addFormats(ajv);
  for (const keyword of [
    'x-kubernetes-int-or-string',
    'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys',
    'x-kubernetes-map-type',
    'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-embedded-resource',
  ]) {
    ajv.addKeyword({ keyword });
  }
  ajv.addKeyword({
    keyword: 'x-kubernetes-validations',
    schemaType: 'array',
    errors: true,
    compile: compileCelRules,
  });
  return ajv;
}

/**
 * Evaluates a node's CEL rules. Transition rules (those reading oldSelf) only apply to updates, which a
 * standalone document is not, so they are left to the API server.
 */
function compileCelRules(rules: CelRule[]): DataValidateFunction {
  const programs = rules
    .filter((rule) => !/\boldSelf\b/.test(rule.rule))
    .map((rule) => ({ rule, program: parseCel(rule.rule) }));
  const validate: DataValidateFunction = (data: unknown, context?: { instancePath?: string }) => {
    const errors: Partial<ErrorObject>[] = [];
    for (const { rule, program } of programs) {
      let holds: unknown;
      try {
        holds = program({ self: data });
      } catch {
        // A value CEL cannot even read (e.g. a malformed duration) already fails the field's own schema.
        continue;
      }
      if (holds !== true) {
        const instancePath = `${context?.instancePath ?? ''}${rule.fieldPath ? fieldPathToPointer(rule.fieldPath) : ''}`;
        errors.push({
          keyword: 'x-kubernetes-validations',
          instancePath,
          message: rule.message ?? `failed rule: ${rule.rule}`,
          params: { rule: rule.rule },
        });
      }
    }
    validate.errors = errors;
    return errors.length === 0;
  };
  return validate;
}

function fieldPathToPointer(fieldPath: string): string {
  return fieldPath
    .split('.')
    .filter(Boolean)
    .map((part) => `/${part}`)
    .join('');
}

/**
 * The schema as kubectl apply effectively enforces it: unknown fields are errors (strict field validation).
 * metadata is declared without properties, so the API server's own metadata rules are left alone.
 */
function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (node === null || typeof node !== 'object') return node;
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node as SchemaNode)) {
    out[key] =
      key === 'properties'
        ? Object.fromEntries(
            Object.entries(value as SchemaNode).map(([name, child]) => [name, strict(child)]),
          )
        : strict(value);
  }
  const open = out.additionalProperties !== undefined || out['x-kubernetes-preserve-unknown-fields'] === true;
  if (typeof out.properties === 'object' && !open) out.additionalProperties = false;
  return out;
}

function validatorFor(entry: ApiSchemaEntry): ValidateFunction {
  let validate = validators.get(entry);
  if (!validate) {
    validate = compiler().compile(strict(entry.schema) as SchemaNode);
    validators.set(entry, validate);
  }
  return validate;
}

/** Schema violations of `object` against `entry`'s schema; empty when it conforms. */
export function checkSchema(entry: ApiSchemaEntry, object: unknown): SchemaViolation[] {
  const validate = validatorFor(entry);
  if (validate(object)) return [];
  return describeErrors(validate.errors ?? []);
}

function describeErrors(errors: ErrorObject[]): SchemaViolation[] {
  // anyOf (int-or-string) reports every branch's failure; keep only the anyOf's own summary.
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.schemaPath);
  const kept = errors.filter(
    (e) => e.keyword === 'anyOf' || !anyOfPaths.some((path) => e.schemaPath.startsWith(`${path}/`)),
  );
  const seen = new Set<string>();
  const violations: SchemaViolation[] = [];
  for (const error of kept) {
    const violation = describeError(error);
    const key = `${violation.field}\u0000${violation.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    violations.push(violation);
  }
  return violations;
}

function describeError(error: ErrorObject): SchemaViolation {
  const field = pointerToPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  const parent = (error.parentSchema ?? {}) as SchemaNode;
  const got = describeValue(error.data);
  switch (error.keyword) {
    case 'required':
      return {
        code: 'schema.required',
        field: joinPath(field, String(params.missingProperty)),
        message: 'required field is missing',
      };
    case 'additionalProperties':
      return {
        code: 'schema.unknownField',
        field: joinPath(field, String(params.additionalProperty)),
        message: 'unknown field: this API version has no such field (check the spelling and the apiVersion)',
      };
    case 'type':
      return { code: 'schema.type', field, message: `must be ${article(String(params.type))}, got ${got}` };
    case 'enum':
      return {
        code: 'schema.enum',
        field,
        message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${got}`,
      };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { code: 'schema.range', field, message: rangeMessage(parent, got) };
    case 'pattern':
      return parent.pattern === durationPattern
        ? {
            code: 'schema.duration',
            field,
            message: `must be a duration such as 90s, 1m30s or 500ms, got ${got}`,
          }
        : {
            code: 'schema.pattern',
            field,
            message: `must match the pattern ${String(params.pattern)}, got ${got}`,
          };
    case 'minItems':
      return {
        code: 'schema.minItems',
        field,
        message: `must have at least ${String(params.limit)} item(s)`,
      };
    case 'maxItems':
      return { code: 'schema.maxItems', field, message: `must have at most ${String(params.limit)} item(s)` };
    case 'minLength':
      return {
        code: 'schema.minLength',
        field,
        message:
          params.limit === 1
            ? 'must not be empty'
            : `must be at least ${String(params.limit)} characters long`,
      };
    case 'anyOf':
      return parent['x-kubernetes-int-or-string']
        ? { code: 'schema.intOrString', field, message: `must be an integer or a string, got ${got}` }
        : { code: 'schema.anyOf', field, message: `does not match any of the allowed forms, got ${got}` };
    case 'format':
      return {
        code: 'schema.format',
        field,
        message: `must be a valid ${String(params.format)} value, got ${got}`,
      };
    default:
      return {
        code: error.keyword === 'x-kubernetes-validations' ? 'schema.rule' : 'schema.other',
        field,
        message: error.message ?? `fails ${error.keyword}`,
      };
  }
}

function rangeMessage(schema: SchemaNode, got: string): string {
  const min = schema.minimum;
  const max = schema.maximum;
  if (typeof min === 'number' && typeof max === 'number')
    return `must be between ${min} and ${max}, got ${got}`;
  if (typeof min === 'number') return `must be at least ${min}, got ${got}`;
  return `must be at most ${String(max)}, got ${got}`;
}

function article(type: string): string {
  const names: Record<string, string> = {
    integer: 'an integer',
    object: 'an object (a map of fields)',
    array: 'a list',
    string: 'a string',
    boolean: 'a boolean (true or false)',
    number: 'a number',
  };
  return names[type] ?? type;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  const text = typeof value === 'bigint' ? String(value) : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
