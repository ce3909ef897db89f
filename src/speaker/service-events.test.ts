import { describe, expect, it } from '@jest/globals';
import type { BgpPlan } from './plan/index.js';
import { serviceOutcomeEvents, type ReportedOutcomes } from './service-events.js';

const web = { namespace: 'default', name: 'web' };
const api = { namespace: 'default', name: 'api' };
const fresh = { namespace: 'default', name: 'fresh' };

function plan(parts: Partial<BgpPlan>): BgpPlan {
  return { node: 'node-1', vrfs: [], announced: [], refused: [], withheld: [], skippedPeers: [], ...parts };
}

describe('events about what this node announces', () => {
  it('reports each decision once, and again only when it changes', () => {
    const first = plan({
      announced: [{ service: web, peers: ['router'] }],
      refused: [
        { service: api, code: 'conflictingAdvertisements', reason: 'ads a and b disagree on localPref' },
      ],
      withheld: [{ service: fresh, code: 'noIPAllocated', reason: 'no IP yet' }],
    });
    let reported: ReportedOutcomes = new Map();
    const step = (next: BgpPlan) => {
      const result = serviceOutcomeEvents(reported, next);
      reported = result.reported;
      return result.events;
    };
    expect(step(first)).toEqual([
      {
        service: web,
        type: 'Normal',
        reason: 'nodeAssigned',
        note: 'announcing from node "node-1" with protocol "bgp"',
      },
      {
        service: api,
        type: 'Warning',
        reason: 'conflictingAdvertisements',
        note: 'not announced from node "node-1" over BGP: ads a and b disagree on localPref',
      },
    ]);
    expect(step(first)).toEqual([]);
    const second = plan({
      announced: [{ service: web, peers: ['router'] }],
      withheld: [{ service: api, code: 'noEndpoints', reason: 'no endpoint of the Service is ready' }],
    });
    expect(step(second)).toEqual([
      {
        service: api,
        type: 'Normal',
        reason: 'noEndpoints',
        note: 'not announced from node "node-1" over BGP: no endpoint of the Service is ready',
      },
    ]);
    expect(step(second)).toEqual([]);
    // Gone from the plan (deleted, or not BGP's), then back: announced again.
    expect(step(plan({}))).toEqual([]);
    expect(step(second).map((event) => event.reason)).toEqual(['nodeAssigned', 'noEndpoints']);
  });
});
