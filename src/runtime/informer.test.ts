import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Informer, type InformerOptions } from './informer.js';
import type { KubeObject } from './kube-object.js';
import { RawClient } from './raw-client.js';
import { FakeApiServer, type FakeObject } from '../../test/support/fake-api-server.js';
import { waitFor } from '../../test/cluster/wait-for.js';

interface ConfigMap extends FakeObject {
  data?: Record<string, string>;
}

const tinyBackoff = { initialMs: 1, maxMs: 10, factor: 2, jitter: 0 };

function configMap(name: string, value = 'v1'): ConfigMap {
  return { metadata: { name, namespace: 'test' }, data: { value } };
}

let server: FakeApiServer;
let client: RawClient;
let informer: Informer<ConfigMap> | undefined;
let seen: string[];

beforeEach(async () => {
  server = new FakeApiServer();
  await server.start();
  client = new RawClient(server.kubeConfig());
  seen = [];
});

afterEach(async () => {
  await informer?.stop();
  informer = undefined;
  client.close();
  await server.close();
});

function startInformer(options: Partial<InformerOptions> = {}): Informer<ConfigMap> {
  informer = new Informer<ConfigMap>({
    client,
    resource: server.collectionPath,
    backoff: tinyBackoff,
    ...options,
  });
  informer.addHandler({
    onAdd: (o) => seen.push(`add ${o.metadata.name} ${o.data?.value ?? ''}`.trim()),
    onUpdate: (_old, o) => seen.push(`update ${o.metadata.name} ${o.data?.value ?? ''}`.trim()),
    onDelete: (o, { finalStateUnknown }) =>
      seen.push(`delete ${o.metadata.name}${finalStateUnknown ? ' (missed)' : ''}`),
  });
  informer.start();
  return informer;
}

