import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { migrateCommand } from './migrate.js';
import { validateCommand } from './validate.js';

type Values = Record<string, string | boolean | string[] | undefined>;

async function run(
  command: typeof migrateCommand,
  values: Values,
  positionals: string[] = [],
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await command.run(values, positionals, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

const migrate = (values: Values, positionals?: string[]) => run(migrateCommand, values, positionals);
const fixture = (name: string) => `test/fixtures/legacy/${name}`;

function objectsOf(yaml: string): { kind: string; name: string; namespace: string }[] {
  return parseAllDocuments(yaml).map((document) => {
    const object = document.toJS() as { kind: string; metadata: { name: string; namespace: string } };
    return { kind: object.kind, name: object.metadata.name, namespace: object.metadata.namespace };
  });
}

describe('metallb migrate', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'migrate-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the CRs of a layer2 ConfigMap as multi-document YAML and exits 0 when they are valid', async () => {
    const result = await migrate({ filename: fixture('layer2.yaml') });
    expect(result.code).toBe(0);
    expect(objectsOf(result.out.join('\n'))).toEqual([
      { kind: 'IPAddressPool', name: 'default', namespace: 'metallb-system' },
      { kind: 'IPAddressPool', name: 'reserved', namespace: 'metallb-system' },
      { kind: 'L2Advertisement', name: 'default-l2', namespace: 'metallb-system' },
      { kind: 'L2Advertisement', name: 'reserved-l2', namespace: 'metallb-system' },
    ]);
    expect(result.err).toEqual([
      'migrated ConfigMap/metallb-system/config into namespace metallb-system: 2 IPAddressPool, 2 L2Advertisement',
    ]);
  });

  it('writes a file that metallb validate accepts, with -o and --namespace', async () => {
    const output = join(dir, 'bgp.yaml');
    const result = await migrate({ filename: fixture('bgp.yaml'), output, namespace: 'lb' });
    expect(result.code).toBe(0);
    expect(result.out).toEqual([]);
    const written = readFileSync(output, 'utf8');
    expect(objectsOf(written).every((object) => object.namespace === 'lb')).toBe(true);
    expect(objectsOf(written).map((object) => object.kind)).toEqual([
      'BFDProfile',
      'Community',
      'IPAddressPool',
      'IPAddressPool',
      'BGPPeer',
      'BGPPeer',
      'BGPAdvertisement',
      'BGPAdvertisement',
      'BGPAdvertisement',
    ]);
    const validated = await run(validateCommand, { filename: [output], namespace: 'lb', quiet: true });
    expect(validated.out).toEqual([]);
    expect(validated.code).toBe(0);
  });

  it('prints warnings to stderr with a warning: prefix, inline passwords included', async () => {
    const result = await migrate({ filename: fixture('bgp.yaml') });
    expect(result.code).toBe(0);
    expect(result.err.filter((line) => line.startsWith('warning: '))).toEqual([
      expect.stringContaining('warning: ConfigMap/metallb-system/config: data.config.peers[0].password:'),
    ]);
    expect(result.err.join('\n')).not.toContain('not-a-real-secret');
  });

  it('warns about unknown keys and still migrates the rest', async () => {
    const result = await migrate({ filename: fixture('unknown-keys.yaml') });
    expect(result.code).toBe(0);
    expect(result.err).toContain(
      'warning: ConfigMap/metallb-system/config: data.config.log-level: unknown key "log-level" is not part of the legacy configuration format and was not migrated',
    );
    expect(objectsOf(result.out.join('\n')).map((object) => object.kind)).toEqual([
      'IPAddressPool',
      'BGPPeer',
      'BGPAdvertisement',
    ]);
  });

  it('exits 1 with the validator problems when legacy pools overlap, after printing the CRs', async () => {
    const result = await migrate({ filename: fixture('overlapping.yaml') });
    expect(result.code).toBe(1);
    expect(objectsOf(result.out.join('\n'))).toHaveLength(4);
    expect(result.err).toContain(
      'IPAddressPool/metallb-system/narrow: spec.addresses[0]: CIDR 192.0.2.128/25 overlaps 192.0.2.0/24 of IPAddressPool "wide" (spec.addresses[0]); pools must not share addresses',
    );
  });

  it('exits 1 with problems at their legacy paths, and prints no CRs, when the legacy config is malformed', async () => {
    const output = join(dir, 'malformed-out.yaml');
    const result = await migrate({ filename: fixture('malformed.yaml'), output });
    expect(result.code).toBe(1);
    expect(result.out).toEqual([]);
    expect(() => readFileSync(output)).toThrow();
    expect(result.err).toContain(
      'ConfigMap/metallb-system/config: data.config.address-pools[0].protocol: "layer3" is not a protocol; use layer2 or bgp',
    );
    expect(result.err.at(-1)).toBe('not migrated: 6 problem(s) in ConfigMap/metallb-system/config');
  });

  it('migrates a file holding only the text of the config key', async () => {
    const result = await migrate({ filename: fixture('config-only.yaml') });
    expect(result.code).toBe(0);
    expect(objectsOf(result.out.join('\n')).map((object) => object.name)).toEqual(['default', 'default-l2']);
  });

  it('picks the ConfigMap named config when a file holds several with a config key', async () => {
    const file = join(dir, 'several.yaml');
    const other = readFileSync(fixture('overlapping.yaml'), 'utf8').replace('name: config', 'name: other');
    writeFileSync(file, `${other}\n---\n${readFileSync(fixture('layer2.yaml'), 'utf8')}`);
    const result = await migrate({ filename: file });
    expect(result.code).toBe(0);
    expect(objectsOf(result.out.join('\n')).map((object) => object.name)).toContain('reserved');
  });

  it('exits 2 for a file without a legacy ConfigMap, an unreadable file, and no file at all', async () => {
    const notLegacy = await migrate({ filename: fixture('not-legacy.yaml') });
    expect(notLegacy.code).toBe(2);
    expect(notLegacy.err[0]).toMatch(/holds no legacy MetalLB configuration/);

    const missing = await migrate({ filename: join(dir, 'missing.yaml') });
    expect(missing.code).toBe(2);
    expect(missing.err[0]).toMatch(/^unreadable: /);

    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'kind: [unclosed\n');
    expect((await migrate({ filename: broken })).code).toBe(2);

    expect((await migrate({})).code).toBe(2);
    expect((await migrate({ filename: fixture('layer2.yaml') }, ['another.yaml'])).code).toBe(2);
  });

  it('describes every flag in its help', () => {
    expect(Object.keys(migrateCommand.options).sort()).toEqual(['filename', 'namespace', 'output']);
    for (const option of Object.values(migrateCommand.options)) expect(option.description).not.toBe('');
  });
});
