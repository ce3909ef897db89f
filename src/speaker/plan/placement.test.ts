import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { placeGroups, placementCapacity, settleGroups, type PlacementGroup } from './placement.js';

/** Random distinct IPv4 addresses in a documentation range, and distinct node names. */
const addresses = (count: number) =>
  fc
    .uniqueArray(fc.integer({ min: 0, max: 65535 }), { minLength: count, maxLength: count })
    .map((values) => values.map((value) => `198.51.${value >> 8}.${value & 255}`));
const nodeNames = (count: number) =>
  fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,14}[a-z0-9]$/), { minLength: count, maxLength: count });

const scenario = (ips: number, nodes: number) =>
  fc.record({ ips: addresses(ips), nodes: nodeNames(nodes), removed: fc.nat({ max: nodes - 1 }) });

function groups(ips: readonly string[], nodes: readonly string[]): PlacementGroup[] {
  return ips.map((ip) => ({ key: ip, weight: 1, candidates: nodes }));
}

function loads(placement: ReadonlyMap<string, string>, nodes: readonly string[]): number[] {
  return nodes.map((node) => [...placement.values()].filter((owner) => owner === node).length);
}

/** How many of the addresses not on `removed` move when it goes. */
function movedOthers(ips: readonly string[], nodes: readonly string[], removed: string) {
  const before = placeGroups(groups(ips, nodes));
  const after = placeGroups(
    groups(
      ips,
      nodes.filter((node) => node !== removed),
    ),
  );
  const others = ips.filter((ip) => before.get(ip) !== removed);
  return {
    before,
    after,
    others: others.length,
    moved: others.filter((ip) => after.get(ip) !== before.get(ip)).length,
  };
}

