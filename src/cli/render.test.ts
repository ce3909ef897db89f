import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { MetalLB } from '../api/types.generated.js';
import { readManifests } from '../manifests/documents.js';
import { defaultOperatorEnv } from '../operator/env.js';
import { renderMetalLB } from '../operator/render/index.js';
import { renderCommand } from './render.js';

const operatorVariables = [
  'OPERATOR_NAMESPACE',
  'CONTROLLER_IMAGE',
  'SPEAKER_IMAGE',
  'FRR_IMAGE',
  'METRICS_PORT',
  'FRR_METRICS_PORT',
  'OPERAND_LIVENESS_PORT',
  'MEMBER_LIST_BIND_PORT',
];

async function render(
  values: Record<string, string | boolean | string[] | undefined>,
  positionals: string[] = [],
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await renderCommand.run(values, positionals, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, out, err };
}

function documentsOf(output: string[]): unknown[] {
  return parseAllDocuments(output.join('\n')).map((document) => {
    expect(document.errors).toEqual([]);
    return document.toJS();
  });
}

describe('metallb render', () => {
  let dir: string;
  let saved: Record<string, string | undefined>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'render-'));
    const write = (name: string, lines: string[]): void => writeFileSync(join(dir, name), lines.join('\n'));
    write('native.yaml', [
      'apiVersion: metallb.io/v1beta1',
      'kind: MetalLB',
      'metadata: {name: metallb, namespace: metallb-system}',
      'spec: {bgpBackend: native}',
    ]);
    write('loud.yaml', [
      'apiVersion: metallb.io/v1beta1',
      'kind: MetalLB',
      'metadata: {name: metallb, namespace: metallb-system}',
      'spec: {logLevel: loud}',
    ]);
    write('no-namespace.yaml', [
      'apiVersion: metallb.io/v1beta1',
      'kind: MetalLB',
      'metadata: {name: metallb}',
    ]);
    write('two.yaml', [
      'apiVersion: metallb.io/v1beta1',
      'kind: MetalLB',
      'metadata: {name: metallb, namespace: metallb-system}',
      '---',
      'apiVersion: metallb.io/v1beta1',
      'kind: MetalLB',
      'metadata: {name: metallb, namespace: other}',
    ]);
    write('pool-only.yaml', [
      'apiVersion: metallb.io/v1beta1',
      'kind: IPAddressPool',
      'metadata: {name: pool, namespace: metallb-system}',
      'spec: {addresses: [192.0.2.0/24]}',
    ]);
    write('broken.yaml', ['apiVersion: metallb.io/v1beta1', 'kind: [unclosed']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(() => {
    saved = Object.fromEntries(operatorVariables.map((name) => [name, process.env[name]]));
    for (const name of operatorVariables) delete process.env[name];
  });
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('prints, as multi-document YAML, exactly the objects the operator renders for the sample', async () => {
    const result = await render({ filename: 'config/samples/metallb.yaml' });
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    const sample = readManifests(['config/samples/metallb.yaml']).documents[0]?.object as unknown as MetalLB;
    const expected = renderMetalLB(sample, defaultOperatorEnv);
    if (!expected.ok) throw new Error('the sample must render');
    expect(documentsOf(result.out)).toEqual(expected.objects);
  });

  it('takes images and ports from the environment', async () => {
    process.env.SPEAKER_IMAGE = 'registry.example/metallb:9';
    process.env.METRICS_PORT = '29150';
    const result = await render({ filename: 'config/samples/metallb.yaml' });
    expect(result.code).toBe(0);
    const text = result.out.join('\n');
    expect(text).toContain('image: registry.example/metallb:9');
    expect(text).toContain('--port=29150');
  });

  it('deploys into --namespace, which overrides OPERATOR_NAMESPACE', async () => {
    process.env.OPERATOR_NAMESPACE = 'from-env';
    const result = await render({ filename: join(dir, 'no-namespace.yaml'), namespace: 'lb-system' });
    expect(result.code).toBe(0);
    const namespaces = (documentsOf(result.out) as { metadata: { namespace?: string } }[])
      .map((object) => object.metadata.namespace)
      .filter(Boolean);
    expect(new Set(namespaces)).toEqual(new Set(['lb-system']));
  });

  it('deploys into OPERATOR_NAMESPACE without --namespace', async () => {
    process.env.OPERATOR_NAMESPACE = 'from-env';
    const result = await render({ filename: join(dir, 'no-namespace.yaml') });
    expect(result.code).toBe(0);
    expect(result.out.join('\n')).toContain('namespace: from-env');
  });

  it('prints one line per problem and exits 1 for an unsupported backend', async () => {
    const result = await render({ filename: join(dir, 'native.yaml') });
    expect(result.code).toBe(1);
    expect(result.out).toEqual([
      'MetalLB/metallb-system/metallb: spec.bgpBackend: native is not supported: this implementation runs FRR beside each speaker; leave bgpBackend unset or set it to frr',
    ]);
  });

  it('exits 1 for a CR the API server would reject', async () => {
    const result = await render({ filename: join(dir, 'loud.yaml') });
    expect(result.code).toBe(1);
    expect(result.out).toHaveLength(1);
    expect(result.out[0]).toMatch(/^MetalLB\/metallb-system\/metallb: spec\.logLevel: /);
  });

  it('exits 1 for a CR outside --namespace', async () => {
    const result = await render({ filename: 'config/samples/metallb.yaml', namespace: 'lb-system' });
    expect(result.code).toBe(1);
    expect(result.out[0]).toMatch(
      /^MetalLB\/metallb-system\/metallb: metadata\.namespace: must be lb-system/,
    );
  });

  it('exits 1 for a bad operator environment', async () => {
    process.env.FRR_METRICS_PORT = 'ninety';
    const result = await render({ filename: 'config/samples/metallb.yaml' });
    expect(result.code).toBe(1);
    expect(result.out).toEqual([
      'Environment/FRR_METRICS_PORT: must be a port number between 1 and 65535, got "ninety"',
    ]);
  });

  it('exits 2 when the file cannot be read or parsed', async () => {
    const missing = await render({ filename: join(dir, 'missing.yaml') });
    expect(missing.code).toBe(2);
    expect(missing.err[0]).toMatch(/^unreadable: .*missing\.yaml/);
    const broken = await render({ filename: join(dir, 'broken.yaml') });
    expect(broken.code).toBe(2);
    expect(broken.err[0]).toMatch(/broken\.yaml#1: invalid YAML/);
  });

  it('exits 2 unless the file holds exactly one MetalLB', async () => {
    const none = await render({ filename: join(dir, 'pool-only.yaml') });
    expect(none.code).toBe(2);
    expect(none.err[0]).toContain('holds 0 MetalLB resources');
    const two = await render({ filename: join(dir, 'two.yaml') });
    expect(two.code).toBe(2);
    expect(two.err[0]).toContain('holds 2 MetalLB resources');
  });

  it('exits 2 without -f', async () => {
    const result = await render({});
    expect(result.code).toBe(2);
    expect(result.err).toEqual(['render: give exactly one file with -f']);
  });
});
