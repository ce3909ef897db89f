import { describe, expect, it } from '@jest/globals';
import type { IPAddressPool } from '../api/types.generated.js';
import { buildConfig } from './index.js';
import { findingsOf, problemsOf } from '../../test/support/config.js';
import { peer, pool } from '../../test/support/metallb-objects.js';

describe('every object', () => {
  it('rejects an object outside the MetalLB namespace, and still checks its content', () => {
    expect(problemsOf({ pools: [pool('a', { addresses: ['bogus/8'] }, { namespace: 'default' })] })).toEqual([
      'IPAddressPool/default/a: metadata.namespace: "default" is not the namespace MetalLB runs in; MetalLB reads its configuration only from "metallb-system", so create the object there',
      'IPAddressPool/default/a: spec.addresses[0]: invalid CIDR "bogus/8": expected an address and prefix length such as 192.0.2.0/24 or 2001:db8::/64',
    ]);
  });

  it('rejects an object without a namespace', () => {
    const unplaced = { ...pool('a', { addresses: ['192.0.2.0/24'] }), metadata: { name: 'a' } };
    expect(findingsOf({ pools: [unplaced] })).toEqual([
      'object.wrongNamespace IPAddressPool/a metadata.namespace',
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
    expect(findingsOf({ pools: [stray] })).toEqual(['object.wrongKind BGPPeer/metallb-system/r1 kind']);
  });

  it('includes schema problems and does not repeat them as semantic ones', () => {
    const broken = {
      ...pool('a', {}),
      spec: { addresses: ['192.0.2.0/24', 7], autoAssign: 'yes' },
    } as unknown as IPAddressPool;
    expect(findingsOf({ pools: [broken] })).toEqual([
      'schema.type IPAddressPool/metallb-system/a spec.addresses[1]',
      'schema.type IPAddressPool/metallb-system/a spec.autoAssign',
    ]);
  });

  it('reports a pool without a spec once', () => {
    const bare = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'a', namespace: 'metallb-system' },
    };
    expect(findingsOf({ pools: [bare as unknown as IPAddressPool] })).toEqual([
      'schema.required IPAddressPool/metallb-system/a spec',
    ]);
  });

  it('reports a list entry that is not an object', () => {
    expect(findingsOf({ pools: [null as unknown as IPAddressPool] })).toEqual([
      'object.notAnObject IPAddressPool/<unnamed>',
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
