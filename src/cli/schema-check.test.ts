import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './main.js';

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('metallb schema-check', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'schema-check-'));
    mkdirSync(join(dir, 'broken'));
    writeFileSync(
      join(dir, 'broken', 'two.yaml'),
      [
        'apiVersion: metallb.io/v1beta1',
        'kind: BFDProfile',
        'metadata: {name: slow, namespace: metallb-system}',
        'spec: {receiveInterval: 5}',
        '---',
        'apiVersion: v1',
        'kind: Service',
        'metadata: {name: web}',
        '---',
        'apiVersion: metallb.io/v1beta2',
        'kind: BGPPeer',
        'metadata: {name: r1, namespace: metallb-system}',
        'spec: {myASN: 64512, peerASN: 64513, peerAddress: 192.0.2.1, peerPort: 0}',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'bad-yaml.yaml'), 'apiVersion: metallb.io/v1beta1\nkind: [unclosed\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes every sample in config/samples', async () => {
    const result = await run('schema-check', '-f', 'config/samples');
    expect(result.out).toEqual([]);
    expect(result.code).toBe(0);
  });

  it('prints one line per problem and exits 1, skipping objects of other API groups', async () => {
    const result = await run('schema-check', '-f', join(dir, 'broken'));
    expect(result.code).toBe(1);
    expect(result.out).toEqual([
      'BFDProfile/metallb-system/slow: spec.receiveInterval: must be between 10 and 60000, got 5',
      'BGPPeer/metallb-system/r1: spec.peerPort: must be between 1 and 16384, got 0',
    ]);
    expect(result.err.some((line) => line.includes('skipped Service/web'))).toBe(true);
  });

  it('exits 2 when a file cannot be parsed', async () => {
    const result = await run('schema-check', '-f', join(dir, 'bad-yaml.yaml'));
    expect(result.code).toBe(2);
    expect(result.err[0]).toMatch(/bad-yaml\.yaml#1: invalid YAML/);
  });

  it('exits 2 when a path does not exist', async () => {
    const result = await run('schema-check', '-f', join(dir, 'missing.yaml'));
    expect(result.code).toBe(2);
    expect(result.err[0]).toMatch(/missing\.yaml: ENOENT/);
  });

  it('exits 2 without any input', async () => {
    expect((await run('schema-check')).code).toBe(2);
  });

  it('describes every flag in --help', async () => {
    const result = await run('schema-check', '--help');
    expect(result.code).toBe(0);
    expect(result.out.join('\n')).toMatch(/--filename PATH/);
  });
});

describe('metallb', () => {
  it('prints its version', async () => {
    const result = await run('version');
    expect(result.code).toBe(0);
    expect(result.out[0]).toMatch(/^metallb \d+\.\d+\.\d+/);
  });

  it('rejects an unknown command with the list of commands', async () => {
    const result = await run('frobnicate');
    expect(result.code).toBe(2);
    expect(result.err.join('\n')).toMatch(/unknown command "frobnicate"[\s\S]*schema-check/);
  });
});
