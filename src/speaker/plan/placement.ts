/**
 * Which node answers for each group of layer-2 addresses: deterministic (every speaker computes the same
 * answer from the same inputs), even, and disturbed little when a node comes or goes.
 *
 * Plain rendezvous hashing (upstream's choice: each group goes to the node with the smallest
 * sha256(node#key)) is stable but uneven: 100 addresses over 5 nodes land as a binomial draw, so one node
 * often has twice the addresses of another. Here every group ranks the nodes by that same hash, and the
 * groups then propose to their ranked nodes in turn (deferred acceptance, as in stable matching): a node
 * keeps the groups that rank highest by its own hash, up to a capacity, and turns the rest away to their next
 * choice. The result does not depend on the order groups are processed in.
 *
 * The capacity is the smallest that both fits everything and guarantees max/min ≤ 1.5 when every node may
 * take every group: U = max(ceil(W/k), floor(W/(k - 1/3))) for W addresses over k nodes, because the least
 * loaded node then holds at least W - (k-1)U ≥ U/1.5. The slack above W/k is what keeps movement small: a
 * tighter capacity turns away more groups from their first choice, and those come back (move) whenever the
 * node set changes. Measured over random address and node sets (plan/placement.test.ts): removing one of
 * 5 nodes holding 100 addresses from the base moves that node's addresses plus a median of about 4 % of the
 * others. That happens only when the set of speakers with a Lease changes; a speaker that dies or loses its
 * links stays in the base, and settleGroups moves its addresses alone.
 *
 * A group whose nodes have all turned it away (possible only when node selectors make candidate sets
 * differ) goes to its first choice anyway: answering from a busy node beats not answering.
 */
import { createHash } from 'node:crypto';

export interface PlacementGroup {
  /** Stable identity of the group, e.g. its lowest address. */
  readonly key: string;
  /** Addresses in the group (the load it puts on its node). */
  readonly weight: number;
  /** Nodes that may answer for it; empty means nobody can. */
  readonly candidates: readonly string[];
}

/** Smaller scores rank first; the first 8 bytes of sha256 are plenty to order a few thousand names. */
function scorer(): (node: string, key: string) => bigint {
  const memo = new Map<string, bigint>();
  return (node, key) => {
    const text = `${node}#${key}`;
    let score = memo.get(text);
    if (score === undefined) {
      score = createHash('sha256').update(text).digest().readBigUInt64BE(0);
      memo.set(text, score);
    }
    return score;
  };
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Per-node capacity for `weight` addresses over `nodes` nodes (see the module comment). */
export function placementCapacity(weight: number, nodes: number): number {
  if (nodes <= 1) return weight;
  return Math.max(Math.ceil(weight / nodes), Math.floor(weight / (nodes - 1 / 3)));
}

/**
 * With few addresses per node the capacity alone cannot keep the least loaded node within 1.5× of the
 * busiest (25 over 6 nodes may leave one with 2): such nodes take groups from nodes above the floor, the
 * ones they rank highest, until they reach it. With enough addresses per node this never runs.
 */
function fillUnderloaded(
  groups: readonly PlacementGroup[],
  placement: Map<string, string>,
  load: Map<string, number>,
  capacity: number,
  score: (node: string, key: string) => bigint,
): void {
  const floor = Math.min(
    Math.ceil(capacity / 1.5),
    Math.floor(groups.reduce((sum, group) => sum + group.weight, 0) / Math.max(1, load.size)),
  );
  for (;;) {
    const needy = [...load]
      .filter(([, amount]) => amount < floor)
      .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : 1))[0]?.[0];
    if (needy === undefined) return;
    let best: PlacementGroup | undefined;
    for (const group of groups) {
      const from = placement.get(group.key) as string;
      if (from === needy || !group.candidates.includes(needy)) continue;
      if ((load.get(from) ?? 0) - group.weight < floor) continue;
      if (!best || compareBig(score(needy, group.key), score(needy, best.key)) < 0) best = group;
    }
    if (!best) return;
    const from = placement.get(best.key) as string;
    load.set(from, (load.get(from) ?? 0) - best.weight);
    load.set(needy, (load.get(needy) ?? 0) + best.weight);
    placement.set(best.key, needy);
  }
}

