import { describe, expect, it } from '@jest/globals';
import type { IPAddressPool } from '../api/types.generated.js';
import { buildConfig } from './index.js';
import { peer, pool, problemsOf } from './test-fixtures.js';

describe('every object', () => {
  it('rejects an object outside the MetalLB namespace, and still checks its content', () => {
    expect(problemsOf({ pools: [pool('a', { addresses: ['bogus/8'] }, { namespace: 'default' })] })).toEqual([
      'IPAddressPool/default/a: metadata.namespace: "default" is not the namespace MetalLB runs in; MetalLB reads its configuration only from "metallb-system", so create the object there',
      'IPAddressPool/default/a: spec.addresses[0]: invalid CIDR "bogus/8": expected an address and prefix length such as 192.0.2.0/24 or 2001:db8::/64',
    ]);
  });

  it('rejects an object without a namespace', () => {
    const unplaced = { ...pool('a', { addresses: ['192.0.2.0/24'] }), metadata: { name: 'a' } };
    expect(problemsOf({ pools: [unplaced] })).toEqual([
      'IPAddressPool/a: metadata.namespace: missing; MetalLB objects must be in the namespace MetalLB runs in, "metallb-system"',
    ]);
  });

  it('honours another MetalLB namespace', () => {
    const result = buildConfig({
      metallbNamespace: 'lb',
      pools: [pool('a', { addresses: ['192.0.2.0/24'] }, { namespace: 'lb' })],
    });
    expect(result.ok).toBe(true);
  });

  it('rejects an object of another kind in a list', () => {
    const stray = peer('r1', {}) as unknown as IPAddressPool;
    expect(problemsOf({ pools: [stray] })).toEqual([
      'BGPPeer/metallb-system/r1: kind: expected IPAddressPool (metallb.io/v1beta1) here, got "BGPPeer" of "metallb.io/v1beta2"',
    ]);
  });

  it('includes schema problems and does not repeat them as semantic ones', () => {
    const broken = {
      ...pool('a', {}),
      spec: { addresses: ['192.0.2.0/24', 7], autoAssign: 'yes' },
    } as unknown as IPAddressPool;
    expect(problemsOf({ pools: [broken] })).toEqual([
      'IPAddressPool/metallb-system/a: spec.addresses[1]: must be a string, got 7',
      'IPAddressPool/metallb-system/a: spec.autoAssign: must be a boolean (true or false), got "yes"',
    ]);
  });

  it('reports a pool without a spec once', () => {
    const bare = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'a', namespace: 'metallb-system' },
    };
    expect(problemsOf({ pools: [bare as unknown as IPAddressPool] })).toEqual([
      'IPAddressPool/metallb-system/a: spec: required field is missing',
    ]);
  });

  it('reports a list entry that is not an object', () => {
    expect(problemsOf({ pools: [null as unknown as IPAddressPool] })).toEqual([
      'IPAddressPool/<unnamed>: expected an object of kind IPAddressPool, got null',
    ]);
  });

  it('orders problems by object, in input order', () => {
    const lines = problemsOf({
      pools: [pool('b', { addresses: ['x'] }), pool('a', { addresses: ['y'] })],
      peers: [peer('r1', { myASN: 0 })],
    });
    expect(lines.map((line) => line.split(':')[0])).toEqual([
      'IPAddressPool/metallb-system/b',
      'IPAddressPool/metallb-system/a',
      'BGPPeer/metallb-system/r1',
    ]);
  });
});
