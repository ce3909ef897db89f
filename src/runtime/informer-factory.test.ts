import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller } from './controller.js';
import { InformerFactory } from './informer-factory.js';
import type { KubeObject } from './kube-object.js';
import { RawClient } from './raw-client.js';
import { FakeApiServer } from '../../test/support/fake-api-server.js';
import { waitFor } from '../../test/cluster/wait-for.js';

const configMaps = { group: '', version: 'v1', plural: 'configmaps', namespaced: true };

let server: FakeApiServer;
let client: RawClient;
let factory: InformerFactory;

beforeEach(async () => {
  server = new FakeApiServer();
  await server.start();
  client = new RawClient(server.kubeConfig());
  factory = new InformerFactory({ client });
});

afterEach(async () => {
  await factory.stopAll();
  client.close();
  await server.close();
});

describe('InformerFactory', () => {
  it('hands out one shared informer per resource, namespace and selectors', () => {
    const a = factory.informer({ resource: configMaps, namespace: 'test' });
    const b = factory.informer({ resource: configMaps, namespace: 'test' });
    const other = factory.informer({ resource: configMaps, namespace: 'test', labelSelector: 'app=x' });
    expect(a).toBe(b);
    expect(other).not.toBe(a);
  });

  it('refuses to hand a shared informer to a caller that wants its objects trimmed differently', () => {
    const keepMetadata = (object: KubeObject): KubeObject => ({ metadata: object.metadata });
    const a = factory.informer({ resource: configMaps, namespace: 'test', transform: keepMetadata });
    expect(factory.informer({ resource: configMaps, namespace: 'test', transform: keepMetadata })).toBe(a);
    expect(() => factory.informer({ resource: configMaps, namespace: 'test' })).toThrow(
      /different transform/,
    );
  });

  it('feeds a controller that reconciles from the cache as the server changes', async () => {
    server.upsert({ metadata: { name: 'a', namespace: 'test' }, data: { v: '1' } });
    const informer = factory.informer<KubeObject & { data?: { v?: string } }>({
      resource: configMaps,
      namespace: 'test',
    });
    const observed: string[] = [];
    const controller = new Controller({
      name: 'configmaps',
      reconcile: async (key) => {
        observed.push(`${key}=${informer.get(key)?.data?.v ?? 'gone'}`);
      },
    }).primary(informer);
    factory.startAll();
    await factory.waitForSync();
    expect(factory.hasSynced()).toBe(true);
    await controller.start();
    await waitFor('the first reconcile', () => observed.includes('test/a=1'));
    server.upsert({ metadata: { name: 'a', namespace: 'test' }, data: { v: '2' } });
    await waitFor('the update', () => observed.includes('test/a=2'));
    server.remove('a');
    await waitFor('the delete', () => observed.includes('test/a=gone'));
    await controller.stop();
  });
});
