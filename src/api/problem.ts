import type { ProblemCode } from './problem-codes.js';

export type { ProblemCode } from './problem-codes.js';

/** The object a problem is about, as a person would name it. */
export interface ObjectRef {
  readonly kind: string;
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
}

/**
 * One thing wrong with the user's configuration: which object, which field, what is wrong (and, in the
 * message, what would be right). Errors cross module boundaries as lists of these, never as exceptions.
 */
export interface Problem {
  /** Which rule fired: stable across releases, unlike the message (see problem-codes.ts). */
  readonly code: ProblemCode;
  readonly object: ObjectRef;
  /** Dotted field path, e.g. spec.addresses[1]; empty for the object as a whole. */
  readonly field: string;
  readonly message: string;
  /** True when the problem may go away by itself, e.g. a reference to an object not created yet. */
  readonly transient?: boolean;
}

export function describeObject(object: ObjectRef): string {
  const name = object.name ?? '<unnamed>';
  return object.namespace ? `${object.kind}/${object.namespace}/${name}` : `${object.kind}/${name}`;
}

/** `Kind/namespace/name: field.path: message`, the one format every command prints. */
export function formatProblem(problem: Problem): string {
  const where = problem.field ? `${problem.field}: ` : '';
  return `${describeObject(problem.object)}: ${where}${problem.message}`;
}

/** Turns a JSON pointer (/spec/addresses/0) into the dotted path people read (spec.addresses[0]). */
export function pointerToPath(pointer: string): string {
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) path += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) path += path ? `.${part}` : part;
    else path += `[${JSON.stringify(part)}]`;
  }
  return path;
}

export function joinPath(base: string, child: string): string {
  if (!base) return child;
  if (!child) return base;
  return child.startsWith('[') ? `${base}${child}` : `${base}.${child}`;
}