describe('Informer', () => {
  it('fills its cache from a paged list, in the shape watch events have, before it reports synced', async () => {
    for (const name of ['a', 'b', 'c']) server.upsert(configMap(name));
    const inf = startInformer({ pageSize: 2 });
    await inf.waitForSync();
    expect(inf.hasSynced()).toBe(true);
    expect(inf.keys().sort()).toEqual(['test/a', 'test/b', 'test/c']);
    expect(inf.get('test/a')).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { value: 'v1' } });
    const lists = server.listRequests();
    expect(lists.map((r) => [r.query.get('limit'), r.query.get('continue')])).toEqual([
      ['2', null],
      ['2', '2'],
    ]);
    expect(seen.sort()).toEqual(['add a v1', 'add b v1', 'add c v1']);
  });

  it("watches from the list's resourceVersion, with bookmarks and a 5 to 10 minute server timeout", async () => {
    server.upsert(configMap('a'));
    const listedAt = server.currentResourceVersion();
    startInformer();
    await waitFor('the watch to open', () => server.openWatches() === 1);
    const query = (server.watchRequests()[0] as { query: URLSearchParams }).query;
    expect(query.get('resourceVersion')).toBe(listedAt);
    expect(query.get('allowWatchBookmarks')).toBe('true');
    const timeout = Number(query.get('timeoutSeconds'));
    expect(timeout).toBeGreaterThanOrEqual(300);
    expect(timeout).toBeLessThanOrEqual(600);
  });

  it('keeps objects without managedFields, listed or watched, and everything else as received', async () => {
    const managed = (name: string): ConfigMap =>
      ({
        ...configMap(name),
        metadata: {
          name,
          namespace: 'test',
          labels: { app: 'x' },
          managedFields: [{ manager: 'kubectl', operation: 'Apply' }],
        },
      }) as ConfigMap;
    server.upsert(managed('listed'));
    const inf = startInformer();
    await inf.waitForSync();
    server.upsert(managed('watched'));
    await waitFor('the watched object', () => inf.get('test/watched'));
    for (const key of ['test/listed', 'test/watched']) {
      expect(inf.get(key)?.metadata).not.toHaveProperty('managedFields');
      expect(inf.get(key)).toMatchObject({ metadata: { labels: { app: 'x' } }, data: { value: 'v1' } });
    }
  });

  it('applies watched adds, updates and deletes to the cache before handlers hear of them', async () => {
    const inf = startInformer();
    await waitFor('the watch to open', () => server.openWatches() === 1);
    const cachedWhenNotified: (string | undefined)[] = [];
    inf.addHandler({
      onAdd: (o) => cachedWhenNotified.push(inf.get(`test/${o.metadata.name}`)?.data?.value),
      onUpdate: (_old, o) => cachedWhenNotified.push(inf.get(`test/${o.metadata.name}`)?.data?.value),
      onDelete: (o) => cachedWhenNotified.push(inf.get(`test/${o.metadata.name}`)?.data?.value ?? 'gone'),
    });
    server.upsert(configMap('a', 'v1'));
    server.upsert(configMap('a', 'v2'));
    server.upsert(configMap('b', 'v1'));
    server.remove('b');
    await waitFor('four events', () => seen.length === 4);
    expect(seen).toEqual(['add a v1', 'update a v2', 'add b v1', 'delete b']);
    expect(cachedWhenNotified).toEqual(['v1', 'v2', 'v1', 'gone']);
    expect(inf.keys()).toEqual(['test/a']);
    expect(inf.resourceVersion).toBe(server.currentResourceVersion());
  });

  it('caches and hands out objects as its transform trims them, from the list and from the watch', async () => {
    server.upsert(configMap('listed', 'v1'));
    const inf = startInformer({
      transform: (object) => ({ metadata: object.metadata, data: { kept: 'yes' } }) as KubeObject,
    });
    await inf.waitForSync();
    server.upsert(configMap('watched', 'v1'));
    server.upsert(configMap('watched', 'v2'));
    await waitFor('the watched object', () => seen.length === 3);
    for (const key of ['test/listed', 'test/watched']) {
      expect(inf.get(key)).toEqual({ metadata: expect.anything(), data: { kept: 'yes' } });
    }
    // Handlers see the trimmed objects, and resourceVersion still tells an update from a repeat.
    expect(seen).toEqual(['add listed', 'add watched', 'update watched']);
  });

  it.each(['event', 'status'] as const)(
    'relists when the watch answers 410 Gone (as %s) and reports deletes it missed meanwhile',
    async (expiredAs) => {
      server.expiredAs = expiredAs;
      server.upsert(configMap('stays'));
      server.upsert(configMap('goes'));
      const inf = startInformer();
      await waitFor('the watch to open', () => server.openWatches() === 1);
      server.holdWatches = true;
      server.endWatches();
      await waitFor('the informer to try to reconnect', () => server.heldWatches() === 1);
      server.remove('goes');
      server.upsert(configMap('stays', 'v2'));
      server.upsert(configMap('new'));
      server.compact();
      server.releaseHeldWatches();
      await waitFor('a relist', () => server.listRequests().length === 2);
      await waitFor('the relist to be applied', () => seen.length === 5);
      expect(seen.slice(2).sort()).toEqual(['add new v1', 'delete goes (missed)', 'update stays v2']);
      expect(inf.keys().sort()).toEqual(['test/new', 'test/stays']);
      await waitFor('the watch to reopen', () => server.openWatches() === 1);
      expect(server.watchRequests().at(-1)?.query.get('resourceVersion')).toBe(
        server.currentResourceVersion(),
      );
    },
  );

  it('reconnects after watch errors from where it left off, without relisting', async () => {
    server.upsert(configMap('a'));
    const inf = startInformer();
    await waitFor('the watch to open', () => server.openWatches() === 1);
    const resumeFrom = inf.resourceVersion;
    server.watchFailures.push(500, 503);
    server.endWatches();
    await waitFor('the watch to reopen', () => server.openWatches() === 1);
    const retries = server.watchRequests().slice(1);
    expect(retries).toHaveLength(3);
    expect(retries.map((r) => r.query.get('resourceVersion'))).toEqual([resumeFrom, resumeFrom, resumeFrom]);
    expect(server.listRequests()).toHaveLength(1);
    server.upsert(configMap('a', 'v2'));
    await waitFor('the update after reconnecting', () => seen.includes('update a v2'));
  });

  it('resumes from the resourceVersion of the last bookmark', async () => {
    const inf = startInformer();
    await waitFor('the watch to open', () => server.openWatches() === 1);
    const bookmarked = server.bookmark();
    await waitFor('the bookmark to arrive', () => inf.resourceVersion === bookmarked);
    server.endWatches();
    await waitFor('a new watch', () => server.watchRequests().length === 2);
    expect(server.watchRequests()[1]?.query.get('resourceVersion')).toBe(bookmarked);
    expect(seen).toEqual([]);
  });

  it('restarts a watch that has gone silent', async () => {
    server.silentWatches = true;
    startInformer({ watchdogMs: 20 });
    await waitFor('the watchdog to restart the watch twice', () => server.watchRequests().length >= 3);
    expect(server.listRequests()).toHaveLength(1);
  });

  it('keeps retrying a failing list and syncs once it succeeds', async () => {
    server.upsert(configMap('a'));
    server.listFailures.push(500, 500);
    const inf = startInformer();
    await inf.waitForSync();
    expect(server.listRequests()).toHaveLength(3);
    expect(inf.keys()).toEqual(['test/a']);
  });

  it('scopes a resource type to a namespace and passes selectors to list and watch', async () => {
    startInformer({
      resource: { group: '', version: 'v1', plural: 'configmaps', namespaced: true },
      namespace: 'test',
      labelSelector: 'app=metallb',
      fieldSelector: 'metadata.name=a',
    });
    await waitFor('the watch to open', () => server.openWatches() === 1);
    for (const request of [...server.listRequests(), ...server.watchRequests()]) {
      expect(request.path).toBe('/api/v1/namespaces/test/configmaps');
      expect(request.query.get('labelSelector')).toBe('app=metallb');
      expect(request.query.get('fieldSelector')).toBe('metadata.name=a');
    }
  });

  it('reports a delete and an add when an object was recreated under the same name while away', async () => {
    server.upsert(configMap('a'));
    startInformer();
    await waitFor('the watch to open', () => server.openWatches() === 1);
    server.holdWatches = true;
    server.endWatches();
    await waitFor('the informer to try to reconnect', () => server.heldWatches() === 1);
    server.remove('a');
    server.upsert(configMap('a', 'again'));
    server.compact();
    server.releaseHeldWatches();
    await waitFor('the relist', () => seen.length === 3);
    expect(seen).toEqual(['add a v1', 'delete a (missed)', 'add a again']);
  });

  it('replays cached objects to a late handler and survives a throwing one', async () => {
    server.upsert(configMap('a'));
    const inf = startInformer();
    await inf.waitForSync();
    const late: string[] = [];
    inf.addHandler({
      onAdd: () => {
        throw new Error('handler bug');
      },
    });
    inf.addHandler({ onAdd: (o) => late.push(o.metadata.name) });
    expect(late).toEqual(['a']);
    await waitFor('the watch to open', () => server.openWatches() === 1);
    server.upsert(configMap('b'));
    await waitFor('the next add to reach the good handler', () => late.includes('b'));
  });

  it('stops cleanly and fails a pending waitForSync', async () => {
    server.listFailures.push(...Array.from({ length: 1000 }, () => 500));
    const inf = startInformer({ backoff: { initialMs: 60_000, maxMs: 60_000, factor: 1, jitter: 0 } });
    const sync = inf.waitForSync();
    await waitFor('the first list', () => server.listRequests().length === 1);
    await inf.stop();
    await expect(sync).rejects.toThrow(/stopped before its cache synced/);
    expect(inf.hasSynced()).toBe(false);
  });

  it('lists afresh on request while its watch lags, and resolves only once the new list is in the cache', async () => {
    server.upsert(configMap('a'));
    const inf = startInformer();
    await waitFor('the watch to open', () => server.openWatches() === 1);
    // A watch that delivers nothing: the cache lags the API, as after an outage or behind another writer.
    server.silentWatches = true;
    server.upsert(configMap('b'));
    server.upsert(configMap('a', 'v2'));
    expect(inf.keys()).toEqual(['test/a']);
    await inf.relistNow();
    expect(inf.keys().sort()).toEqual(['test/a', 'test/b']);
    expect(inf.get('test/a')?.data?.value).toBe('v2');
    expect(server.listRequests()).toHaveLength(2);
    await waitFor('the watch to reopen from the new list', () => server.openWatches() === 1);
    expect(server.watchRequests().at(-1)?.query.get('resourceVersion')).toBe(server.currentResourceVersion());
  });

  it('cuts a long backoff short to relist on request', async () => {
    server.upsert(configMap('a'));
    server.listFailures.push(500);
    const inf = startInformer({ backoff: { initialMs: 60_000, maxMs: 60_000, factor: 1, jitter: 0 } });
    await waitFor('the failed first list', () => server.listRequests().length === 1);
    const startedAt = Date.now();
    await inf.relistNow();
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(inf.hasSynced()).toBe(true);
    expect(inf.keys()).toEqual(['test/a']);
  });

  it('fails a pending relistNow when it stops, and refuses one before it starts', async () => {
    server.listFailures.push(...Array.from({ length: 1000 }, () => 500));
    const idle = new Informer<ConfigMap>({ client, resource: server.collectionPath });
    await expect(idle.relistNow()).rejects.toThrow(/not running/);
    const inf = startInformer({ backoff: { initialMs: 60_000, maxMs: 60_000, factor: 1, jitter: 0 } });
    const relisted = inf.relistNow();
    await waitFor('a list after the request', () => server.listRequests().length >= 2);
    await inf.stop();
    await expect(relisted).rejects.toThrow(/stopped before it relisted/);
  });

  it('closes its watch on stop', async () => {
    const inf = startInformer();
    await waitFor('the watch to open', () => server.openWatches() === 1);
    await inf.stop();
    await waitFor('the server to see the watch close', () => server.openWatches() === 0);
  });
});
