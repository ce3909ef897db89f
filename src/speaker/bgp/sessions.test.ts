import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../../test/support/fake-clock.js';
import type { ConfiguredSession, FrrSnapshot } from './frr-metrics.js';
import { emptySnapshot } from './frr-metrics.js';
import { parseBgpNeighbors } from './frr-state.js';
import { SessionWatcher, evaluateSessions, type SessionReport, type SessionTracks } from './sessions.js';
import { readFrrSample } from '../../../test/support/frr.js';

function snapshot(file: string): FrrSnapshot {
  return {
    bgpReachable: true,
    neighbors: parseBgpNeighbors(readFrrSample(file)),
    bfdPeers: [],
    bfdCounters: [],
  };
}

const withPassword: ConfiguredSession = {
  peer: 'router-md5',
  vrf: 'default',
  neighbor: '192.0.2.253',
  port: 179,
  bfd: false,
};
const router: ConfiguredSession = {
  peer: 'router',
  vrf: 'default',
  neighbor: '192.0.2.254',
  port: 179,
  bfd: true,
};

describe('reporting BGP sessions that do not come up', () => {
  it('gives a session time to establish, then reports it once with FRR state and reason', () => {
    const sample = snapshot('bgp-neighbors.json');
    let tracks: SessionTracks = new Map();
    const at = (seconds: number) => {
      const result = evaluateSessions(tracks, sample, [withPassword, router], seconds * 1000, 10_000);
      tracks = result.tracks;
      return result.reports;
    };
    expect(at(0)).toEqual([]);
    expect(at(5)).toEqual([]);
    const reports = at(11);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      kind: 'notEstablished',
      state: 'Connect',
      lastError: 'Waiting for peer OPEN',
      session: withPassword,
    });
    expect(reports[0]?.message).toContain(
      'BGP session to 192.0.2.253:179 (BGPPeer router-md5) is not established',
    );
    expect(reports[0]?.message).toContain('state Connect, last error: Waiting for peer OPEN');
    expect(at(16)).toEqual([]);
    expect(at(60)).toEqual([]);
  });

  it('reports again when the reason changes, and once more when the session comes up', () => {
    const down = snapshot('bgp-neighbors-router-stopped.json');
    const notified = snapshot('bgp-neighbors-notification.json');
    const up = snapshot('bgp-neighbors.json');
    let result = evaluateSessions(new Map(), down, [router], 0, 0);
    expect(result.reports.map((r) => r.lastError)).toEqual(['BFD down received']);
    result = evaluateSessions(result.tracks, notified, [router], 1000, 0);
    expect(result.reports.map((r) => r.lastError)).toEqual([
      'BGP Notification send: Neighbor Events Error/Receive Unexpected Message in OpenSent State (code 0501)',
    ]);
    result = evaluateSessions(result.tracks, up, [router], 2000, 0);
    expect(result.reports.map((r) => [r.kind, r.message])).toEqual([
      ['established', 'BGP session to 192.0.2.254:179 (BGPPeer router) is established'],
    ]);
    expect(evaluateSessions(result.tracks, up, [router], 3000, 0).reports).toEqual([]);
  });

  it('says nothing while bgpd itself does not answer, and forgets peers no longer configured', () => {
    const down = snapshot('bgp-neighbors-router-stopped.json');
    const first = evaluateSessions(new Map(), down, [router], 0, 0);
    expect(evaluateSessions(first.tracks, emptySnapshot, [router], 1, 0)).toEqual({
      tracks: first.tracks,
      reports: [],
    });
    expect(evaluateSessions(first.tracks, down, [], 2, 0).tracks.size).toBe(0);
  });

  it('never puts the password into a report', () => {
    const report = evaluateSessions(new Map(), snapshot('bgp-neighbors.json'), [withPassword], 0, 0)
      .reports[0];
    expect(JSON.stringify(report)).not.toMatch(/secret/i);
  });

  it('polls on its interval and hands reports over', async () => {
    const clock = new FakeClock();
    const reports: SessionReport[] = [];
    const watcher = new SessionWatcher({
      read: async () => snapshot('bgp-neighbors.json'),
      sessions: () => [withPassword],
      report: (report) => reports.push(report),
      clock,
      intervalMs: 1000,
      graceMs: 2500,
    });
    watcher.start();
    await clock.advanceAsync(2000);
    expect(reports).toEqual([]);
    await clock.advanceAsync(2000);
    expect(reports.map((r) => r.kind)).toEqual(['notEstablished']);
    await clock.advanceAsync(5000);
    expect(reports).toHaveLength(1);
    await watcher.stop();
  });
});
