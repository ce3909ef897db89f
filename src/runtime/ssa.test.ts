import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from './kube-object.js';
import { ApiError, type CallOptions, type DeleteOptions } from './raw-client.js';
import {
  collectionPath,
  knownResourceType,
  objectPath,
  resourceTypeOf,
  ResourceResolver,
} from './resources.js';
import { Applier, applyBody, canonicalize } from './ssa.js';

interface Call {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly fieldManager?: string;
  readonly force?: boolean;
  readonly options?: DeleteOptions;
}

class FakeClient {
  readonly calls: Call[] = [];
  discovery: Record<string, unknown> = {};
  deleteStatus: number | undefined;

  async apply<T>(path: string, body: unknown, fieldManager: string, force = true): Promise<T> {
    this.calls.push({ method: 'APPLY', path, body, fieldManager, force });
    return body as T;
  }

  async get<T>(path: string, _options?: CallOptions): Promise<T> {
    this.calls.push({ method: 'GET', path });
    const found = this.discovery[path];
    if (!found) throw new ApiError(404, 'NotFound', `${path} not found`, undefined);
    return found as T;
  }

  async delete<T>(path: string, options: DeleteOptions = {}): Promise<T> {
    this.calls.push({ method: 'DELETE', path, options });
    if (this.deleteStatus) throw new ApiError(this.deleteStatus, 'X', 'refused', undefined);
    return {} as T;
  }
}

function setup(): { client: FakeClient; applier: Applier } {
  const client = new FakeClient();
  return { client, applier: new Applier({ client, fieldManager: 'metallb-operator' }) };
}

describe('canonicalize', () => {
  it('drops what the server would normalise away and keeps meaningful empties', () => {
    expect(
      canonicalize({
        a: undefined,
        b: null,
        c: [],
        d: { e: undefined, f: [] },
        emptyDir: {},
        zero: 0,
        no: false,
        blank: '',
        list: [null, { x: 1 }],
        when: new Date(Date.UTC(2026, 10, 25, 8, 0, 0, 123)),
      }),
    ).toEqual({
      emptyDir: {},
      zero: 0,
      no: false,
      blank: '',
      list: [{ x: 1 }],
      when: '2026-11-25T08:00:00Z',
    });
  });

  it('refuses numbers JSON cannot carry, naming the field', () => {
    expect(() => canonicalize({ spec: { replicas: Number.NaN } })).toThrow('spec.replicas');
  });

  it('strips server-owned metadata and status from an apply body', () => {
    expect(
      applyBody({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name: 'controller',
          namespace: 'metallb-system',
          resourceVersion: '7',
          uid: 'u',
          generation: 3,
          labels: { app: 'metallb' },
        },
        spec: { replicas: 1 },
        status: { readyReplicas: 1 },
      } as KubeObject),
    ).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'controller', namespace: 'metallb-system', labels: { app: 'metallb' } },
      spec: { replicas: 1 },
    });
  });
});

describe('Applier', () => {
  it('applies a known kind at its path under the field manager, forcing', async () => {
    const { client, applier } = setup();
    await applier.apply({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'speaker', namespace: 'metallb-system' },
    });
    expect(client.calls).toEqual([
      {
        method: 'APPLY',
        path: '/apis/apps/v1/namespaces/metallb-system/daemonsets/speaker',
        body: {
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          metadata: { name: 'speaker', namespace: 'metallb-system' },
        },
        fieldManager: 'metallb-operator',
        force: true,
      },
    ]);
  });

  it('applies status alone through the subresource with its own field manager', async () => {
    const { client, applier } = setup();
    await applier.applyStatus({
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'blue', namespace: 'metallb-system', resourceVersion: '9' },
      spec: { addresses: ['192.0.2.0/24'] },
      status: { assignedIPv4: 3, availableIPv6: null },
    } as KubeObject);
    expect(client.calls[0]).toEqual({
      method: 'APPLY',
      path: '/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools/blue/status',
      body: {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: { name: 'blue', namespace: 'metallb-system' },
        status: { assignedIPv4: 3 },
      },
      fieldManager: 'metallb-operator-status',
      force: true,
    });
  });

  it('finds an unknown kind through discovery, once per group version', async () => {
    const { client, applier } = setup();
    client.discovery['/apis/example.com/v1'] = {
      resources: [
        { name: 'widgets', kind: 'Widget', namespaced: false },
        { name: 'widgets/status', kind: 'Widget', namespaced: false },
      ],
    };
    await applier.apply({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w1', namespace: 'x' },
    });
    await applier.apply({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w2' } });
    expect(client.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /apis/example.com/v1',
      'APPLY /apis/example.com/v1/widgets/w1',
      'APPLY /apis/example.com/v1/widgets/w2',
    ]);
  });

  it('explains a kind the server does not serve and an object that cannot be applied', async () => {
    const { client, applier } = setup();
    client.discovery['/apis/example.com/v1'] = { resources: [] };
    await expect(
      applier.apply({ apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g' } }),
    ).rejects.toThrow('the API server does not serve kind Gadget in example.com/v1');
    await expect(applier.apply({ kind: 'Service', metadata: { name: 's' } })).rejects.toThrow(
      /without apiVersion, kind and metadata.name/,
    );
    await expect(
      applier.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }),
    ).rejects.toThrow(/namespaced: "s" needs a namespace/);
  });

  it('deletes with background propagation and reports an object already gone', async () => {
    const { client, applier } = setup();
    const target = { apiVersion: 'v1', kind: 'Secret', namespace: 'metallb-system', name: 'memberlist' };
    expect(await applier.deleteIfExists(target, { uid: 'u1' })).toBe(true);
    expect(client.calls[0]).toEqual({
      method: 'DELETE',
      path: '/api/v1/namespaces/metallb-system/secrets/memberlist',
      options: { uid: 'u1', propagationPolicy: 'Background' },
    });
    client.deleteStatus = 404;
    expect(await applier.deleteIfExists(target)).toBe(false);
    client.deleteStatus = 409;
    expect(await applier.deleteIfExists(target, { uid: 'u1' })).toBe(false);
    client.deleteStatus = 403;
    await expect(applier.deleteIfExists(target)).rejects.toThrow('refused');
  });
});

describe('resource paths', () => {
  it('builds core and group paths, namespaced or not', () => {
    const services = knownResourceType('v1', 'Service');
    expect(services && collectionPath(services)).toBe('/api/v1/services');
    expect(services && collectionPath(services, 'shop')).toBe('/api/v1/namespaces/shop/services');
    const nodes = knownResourceType('v1', 'Node');
    expect(nodes && objectPath(nodes, 'ignored', 'n1')).toBe('/api/v1/nodes/n1');
    const peers = knownResourceType('metallb.io/v1beta2', 'BGPPeer');
    expect(peers && objectPath(peers, 'metallb-system', 'r1')).toBe(
      '/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers/r1',
    );
  });

  it('refuses a hard-coded kind missing from the static table', () => {
    expect(resourceTypeOf('apps/v1', 'Deployment').plural).toBe('deployments');
    expect(() => resourceTypeOf('example.com/v1', 'Widget')).toThrow(/not in the static resource table/);
  });

  it('lets a binary register a kind so no discovery is needed', async () => {
    const client = new FakeClient();
    const resolver = new ResourceResolver(client);
    resolver.register('example.com/v1', 'Widget', 'widgets', true);
    expect(await resolver.resolve('example.com/v1', 'Widget')).toEqual({
      group: 'example.com',
      version: 'v1',
      plural: 'widgets',
      namespaced: true,
    });
    expect(client.calls).toEqual([]);
  });
});
