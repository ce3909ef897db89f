import { describe, expect, it } from '@jest/globals';
import { checkObjectSchema } from './check-object.js';
import { formatProblem } from './problem.js';

function object(apiVersion: string, kind: string, spec: Record<string, unknown>, name = 'sample') {
  return { apiVersion, kind, metadata: { name, namespace: 'metallb-system' }, spec };
}

function problems(obj: Record<string, unknown>): string[] {
  return checkObjectSchema(obj).map(formatProblem);
}

describe('schema validation of metallb.io objects', () => {
  it('accepts a pool with a CIDR, a range and a single address', () => {
    const pool = object('metallb.io/v1beta1', 'IPAddressPool', {
      addresses: ['192.0.2.0/24', '198.51.100.1-198.51.100.3', '198.51.100.10/32'],
      avoidBuggyIPs: true,
      autoAssign: false,
    });
    expect(problems(pool)).toEqual([]);
  });

  it('rejects a value of the wrong type and names the field', () => {
    const peer = object('metallb.io/v1beta2', 'BGPPeer', {
      myASN: 64512,
      peerASN: '64513',
      peerAddress: '192.0.2.1',
    });
    expect(problems(peer)).toEqual([
      'BGPPeer/metallb-system/sample: spec.peerASN: must be an integer, got "64513"',
    ]);
  });

  it('rejects an unknown logLevel and lists the allowed ones', () => {
    const metallb = object('metallb.io/v1beta1', 'MetalLB', { logLevel: 'verbose' }, 'metallb');
    expect(problems(metallb)).toEqual([
      'MetalLB/metallb-system/metallb: spec.logLevel: must be one of "all", "debug", "info", "warn", "error", "none", got "verbose"',
    ]);
  });

  it('rejects an unknown dynamicASN', () => {
    const peer = object('metallb.io/v1beta2', 'BGPPeer', {
      myASN: 64512,
      dynamicASN: 'sometimes',
      peerAddress: '192.0.2.1',
    });
    expect(problems(peer)).toEqual([
      'BGPPeer/metallb-system/sample: spec.dynamicASN: must be one of "internal", "external", got "sometimes"',
    ]);
  });

  it.each([
    ['receiveInterval', 5, 'must be between 10 and 60000, got 5'],
    ['transmitInterval', 60001, 'must be between 10 and 60000, got 60001'],
    ['detectMultiplier', 1, 'must be between 2 and 255, got 1'],
    ['echoInterval', 9, 'must be between 10 and 60000, got 9'],
    ['minimumTtl', 255, 'must be between 1 and 254, got 255'],
  ])('rejects a BFD %s of %d as out of range', (field, value, message) => {
    const profile = object('metallb.io/v1beta1', 'BFDProfile', { [field]: value });
    expect(problems(profile)).toEqual([`BFDProfile/metallb-system/sample: spec.${field}: ${message}`]);
  });

  it('accepts BFD values at the edges of their ranges', () => {
    const profile = object('metallb.io/v1beta1', 'BFDProfile', {
      receiveInterval: 10,
      transmitInterval: 60000,
      detectMultiplier: 255,
      echoInterval: 10,
      minimumTtl: 1,
    });
    expect(problems(profile)).toEqual([]);
  });

  it('rejects a v1beta2 peerPort of 0 but takes 0 in the deprecated v1beta1', () => {
    const spec = { myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.1', peerPort: 0 };
    expect(problems(object('metallb.io/v1beta2', 'BGPPeer', spec))).toEqual([
      'BGPPeer/metallb-system/sample: spec.peerPort: must be between 1 and 16384, got 0',
    ]);
    expect(problems(object('metallb.io/v1beta1', 'BGPPeer', spec))).toEqual([]);
  });

  it('rejects a peerPort above 16384', () => {
    const peer = object('metallb.io/v1beta2', 'BGPPeer', {
      myASN: 64512,
      peerASN: 64513,
      peerAddress: '192.0.2.1',
      peerPort: 16385,
    });
    expect(problems(peer)).toEqual([
      'BGPPeer/metallb-system/sample: spec.peerPort: must be between 1 and 16384, got 16385',
    ]);
  });

  it('names each missing required field', () => {
    expect(problems(object('metallb.io/v1beta1', 'IPAddressPool', {}))).toEqual([
      'IPAddressPool/metallb-system/sample: spec.addresses: required field is missing',
    ]);
    expect(problems(object('metallb.io/v1beta1', 'BGPPeer', { peerAddress: '192.0.2.1' }))).toEqual([
      'BGPPeer/metallb-system/sample: spec.myASN: required field is missing',
      'BGPPeer/metallb-system/sample: spec.peerASN: required field is missing',
    ]);
  });

  it('rejects a pool without a spec', () => {
    const pool = { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'p' } };
    expect(problems(pool)).toEqual(['IPAddressPool/p: spec: required field is missing']);
  });

  it('rejects a misspelt field, as kubectl apply does', () => {
    const pool = object('metallb.io/v1beta1', 'IPAddressPool', {
      addresses: ['192.0.2.0/24'],
      autoassign: false,
    });
    expect(problems(pool)).toEqual([
      'IPAddressPool/metallb-system/sample: spec.autoassign: unknown field: this API version has no such field (check the spelling and the apiVersion)',
    ]);
  });

  it('points at the list index of a bad entry', () => {
    const pool = object('metallb.io/v1beta1', 'IPAddressPool', { addresses: ['192.0.2.0/24', 7] });
    expect(problems(pool)).toEqual([
      'IPAddressPool/metallb-system/sample: spec.addresses[1]: must be a string, got 7',
    ]);
  });

  it('enforces the CRD rule that serviceSelectors exclude aggregation', () => {
    const ad = object('metallb.io/v1beta1', 'BGPAdvertisement', {
      aggregationLength: 24,
      serviceSelectors: [{ matchLabels: { app: 'web' } }],
    });
    expect(problems(ad)).toEqual([
      'BGPAdvertisement/metallb-system/sample: spec.serviceSelectors: serviceSelectors cannot be combined with aggregation: remove serviceSelectors, or keep aggregationLength at 32 and aggregationLengthV6 at 128',
    ]);
    const fine = object('metallb.io/v1beta1', 'BGPAdvertisement', {
      aggregationLength: 32,
      serviceSelectors: [{ matchLabels: { app: 'web' } }],
    });
    expect(problems(fine)).toEqual([]);
  });

  it('enforces connectTime between 1s and 65535s in whole seconds', () => {
    const peer = (connectTime: string) =>
      object('metallb.io/v1beta2', 'BGPPeer', {
        myASN: 64512,
        peerASN: 64513,
        peerAddress: '192.0.2.1',
        connectTime,
      });
    expect(problems(peer('10s'))).toEqual([]);
    expect(problems(peer('1m30s'))).toEqual([]);
    expect(problems(peer('0s'))).toEqual([
      'BGPPeer/metallb-system/sample: spec.connectTime: connectTime must be between 1s and 65535s',
    ]);
    expect(problems(peer('1500ms'))).toEqual([
      'BGPPeer/metallb-system/sample: spec.connectTime: connectTime must be a whole number of seconds',
    ]);
    expect(problems(peer('soon'))).toEqual([
      'BGPPeer/metallb-system/sample: spec.connectTime: must be a duration such as 90s, 1m30s or 500ms, got "soon"',
    ]);
  });

  it('checks embedded Kubernetes types such as resource quantities and tolerations', () => {
    const metallb = object(
      'metallb.io/v1beta1',
      'MetalLB',
      {
        speakerConfig: { resources: { limits: { cpu: 'lots' } } },
        speakerTolerations: [{ key: 'a', tolerationSeconds: 'forever' }],
      },
      'metallb',
    );
    expect(problems(metallb)).toEqual([
      'MetalLB/metallb-system/metallb: spec.speakerTolerations[0].tolerationSeconds: must be an integer, got "forever"',
      'MetalLB/metallb-system/metallb: spec.speakerConfig.resources.limits.cpu: must match the pattern ^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$, got "lots"',
    ]);
  });

  it('says which apiVersion to use when a kind is asked for in a version we do not serve', () => {
    const pool = {
      apiVersion: 'metallb.io/v1beta2',
      kind: 'IPAddressPool',
      metadata: { name: 'p' },
      spec: { addresses: [] },
    };
    expect(problems(pool)).toEqual([
      'IPAddressPool/p: apiVersion: IPAddressPool is not served as metallb.io/v1beta2; use metallb.io/v1beta1',
    ]);
  });

  it('rejects an object without a name', () => {
    const pool = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: {},
      spec: { addresses: ['192.0.2.0/24'] },
    };
    expect(problems(pool)).toEqual(['IPAddressPool/<unnamed>: metadata.name: required field is missing']);
  });
});
