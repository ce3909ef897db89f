import { describe, expect, it } from '@jest/globals';
import type { V1Secret } from '@kubernetes/client-node';
import type { KubeObject } from '../runtime/kube-object.js';
import { FakeCache } from '../../test/support/fake-cache.js';
import { PasswordSecrets, secretNameSelector, type SecretWatch } from './password-secrets.js';

const namespace = 'metallb-system';

function peer(name: string, passwordSecret?: { name: string; namespace?: string }): KubeObject {
  return {
    apiVersion: 'metallb.io/v1beta2',
    kind: 'BGPPeer',
    metadata: { name, namespace },
    spec: {
      myASN: 64512,
      peerASN: 64513,
      peerAddress: '192.0.2.1',
      ...(passwordSecret ? { passwordSecret } : {}),
    },
  } as KubeObject;
}

function secret(name: string, password: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'kubernetes.io/basic-auth',
    data: { password: Buffer.from(password).toString('base64') },
  };
}

/** A fake per-name informer, recording its lifecycle. */
class FakeSecretWatch extends FakeCache<V1Secret> implements SecretWatch {
  started = false;
  stopped = false;
  constructor(readonly name: string) {
    super([], false);
  }
  start(): void {
    this.started = true;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

function setup(initialPeers: KubeObject[], firstSyncWaitMs = 5_000) {
  const peers = new FakeCache<KubeObject>(initialPeers);
  const watches: FakeSecretWatch[] = [];
  const secrets = new PasswordSecrets({
    peers,
    namespace,
    firstSyncWaitMs,
    watchSecret: (name) => {
      const watch = new FakeSecretWatch(name);
      watches.push(watch);
      return watch;
    },
  });
  const live = (name: string) => watches.find((watch) => watch.name === name && !watch.stopped);
  return { peers, secrets, watches, live };
}

describe('the BGP password Secrets the speaker reads', () => {
  it('watches exactly the Secrets BGPPeers name, each by its own name, and nothing when none is named', () => {
    const { secrets, watches } = setup([
      peer('a', { name: 'pw-a' }),
      peer('b', { name: 'pw-a' }),
      peer('c'),
      peer('d', { name: 'elsewhere', namespace: 'other' }),
    ]);
    secrets.start();
    expect(secrets.names()).toEqual(['pw-a']);
    expect(watches.map((watch) => [watch.name, watch.started])).toEqual([['pw-a', true]]);
    expect(secretNameSelector('pw-a')).toBe('metadata.name=pw-a');

    const none = setup([peer('c')]);
    none.secrets.start();
    expect(none.secrets.names()).toEqual([]);
    expect(none.watches).toEqual([]);
  });

  it('starts a watch when a peer starts naming a Secret and stops it when no peer does', () => {
    const { peers, secrets, live } = setup([]);
    const heard: string[] = [];
    secrets.addHandler({
      onAdd: (s) => heard.push(`add ${s.metadata?.name}`),
      onUpdate: (_a, s) => heard.push(`update ${s.metadata?.name}`),
      onDelete: (s) => heard.push(`delete ${s.metadata?.name}`),
    });
    secrets.start();
    peers.set(peer('a', { name: 'pw-a' }));
    const watch = live('pw-a');
    expect(watch?.started).toBe(true);
    watch?.set(secret('pw-a', 'one'));
    watch?.set(secret('pw-a', 'two'));
    expect(secrets.get(`${namespace}/pw-a`)?.data?.password).toBe(Buffer.from('two').toString('base64'));
    expect(secrets.list()).toHaveLength(1);

    peers.set(peer('a', { name: 'pw-b' }));
    expect(watch?.stopped).toBe(true);
    expect(secrets.names()).toEqual(['pw-b']);
    expect(secrets.get(`${namespace}/pw-a`)).toBeUndefined();
    expect(heard).toEqual(['add pw-a', 'update pw-a', 'delete pw-a']);

    peers.delete(`${namespace}/a`);
    expect(secrets.names()).toEqual([]);
  });

  it('waits for the named Secrets on the first sync, but only for a bounded time', async () => {
    const { secrets, live } = setup([peer('a', { name: 'pw-a' })], 50);
    secrets.start();
    let synced = false;
    const waiting = secrets.waitForSync().then(() => (synced = true));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(synced).toBe(false);
    live('pw-a')?.markSynced();
    await waiting;
    expect(synced).toBe(true);

    // A Secret the speaker may not read yet (its Role lags behind) holds the first sync up only so long.
    const refused = setup([peer('a', { name: 'pw-a' })], 50);
    refused.secrets.start();
    const started = Date.now();
    await refused.secrets.waitForSync();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('stops every watch when it stops', async () => {
    const { secrets, watches } = setup([peer('a', { name: 'pw-a' }), peer('b', { name: 'pw-b' })]);
    secrets.start();
    await secrets.stop();
    expect(watches.every((watch) => watch.stopped)).toBe(true);
    expect(secrets.list()).toEqual([]);
  });
});
