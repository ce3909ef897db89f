import { describe, expect, it } from '@jest/globals';
import {
  normalizeRunningConfig,
  parseBfdCounters,
  parseBfdPeers,
  parseBgpNeighbors,
  parseDaemons,
} from './frr-state.js';
import { readFrrSample } from '../../../test/support/frr.js';

describe('reading FRR 8.4 JSON (samples captured from a real FRR)', () => {
  it('reads every neighbour of every VRF with state, prefixes sent and message counters', () => {
    const neighbors = parseBgpNeighbors(readFrrSample('bgp-neighbors.json'));
    expect(neighbors.map((n) => [n.vrf, n.neighbor, n.state, n.established])).toEqual([
      ['default', '192.0.2.250', 'Connect', false],
      ['default', '192.0.2.253', 'Connect', false],
      ['default', '192.0.2.254', 'Established', true],
    ]);
    const established = neighbors[2];
    expect(established?.prefixesSent).toBe(2);
    expect(established?.messages).toEqual({
      opensSent: 3,
      opensReceived: 3,
      notificationsSent: 2,
      notificationsReceived: 0,
      updatesSent: 2,
      updatesReceived: 2,
      keepalivesSent: 2,
      keepalivesReceived: 2,
      routeRefreshSent: 0,
      routeRefreshReceived: 0,
      totalSent: 9,
      totalReceived: 7,
    });
    expect(neighbors[1]?.lastResetDueTo).toBe('Waiting for peer OPEN');
    expect(neighbors[1]?.prefixesSent).toBe(0);
  });

  it('reads when a session was established, its timers, prefixes received and the BFD state bgpd knows', () => {
    const neighbors = parseBgpNeighbors(readFrrSample('bgp-neighbors.json'));
    expect(neighbors[2]).toMatchObject({
      establishedEpochSeconds: 1795596276,
      holdTimeMs: 180000,
      keepaliveMs: 60000,
      prefixesReceived: 0,
      bfdStatus: 'Up',
    });
    // Not established: no establishment time, even if FRR printed one.
    expect(neighbors[1]?.establishedEpochSeconds).toBeUndefined();
    expect(neighbors[1]?.bfdStatus).toBeUndefined();
    const received = parseBgpNeighbors({
      default: {
        vrfName: 'default',
        '192.0.2.9': {
          bgpState: 'Established',
          addressFamilyInfo: {
            ipv4Unicast: { acceptedPrefixCounter: 3, sentPrefixCounter: 1 },
            ipv6Unicast: { acceptedPrefixCounter: 2, sentPrefixCounter: 4 },
          },
        },
      },
    });
    expect(received[0]).toMatchObject({ prefixesReceived: 5, prefixesSent: 5, holdTimeMs: 0 });
  });

  it('reads the reason a router stopped and the notification a peer sent', () => {
    const stopped = parseBgpNeighbors(readFrrSample('bgp-neighbors-router-stopped.json'));
    expect(stopped.find((n) => n.neighbor === '192.0.2.254')).toMatchObject({
      state: 'Active',
      established: false,
      lastResetDueTo: 'BFD down received',
    });
    const notified = parseBgpNeighbors(readFrrSample('bgp-neighbors-notification.json'));
    expect(notified.find((n) => n.neighbor === '192.0.2.254')).toMatchObject({
      established: false,
      lastResetDueTo: 'BGP Notification send',
      lastNotificationReason: 'Neighbor Events Error/Receive Unexpected Message in OpenSent State',
      lastErrorCodeSubcode: '0501',
    });
  });

  it('reads neighbours of named VRFs under the VRF name', () => {
    const sample = readFrrSample('bgp-neighbors.json') as Record<string, Record<string, unknown>>;
    const red = { ...sample.default, vrfId: 7, vrfName: 'red' };
    const neighbors = parseBgpNeighbors({ default: sample.default, red });
    expect(neighbors.filter((n) => n.vrf === 'red')).toHaveLength(3);
  });

  it('reads BFD peers and their counters', () => {
    expect(parseBfdPeers(readFrrSample('bfd-peers.json'))).toEqual([
      { peer: '192.0.2.254', vrf: 'default', up: true, status: 'up' },
    ]);
    expect(parseBfdCounters(readFrrSample('bfd-peers-counters.json'))).toEqual([
      {
        peer: '192.0.2.254',
        vrf: 'default',
        controlPacketInput: 59,
        controlPacketOutput: 62,
        echoPacketInput: 0,
        echoPacketOutput: 0,
        sessionUpEvents: 1,
        sessionDownEvents: 1,
        zebraNotifications: 2,
      },
    ]);
  });

  it('reads nothing, rather than failing, from output of another shape', () => {
    expect(parseBgpNeighbors(undefined)).toEqual([]);
    expect(parseBgpNeighbors([1, 2])).toEqual([]);
    expect(parseBfdPeers({ peer: 'x' })).toEqual([]);
    expect(parseBfdCounters([{ nothing: true }])).toEqual([]);
    expect(parseBgpNeighbors({ default: { vrfId: 0, '192.0.2.1': {} } })).toEqual([
      expect.objectContaining({
        neighbor: '192.0.2.1',
        state: 'Unknown',
        established: false,
        prefixesSent: 0,
      }),
    ]);
  });

  it('lists the daemons vtysh reaches', () => {
    expect(parseDaemons(' zebra bgpd bfdd\n')).toEqual(['zebra', 'bgpd', 'bfdd']);
    expect(parseDaemons('')).toEqual([]);
  });

  it('fingerprints the running configuration without its banner', () => {
    const a =
      'Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\nrouter bgp 64512\n!\nend\n';
    const b =
      'Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.5\nrouter bgp 64512  \n!\nend\n';
    expect(normalizeRunningConfig(a)).toBe(normalizeRunningConfig(b));
    expect(normalizeRunningConfig(a)).toBe('!\nrouter bgp 64512\n!\nend');
  });
});
