/**
 * The API server's TokenReview and SubjectAccessReview endpoints as the metrics authorizer calls them:
 * known tokens name users, and users are allowed `get` on non-resource paths one by one. Every review is
 * recorded, and the next ones can be made to fail like an API outage.
 */
import { ApiError } from '../../src/runtime/raw-client.js';

interface ReviewBody {
  readonly spec: {
    readonly token?: string;
    readonly user?: string;
    readonly groups?: string[];
    readonly nonResourceAttributes?: { readonly path: string; readonly verb: string };
  };
}

export class FakeReviews {
  /** token → the user it authenticates as. */
  readonly tokens = new Map<string, { username: string; groups?: string[] }>();
  /** "user get /metrics" entries that are allowed. */
  readonly grants = new Set<string>();
  /** "TokenReview" or "SubjectAccessReview user verb path", in order. */
  readonly calls: string[] = [];
  /** How many of the next reviews fail with a 500. */
  failures = 0;

  allow(username: string, path = '/metrics', verb = 'get'): void {
    this.grants.add(`${username} ${verb} ${path}`);
  }

  async create<T>(path: string, object: unknown): Promise<T> {
    const body = object as ReviewBody;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new ApiError(500, 'InternalError', `POST ${path}: 500 internal error`, undefined);
    }
    if (path.endsWith('/tokenreviews')) {
      this.calls.push('TokenReview');
      const user = this.tokens.get(body.spec.token ?? '');
      return { status: user ? { authenticated: true, user } : { authenticated: false } } as T;
    }
    if (path.endsWith('/subjectaccessreviews')) {
      const attributes = body.spec.nonResourceAttributes;
      const request = `${body.spec.user ?? ''} ${attributes?.verb ?? ''} ${attributes?.path ?? ''}`;
      this.calls.push(`SubjectAccessReview ${request}`);
      return { status: { allowed: this.grants.has(request) } } as T;
    }
    throw new Error(`FakeReviews does not serve ${path}`);
  }
}
