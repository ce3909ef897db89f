/** An in-memory ObjectCache for controller tests: set and delete objects, and handlers hear about it. */
import type { InformerHandler, ObjectCache } from '../../src/runtime/informer.js';
import { objectKey, type KubeObject } from '../../src/runtime/kube-object.js';

export class FakeCache<T extends KubeObject> implements ObjectCache<T> {
  private readonly objects = new Map<string, T>();
  private readonly handlers = new Set<InformerHandler<T>>();
  private synced: boolean;
  private syncWaiters: (() => void)[] = [];

  constructor(initial: readonly T[] = [], synced = true) {
    for (const object of initial) this.objects.set(objectKey(object), object);
    this.synced = synced;
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  keys(): string[] {
    return [...this.objects.keys()];
  }

  addHandler(handler: InformerHandler<T>): () => void {
    this.handlers.add(handler);
    for (const object of this.objects.values()) handler.onAdd?.(object);
    return () => this.handlers.delete(handler);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  }

  markSynced(): void {
    this.synced = true;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  /** Adds or replaces the object, notifying handlers as an informer would. */
  set(object: T): void {
    const key = objectKey(object);
    const old = this.objects.get(key);
    this.objects.set(key, object);
    for (const handler of this.handlers) {
      if (old) handler.onUpdate?.(old, object);
      else handler.onAdd?.(object);
    }
  }

  delete(key: string): void {
    const old = this.objects.get(key);
    if (!old) return;
    this.objects.delete(key);
    for (const handler of this.handlers) handler.onDelete?.(old, { finalStateUnknown: false });
  }
}
