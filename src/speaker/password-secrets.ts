/**
 * The BGP password Secrets, as one cache of the Secrets the BGPPeers name, read one name at a time.
 *
 * Why not an informer over the namespace's Secrets: the namespace holds other Secrets too (the webhook's CA
 * key), and the speaker's Role names only the referenced ones (src/operator/render/rbac.ts). RBAC cannot
 * select by label, so a list or watch of every Secret would be refused, and a label-selected one would
 * restrict nothing the API server enforces. A list or watch with the field selector metadata.name=<name> is
 * authorized as a request for that one name, so each referenced Secret gets an informer of its own: a rotated
 * password or a Secret created after its peer reaches the speaker at once, as an informer event, with no
 * polling. The set follows the BGPPeers: a new reference starts an informer, a dropped one stops it.
 *
 * The Role is rendered by the operator when it sees the same BGPPeer change, so an informer may be refused
 * for a moment; it retries with its usual backoff, and meanwhile the Secret counts as missing (a transient
 * configuration problem, as for a Secret that does not exist yet). For the same reason the first sync waits
 * only a bounded time for the Secrets: a Secret the speaker may not read must not keep it from announcing
 * the last valid configuration.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { referencedPasswordSecrets } from '../config/passwords.js';
import type { InformerHandler, ObjectCache } from '../runtime/informer.js';
import { splitKey } from '../runtime/kube-object.js';

/** An informer over one Secret (a list and watch with a metadata.name field selector). */
export interface SecretWatch extends ObjectCache<V1Secret> {
  start(): void;
  stop(): Promise<void>;
}

export interface PasswordSecretsOptions {
  /** The BGPPeers of the namespace: their passwordSecret names are what is watched. */
  readonly peers: ObjectCache<unknown>;
  readonly namespace: string;
  /** Creates the informer for one Secret name; it is started by this class. */
  readonly watchSecret: (name: string) => SecretWatch;
  /** How long the first sync waits for the referenced Secrets; default 5 s. */
  readonly firstSyncWaitMs?: number;
}

export class PasswordSecrets implements ObjectCache<V1Secret> {
  private readonly watches = new Map<string, { watch: SecretWatch; unsubscribe: () => void }>();
  private readonly handlers = new Set<InformerHandler<V1Secret>>();
  private unsubscribePeers: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly options: PasswordSecretsOptions) {}

  /** Follows the BGPPeers from now on (start the peers' informer too). */
  start(): void {
    if (this.unsubscribePeers || this.stopped) return;
    const refresh = (): void => this.refresh();
    this.unsubscribePeers = this.options.peers.addHandler({
      onAdd: refresh,
      onUpdate: refresh,
      onDelete: refresh,
    });
    this.refresh();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribePeers?.();
    const watches = [...this.watches.values()];
    this.watches.clear();
    for (const { unsubscribe } of watches) unsubscribe();
    await Promise.all(watches.map(({ watch }) => watch.stop()));
  }

  /** The names watched now, sorted. */
  names(): string[] {
    return [...this.watches.keys()].sort();
  }

  get(key: string): V1Secret | undefined {
    const { namespace, name } = splitKey(key);
    if (namespace !== this.options.namespace) return undefined;
    return this.watches.get(name)?.watch.get(key);
  }

  list(): V1Secret[] {
    return [...this.watches.values()].flatMap(({ watch }) => watch.list());
  }

  keys(): string[] {
    return [...this.watches.values()].flatMap(({ watch }) => watch.keys());
  }

  addHandler(handler: InformerHandler<V1Secret>): () => void {
    this.handlers.add(handler);
    for (const secret of this.list()) handler.onAdd?.(secret);
    return () => this.handlers.delete(handler);
  }

  /** Synced once the BGPPeers are: which Secrets matter is known then (each follows as it can be read). */
  hasSynced(): boolean {
    return this.options.peers.hasSynced();
  }

  /** The BGPPeers, then their Secrets for at most firstSyncWaitMs (see the module comment for why bounded). */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await this.options.peers.waitForSync(signal);
    const deadline = AbortSignal.timeout(this.options.firstSyncWaitMs ?? 5_000);
    const waitSignal = signal ? AbortSignal.any([signal, deadline]) : deadline;
    // A watch stopped meanwhile (its peer was deleted) rejects its waiters: look at the current set again.
    while (!waitSignal.aborted) {
      const pending = [...this.watches.values()].filter(({ watch }) => !watch.hasSynced());
      if (pending.length === 0) return;
      await Promise.all(pending.map(({ watch }) => watch.waitForSync(waitSignal))).catch(() => undefined);
    }
    if (signal?.aborted) throw new Error('stopped waiting for the BGP password Secrets');
  }

  private refresh(): void {
    if (this.stopped) return;
    const wanted = new Set(referencedPasswordSecrets(this.options.peers.list(), this.options.namespace));
    for (const [name, entry] of this.watches) {
      if (wanted.has(name)) continue;
      this.watches.delete(name);
      entry.unsubscribe();
      void entry.watch.stop();
      // No peer names it any more: for the configuration it is gone.
      for (const secret of entry.watch.list())
        this.notify((handler) => handler.onDelete?.(secret, { finalStateUnknown: false }));
    }
    for (const name of wanted) {
      if (this.watches.has(name)) continue;
      const watch = this.options.watchSecret(name);
      const unsubscribe = watch.addHandler({
        onAdd: (secret) => this.notify((handler) => handler.onAdd?.(secret)),
        onUpdate: (before, after) => this.notify((handler) => handler.onUpdate?.(before, after)),
        onDelete: (secret, details) => this.notify((handler) => handler.onDelete?.(secret, details)),
      });
      this.watches.set(name, { watch, unsubscribe });
      watch.start();
    }
  }

  private notify(call: (handler: InformerHandler<V1Secret>) => void): void {
    for (const handler of this.handlers) call(handler);
  }
}

/** The field selector that lets RBAC authorize a list or watch as a request for one named Secret. */
export function secretNameSelector(name: string): string {
  return `metadata.name=${name}`;
}
