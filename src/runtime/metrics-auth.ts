/**
 * Who may read /metrics, decided the way cluster monitoring expects (and as kube-rbac-proxy and
 * controller-runtime's metrics filter do): the bearer token is checked with a TokenReview, then the user it
 * names must be allowed `get` on the non-resource URL /metrics by a SubjectAccessReview. Decisions are cached
 * briefly per token, so a Prometheus scraping every few seconds costs the API server two reviews per token
 * per cache period, not per scrape; concurrent requests with one token share one pair of reviews.
 */
import { createHash } from 'node:crypto';
import type { RawClient } from './raw-client.js';

export const metricsPath = '/metrics';

/** What a request with that Authorization header gets: metrics, or a status and why not. */
export type MetricsDecision =
  | { readonly allowed: true; readonly user: string }
  | { readonly allowed: false; readonly status: 401 | 403 | 503; readonly reason: string };

interface UserInfo {
  readonly username?: string;
  readonly uid?: string;
  readonly groups?: string[];
  readonly extra?: Record<string, string[]>;
}

interface TokenReviewResult {
  readonly status?: { readonly authenticated?: boolean; readonly user?: UserInfo; readonly error?: string };
}

interface SubjectAccessReviewResult {
  readonly status?: { readonly allowed?: boolean; readonly denied?: boolean; readonly reason?: string };
}

export interface MetricsAuthorizerOptions {
  /** Creates TokenReviews and SubjectAccessReviews (the component's own API client). */
  readonly client: Pick<RawClient, 'create'>;
  /** How long a decision about a token is reused; default 10 s (the API server's delegated-auth default). */
  readonly cacheTtlMs?: number;
  /** At most this many tokens are remembered; the oldest go first. Default 1,000. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

interface CachedDecision {
  readonly decision: MetricsDecision;
  readonly expires: number;
}

export class MetricsAuthorizer {
  private readonly cache = new Map<string, CachedDecision>();
  private readonly inFlight = new Map<string, Promise<MetricsDecision>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(private readonly options: MetricsAuthorizerOptions) {
    this.ttlMs = options.cacheTtlMs ?? 10_000;
    this.maxEntries = options.maxEntries ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /** Decides a request from its Authorization header (undefined when absent). */
  async decide(authorization: string | undefined): Promise<MetricsDecision> {
    const token = bearerToken(authorization);
    if (token === undefined) {
      return { allowed: false, status: 401, reason: 'a bearer token is required (Authorization: Bearer …)' };
    }
    // Only a digest of the token is kept in memory.
    const key = createHash('sha256').update(token).digest('hex');
    const cached = this.cache.get(key);
    if (cached && cached.expires > this.now()) return cached.decision;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const review = this.review(token).then((decision) => {
      // An API outage is not a verdict about the token: ask again next time.
      if (decision.allowed || decision.status !== 503) this.remember(key, decision);
      return decision;
    });
    this.inFlight.set(key, review);
    try {
      return await review;
    } finally {
      this.inFlight.delete(key);
    }
  }

  private remember(key: string, decision: MetricsDecision): void {
    this.cache.delete(key);
    this.cache.set(key, { decision, expires: this.now() + this.ttlMs });
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
  }

  private async review(token: string): Promise<MetricsDecision> {
    let user: UserInfo;
    try {
      const tokenReview = await this.options.client.create<TokenReviewResult>(
        '/apis/authentication.k8s.io/v1/tokenreviews',
        { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      );
      const status = tokenReview.status;
      if (!status?.authenticated || !status.user?.username) {
        return { allowed: false, status: 401, reason: 'the bearer token is not valid' };
      }
      user = status.user;
    } catch (error) {
      return { allowed: false, status: 503, reason: `could not review the token: ${messageOf(error)}` };
    }
    const username = user.username as string;
    try {
      const access = await this.options.client.create<SubjectAccessReviewResult>(
        '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: username,
            ...(user.uid ? { uid: user.uid } : {}),
            ...(user.groups ? { groups: user.groups } : {}),
            ...(user.extra ? { extra: user.extra } : {}),
            nonResourceAttributes: { path: metricsPath, verb: 'get' },
          },
        },
      );
      if (access.status?.allowed === true && access.status.denied !== true) {
        return { allowed: true, user: username };
      }
      return {
        allowed: false,
        status: 403,
        reason: `${username} may not get ${metricsPath}${access.status?.reason ? ` (${access.status.reason})` : ''}`,
      };
    } catch (error) {
      return { allowed: false, status: 503, reason: `could not review access: ${messageOf(error)}` };
    }
  }
}

/** The token of an `Authorization: Bearer <token>` header; undefined for any other or no header. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