describe('layer-2 placement', () => {
  it('spreads 100 addresses over 5 nodes with at most 1.5 times the least loaded node on the busiest', () => {
    fc.assert(
      fc.property(scenario(100, 5), ({ ips, nodes }) => {
        const counts = loads(placeGroups(groups(ips, nodes)), nodes);
        expect(counts.reduce((a, b) => a + b, 0)).toBe(100);
        expect(Math.max(...counts) / Math.min(...counts)).toBeLessThanOrEqual(1.5);
      }),
      { numRuns: 100 },
    );
  });

  it('keeps max/min within 1.5 for other sizes where the arithmetic allows it', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 8 })
          .chain((k) => fc.tuple(fc.constant(k), fc.integer({ min: 4 * k, max: 200 }))),
        fc.integer({ min: 0, max: 1_000_000 }),
        ([k, w], salt) => {
          const ips = Array.from({ length: w }, (_, i) => `192.0.2.${i}-${salt}`);
          const nodes = Array.from({ length: k }, (_, i) => `node-${salt}-${i}`);
          const counts = loads(placeGroups(groups(ips, nodes)), nodes);
          expect(Math.max(...counts) / Math.min(...counts)).toBeLessThanOrEqual(1.5);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("moves only a removed node's addresses, plus at most 10 % of the others for most node sets", () => {
    // This is a node leaving the base placement (its Node deleted, or a new node joining in reverse); a
    // speaker that dies stays in the base and moves nothing else (settleGroups, below). Deferred acceptance
    // with a capacity cannot promise this for every input (a changed capacity lets some addresses back to
    // their first choice), so this measures the distribution over a fixed sample.
    const samples = fc.sample(scenario(100, 5), { seed: 20261204, numRuns: 150 });
    const fractions = samples.map(({ ips, nodes, removed }) => {
      const gone = nodes[removed] as string;
      const { moved, others, before, after } = movedOthers(ips, nodes, gone);
      // Every address of the removed node moves, to one of the remaining nodes.
      for (const ip of ips) if (before.get(ip) === gone) expect(after.get(ip)).not.toBe(gone);
      return moved / others;
    });
    fractions.sort((a, b) => a - b);
    const median = fractions[Math.floor(fractions.length / 2)] as number;
    const overBound = fractions.filter((fraction) => fraction > 0.1).length;
    expect(median).toBeLessThanOrEqual(0.05);
    expect(overBound / fractions.length).toBeLessThanOrEqual(0.02);
    expect(fractions[fractions.length - 1]).toBeLessThanOrEqual(0.2);
  });

  it('returns to the same placement when the node comes back, so adding it moves no more than removing it', () => {
    fc.assert(
      fc.property(scenario(100, 5), ({ ips, nodes, removed }) => {
        const before = placeGroups(groups(ips, nodes));
        const without = placeGroups(
          groups(
            ips,
            nodes.filter((_, i) => i !== removed),
          ),
        );
        const back = placeGroups(groups([...ips].reverse(), [...nodes].reverse()));
        expect(back).toEqual(before);
        const movedOnRemove = ips.filter((ip) => without.get(ip) !== before.get(ip)).length;
        const movedOnAdd = ips.filter((ip) => back.get(ip) !== without.get(ip)).length;
        expect(movedOnAdd).toBe(movedOnRemove);
      }),
      { numRuns: 50 },
    );
  });

  it('places every group on one of its candidates, even when selectors make candidate sets differ', () => {
    fc.assert(
      fc.property(
        nodeNames(4),
        fc.array(fc.subarray([0, 1, 2, 3], { minLength: 1 }), { minLength: 1, maxLength: 60 }),
        (nodes, choices) => {
          const input = choices.map((picked, i) => ({
            key: `203.0.113.${i}`,
            weight: 1 + (i % 2),
            candidates: picked.map((index) => nodes[index] as string),
          }));
          const placement = placeGroups(input);
          for (const group of input) expect(group.candidates).toContain(placement.get(group.key));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('leaves out groups nobody may answer for', () => {
    expect(placeGroups([{ key: '192.0.2.1', weight: 1, candidates: [] }]).size).toBe(0);
  });

  it('sizes the capacity to fit everything with room to spare', () => {
    expect(placementCapacity(100, 5)).toBe(21);
    expect(placementCapacity(100, 4)).toBe(27);
    expect(placementCapacity(7, 1)).toBe(7);
    expect(placementCapacity(10, 5)).toBe(2);
  });
});

describe('settling a base placement on the nodes that can answer now', () => {
  it('keeps the base placement when every base node can answer', () => {
    fc.assert(
      fc.property(scenario(100, 5), ({ ips, nodes }) => {
        const base = placeGroups(groups(ips, nodes));
        expect(settleGroups(base, groups(ips, nodes))).toEqual(base);
      }),
      { numRuns: 50 },
    );
  });

  it("moves only a dead node's addresses, keeps max/min within 1.5, and gives them back on its return", () => {
    fc.assert(
      fc.property(scenario(100, 5), ({ ips, nodes, removed }) => {
        const gone = nodes[removed] as string;
        const rest = nodes.filter((node) => node !== gone);
        const base = placeGroups(groups(ips, nodes));
        const settled = settleGroups(base, groups(ips, rest));
        for (const ip of ips) {
          if (base.get(ip) === gone) expect(rest).toContain(settled.get(ip));
          else expect(settled.get(ip)).toBe(base.get(ip));
        }
        const counts = loads(settled, rest);
        expect(Math.max(...counts) / Math.min(...counts)).toBeLessThanOrEqual(1.5);
        expect(settleGroups(base, groups(ips, nodes))).toEqual(base);
      }),
      { numRuns: 100 },
    );
  });

  it('spreads the addresses of two dead nodes out of five without overloading anyone', () => {
    fc.assert(
      fc.property(scenario(100, 5), ({ ips, nodes, removed }) => {
        const gone = new Set([nodes[removed], nodes[(removed + 1) % nodes.length]]);
        const rest = nodes.filter((node) => !gone.has(node));
        const counts = loads(settleGroups(placeGroups(groups(ips, nodes)), groups(ips, rest)), rest);
        expect(Math.max(...counts) / Math.min(...counts)).toBeLessThanOrEqual(1.5);
      }),
      { numRuns: 50 },
    );
  });

  it('places a group on one of its candidates even when its base node is not one', () => {
    const base = new Map([['192.0.2.1', 'node-x']]);
    const settled = settleGroups(base, [{ key: '192.0.2.1', weight: 1, candidates: ['node-y', 'node-z'] }]);
    expect(['node-y', 'node-z']).toContain(settled.get('192.0.2.1'));
    expect(settleGroups(base, [{ key: '192.0.2.1', weight: 1, candidates: [] }]).size).toBe(0);
  });
});
