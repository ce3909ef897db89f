import { describe, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
import type { BGPPeerV1Beta1 } from '../api/types.generated.js';
import { buildConfig } from './index.js';
import {
  configOf,
  findingsOf,
  problemsOf,
  transientOf,
  warningFindingsOf,
} from '../../test/support/config.js';
import { node, secret } from '../../test/support/kube-objects.js';
import { bfd, ns, peer } from '../../test/support/metallb-objects.js';

const where = 'BGPPeer/metallb-system/r1';

describe('BGPPeer AS numbers', () => {
  it('rejects myASN 0', () => {
    expect(problemsOf({ peers: [peer('r1', { myASN: 0 })] })).toEqual([
      `${where}: spec.myASN: 0 is not an AS number; set the AS number the speakers use: an AS number is 1-4294967295 (private: 64512-65534 and 4200000000-4294967294)`,
    ]);
  });

  it('rejects a peer with neither peerASN nor dynamicASN', () => {
    expect(findingsOf({ peers: [peer('r1', { peerASN: undefined })] })).toEqual([
      'field.required BGPPeer/metallb-system/r1 spec.peerASN',
    ]);
  });

  it('reads peerASN 0 as unset, as upstream does', () => {
    expect(findingsOf({ peers: [peer('r1', { peerASN: 0 })] })).toEqual([
      'field.required BGPPeer/metallb-system/r1 spec.peerASN',
    ]);
  });

  it('rejects a peer with both peerASN and dynamicASN', () => {
    expect(findingsOf({ peers: [peer('r1', { dynamicASN: 'external' })] })).toEqual([
      'peer.asnTwice BGPPeer/metallb-system/r1 spec.dynamicASN',
    ]);
  });

  it('reports an unknown dynamicASN once, from the schema', () => {
    const bad = peer('r1', { peerASN: undefined, dynamicASN: 'sometimes' as 'internal' });
    expect(findingsOf({ peers: [bad] })).toEqual(['schema.enum BGPPeer/metallb-system/r1 spec.dynamicASN']);
  });

  it('rejects ebgpMultiHop on an iBGP peer', () => {
    expect(findingsOf({ peers: [peer('r1', { peerASN: 64512, ebgpMultiHop: true })] })).toEqual([
      'peer.ibgpMultiHop BGPPeer/metallb-system/r1 spec.ebgpMultiHop',
    ]);
  });

  it('accepts an iBGP peer without multihop and an eBGP peer with it', () => {
    const config = configOf({
      peers: [
        peer('ibgp', { peerASN: 64512 }),
        peer('ebgp', { peerAddress: '192.0.2.2', ebgpMultiHop: true }),
        peer('dynamic', { peerASN: undefined, dynamicASN: 'internal', peerAddress: '192.0.2.3' }),
      ],
    });
    expect(config.peers.get('ibgp')).toMatchObject({ ibgp: true, remoteAS: 64512, ebgpMultiHop: false });
    expect(config.peers.get('ebgp')).toMatchObject({ ibgp: false, remoteAS: 64513, ebgpMultiHop: true });
    expect(config.peers.get('dynamic')).toMatchObject({ ibgp: true, remoteAS: 'internal' });
  });
});

describe('BGPPeer addresses', () => {
  it('rejects a peer with neither peerAddress nor interface', () => {
    expect(findingsOf({ peers: [peer('r1', { peerAddress: undefined })] })).toEqual([
      'field.required BGPPeer/metallb-system/r1 spec.peerAddress',
    ]);
  });

  it('rejects a peer with both peerAddress and interface', () => {
    expect(findingsOf({ peers: [peer('r1', { interface: 'eth1' })] })).toEqual([
      'peer.addressAndInterface BGPPeer/metallb-system/r1 spec.interface',
    ]);
  });

  it('rejects a peerAddress that is not an IP address', () => {
    expect(findingsOf({ peers: [peer('r1', { peerAddress: 'router.example' })] })).toEqual([
      'peer.invalidAddress BGPPeer/metallb-system/r1 spec.peerAddress',
    ]);
  });

  it('rejects a routerID that is not an IPv4 address', () => {
    expect(findingsOf({ peers: [peer('r1', { routerID: '2001:db8::1' })] })).toEqual([
      'peer.invalidRouterID BGPPeer/metallb-system/r1 spec.routerID',
    ]);
  });

  it('rejects a sourceAddress that is not an IP address', () => {
    expect(findingsOf({ peers: [peer('r1', { sourceAddress: '192.0.2.300' })] })).toEqual([
      'peer.invalidSourceAddress BGPPeer/metallb-system/r1 spec.sourceAddress',
    ]);
  });

  it('accepts an IPv6 peer, an unnumbered peer and a peer in a VRF, naming each as FRR does', () => {
    const config = configOf({
      peers: [
        peer('v6', { peerAddress: '2001:DB8::1', sourceAddress: '2001:db8::2' }),
        peer('unnumbered', { peerAddress: undefined, interface: 'eth1' }),
        peer('red', { peerAddress: '198.51.100.1', vrf: 'red' }),
      ],
    });
    expect(config.peers.get('v6')?.identifier).toBe('2001:db8::1');
    expect(config.peers.get('unnumbered')).toMatchObject({
      identifier: 'eth1',
      target: { kind: 'interface', interface: 'eth1' },
    });
    expect(config.peers.get('red')).toMatchObject({ identifier: '198.51.100.1-red', vrf: 'red', port: 179 });
  });

  it('reads a deprecated v1beta1 peer as v1beta2, with port 0 meaning the default', () => {
    const old: BGPPeerV1Beta1 = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'BGPPeer',
      metadata: { name: 'old', namespace: ns },
      spec: { myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.1', peerPort: 0 },
    };
    expect(configOf({ peers: [old] }).peers.get('old')).toMatchObject({ port: 179, remoteAS: 64513 });
  });
});

describe('BGPPeer timers', () => {
  const timersOf = (spec: { holdTime?: string; keepaliveTime?: string; connectTime?: string }) =>
    configOf({ peers: [peer('r1', spec)] }).peers.get('r1');

  it('rejects a hold time between 0 and 3s', () => {
    expect(findingsOf({ peers: [peer('r1', { holdTime: '2s' })] })).toEqual([
      'peer.holdTooShort BGPPeer/metallb-system/r1 spec.holdTime',
    ]);
  });

  it('rejects a keepalive whose derived hold time is too short', () => {
    expect(findingsOf({ peers: [peer('r1', { keepaliveTime: '500ms' })] })).toEqual([
      'peer.holdTooShort BGPPeer/metallb-system/r1 spec.keepaliveTime',
    ]);
  });

  it('rejects a keepalive longer than the hold time', () => {
    expect(findingsOf({ peers: [peer('r1', { holdTime: '30s', keepaliveTime: '1m' })] })).toEqual([
      'peer.keepaliveAboveHold BGPPeer/metallb-system/r1 spec.keepaliveTime',
    ]);
  });

  it('rejects a negative keepalive', () => {
    expect(findingsOf({ peers: [peer('r1', { holdTime: '90s', keepaliveTime: '-1s' })] })).toEqual([
      'peer.negativeKeepalive BGPPeer/metallb-system/r1 spec.keepaliveTime',
    ]);
  });

  it('leaves timers to FRR when neither is set', () => {
    expect(timersOf({})?.timers).toBeUndefined();
  });

  it('derives keepalive from hold time and hold time from keepalive', () => {
    expect(timersOf({ holdTime: '90s' })?.timers).toEqual({ holdSeconds: 90, keepaliveSeconds: 30 });
    expect(timersOf({ keepaliveTime: '10s' })?.timers).toEqual({ holdSeconds: 30, keepaliveSeconds: 10 });
    expect(timersOf({ holdTime: '1m30s', keepaliveTime: '20s' })?.timers).toEqual({
      holdSeconds: 90,
      keepaliveSeconds: 20,
    });
  });

  it('accepts a hold time of 0, and exactly 3s, rounding down to whole seconds', () => {
    expect(timersOf({ holdTime: '0s' })?.timers).toEqual({ holdSeconds: 0, keepaliveSeconds: 0 });
    expect(timersOf({ holdTime: '3s' })?.timers).toEqual({ holdSeconds: 3, keepaliveSeconds: 1 });
    expect(timersOf({ holdTime: '3.9s' })?.timers).toEqual({ holdSeconds: 3, keepaliveSeconds: 1 });
  });

  it('reads connectTime as whole seconds', () => {
    expect(timersOf({ connectTime: '2m' })?.connectTimeSeconds).toBe(120);
  });
});

describe('BGPPeer passwords', () => {
  const basicAuth = (name: string, password: string) =>
    secret(name, {
      type: 'kubernetes.io/basic-auth',
      data: { password: Buffer.from(password).toString('base64') },
    });

  it('rejects a password together with a passwordSecret', () => {
    const bad = peer('r1', { password: 'inline', passwordSecret: { name: 'bgp' } });
    expect(findingsOf({ peers: [bad], secrets: [basicAuth('bgp', 'x')] })).toEqual([
      'peer.passwordTwice BGPPeer/metallb-system/r1 spec.passwordSecret',
    ]);
  });

  it('reports a Secret that does not exist yet as transient', () => {
    const input = { peers: [peer('r1', { passwordSecret: { name: 'bgp' } })] };
    expect(findingsOf(input)).toEqual([
      'peer.secretMissing BGPPeer/metallb-system/r1 spec.passwordSecret.name',
    ]);
    expect(transientOf(input)).toEqual([true]);
  });

  it('does not look for the Secret in other namespaces', () => {
    const input = {
      peers: [peer('r1', { passwordSecret: { name: 'bgp' } })],
      secrets: [
        secret(
          'bgp',
          { type: 'kubernetes.io/basic-auth', stringData: { password: 'x' } },
          { namespace: 'default' },
        ),
      ],
    };
    expect(transientOf(input)).toEqual([true]);
  });

  it('rejects a passwordSecret in another namespace', () => {
    expect(
      findingsOf({ peers: [peer('r1', { passwordSecret: { name: 'bgp', namespace: 'default' } })] }),
    ).toEqual(['peer.secretNamespace BGPPeer/metallb-system/r1 spec.passwordSecret.namespace']);
  });

  it('rejects a Secret of the wrong type', () => {
    const input = {
      peers: [peer('r1', { passwordSecret: { name: 'bgp' } })],
      secrets: [secret('bgp', { type: 'Opaque', stringData: { password: 'x' } })],
    };
    expect(findingsOf(input)).toEqual(['peer.secretType BGPPeer/metallb-system/r1 spec.passwordSecret.name']);
    expect(transientOf(input)).toEqual([false]);
  });

  it('rejects a Secret without a password key', () => {
    const input = {
      peers: [peer('r1', { passwordSecret: { name: 'bgp' } })],
      secrets: [secret('bgp', { type: 'kubernetes.io/basic-auth', data: { username: 'eA==' } })],
    };
    expect(findingsOf(input)).toEqual([
      'peer.secretNoPassword BGPPeer/metallb-system/r1 spec.passwordSecret.name',
    ]);
  });

  it('rejects a Secret whose data.password is not base64', () => {
    const input = {
      peers: [peer('r1', { passwordSecret: { name: 'bgp' } })],
      secrets: [secret('bgp', { type: 'kubernetes.io/basic-auth', data: { password: 'plain text!' } })],
    };
    expect(findingsOf(input)).toEqual([
      'peer.secretBase64 BGPPeer/metallb-system/r1 spec.passwordSecret.name',
    ]);
  });

  it('resolves the password from the Secret and never prints it', () => {
    const config = configOf({
      peers: [peer('r1', { passwordSecret: { name: 'bgp' } })],
      secrets: [basicAuth('bgp', 's3cret')],
    });
    const resolved = config.peers.get('r1');
    expect(resolved?.password?.reveal()).toBe('s3cret');
    expect(resolved?.passwordSecretName).toBe('bgp');
    const json = JSON.stringify(resolved, (_key, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
    expect(json).toContain('"password":"[redacted]"');
    expect(inspect(resolved, { depth: 10 })).not.toContain('s3cret');
    expect(`${String(resolved?.password)}`).toBe('[redacted]');
  });

  it('takes an inline password and one from stringData', () => {
    const config = configOf({
      peers: [
        peer('inline', { password: 'one' }),
        peer('from-secret', { peerAddress: '192.0.2.2', passwordSecret: { name: 'bgp' } }),
      ],
      secrets: [secret('bgp', { type: 'kubernetes.io/basic-auth', stringData: { password: 'two' } })],
    });
    expect(config.peers.get('inline')?.password?.reveal()).toBe('one');
    expect(config.peers.get('from-secret')?.password?.reveal()).toBe('two');
  });

  it('sees a changed password when comparing two configs, without seeing the password', () => {
    const build = (password: string) =>
      buildConfig({ metallbNamespace: ns, peers: [peer('r1', { password })] });
    const a = build('one');
    const b = build('two');
    expect(a.ok && b.ok && a.config.peers.get('r1')).not.toEqual(b.ok && b.config.peers.get('r1'));
  });
});

describe('BGPPeer references', () => {
  it('reports a BFDProfile that does not exist yet as transient', () => {
    const input = { peers: [peer('r1', { bfdProfile: 'fast' })] };
    expect(findingsOf(input)).toEqual(['peer.bfdProfileMissing BGPPeer/metallb-system/r1 spec.bfdProfile']);
    expect(transientOf(input)).toEqual([true]);
  });

  it('reports an invalid BFDProfile on the profile, not as missing on the peer', () => {
    expect(
      findingsOf({
        peers: [peer('r1', { bfdProfile: 'fast' })],
        bfdProfiles: [bfd('fast', { detectMultiplier: 1 })],
      }),
    ).toEqual(['schema.range BFDProfile/metallb-system/fast spec.detectMultiplier']);
  });

  it('accepts a peer whose BFDProfile exists', () => {
    const config = configOf({ peers: [peer('r1', { bfdProfile: 'fast' })], bfdProfiles: [bfd('fast', {})] });
    expect(config.peers.get('r1')?.bfdProfile).toBe('fast');
  });

  it('warns that disableMP is deprecated without rejecting the peer', () => {
    const input = { peers: [peer('r1', { disableMP: true })] };
    expect(problemsOf(input)).toEqual([]);
    expect(warningFindingsOf(input)).toEqual([
      'peer.disableMPDeprecated BGPPeer/metallb-system/r1 spec.disableMP',
    ]);
  });

  it('resolves nodeSelectors against the Nodes', () => {
    const config = configOf({
      peers: [peer('r1', { nodeSelectors: [{ matchLabels: { rack: 'a' } }] })],
      nodes: [node('n2', { rack: 'a' }), node('n1', { rack: 'a' }), node('n3', { rack: 'b' })],
    });
    expect(config.peers.get('r1')?.nodes).toEqual(['n1', 'n2']);
  });
});

describe('peer names and passwords FRR must accept', () => {
  const withPassword = (password: string) => ({
    peers: [peer('r1', { myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.1', password })],
  });

  it('rejects a password with a line break without echoing it', () => {
    const problems = problemsOf(withPassword('abc\nrouter bgp 1'));
    expect(problems).toEqual([
      `${where}: spec.password: the password contains spaces, control characters or non-ASCII characters; use 1 to 80 printable ASCII characters without spaces`,
    ]);
  });

  it('rejects a password longer than 80 characters and accepts one of 80', () => {
    expect(problemsOf(withPassword('x'.repeat(81)))).toHaveLength(1);
    expect(problemsOf(withPassword('x'.repeat(80)))).toEqual([]);
  });

  it('rejects a VRF name longer than 15 characters and accepts a short one', () => {
    const withVrf = (vrf: string) => ({
      peers: [peer('r1', { myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.1', vrf })],
    });
    expect(findingsOf(withVrf('a-very-long-vrf-name'))).toEqual([
      'peer.invalidLinkName BGPPeer/metallb-system/r1 spec.vrf',
    ]);
    expect(problemsOf(withVrf('red'))).toEqual([]);
  });
});
