import { beforeEach, describe, expect, it } from '@jest/globals';
import { configInputKeys, type ConfigInputKey } from '../api/kinds.js';
import type { Clock } from '../runtime/clock.js';
import { FakeCache } from '../../test/support/fake-cache.js';
import type { CachedObject, ClusterCacheKey, ClusterCaches } from './cluster-cache.js';
import { SerializedAdmission } from './serialized-admission.js';
import type { AdmissionRequest } from './server.js';

const ns = 'metallb-system';
let now = 0;
const clock: Clock = { now: () => now, setTimer: () => ({ cancel: () => undefined }) };

let caches: Record<ClusterCacheKey, FakeCache<CachedObject>>;
let admission: SerializedAdmission;

function pool(name: string, address: string, uid = `uid-${name}`, resourceVersion = '1'): CachedObject {
  const managedFields = [{ manager: 'kubectl' }];
  return {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name, namespace: ns, uid, resourceVersion, ...{ managedFields } },
    spec: { addresses: [address] },
    status: { assignedIPv4: 0 },
  };
}

function poolRequest(
  operation: AdmissionRequest['operation'],
  object: CachedObject,
  extra: Partial<AdmissionRequest> = {},
): AdmissionRequest {
  return {
    uid: `review-${String(object.metadata?.name)}`,
    kind: { group: 'metallb.io', version: 'v1beta1', kind: 'IPAddressPool' },
    operation,
    name: object.metadata?.name as string,
    namespace: ns,
    object: operation === 'DELETE' ? null : object,
    ...extra,
  };
}

beforeEach(() => {
  now = 1_000;
  const keys: ClusterCacheKey[] = [...configInputKeys, 'secrets', 'nodes', 'namespaces'];
  caches = Object.fromEntries(keys.map((key) => [key, new FakeCache<CachedObject>()])) as Record<
    ClusterCacheKey,
    FakeCache<CachedObject>
  >;
  admission = new SerializedAdmission({ caches: caches as ClusterCaches, namespace: ns, clock });
});

const pools = (): FakeCache<CachedObject> => caches['pools' satisfies ConfigInputKey];

describe('admission against the caches plus what it admitted', () => {
  it('refuses the second of two overlapping pools that arrive before the cache shows either', () => {
    expect(admission.decide(poolRequest('CREATE', pool('first', '192.0.2.0/24'))).allowed).toBe(true);
    const second = admission.decide(poolRequest('CREATE', pool('second', '192.0.2.128/25')));
    expect(second.allowed).toBe(false);
    expect(second.message).toMatch(/IPAddressPool\/metallb-system\/second: spec\.addresses\[0\].*first/);
  });

  it('judges the view as it is at each request, though it judges an unchanged view only once', () => {
    pools().set(pool('a', '192.0.2.0/24'));
    pools().set(pool('d', '198.51.100.0/24'));
    // Dry runs: nothing is remembered, so only the cache changes what the view holds.
    const updateD = () =>
      admission.decide(poolRequest('UPDATE', pool('d', '198.51.100.0/25', 'uid-d', '2'), { dryRun: true }));
    expect(updateD().allowed).toBe(true);
    expect(updateD().allowed).toBe(true);
    // Stored past the webhook (e.g. while it was down): a problem that exists before the request, which an
    // unrelated change must not be blamed for. A judgement of the view kept from before would blame it.
    pools().set(pool('b', '192.0.2.128/25'));
    expect(updateD().allowed).toBe(true);
    // And one the request does introduce is still refused.
    const overlapping = admission.decide(poolRequest('CREATE', pool('c', '198.51.100.0/26')));
    expect(overlapping.allowed).toBe(false);
  });

  it('judges against the cache alone once the cache shows the admitted object', () => {
    const first = pool('first', '192.0.2.0/24');
    admission.decide(poolRequest('CREATE', first));
    expect(admission.pendingCount).toBe(1);
    pools().set(first);
    expect(admission.pendingCount).toBe(0);
    expect(admission.decide(poolRequest('CREATE', pool('second', '192.0.2.0/26'))).allowed).toBe(false);
    // Deleted: no longer counted.
    pools().delete(`${ns}/first`);
    expect(admission.decide(poolRequest('CREATE', pool('second', '192.0.2.0/26'))).allowed).toBe(true);
  });

  it('stops counting an admitted object the cache never shows once its deadline passes', () => {
    admission.decide(poolRequest('CREATE', pool('refused-later', '192.0.2.0/24')));
    now += 9_999;
    expect(admission.decide(poolRequest('CREATE', pool('other', '192.0.2.0/24'))).allowed).toBe(false);
    now += 2;
    expect(admission.decide(poolRequest('CREATE', pool('other', '192.0.2.0/24'))).allowed).toBe(true);
  });

  it('never remembers a dry run, since it is never stored', () => {
    const dry = admission.decide(poolRequest('CREATE', pool('dry', '192.0.2.0/24'), { dryRun: true }));
    expect(dry.allowed).toBe(true);
    expect(admission.pendingCount).toBe(0);
    expect(admission.decide(poolRequest('CREATE', pool('real', '192.0.2.0/24'))).allowed).toBe(true);
  });

  it('does not take an older object of the same name, still in the cache, for the admitted one', () => {
    const old = pool('reused', '198.51.100.0/24', 'uid-old');
    pools().set(old);
    admission.decide(poolRequest('CREATE', pool('reused', '192.0.2.0/24', 'uid-new')));
    pools().set({ ...old, metadata: { ...old.metadata, resourceVersion: '2' } });
    expect(admission.pendingCount).toBe(1);
    pools().set(pool('reused', '192.0.2.0/24', 'uid-new', '3'));
    expect(admission.pendingCount).toBe(0);
  });

  it('counts an admitted update in place of the cached state it was judged against until the cache moves on', () => {
    const cached = pool('moving', '198.51.100.0/24', 'uid-moving', '7');
    pools().set(cached);
    const updated = pool('moving', '192.0.2.0/24', 'uid-moving', '7');
    expect(admission.decide(poolRequest('UPDATE', updated, { oldObject: cached })).allowed).toBe(true);
    // The old range is free at once; the new one is taken at once.
    expect(admission.decide(poolRequest('CREATE', pool('old-range', '198.51.100.0/24'))).allowed).toBe(true);
    expect(admission.decide(poolRequest('CREATE', pool('new-range', '192.0.2.0/24'))).allowed).toBe(false);
    pools().set({ ...updated, metadata: { ...updated.metadata, resourceVersion: '8' } });
    expect(admission.pendingCount).toBe(1); // old-range, not yet in the cache
    expect(
      admission
        .view()
        .pools.map((p) => (p.metadata as { name: string }).name)
        .sort(),
    ).toEqual(['moving', 'old-range']);
  });

  it('keeps remembered objects lean: no managedFields, no status', () => {
    admission.decide(poolRequest('CREATE', pool('lean', '192.0.2.0/24')));
    const [remembered] = admission.view().pools;
    expect(remembered).toEqual({
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'lean', namespace: ns, uid: 'uid-lean', resourceVersion: '1' },
      spec: { addresses: ['192.0.2.0/24'] },
    });
  });

  it('does not remember a refused object', () => {
    pools().set(pool('taken', '192.0.2.0/24'));
    expect(admission.decide(poolRequest('CREATE', pool('refused', '192.0.2.0/25'))).allowed).toBe(false);
    expect(admission.pendingCount).toBe(0);
  });
});
