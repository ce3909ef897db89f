import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { FakeClock } from '../../../test/support/fake-clock.js';
import {
  FrrStateReader,
  emptySnapshot,
  frrMetricNames,
  frrSamples,
  registerFrrMetrics,
  type ConfiguredSession,
  type FrrSnapshot,
} from './frr-metrics.js';
import { parseBfdCounters, parseBfdPeers, parseBgpNeighbors } from './frr-state.js';
import { Vtysh, type RunTool } from './frr-tools.js';
import { readFrrSample } from '../../../test/support/frr.js';

function snapshot(neighborsFile = 'bgp-neighbors.json'): FrrSnapshot {
  return {
    bgpReachable: true,
    neighbors: parseBgpNeighbors(readFrrSample(neighborsFile)),
    bfdPeers: parseBfdPeers(readFrrSample('bfd-peers.json')),
    bfdCounters: parseBfdCounters(readFrrSample('bfd-peers-counters.json')),
  };
}

const sessions: ConfiguredSession[] = [
  { peer: 'router', vrf: 'default', neighbor: '192.0.2.254', port: 179, bfd: true },
  { peer: 'with-password', vrf: 'default', neighbor: '192.0.2.253', port: 179, bfd: false },
  { peer: 'nobody', vrf: 'default', neighbor: '192.0.2.250', port: 1179, bfd: false },
];

function valueOf(samples: ReturnType<typeof frrSamples>, name: string, peer: string): number | undefined {
  return samples.get(name)?.find((sample) => sample.labels.peer === peer)?.value;
}

