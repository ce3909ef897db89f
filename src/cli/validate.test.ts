import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateCommand } from './validate.js';

async function validate(
  values: Record<string, string | boolean | string[] | undefined>,
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await validateCommand.run(values, [], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

const yaml = (...documents: string[][]) => documents.map((lines) => lines.join('\n')).join('\n---\n');

describe('metallb validate', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'validate-'));
    mkdirSync(join(dir, 'good'));
    writeFileSync(
      join(dir, 'good', 'all.yaml'),
      yaml(
        [
          'apiVersion: metallb.io/v1beta1',
          'kind: IPAddressPool',
          'metadata: {name: web}',
          'spec: {addresses: [192.0.2.0/25], serviceAllocation: {namespaceSelectors: [{matchLabels: {team: web}}]}}',
        ],
        [
          'apiVersion: metallb.io/v1beta1',
          'kind: BGPPeer',
          'metadata: {name: old-style}',
          'spec: {myASN: 64512, peerASN: 64513, peerAddress: 198.51.100.1, nodeSelectors: [{matchLabels: {rack: a}}]}',
        ],
        [
          'apiVersion: metallb.io/v1beta2',
          'kind: BGPPeer',
          'metadata: {name: secured}',
          'spec: {myASN: 64512, peerASN: 64513, peerAddress: 198.51.100.2, passwordSecret: {name: bgp}}',
        ],
        [
          'apiVersion: v1',
          'kind: Secret',
          'metadata: {name: bgp}',
          'type: kubernetes.io/basic-auth',
          'stringData: {password: x}',
        ],
        ['apiVersion: v1', 'kind: Node', 'metadata: {name: n1, labels: {rack: a}}'],
        ['apiVersion: v1', 'kind: Namespace', 'metadata: {name: web, labels: {team: web}}'],
        ['apiVersion: v1', 'kind: Service', 'metadata: {name: ignored}'],
      ),
    );
    mkdirSync(join(dir, 'bad'));
    writeFileSync(
      join(dir, 'bad', 'pools.yaml'),
      yaml(
        [
          'apiVersion: metallb.io/v1beta1',
          'kind: IPAddressPool',
          'metadata: {name: other}',
          'spec: {addresses: [192.0.2.0/24]}',
        ],
        [
          'apiVersion: metallb.io/v1beta1',
          'kind: IPAddressPool',
          'metadata: {name: mine}',
          'spec: {addresses: [192.0.2.0/25]}',
        ],
      ),
    );
    writeFileSync(
      join(dir, 'bad', 'peers.yaml'),
      yaml(
        [
          'apiVersion: metallb.io/v1beta2',
          'kind: BGPPeer',
          'metadata: {name: r1, namespace: metallb-system}',
          'spec: {myASN: 64512, peerASN: 64513, peerAddress: 198.51.100.1, bfdProfile: fast}',
        ],
        [
          'apiVersion: metallb.io/v1beta1',
          'kind: MetalLB',
          'metadata: {name: metallb, namespace: default}',
          'spec: {}',
        ],
      ),
    );
    writeFileSync(join(dir, 'broken.yaml'), 'kind: [unclosed\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes every sample in config/samples', async () => {
    const result = await validate({ filename: ['config/samples'] });
    expect(result.out).toEqual([]);
    expect(result.code).toBe(0);
  });

  it('accepts a complete configuration with Secrets, Nodes, Namespaces and a deprecated v1beta1 peer', async () => {
    const result = await validate({ filename: [join(dir, 'good')] });
    expect(result.out).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.err.some((line) => line.startsWith('skipped Service/ignored'))).toBe(true);
  });

  it('prints one line per problem, transient ones included, and exits 1', async () => {
    const result = await validate({ filename: [join(dir, 'bad')] });
    expect(result.out).toEqual([
      'IPAddressPool/metallb-system/mine: spec.addresses[0]: CIDR 192.0.2.0/25 overlaps 192.0.2.0/24 of IPAddressPool "other" (spec.addresses[0]); pools must not share addresses',
      'BGPPeer/metallb-system/r1: spec.bfdProfile: BFDProfile "fast" does not exist in "metallb-system"; create it, or remove bfdProfile to run the session without BFD',
      'MetalLB/default/metallb: metadata.namespace: "default" is not the namespace MetalLB runs in; MetalLB reads its configuration only from "metallb-system", so create the object there',
    ]);
    expect(result.code).toBe(1);
  });

  it('takes --namespace as the MetalLB namespace', async () => {
    const elsewhere = await validate({ filename: [join(dir, 'good')], namespace: 'lb' });
    expect(elsewhere.code).toBe(0);
    const samples = await validate({ filename: ['config/samples'], namespace: 'lb', quiet: true });
    expect(samples.code).toBe(1);
    expect(samples.out[0]).toMatch(
      /metadata\.namespace: "metallb-system" is not the namespace MetalLB runs in/,
    );
    expect(samples.err).toEqual([]);
  });

  it('exits 2 when a file cannot be read or parsed', async () => {
    const result = await validate({ filename: [join(dir, 'broken.yaml')] });
    expect(result.code).toBe(2);
    expect(result.err[0]).toMatch(/broken\.yaml#1: invalid YAML/);
    expect((await validate({ filename: [join(dir, 'missing.yaml')] })).code).toBe(2);
  });

  it('exits 2 without any file', async () => {
    expect((await validate({})).code).toBe(2);
  });
});
