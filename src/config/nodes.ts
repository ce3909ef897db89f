/**
 * The Nodes that node selectors are resolved against. Many peers and advertisements share the same selectors
 * (one per rack, one per zone), so each distinct selector list is resolved once.
 */
import type { KnownObject } from './pools.js';
import { selectorListKey, selectsAll, type Selector } from './selectors.js';

export class NodeIndex {
  readonly #nodes: readonly KnownObject[];
  readonly #resolved = new Map<string, readonly string[]>();

  /** `nodes` sorted by name, each name once. */
  constructor(nodes: readonly KnownObject[]) {
    this.#nodes = nodes;
  }

  /** Whether any Node was given; without any, node sets are judged from the selectors alone. */
  get known(): boolean {
    return this.#nodes.length > 0;
  }

  /** Names of the nodes a nodeSelectors list picks (empty list: every node), in name order. */
  select(selectors: readonly Selector[]): readonly string[] {
    const key = selectorListKey(selectors);
    let names = this.#resolved.get(key);
    if (!names) {
      names = this.#nodes.filter((node) => selectsAll(selectors, node.labels)).map((node) => node.name);
      this.#resolved.set(key, names);
    }
    return names;
  }
}
