/**
 * One informer per (resource, namespace, selectors) per process: the controllers of a binary share caches
 * and watches instead of each opening its own.
 */
import { Informer, type InformerOptions } from './informer.js';
import type { KubeObject } from './kube-object.js';
import { collectionPath, type ResourceType } from './resources.js';

export interface InformerRequest {
  readonly resource: ResourceType;
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /**
   * Trims cached objects (see InformerOptions.transform). The shared informer keeps the transform of its
   * first request; a later request for the same informer with a different one is a bug and throws, since
   * its caller would read objects trimmed for someone else.
   */
  readonly transform?: (object: KubeObject) => KubeObject;
}

export type InformerDefaults = Omit<
  InformerOptions,
  'resource' | 'namespace' | 'labelSelector' | 'fieldSelector' | 'transform'
>;

export class InformerFactory {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly transforms = new Map<string, InformerRequest['transform']>();
  private started = false;

  constructor(private readonly defaults: InformerDefaults) {}

  /** The shared informer for this request, created on first use (and started if the factory already is). */
  informer<T extends KubeObject>(request: InformerRequest): Informer<T> {
    const key = JSON.stringify([
      collectionPath(request.resource, request.namespace),
      request.labelSelector ?? '',
      request.fieldSelector ?? '',
    ]);
    let informer = this.informers.get(key);
    if (informer && this.transforms.get(key) !== request.transform) {
      throw new Error(`informer for ${key} was already requested with a different transform`);
    }
    if (!informer) {
      informer = new Informer<KubeObject>({ ...this.defaults, ...request });
      this.informers.set(key, informer);
      this.transforms.set(key, request.transform);
      if (this.started) informer.start();
    }
    // The cache holds whatever the server sent; T is the caller's claim about that shape.
    return informer as unknown as Informer<T>;
  }

  startAll(): void {
    this.started = true;
    for (const informer of this.informers.values()) informer.start();
  }

  hasSynced(): boolean {
    return [...this.informers.values()].every((informer) => informer.hasSynced());
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.informers.values()].map((informer) => informer.waitForSync(signal)));
  }

  /** Every informer lists afresh; resolves once each has (see Informer.relistNow). */
  async relistAll(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.informers.values()].map((informer) => informer.relistNow(signal)));
  }

  async stopAll(): Promise<void> {
    this.started = false;
    await Promise.all([...this.informers.values()].map((informer) => informer.stop()));
  }
}
