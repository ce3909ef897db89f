import { describe, expect, it } from '@jest/globals';
import { bearerToken, MetricsAuthorizer } from './metrics-auth.js';
import { FakeReviews } from '../../test/support/fake-reviews.js';

function setup(ttlMs = 10_000) {
  const reviews = new FakeReviews();
  reviews.tokens.set('reader-token', { username: 'system:serviceaccount:monitoring:prometheus' });
  reviews.tokens.set('other-token', { username: 'system:serviceaccount:default:nobody' });
  reviews.allow('system:serviceaccount:monitoring:prometheus');
  let now = 1_000;
  const authorizer = new MetricsAuthorizer({ client: reviews, cacheTtlMs: ttlMs, now: () => now });
  return { reviews, authorizer, advance: (ms: number) => void (now += ms) };
}

describe('deciding who may read /metrics', () => {
  it('answers 401 without a bearer token, without asking the API server', async () => {
    const { reviews, authorizer } = setup();
    expect(await authorizer.decide(undefined)).toMatchObject({ allowed: false, status: 401 });
    expect(await authorizer.decide('Basic dXNlcjpwYXNz')).toMatchObject({ allowed: false, status: 401 });
    expect(reviews.calls).toEqual([]);
  });

  it('answers 401 for a token the TokenReview does not authenticate', async () => {
    const { reviews, authorizer } = setup();
    expect(await authorizer.decide('Bearer forged')).toMatchObject({ allowed: false, status: 401 });
    expect(reviews.calls).toEqual(['TokenReview']);
  });

  it('answers 403 for a valid token whose user may not get /metrics', async () => {
    const { reviews, authorizer } = setup();
    const decision = await authorizer.decide('Bearer other-token');
    expect(decision).toMatchObject({ allowed: false, status: 403 });
    expect(reviews.calls).toEqual([
      'TokenReview',
      'SubjectAccessReview system:serviceaccount:default:nobody get /metrics',
    ]);
  });

  it('allows a user granted get on the non-resource URL /metrics', async () => {
    const { authorizer } = setup();
    expect(await authorizer.decide('Bearer reader-token')).toEqual({
      allowed: true,
      user: 'system:serviceaccount:monitoring:prometheus',
    });
  });

  it('reuses a decision for the cache period, then asks again (a revoked grant takes effect)', async () => {
    const { reviews, authorizer, advance } = setup(10_000);
    await authorizer.decide('Bearer reader-token');
    advance(9_000);
    expect(await authorizer.decide('Bearer reader-token')).toMatchObject({ allowed: true });
    expect(reviews.calls).toHaveLength(2);
    reviews.grants.clear();
    advance(2_000);
    expect(await authorizer.decide('Bearer reader-token')).toMatchObject({ allowed: false, status: 403 });
    expect(reviews.calls).toHaveLength(4);
  });

  it('shares one pair of reviews between concurrent requests with the same token', async () => {
    const { reviews, authorizer } = setup();
    const decisions = await Promise.all(
      Array.from({ length: 5 }, () => authorizer.decide('Bearer reader-token')),
    );
    expect(decisions.every((decision) => decision.allowed)).toBe(true);
    expect(reviews.calls).toHaveLength(2);
  });

  it('answers 503 while the API server cannot review, and does not remember that', async () => {
    const { reviews, authorizer } = setup();
    reviews.failures = 1;
    expect(await authorizer.decide('Bearer reader-token')).toMatchObject({ allowed: false, status: 503 });
    expect(await authorizer.decide('Bearer reader-token')).toMatchObject({ allowed: true });
  });

  it('remembers at most maxEntries tokens', async () => {
    const reviews = new FakeReviews();
    const authorizer = new MetricsAuthorizer({ client: reviews, maxEntries: 2 });
    for (const token of ['a', 'b', 'c']) await authorizer.decide(`Bearer ${token}`);
    await authorizer.decide('Bearer c');
    expect(reviews.calls).toHaveLength(3);
    await authorizer.decide('Bearer a');
    expect(reviews.calls).toHaveLength(4);
  });
});

describe('reading the bearer token', () => {
  it('takes the token of a Bearer header only', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer  abc')).toBe('abc');
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
