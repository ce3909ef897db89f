/** Collects problems and warnings as the rules find them, each tied to the object and field it is about. */
import type { ObjectRef, Problem, ProblemCode } from '../api/problem.js';

export interface Reporter {
  readonly object: ObjectRef;
  /** Something that makes the configuration unusable; transient when it may resolve itself later. */
  problem(code: ProblemCode, field: string, message: string, options?: { transient?: boolean }): void;
  /** Something worth telling the user that does not stop the configuration from working. */
  warning(code: ProblemCode, field: string, message: string): void;
}

export class ProblemLog {
  readonly problems: Problem[] = [];
  readonly warnings: Problem[] = [];

  reporter(object: ObjectRef): Reporter {
    return {
      object,
      problem: (code, field, message, options) => {
        this.problems.push(
          options?.transient
            ? { code, object, field, message, transient: true }
            : { code, object, field, message },
        );
      },
      warning: (code, field, message) => {
        this.warnings.push({ code, object, field, message });
      },
    };
  }
}