describe('FRR metrics', () => {
  it('reports session state, prefixes and message counters per peer as address:configured-port', () => {
    const samples = frrSamples(snapshot(), sessions);
    expect(valueOf(samples, 'metallb_bgp_session_up', '192.0.2.254:179')).toBe(1);
    expect(valueOf(samples, 'metallb_bgp_session_up', '192.0.2.253:179')).toBe(0);
    // The port comes from the BGPPeer, not from the TCP connection of the moment.
    expect(valueOf(samples, 'metallb_bgp_session_up', '192.0.2.250:1179')).toBe(0);
    expect(valueOf(samples, 'metallb_bgp_announced_prefixes_total', '192.0.2.254:179')).toBe(2);
    expect(valueOf(samples, 'metallb_bgp_updates_total', '192.0.2.254:179')).toBe(2);
    expect(valueOf(samples, 'metallb_bgp_updates_total_received', '192.0.2.254:179')).toBe(2);
    expect(valueOf(samples, 'metallb_bgp_opens_sent', '192.0.2.254:179')).toBe(3);
    expect(valueOf(samples, 'metallb_bgp_opens_received', '192.0.2.254:179')).toBe(3);
    expect(valueOf(samples, 'metallb_bgp_notifications_sent', '192.0.2.254:179')).toBe(2);
    expect(valueOf(samples, 'metallb_bgp_keepalives_sent', '192.0.2.254:179')).toBe(2);
    expect(valueOf(samples, 'metallb_bgp_keepalives_received', '192.0.2.254:179')).toBe(2);
    expect(valueOf(samples, 'metallb_bgp_route_refresh_sent', '192.0.2.254:179')).toBe(0);
    expect(valueOf(samples, 'metallb_bgp_total_sent', '192.0.2.254:179')).toBe(9);
    expect(valueOf(samples, 'metallb_bgp_total_received', '192.0.2.254:179')).toBe(7);
    expect(samples.get('metallb_bgp_session_up')?.every((sample) => sample.labels.vrf === 'default')).toBe(
      true,
    );
  });

  it('reports BFD session state and counters per peer address', () => {
    const samples = frrSamples(snapshot(), sessions);
    expect(samples.get('metallb_bfd_session_up')).toEqual([
      { labels: { peer: '192.0.2.254', vrf: 'default' }, value: 1 },
    ]);
    expect(valueOf(samples, 'metallb_bfd_control_packet_input', '192.0.2.254')).toBe(59);
    expect(valueOf(samples, 'metallb_bfd_control_packet_output', '192.0.2.254')).toBe(62);
    expect(valueOf(samples, 'metallb_bfd_echo_packet_input', '192.0.2.254')).toBe(0);
    expect(valueOf(samples, 'metallb_bfd_echo_packet_output', '192.0.2.254')).toBe(0);
    expect(valueOf(samples, 'metallb_bfd_session_up_events', '192.0.2.254')).toBe(1);
    expect(valueOf(samples, 'metallb_bfd_session_down_events', '192.0.2.254')).toBe(1);
    expect(valueOf(samples, 'metallb_bfd_zebra_notifications', '192.0.2.254')).toBe(2);
  });

  it('reports a stopped router as session down', () => {
    const samples = frrSamples(snapshot('bgp-neighbors-router-stopped.json'), sessions);
    expect(valueOf(samples, 'metallb_bgp_session_up', '192.0.2.254:179')).toBe(0);
  });

  it('reports the configured sessions as down when FRR does not answer', () => {
    const samples = frrSamples(emptySnapshot, sessions);
    expect(
      samples.get('metallb_bgp_session_up')?.map((sample) => [sample.labels.peer, sample.value]),
    ).toEqual([
      ['192.0.2.254:179', 0],
      ['192.0.2.253:179', 0],
      ['192.0.2.250:1179', 0],
    ]);
    expect(samples.get('metallb_bfd_session_up')).toEqual([
      { labels: { peer: '192.0.2.254', vrf: 'default' }, value: 0 },
    ]);
    expect(samples.get('metallb_bgp_opens_sent')).toBeUndefined();
  });

  it('serves every metric from one set of vtysh calls per scrape', async () => {
    const calls: string[] = [];
    const outputs: Record<string, string> = {
      'show bgp vrf all neighbors json': JSON.stringify(readFrrSample('bgp-neighbors.json')),
      'show bfd peers json': JSON.stringify(readFrrSample('bfd-peers.json')),
      'show bfd peers counters json': JSON.stringify(readFrrSample('bfd-peers-counters.json')),
    };
    const run: RunTool = async (_file, args) => {
      const command = args[args.indexOf('-c') + 1] as string;
      calls.push(`${args.slice(0, 2).join(' ')} | ${command}`);
      return { code: 0, stdout: outputs[command] ?? '', stderr: '' };
    };
    const clock = new FakeClock();
    const reader = new FrrStateReader(new Vtysh({ binary: 'vtysh', pathspace: 'node-1', run }), { clock });
    const registry = new Registry();
    registerFrrMetrics({ registry, reader, sessions: () => sessions });
    const text = await registry.metrics();
    expect(calls.sort()).toEqual([
      '-N node-1 | show bfd peers counters json',
      '-N node-1 | show bfd peers json',
      '-N node-1 | show bgp vrf all neighbors json',
    ]);
    expect(text).toContain('metallb_bgp_session_up{peer="192.0.2.254:179",vrf="default"} 1');
    expect(text).toContain('metallb_bgp_session_up{peer="192.0.2.253:179",vrf="default"} 0');
    expect(text).toContain('metallb_bgp_announced_prefixes_total{peer="192.0.2.254:179",vrf="default"} 2');
    expect(text).toContain('metallb_bfd_session_up{peer="192.0.2.254",vrf="default"} 1');
    expect(text).toContain('# TYPE metallb_bgp_updates_total counter');
    for (const name of frrMetricNames) expect(text).toContain(`# HELP ${name} `);

    clock.advance(5000);
    await registry.metrics();
    expect(calls).toHaveLength(6);
  });

  it('reads only the BGP neighbours, in one vtysh call, for session state', async () => {
    const calls: string[] = [];
    const run: RunTool = async (_file, args) => {
      calls.push(args[args.indexOf('-c') + 1] as string);
      return { code: 0, stdout: JSON.stringify(readFrrSample('bgp-neighbors.json')), stderr: '' };
    };
    const reader = new FrrStateReader(new Vtysh({ binary: 'vtysh', run }));
    const snapshot = await reader.readNeighbors();
    expect(calls).toEqual(['show bgp vrf all neighbors json']);
    expect(snapshot.bgpReachable).toBe(true);
    expect(snapshot.neighbors.find((n) => n.established)?.bfdStatus).toBe('Up');
    const down = new FrrStateReader(
      new Vtysh({
        binary: 'vtysh',
        run: async () => ({ code: 1, stdout: '', stderr: 'bgpd is not running' }),
      }),
    );
    expect((await down.readNeighbors()).bgpReachable).toBe(false);
  });

  it('serves session_up 0 instead of failing the scrape when vtysh fails', async () => {
    const run: RunTool = async () => ({ code: 1, stdout: '', stderr: 'bgpd is not running' });
    const registry = new Registry();
    registerFrrMetrics({
      registry,
      reader: new FrrStateReader(new Vtysh({ binary: 'vtysh', run })),
      sessions: () => sessions.slice(0, 1),
    });
    const text = await registry.metrics();
    expect(text).toContain('metallb_bgp_session_up{peer="192.0.2.254:179",vrf="default"} 0');
  });

  it('serves nothing for sessions it cannot see when told FRR may be out of its reach (pod layout)', async () => {
    const run: RunTool = async () => ({
      code: 1,
      stdout: '',
      stderr: 'Exiting: failed to connect to any daemons.',
    });
    const registry = new Registry();
    registerFrrMetrics({
      registry,
      reader: new FrrStateReader(new Vtysh({ binary: 'vtysh', run })),
      sessions: () => sessions,
      downWhenUnreachable: false,
    });
    expect(await registry.metrics()).not.toContain('metallb_bgp_session_up{');
  });
});
