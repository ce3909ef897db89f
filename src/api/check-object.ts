/** Schema-checks one decoded Kubernetes object that claims to be one of our kinds. */
import { checkSchema, schemaEntry, versionsOf } from './schema-validator.js';
import type { ObjectRef, Problem } from './problem.js';

export const apiGroup = 'metallb.io';

/** Who an object says it is; anything that is not an object (null, a string, ...) is nobody in particular. */
export function objectRef(object: Record<string, unknown> | null | undefined): ObjectRef {
  const fields: Record<string, unknown> = object !== null && typeof object === 'object' ? object : {};
  const metadata: Record<string, unknown> =
    fields.metadata !== null && typeof fields.metadata === 'object'
      ? (fields.metadata as Record<string, unknown>)
      : {};
  const name = typeof metadata.name === 'string' ? metadata.name : undefined;
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
  return { kind: typeof fields.kind === 'string' ? fields.kind : '<no kind>', namespace, name };
}

export function isOurs(object: Record<string, unknown>): boolean {
  return typeof object.apiVersion === 'string' && object.apiVersion.split('/')[0] === apiGroup;
}

/**
 * Problems of `object` against the schema of its apiVersion and kind, as the API server would report them
 * at apply time. Objects of other API groups are not ours to judge: callers filter them with isOurs first.
 */
export function checkObjectSchema(object: Record<string, unknown>): Problem[] {
  const ref = objectRef(object);
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== 'string' || !apiVersion) {
    return [
      { code: 'schema.required', object: ref, field: 'apiVersion', message: 'required field is missing' },
    ];
  }
  if (typeof kind !== 'string' || !kind)
    return [{ code: 'schema.required', object: ref, field: 'kind', message: 'required field is missing' }];
  const entry = schemaEntry(apiVersion, kind);
  if (!entry) {
    const versions = versionsOf(kind);
    const message =
      versions.length > 0
        ? `${kind} is not served as ${apiVersion}; use ${versions.join(' or ')}`
        : `${apiVersion} has no kind ${kind}`;
    return versions.length > 0
      ? [{ code: 'schema.unservedVersion', object: ref, field: 'apiVersion', message }]
      : [{ code: 'schema.unknownKind', object: ref, field: 'kind', message }];
  }
  const problems: Problem[] = [];
  const metadata = object.metadata;
  if (
    metadata === undefined ||
    metadata === null ||
    typeof metadata !== 'object' ||
    Array.isArray(metadata)
  ) {
    problems.push({
      code: 'schema.required',
      object: ref,
      field: 'metadata',
      message: 'required field is missing',
    });
  } else if (!ref.name && typeof (metadata as Record<string, unknown>).generateName !== 'string') {
    problems.push({
      code: 'schema.required',
      object: ref,
      field: 'metadata.name',
      message: 'required field is missing',
    });
  }
  for (const violation of checkSchema(entry, object)) {
    problems.push({ object: ref, ...violation });
  }
  return problems;
}
