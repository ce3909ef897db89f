/**
 * The first gate every object passes: the schema check, the kind it must be, the namespace it must live in,
 * a name, and no other object of its kind with the same name. What passes becomes a SourceObject that the
 * per-kind rules read.
 */
import { checkObjectSchema } from '../api/check-object.js';
import type { ObjectRef, Problem } from '../api/problem.js';
import { asRecord, quote, readRecord, readString, readStringMap, type Fields } from './read.js';
import type { ProblemLog, Reporter } from './report.js';
import type { Labels } from './selectors.js';

export interface SourceObject {
  readonly ref: ObjectRef;
  /** Position among all objects of the input, so "the later of two" is well defined and output is ordered. */
  readonly order: number;
  readonly name: string;
  readonly apiVersion: string;
  readonly labels: Labels;
  /** {} when missing or not an object (the schema check reports that). */
  readonly spec: Fields;
  readonly report: Reporter;
}

export interface KindSpec {
  readonly kind: string;
  readonly apiVersions: readonly string[];
}

/** Schema problems by object, so semantic rules do not repeat what the schema already said about a field. */
export type SchemaFields = Map<ObjectRef, string[]>;

function namespaceProblem(namespace: string | undefined, metallbNamespace: string): string | undefined {
  if (namespace === metallbNamespace) return undefined;
  if (!namespace)
    return `missing; MetalLB objects must be in the namespace MetalLB runs in, ${quote(metallbNamespace)}`;
  return `${quote(namespace)} is not the namespace MetalLB runs in; MetalLB reads its configuration only from ${quote(metallbNamespace)}, so create the object there`;
}

/**
 * The schema check, which is not ours to harden: values no YAML or JSON decoder produces (a BigInt, say)
 * can make it throw, and this function must not.
 */
function schemaProblems(object: Record<string, unknown>): Problem[] {
  try {
    return checkObjectSchema(object);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return [
      {
        code: 'schema.other',
        object: refOf(object, ''),
        field: '',
        message: `cannot be checked against the schema: ${reason}`,
      },
    ];
  }
}

/**
 * Schema and namespace problems of one metallb.io object on its own; used for the kinds that carry no
 * data-plane configuration (MetalLB, status objects) and as the first step for those that do.
 */
export function checkStandalone(
  object: Record<string, unknown>,
  metallbNamespace: string,
  ref: ObjectRef,
): Problem[] {
  const problems = schemaProblems(object).map((problem) => ({ ...problem, object: ref }));
  const namespace = readString(readRecord(object, 'metadata'), 'namespace');
  const message = namespaceProblem(namespace, metallbNamespace);
  if (message)
    problems.push({ code: 'object.wrongNamespace', object: ref, field: 'metadata.namespace', message });
  return problems;
}

export function refOf(object: Fields | undefined, fallbackKind: string): ObjectRef {
  const metadata = readRecord(object, 'metadata');
  return {
    kind: readString(object, 'kind') || fallbackKind,
    namespace: readString(metadata, 'namespace') || undefined,
    name: readString(metadata, 'name') || undefined,
  };
}

/**
 * Admits the objects of one input list. Objects of another kind or version, unnamed objects and repeated
 * names are reported and left out; everything else is admitted even with schema problems, so its remaining
 * fields are still checked.
 */
export function admitObjects(
  list: unknown,
  expected: KindSpec,
  metallbNamespace: string,
  log: ProblemLog,
  schemaFields: SchemaFields,
  refOrder: Map<ObjectRef, number>,
): SourceObject[] {
  const admitted: SourceObject[] = [];
  const byName = new Set<string>();
  for (const item of Array.isArray(list) ? (list as unknown[]) : []) {
    const object = asRecord(item);
    const ref = refOf(object, expected.kind);
    const order = refOrder.size;
    refOrder.set(ref, order);
    const report = log.reporter(ref);
    if (!object) {
      report.problem(
        'object.notAnObject',
        '',
        `expected an object of kind ${expected.kind}, got ${item === null ? 'null' : typeof item}`,
      );
      continue;
    }
    const apiVersion = readString(object, 'apiVersion') ?? '';
    if (ref.kind !== expected.kind || (apiVersion !== '' && !expected.apiVersions.includes(apiVersion))) {
      report.problem(
        'object.wrongKind',
        'kind',
        `expected ${expected.kind} (${expected.apiVersions.join(' or ')}) here, got ${quote(ref.kind)} of ${quote(apiVersion)}`,
      );
      continue;
    }
    const standalone = checkStandalone(object, metallbNamespace, ref);
    log.problems.push(...standalone);
    const schemaProblemFields = standalone
      .filter((p) => p.field !== 'metadata.namespace')
      .map((p) => p.field);
    schemaFields.set(ref, schemaProblemFields);
    if (schemaProblemFields.some((field) => field === 'apiVersion' || field === 'kind')) continue;
    const name = ref.name;
    if (!name) {
      report.problem('field.required', 'metadata.name', `missing; a ${expected.kind} needs a name`);
      continue;
    }
    if (byName.has(name)) {
      report.problem(
        'object.duplicateName',
        'metadata.name',
        `another ${expected.kind} is also named ${quote(name)}; names are unique per kind, so rename or merge one of them`,
      );
      continue;
    }
    byName.add(name);
    admitted.push({
      ref,
      order,
      name,
      apiVersion,
      labels: readStringMap(readRecord(object, 'metadata'), 'labels'),
      spec: readRecord(object, 'spec') ?? {},
      report,
    });
  }
  return admitted;
}

/** Drops semantic findings about a field whose schema check (or a parent's) already failed. */
export function withoutSchemaRepeats(
  findings: readonly Problem[],
  schemaFields: SchemaFields,
  schemaProblems: ReadonlySet<Problem>,
): Problem[] {
  return findings.filter((finding) => {
    if (schemaProblems.has(finding)) return true;
    const fields = schemaFields.get(finding.object);
    if (!fields) return true;
    return !fields.some(
      (field) =>
        field === finding.field ||
        finding.field.startsWith(`${field}.`) ||
        finding.field.startsWith(`${field}[`) ||
        field === '',
    );
  });
}