/** Group key → the node that answers for it; groups without candidates are left out. */
export function placeGroups(groups: readonly PlacementGroup[]): Map<string, string> {
  const score = scorer();
  const placeable = groups
    .filter((group) => group.candidates.length > 0)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const nodes = new Set(placeable.flatMap((group) => group.candidates));
  const totalWeight = placeable.reduce((sum, group) => sum + group.weight, 0);
  const maxWeight = placeable.reduce((max, group) => Math.max(max, group.weight), 0);
  const capacity = Math.max(placementCapacity(totalWeight, nodes.size), maxWeight);

  const rankings = new Map(
    placeable.map((group) => [
      group.key,
      [...new Set(group.candidates)].sort(
        (a, b) => compareBig(score(a, group.key), score(b, group.key)) || (a < b ? -1 : a > b ? 1 : 0),
      ),
    ]),
  );
  interface Held {
    readonly group: PlacementGroup;
    readonly pinned: boolean;
  }
  const held = new Map<string, Held[]>([...nodes].map((node) => [node, []]));
  const load = new Map<string, number>([...nodes].map((node) => [node, 0]));
  const nextChoice = new Map<string, number>();
  const waiting = [...placeable].reverse();
  for (let group = waiting.pop(); group; group = waiting.pop()) {
    const ranking = rankings.get(group.key) as string[];
    const choice = nextChoice.get(group.key) ?? 0;
    nextChoice.set(group.key, choice + 1);
    const pinned = choice >= ranking.length;
    const node = ranking[pinned ? 0 : choice] as string;
    const list = held.get(node) as Held[];
    list.push({ group, pinned });
    load.set(node, (load.get(node) ?? 0) + group.weight);
    // Over capacity: turn away the groups this node ranks lowest until it fits (pinned groups stay).
    while ((load.get(node) ?? 0) > capacity) {
      let worst = -1;
      for (let i = 0; i < list.length; i += 1) {
        const entry = list[i] as Held;
        if (entry.pinned) continue;
        const current = worst < 0 ? undefined : (list[worst] as Held);
        if (
          !current ||
          compareBig(score(node, entry.group.key), score(node, current.group.key)) > 0 ||
          (score(node, entry.group.key) === score(node, current.group.key) &&
            entry.group.key > current.group.key)
        ) {
          worst = i;
        }
      }
      if (worst < 0) break;
      const [rejected] = list.splice(worst, 1) as [Held];
      load.set(node, (load.get(node) ?? 0) - rejected.group.weight);
      waiting.push(rejected.group);
    }
  }
  const placement = new Map<string, string>();
  for (const [node, list] of held) for (const { group } of list) placement.set(group.key, node);
  fillUnderloaded(placeable, placement, load, capacity, score);
  return placement;
}

/**
 * Adapts a base placement to the nodes that can answer now: a group stays on its base node while that node
 * is still one of its candidates, and the others go, heaviest first, to their least loaded candidate (ties
 * to the one ranking the group highest). With every base node able to answer, this is the base placement.
 */
export function settleGroups(
  base: ReadonlyMap<string, string>,
  groups: readonly PlacementGroup[],
): Map<string, string> {
  const score = scorer();
  const placement = new Map<string, string>();
  const load = new Map<string, number>();
  for (const group of groups) for (const node of group.candidates) load.set(node, 0);
  const displaced: PlacementGroup[] = [];
  for (const group of groups) {
    if (group.candidates.length === 0) continue;
    const node = base.get(group.key);
    if (node !== undefined && group.candidates.includes(node)) {
      placement.set(group.key, node);
      load.set(node, (load.get(node) ?? 0) + group.weight);
    } else {
      displaced.push(group);
    }
  }
  displaced.sort((a, b) => b.weight - a.weight || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const group of displaced) {
    let best: string | undefined;
    for (const node of group.candidates) {
      if (best === undefined) {
        best = node;
        continue;
      }
      const difference = (load.get(node) ?? 0) - (load.get(best) ?? 0);
      const order = compareBig(score(node, group.key), score(best, group.key)) || (node < best ? -1 : 1);
      if (difference < 0 || (difference === 0 && order < 0)) best = node;
    }
    const chosen = best as string;
    placement.set(group.key, chosen);
    load.set(chosen, (load.get(chosen) ?? 0) + group.weight);
  }
  return placement;
}
